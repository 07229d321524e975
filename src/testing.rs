//! Seams where a test build holds an operation at a chosen point, so a test can make another
//! process act at exactly that moment (a push between its check and its ref update, say).
//! In a build without the `test-seams` feature, [`pause`] does nothing.

/// The directory holding the pause requests: `POINT.hold` makes the operation stop at `POINT`.
pub const PAUSE_DIR_ENV: &str = "DOTBACK_TEST_PAUSE_DIR";

/// Stops here while the test holds `point`: writes `POINT.reached` in the pause directory, then
/// waits (at most a minute) until the test removes `POINT.hold`.
pub fn pause(point: &str) {
    #[cfg(feature = "test-seams")]
    {
        use std::time::{Duration, Instant};
        let Some(dir) = std::env::var_os(PAUSE_DIR_ENV).map(std::path::PathBuf::from) else { return };
        let hold = dir.join(format!("{point}.hold"));
        if !hold.exists() {
            return;
        }
        let _ = std::fs::write(dir.join(format!("{point}.reached")), std::process::id().to_string());
        let deadline = Instant::now() + Duration::from_secs(60);
        while hold.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    #[cfg(not(feature = "test-seams"))]
    let _ = point;
}

/// Whether the watcher is to be refused one more watch, as the OS refuses it at the inotify
/// limit: `DOTBACK_TEST_WATCH_LIMIT=N` allows `N` watched directories. Always `false` in a build
/// without the `test-seams` feature.
pub fn refused_watch(watched: usize) -> bool {
    #[cfg(feature = "test-seams")]
    {
        std::env::var("DOTBACK_TEST_WATCH_LIMIT")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| watched >= n)
    }
    #[cfg(not(feature = "test-seams"))]
    {
        let _ = watched;
        false
    }
}
