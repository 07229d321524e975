//! Library errors become "error: … / cause: … / hint: …" and an exit code here.

use dotback::apply::ApplyError;
use dotback::capture::CaptureError;
use dotback::config::ConfigError;
use dotback::context::ContextError;
use dotback::error::Op;
use dotback::eval::EvalError;
use dotback::managed::ScanError;
use dotback::paths::PathsError;
use dotback::remote::RemoteError;
use dotback::resolve::ResolveError;
use dotback::state::StateError;
use dotback::store::StoreError;

/// Exit codes: 1 a failed operation (also the store's own repository failing during a fetch or
/// push), 2 bad usage (clap's, and input dotback refuses, such as a remote path that is no bare
/// repository), 3 a configuration problem, 4 another dotback process holds the lock, 5 a remote
/// could not be reached, or is a local path that does not exist (an unmounted disk; sync: the
/// local commit is safe, retry later), 6 a remote refused dotback or is no repository it can
/// push to (host key, credentials, a rejected push, an unrelated history, a directory that is
/// no repository, a work tree: needs the user), 7 the deletion guard held deletions in HOME back
/// (commit, sync: none of them was recorded, everything else was; `--allow-deletions` records
/// them, `dotback apply` restores them),
/// 8 a sync ended with a conflict unsettled (nothing is lost; `dotback resolve` settles it). A
/// sync where several apply exits with the first of 6, 5, 7, 1, 8. 9 and 10: `dotback check`
/// found warnings (9) or errors (10).
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
    pub code: u8,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> CliError {
        CliError { message: message.into(), causes: Vec::new(), hints: Vec::new(), code: 1 }
    }

    /// Builds the message and cause chain from an error.
    pub fn from_error(e: &(dyn std::error::Error + 'static)) -> CliError {
        let mut err = CliError::new(e.to_string());
        let mut source = e.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !err.message.contains(&text) {
                err.causes.push(text);
            }
            source = s.source();
        }
        err
    }

    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hints.push(hint.into());
        self
    }

    pub fn code(mut self, code: u8) -> CliError {
        self.code = code;
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl From<PathsError> for CliError {
    fn from(e: PathsError) -> Self {
        CliError::from_error(&e).hint("set HOME to your home directory's absolute path").code(3)
    }
}

fn config_hint(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::Invalid { .. } => "fix the file by hand; the error names the line and key",
        ConfigError::Read(p) if p.is_link() => {
            "replace the link with the file itself (or remove it), then run dotback again; nothing was changed"
        }
        ConfigError::Read(_) => "check that the file is readable by you",
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::from_error(&e).hint(config_hint(&e)).code(3)
    }
}

