//! What most operations start from: the device context, the lock, recovery after a killed run,
//! the trusted control files, the scanned store, the stat cache and one lazily loaded vault.

use crate::context::{Context, ContextError};
use crate::events::Sink;
use crate::managed::{self, ScanError, SourceState};
use crate::state::{Cache, Lock, StateError};
use crate::store::{Store, StoreError};
use crate::trust::{Trust, TrustError};
use crate::vault::Vault;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How long an operation that changes things waits for another dotback process to release the
/// store.
pub const LOCK_WAIT: Duration = Duration::from_secs(3);

/// What an operation does with the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Changes the store or HOME: waits for the lock, finishes a killed run first.
    Write,
    /// Only reads (and saves what it learnt into the stat cache when the lock is free).
    Read,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A git operation (merge, rebase…) is under way in the store.
    #[error("in the store {}, {what}", store.display())]
    GitBusy { store: PathBuf, what: String },
}

pub struct Session {
    pub ctx: Context,
    /// The recipients and rules this device uses (the store's control files, authenticated);
    /// changed only through the methods that also drop the vault built from it.
    trust: Trust,
    pub state: SourceState,
    pub cache: Cache,
    vault: OnceLock<Vault>,
    /// Marks a writer as at work (declared before `lock`: it must go while the lock is held).
    _inflight: Option<crate::recover::InFlight>,
    /// Held by operations that change the store or HOME (and by readers when free, so they can
    /// save what they learnt into the cache).
    lock: Option<Lock>,
}

/// The parts of a session an evaluation borrows at once.
pub struct Parts<'a> {
    pub ctx: &'a Context,
    pub state: &'a SourceState,
    pub cache: &'a mut Cache,
    pub vault: &'a Vault,
}

impl Session {
    /// Opens the store for `access`. A writer waits up to [`LOCK_WAIT`] for the lock and
    /// finishes what a killed run left (told to `sink` as warnings).
    pub fn open(ctx: Context, access: Access, sink: &dyn Sink) -> Result<Session, SessionError> {
        Session::open_with(ctx, access, sink, false)
    }

    /// [`Session::open`] for a caller whose next step is an evaluation of HOME, with nothing in
    /// HOME changed by its own hand before it: the live files are looked at while the store is
    /// scanned (see `Cache::prefetch_live`), and that evaluation takes what was seen.
    pub fn open_to_evaluate(ctx: Context, access: Access, sink: &dyn Sink) -> Result<Session, SessionError> {
        Session::open_with(ctx, access, sink, true)
    }

    fn open_with(ctx: Context, access: Access, sink: &dyn Sink, prefetch: bool) -> Result<Session, SessionError> {
        for (path, mode) in crate::vault::loose_identity_files(&ctx) {
            sink.warn(format!(
                "identity file {} has mode {mode:04o}: group or others can access it, so dotback does not use it; `chmod 600 {}`, and if others could read it, treat the key as exposed",
                path.display(),
                path.display()
            ));
        }
        let (lock, inflight) = match access {
            Access::Write => {
                let lock = Lock::acquire(&ctx.paths.state_dir, LOCK_WAIT)?;
                let places = crate::recover::Places {
                    state_dir: &ctx.paths.state_dir,
                    store: &ctx.store,
                    home: &ctx.paths.home,
                };
                let (inflight, notes) = crate::recover::begin(&places, &lock)?;
                for note in notes {
                    sink.warn(note);
                }
                (Some(lock), Some(inflight))
            }
            Access::Read => (Lock::acquire(&ctx.paths.state_dir, Duration::ZERO).ok(), None),
        };
        let writer = access == Access::Write;
        let store = Store::open(&ctx.store)?;
        // Loading the cache and scanning the store are independent (the scan keeps the
        // `[[only]]` rules for later, and takes the trusted ones below): both at once. Deciding
        // what this device trusts takes the files the scan listed, so no store directory is read
        // twice. A writer first makes sure no git operation is under way (trust may seal a
        // change into the store).
        let device = managed::Device::of(&ctx);
        // The cache thread may go on to look at the live files while the scan lasts.
        let scanned = std::sync::atomic::AtomicBool::new(false);
        let (trust, state, cache) = std::thread::scope(|s| {
            let cache = s.spawn(|| {
                let mut cache = Cache::load(&ctx.paths.state_dir);
                if prefetch {
                    cache.prefetch_live(&ctx.paths.home, &scanned);
                }
                cache
            });
            let scan = s.spawn(|| managed::scan_for(&ctx.store, &Default::default(), &device));
            let busy = writer.then(|| store.unfinished()).flatten();
            let state = scan.join().expect("the scan panicked");
            let files = state.as_ref().ok().and_then(|s| s.files.as_deref());
            let trust = match busy {
                Some(what) => Err(SessionError::GitBusy { store: ctx.store.clone(), what }),
                None => evaluate_trust(&ctx, &store, writer, files).map_err(SessionError::from),
            };
            scanned.store(true, std::sync::atomic::Ordering::Relaxed);
            (trust, state, cache.join().expect("cache loading panicked"))
        });
        drop(store);
        let trust = trust?;
        // A trust evaluation that sealed a change wrote into the store while it was scanned.
        let state = if trust.sealed { managed::scan_for(&ctx.store, &Default::default(), &device) } else { state };
        // The scan before the cache: it names any link in the store, the manifest's place included.
        let mut state = state?;
        state.only = trust.manifest.rules.only.clone();
        Ok(Session { ctx, trust, state, cache, vault: OnceLock::new(), _inflight: inflight, lock })
    }

