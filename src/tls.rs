//! The https trust roots, loaded when an https remote is first used rather than at start.
//!
//! libgit2 parses every certificate of the system's bundle when it starts (about 4 ms with
//! the vendored OpenSSL), although only an https remote needs them: a `status`, an `apply`
//! or a sync over ssh or a local path would pay for it on every run.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The bundle held back at start, loaded on the first [`load_roots`].
static DEFERRED: OnceLock<Option<PathBuf>> = OnceLock::new();
static LOADED: Mutex<bool> = Mutex::new(false);

const ENV_FILE: &str = "SSL_CERT_FILE";

/// Starts libgit2 with an empty certificate file, and remembers the bundle it would have read
/// (`SSL_CERT_FILE`, else the system's) for [`load_roots`]. The environment is left as it was,
/// so programs dotback runs see the same `SSL_CERT_FILE`.
///
/// # Safety
/// Changes the process environment for a moment: call it before any other thread starts and
/// before anything else uses git2.
pub unsafe fn defer_roots() {
    let own = std::env::var_os(ENV_FILE);
    let bundle = own.clone().map(PathBuf::from).or_else(|| openssl_probe::probe().cert_file);
    let Some(bundle) = bundle.filter(|b| b.is_file()) else {
        return; // nothing to load: libgit2 starts as it would
    };
    // SAFETY: the caller guarantees no other thread runs, so nothing reads the environment
    // while it changes.
    unsafe { std::env::set_var(ENV_FILE, "/dev/null") };
    // Any option call starts libgit2 (and its OpenSSL context, which reads the variable now).
    git2::opts::strict_hash_verification(true);
    // SAFETY: as above.
    unsafe {
        match &own {
            Some(v) => std::env::set_var(ENV_FILE, v),
            None => std::env::remove_var(ENV_FILE),
        }
    }
    let _ = DEFERRED.set(Some(bundle));
}

/// Loads the trust roots held back by [`defer_roots`] (once; a no-op when nothing was held
/// back). Called before connecting to an https remote.
pub fn load_roots() -> Result<(), git2::Error> {
    let Some(Some(bundle)) = DEFERRED.get() else {
        return Ok(());
    };
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if !*loaded {
        // SAFETY: libgit2 takes the option under its own initialisation; the path outlives the call.
        unsafe { git2::opts::set_ssl_cert_file(bundle.as_path())? };
        *loaded = true;
    }
    Ok(())
}