impl From<ContextError> for CliError {
    fn from(e: ContextError) -> Self {
        let err = CliError::from_error(&e);
        match &e {
            ContextError::NotInitialized { .. } => err.hint("run `dotback init` to set up this device").code(3),
            ContextError::Config(c) => err.hint(config_hint(c)).code(3),
            ContextError::OutsideHome { .. } => err.hint("dotback manages files inside your home directory only"),
            ContextError::InsideStore { .. } => err.hint("name the live file in HOME; the store is dotback's copy"),
            ContextError::NonUtf8 { .. } => err.hint("rename it to a UTF-8 name"),
            ContextError::Home { .. } => err.hint("check that HOME exists").code(3),
            ContextError::Unfinished { .. } => err
                .hint("run `dotback init` again to finish it: it creates the store's keys (and asks for a recovery passphrase)")
                .code(3),
            ContextError::RecipientsDeleted { store } => err
                .hint(format!(
                    "restore it with `git -C {} checkout HEAD -- {}`",
                    store.display(),
                    dotback::context::RECIPIENTS
                ))
                .code(3),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let err = CliError::from_error(&e);
        match &e {
            StoreError::Missing { .. } => {
                err.hint("run `dotback init` to create it, or set `source` in the device config to your store").code(3)
            }
            StoreError::NotARepository { .. } => err
                .hint("run `dotback init` to make it one, or set `source` in the device config to your store")
                .code(3),
            StoreError::Bare { .. } => err.hint("clone it to a work tree and set `source` to that").code(3),
            StoreError::Link { .. } => err.hint(
                "replace the link with the directory or file itself (or remove it), then run dotback again; nothing was changed",
            ),
            StoreError::GitConfig { .. } => err.hint("fix the file the cause names (often ~/.gitconfig)").code(3),
            StoreError::Path(_) => err.hint("check that you can write there and that the disk has room"),
            StoreError::Git { .. } if e.lock_file().is_some() => {
                let file = e.lock_file().expect("checked above");
                err.hint(format!(
                    "a git command may be working in the store; if none is, remove {file} (left by one that was stopped) and run this again"
                ))
            }
            StoreError::DiskFull { .. } => err.hint(
                "free some space on that disk, then run the same command again, which finishes the job (files already written into the store are whole and wait for that run's commit); nothing was changed in HOME",
            ),
            StoreError::Git { .. } => {
                err.hint("run `git status` in the store to see its state; nothing was changed in HOME")
            }
        }
    }
}

impl From<dotback::session::SessionError> for CliError {
    fn from(e: dotback::session::SessionError) -> Self {
        use dotback::session::SessionError;
        match e {
            SessionError::Store(e) => e.into(),
            SessionError::State(e) => e.into(),
            SessionError::Trust(e) => e.into(),
            SessionError::Scan(e) => e.into(),
            SessionError::GitBusy { ref store, .. } => CliError::from_error(&e).hint(format!(
                "finish or abort it with git first (`git -C {} status` says how), then run dotback again",
                store.display()
            )),
        }
    }
}

impl From<RemoteError> for CliError {
    fn from(e: RemoteError) -> Self {
        let err = CliError::from_error(&e);
        let bare =
            |path: &std::path::Path| format!("`git init --bare {}` makes one there; then add it again", path.display());
        match e {
            RemoteError::Store(inner) => inner.into(),
            RemoteError::State(inner) => inner.into(),
            RemoteError::BadName { .. } => err.hint("use letters, digits, `-`, `_` and `.` only").code(2),
            RemoteError::EmptyUrl => err.code(2),
            RemoteError::PasswordInUrl { .. } => err
                .hint("add the URL without the password and let a git credential helper keep it (`git config --global credential.helper store` or your desktop's keyring helper)")
                .code(2),
            RemoteError::Exists { .. } => err.hint("`dotback remote list` shows it; remove it first to change its URL"),
            RemoteError::NotFound { .. } => err.hint("`dotback remote list` shows the remotes"),
            RemoteError::NoPath { path } => err
                .hint(format!("a remote on a disk or share starts as a bare git repository: {}", bare(&path)))
                .hint("if it is on a removable disk or a network share, mount it first")
                .code(2),
            RemoteError::EmptyDirectory { path } => err.hint(bare(&path)).code(2),
            RemoteError::NotARepository { path } => err
                .hint(format!(
                    "give the path of a bare git repository instead (`git init --bare NEW.git` starts one); nothing in {} was touched",
                    path.display()
                ))
                .code(2),
            RemoteError::NotBare { path } => err
                .hint(format!(
                    "make a bare repository to push to: `git clone --bare {} NEW.git` (or `git init --bare NEW.git`), then add that",
                    path.display()
                ))
                .code(2),
            RemoteError::Transport { name, source } => super::sync::refusal(&name, &source),
            RemoteError::NothingThere { .. } => err.hint("`dotback sync` pushes this store's history to it"),
            RemoteError::Unrelated { name } => err
                .hint(format!("if `{name}` was replaced on purpose, `dotback remote remove {name}` and push to a fresh repository"))
                .code(6),
        }
    }
}

impl From<StateError> for CliError {
    fn from(e: StateError) -> Self {
        let err = CliError::from_error(&e);
        match &e {
            StateError::Locked { lock, .. } => err
                .hint(format!(
                    "wait for it to finish and try again (the lock is {}; it is released when that process exits)",
                    lock.display()
                ))
                .code(4),
            StateError::Path(_) | StateError::Backup { .. } => {
                err.hint("check the permissions of dotback's state directory")
            }
            StateError::Unfinished { .. } => err
                .hint("`dotback recover --abandon` gives that update up: the store's files go back to its last commit, and any file changed since is saved as a backup first")
                .hint("or settle what the cause names with git (`git status` in the store); dotback then finishes the update on its next run"),
        }
    }
}

impl From<dotback::trust::TrustError> for CliError {
    fn from(e: dotback::trust::TrustError) -> Self {
        use dotback::trust::TrustError;
        let err = CliError::from_error(&e);
        match &e {
            TrustError::Config(c) => err.hint(config_hint(c)).code(3),
            TrustError::Path(p) if p.op == Op::Read => err
                .hint("the store's control files (under .dotback/) must be small regular files; restore it with git")
                .code(3),
            TrustError::NoKey { .. } => err.hint(
                "run this on a device that can decrypt the store's secrets, or unlock this one first (`dotback keys unlock --recovery`)",
            ),
            TrustError::NothingHeld => err.code(2),
            _ => err,
        }
    }
}

impl From<ScanError> for CliError {
    fn from(e: ScanError) -> Self {
        let err = CliError::from_error(&e);
        let hint = match &e {
            ScanError::BadName { .. }
            | ScanError::NonUtf8 { .. }
            | ScanError::SymlinkInStore { .. }
            | ScanError::Duplicate { .. } => {
                "rename or remove that entry in the store; dotback acts on no part of a store it does not fully understand, so nothing was changed"
            }
            ScanError::BadRoot { .. } => "fix .chezmoiroot so it names a directory inside the store",
            ScanError::Ignore { .. } => "fix that line; chezmoi refuses the store for it too",
            ScanError::Path(_) => "check the store's permissions",
            ScanError::Manifest(c) => return err.hint(config_hint(c)).code(3),
        };
        err.hint(hint)
    }
}

impl From<ApplyError> for CliError {
    fn from(e: ApplyError) -> Self {
        let e = match e {
            ApplyError::Scan(scan) => return scan.into(),
            e => e,
        };
        let err = CliError::from_error(&e);
        let hint = match &e {
            ApplyError::OutsideHome { .. } => {
                "nothing was written there; remove the symlink or make it point inside HOME"
            }
            ApplyError::NotADirectory { .. } => {
                "move that file away (or run `dotback apply --force`, which backs it up first)"
            }
            ApplyError::OwnPlace { .. } => {
                "nothing was written there; remove the store entry for it, or the symlink if it is not yours"
            }
            ApplyError::Decrypt { .. } => {
                "nothing was written for it; `dotback keys list` shows who the store encrypts to"
            }
            ApplyError::Path(p) if p.op == Op::Read => "check that the file is readable by you",
            ApplyError::Path(_) => {
                "check permissions and free space; every write is atomic, so no file is half-written"
            }
            ApplyError::State(_) => "check the permissions of dotback's state directory",
            ApplyError::Eval(e) => eval_hint(e),
            // Said by the scan's own mapping, above.
            ApplyError::Scan(_) => "",
        };
        err.hint(hint)
    }
}

fn eval_hint(e: &EvalError) -> &'static str {
    match e {
        EvalError::Path(_) => "check that the file is readable by you",
        EvalError::BadLink { .. } => "rewrite the symlink entry with a UTF-8 target",
        EvalError::State(_) => "check the permissions of dotback's state directory",
    }
}

