//! One watcher per store: an advisory lock on `watch.lock` in the state directory, held for the
//! watcher's life, with the holder's pid and start time in the file for the next one to name.

use crate::error::{IoContext, Op};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Held while the watcher runs; the lock goes with the process (also when it is killed).
pub struct WatchLock {
    _file: File,
}

impl WatchLock {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("watch.lock")
    }

    pub fn acquire(state_dir: &Path) -> Result<WatchLock, super::WatchError> {
        crate::state::ensure_private_dir(state_dir)?;
        let path = WatchLock::path(state_dir);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .context(Op::Write, &path)?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let mut parts = text.split_whitespace();
            let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let since = parts.next().unwrap_or("an unknown time").to_string();
            return Err(super::WatchError::AlreadyRunning { pid, since, lock: path });
        }
        let line = format!("{} {}\n", std::process::id(), crate::state::rfc3339_now());
        file.set_len(0).context(Op::Write, &path)?;
        file.rewind().context(Op::Write, &path)?;
        file.write_all(line.as_bytes()).context(Op::Write, &path)?;
        Ok(WatchLock { _file: file })
    }

    /// The running watcher's pid and start time, if one runs.
    pub fn holder(state_dir: &Path) -> Option<(u32, String)> {
        let path = WatchLock::path(state_dir);
        let file = File::open(&path).ok()?;
        // SAFETY: a non-blocking probe on a descriptor this function owns; released at once.
        let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
        if free {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let mut parts = text.split_whitespace();
        Some((parts.next()?.parse().ok()?, parts.next()?.to_string()))
    }
}