    /// The recipients and rules this device uses.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The vault for the trusted recipients and rules (identities load on first use).
    pub fn vault(&self) -> &Vault {
        self.vault.get_or_init(|| Vault::new(&self.ctx, &self.trust))
    }

    /// The context, the store, the cache and the vault, borrowed together.
    pub fn parts(&mut self) -> Parts<'_> {
        let vault = self.vault.get_or_init(|| Vault::new(&self.ctx, &self.trust));
        Parts { ctx: &self.ctx, state: &self.state, cache: &mut self.cache, vault }
    }

    /// Which files are secret (from the trusted manifest).
    pub fn rules(&self) -> &crate::secrets::SecretRules {
        &self.vault().rules
    }

    pub fn store(&self) -> Result<Store, StoreError> {
        Store::open(&self.ctx.store)
    }

    /// Decides again which control files this device uses (after a merge changed them), and
    /// scans the store again.
    pub fn refresh_trust(&mut self) -> Result<(), SessionError> {
        let store = Store::open(&self.ctx.store)?;
        self.trust = evaluate_trust(&self.ctx, &store, self.lock.is_some(), None)?;
        self.vault = OnceLock::new();
        self.state =
            managed::scan_for(&self.ctx.store, &self.trust.manifest.rules.only, &managed::Device::of(&self.ctx))?;
        Ok(())
    }

    /// For an apply the user asked for: when a `.chezmoiignore` template left targets undecided
    /// and chezmoi is installed, scans the store again with chezmoi deciding them. (Asking
    /// chezmoi renders the store's templates, which may run programs, so no other command does,
    /// and not while the store's code is held back.)
    pub fn decide_ignores_with_chezmoi(&mut self) -> Result<(), managed::ScanError> {
        if !self.state.ignore.is_templated() || self.trust.code_held() || crate::chezmoi::find().is_none() {
            return Ok(());
        }
        let device = managed::Device::asking_chezmoi(&self.ctx);
        self.state = managed::scan_for(&self.ctx.store, &self.trust.manifest.rules.only, &device)?;
        Ok(())
    }

    /// Evaluates the trust again (after the control files changed on this device: they are
    /// sealed as its own change).
    pub fn reseal(&mut self) -> Result<(), SessionError> {
        let store = Store::open(&self.ctx.store)?;
        self.trust = evaluate_trust(&self.ctx, &store, true, None)?;
        self.vault = OnceLock::new();
        Ok(())
    }

    /// Decrypts with `ids` instead of this device's own identities (a drill restoring with the
    /// recovery key, or with the identities of the device it checks).
    pub fn use_identities(&mut self, ids: Vec<crate::crypt::Identity>) {
        self.vault = OnceLock::from(Vault::new(&self.ctx, &self.trust).with_identities(ids));
    }

    /// Replaces the trust (a recovery unlock anchors it with the recovery key).
    pub fn set_trust(&mut self, trust: Trust) {
        self.trust = trust;
        self.vault = OnceLock::new();
    }

    /// Targets named by paths.
    pub fn targets(&self, paths: &[impl AsRef<Path>]) -> Result<Vec<String>, ContextError> {
        paths.iter().map(|p| self.ctx.target_of(p.as_ref())).collect()
    }

    /// Saves the cache when this session holds the lock, and releases the lock. The memory the
    /// session holds is freed meanwhile ([`free_later`]).
    pub fn finish(mut self) -> Result<(), StateError> {
        if self.lock.is_some() {
            self.cache.save()?;
        }
        drop(self._inflight.take());
        drop(self.lock.take());
        free_later(self);
        Ok(())
    }
}

/// Drops `value` on a thread of its own. A scan and a stat cache of a large home are tens of
/// thousands of small allocations, which take milliseconds to free: no caller has to wait for
/// that, and a command that exits right after never pays for it.
pub fn free_later<T: Send + 'static>(value: T) {
    // Should no thread start, the value is dropped here.
    let _ = std::thread::Builder::new().name("free".into()).spawn(move || drop(value));
}

/// The trust this device gives the store's control files; identities are loaded only when a
/// change has to be verified or sealed.
pub fn evaluate_trust(
    ctx: &Context,
    store: &Store,
    writer: bool,
    files: Option<&[String]>,
) -> Result<Trust, TrustError> {
    let ids = || crate::vault::load_identities(ctx, ctx.identity).map_err(|e| crate::vault::describe(&e));
    crate::trust::evaluate_with(ctx, store, &ids, writer, files)
}