impl From<EvalError> for CliError {
    fn from(e: EvalError) -> Self {
        CliError::from_error(&e).hint(eval_hint(&e))
    }
}

impl From<CaptureError> for CliError {
    fn from(e: CaptureError) -> Self {
        if let CaptureError::Eval(inner) = e {
            return inner.into();
        }
        let err = CliError::from_error(&e);
        let hint = match &e {
            CaptureError::NonUtf8 { .. } => {
                "rename it to a UTF-8 name, or list it in .chezmoiignore; nothing was added"
            }
            CaptureError::Path(p) if p.op == Op::Read => {
                "make it readable (or list it in .chezmoiignore); nothing was added"
            }
            CaptureError::NotFound { .. } => "check the path",
            CaptureError::NotManaged { .. } => "`dotback status` lists what is managed",
            CaptureError::SkippedHere { .. } => {
                "to track it from here, add this device to that rule (`devices = [...]`, `os = ...`); nothing was changed in the store"
            }
            CaptureError::Delegated { .. } => "edit the source file in the store instead",
            CaptureError::Special { .. } => "list it in .chezmoiignore to pass over it",
            CaptureError::TooLarge { .. } => {
                "raise `max_file_size` there (e.g. \"500M\") if it belongs in the store, or list it in .chezmoiignore; nothing was added"
            }
            CaptureError::Encrypt { .. } => {
                "dotback never stores a secret in plaintext; `dotback init` sets up the store's keys, `dotback keys list` shows them"
            }
            CaptureError::Path(p) => return err.hint(store_write_hint(&p.source)),
            _ => "nothing was changed in the store",
        };
        err.hint(hint)
    }
}

/// Whether `e` says the disk (or the user's quota) is full.
fn disk_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

/// A write into the store failed part way through a capture: the files written before it stay
/// (each one whole), nothing is committed, and running the command again finishes the job.
fn store_write_hint(e: &std::io::Error) -> String {
    let fix = if disk_full(e) {
        "the disk holding the store is full: free some space"
    } else {
        "check the permissions of that directory in the store"
    };
    format!(
        "{fix}, then run the same command again, which finishes the job; files already written into the store are whole (every write is atomic) but not committed yet, and nothing in HOME was changed"
    )
}

impl From<ResolveError> for CliError {
    fn from(e: ResolveError) -> Self {
        let e = match e {
            ResolveError::Store(inner) => return inner.into(),
            ResolveError::State(inner) => return inner.into(),
            e => e,
        };
        let err = CliError::from_error(&e);
        let hint = match &e {
            ResolveError::NoConflict { conflicts: 0, .. } => "there are no conflicts in the store",
            ResolveError::NoConflict { conflicts, .. } => {
                let s = if *conflicts == 1 { "" } else { "s" };
                return err.hint(format!("`dotback resolve` lists the {conflicts} conflict{s} there are"));
            }
            ResolveError::SeveralCopies { copies, .. } => {
                let first = copies.first().map_or("", |(c, _)| c.as_str());
                return err.hint(format!("for example `dotback resolve ~/{first} --theirs`"));
            }
            ResolveError::NotManaged { .. } => {
                "settling it the way that keeps the live file drops the copy (`dotback resolve` says whose version is where); or `dotback add` the file again first"
            }
            ResolveError::NotAFile { .. } => {
                "settle it the way that keeps the live file, or copy what you need from the conflict copy by hand"
            }
            ResolveError::Binary { .. } => {
                "keep one version whole: --ours keeps this device's version, --theirs the other device's"
            }
            ResolveError::Path(p) if p.op == Op::Read => "check that the file is readable by you; nothing was changed",
            ResolveError::Path(_) => {
                "check permissions and free space; what was overwritten is in dotback's backups (state directory)"
            }
            ResolveError::Decrypt { .. } | ResolveError::Encrypt { .. } => {
                "nothing was changed; `dotback keys list` shows who the store encrypts to"
            }
            ResolveError::Secret { .. } => {
                "nothing was changed; track the file encrypted (`dotback forget` it, then `dotback add --encrypt`), then resolve again"
            }
            ResolveError::OutsideHome { .. } => "nothing was written; make that path a directory inside HOME",
            ResolveError::OwnPlace { .. } => {
                "nothing was written; remove the store entries for it and its conflict copy (`git rm` in the store)"
            }
            ResolveError::Tool { .. } => {
                "the live file, the store and the conflict copy are as they were; run the same command again, or settle with --ours or --theirs"
            }
            ResolveError::MarkersLeft { .. } => {
                "edit every <<<<<<< ... >>>>>>> block down to the text you want, save, and exit; run the same command again"
            }
            ResolveError::NoEditor => {
                "set EDITOR (e.g. `EDITOR=nano dotback resolve PATH --merge`), or settle with --ours or --theirs"
            }
            ResolveError::Store(_) | ResolveError::State(_) => unreachable!("converted above"),
        };
        err.hint(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_into_the_store_says_what_was_written_and_what_to_do() {
        let write = |errno| {
            CaptureError::from(dotback::error::PathError::new(
                Op::Write,
                "/s/dot_a",
                std::io::Error::from_raw_os_error(errno),
            ))
        };
        for errno in [libc::ENOSPC, libc::EDQUOT, libc::EACCES] {
            let err = CliError::from(write(errno));
            let hint = err.hints.join(" ");
            assert!(!hint.contains("nothing was changed in the store"), "{hint}");
            assert!(hint.contains("run the same command again") && hint.contains("not committed yet"), "{hint}");
            assert_eq!(hint.contains("disk holding the store is full"), errno != libc::EACCES, "{hint}");
        }
    }
}
