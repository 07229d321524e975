//! GPG keys, exported and imported through the real `gpg` binary (GnuPG 2.1 or later).
//!
//! # Secret material never touches disk
//!
//! `gpg --export-secret-keys` writes to a pipe that dotback reads into a
//! [`Zeroizing`] buffer (grown by copying into a new zeroizing buffer, so no reallocation
//! leaves a stray copy behind), and imports feed gpg through stdin pipes. No temporary file
//! is ever needed. The caller is expected to age-encrypt [`Export::secret_keys`] before it
//! goes anywhere near the store.
//!
//! # Passphrases: what gpg actually does
//!
//! Since 2.1 gpg-agent holds the secret keys, and exporting one makes the agent ask for its
//! passphrase through pinentry, **every time**: a passphrase cached by a recent signature
//! does not help, because the agent uses no cache for exports. The exported key stays
//! protected with the same passphrase. Measured with gpg 2.2.40, `--batch`, stdin not a
//! terminal, `GPG_TTY` unset:
//!
//! - an unprotected key (`%no-protection`, or `--passphrase ''`) exports silently;
//! - a protected key: pinentry is launched, cannot open a terminal, and gpg prints
//!   `error receiving key from agent: Inappropriate ioctl for device - skipped`, exits 2,
//!   and **still writes the other keys** to stdout, so a careless caller would store a
//!   partial backup. With `--pinentry-mode error` the reason is `No pinentry`; with
//!   `--pinentry-mode loopback` and no passphrase gpg aborts (`Sorry, we are in batchmode`).
//!   `--batch` by itself does not stop the agent from launching a (possibly graphical)
//!   pinentry.
//! - with stdin a terminal, gpg passes the terminal's name to the agent (it uses
//!   `ttyname(0)` when `GPG_TTY` is unset), pinentry-curses asks on that terminal, and the
//!   export succeeds while stdout is captured.
//!
//! Hence [`Prompt`]: by default dotback lets pinentry ask only when stdin is a terminal
//! (inheriting stdin so gpg finds it); otherwise it passes `--pinentry-mode error`, so a
//! watcher or a cron job fails at once instead of hanging on a dialog nobody sees. Either
//! way, exporting checks that every listed secret key came out (`[GNUPG:] EXPORTED` status
//! lines) and fails with [`GpgError::PassphraseRequired`] naming the missing keys rather
//! than returning a partial export.
//!
//! Importing protected secret keys needs no passphrase in batch mode: they are stored as
//! they are, still protected.
//!
//! # Parsing gpg
//!
//! Machine-readable status lines (`--status-fd 2`, which interleaves `[GNUPG:] …` lines with
//! the human log on stderr) and `--with-colons` listings are parsed, never the localised
//! messages. The human part of stderr goes into errors, truncated: gpg prints key IDs and user
//! IDs there, never key material.

use std::fmt;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};

use zeroize::{Zeroize, Zeroizing};

/// When gpg-agent may ask for a passphrase (through pinentry) during an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prompt {
    /// When dotback's stdin is a terminal (the default).
    #[default]
    IfTerminal,
    /// Always let the agent try, for example with a graphical pinentry and no terminal.
    Always,
    /// Never: a protected key is an error at once (watchers, scripts, tests).
    Never,
}

/// How to run gpg.
#[derive(Clone, Debug)]
pub struct Gpg {
    /// The gpg binary, `gpg` (looked up in `PATH`) by default.
    pub program: PathBuf,
    /// Passed as `--homedir`; `None` lets gpg use `GNUPGHOME` or `~/.gnupg`.
    pub homedir: Option<PathBuf>,
    /// Whether a passphrase prompt is allowed during [`Gpg::export_all`].
    pub prompt: Prompt,
}

impl Default for Gpg {
    fn default() -> Gpg {
        Gpg { program: PathBuf::from("gpg"), homedir: None, prompt: Prompt::default() }
    }
}

/// Everything needed to rebuild a GnuPG keyring elsewhere.
pub struct Export {
    /// `gpg --armor --export-secret-keys`, ASCII armored. Still protected by each key's own
    /// passphrase, if it has one; only ever in memory.
    pub secret_keys: Zeroizing<Vec<u8>>,
    /// `gpg --armor --export`: every public key in the keyring, not just the user's own.
    pub public_keys: Vec<u8>,
    /// `gpg --export-ownertrust`: `FINGERPRINT:LEVEL:` lines plus comments.
    pub ownertrust: Vec<u8>,
    /// Fingerprints of the secret keys in `secret_keys` (primary keys, uppercase hex).
    pub fingerprints: Vec<String>,
}

impl fmt::Debug for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Export")
            .field("secret_keys", &format_args!("<{} bytes redacted>", self.secret_keys.len()))
            .field("public_keys", &format_args!("<{} bytes>", self.public_keys.len()))
            .field("ownertrust", &format_args!("<{} bytes>", self.ownertrust.len()))
            .field("fingerprints", &self.fingerprints)
            .finish()
    }
}

/// What went wrong talking to gpg.
#[derive(Debug, thiserror::Error)]
pub enum GpgError {
    #[error("`{}` was not found: install GnuPG 2.1 or later (usually the `gnupg` package)", .program.display())]
    NotInstalled { program: PathBuf },
    #[error("could not run `{}`: {source}", .program.display())]
    Io {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    /// gpg failed; `stderr` is its message, truncated.
    #[error("gpg {what} failed: {stderr}")]
    Failed { what: &'static str, stderr: String },
    /// Secret keys protected by a passphrase that gpg-agent could not obtain. Nothing was
    /// exported (not even the other keys).
    #[error("{}", passphrase_message(.fingerprints, *.could_prompt, .stderr))]
    PassphraseRequired {
        /// The keys that did not come out.
        fingerprints: Vec<String>,
        /// Whether pinentry was allowed to ask (and so was cancelled, given a wrong
        /// passphrase, or could not start).
        could_prompt: bool,
        stderr: String,
    },
}

fn passphrase_message(fingerprints: &[String], could_prompt: bool, stderr: &str) -> String {
    let keys = fingerprints.join(", ");
    if could_prompt {
        format!(
            "gpg could not export secret key {keys}: the passphrase prompt was cancelled, the passphrase was \
             wrong, or pinentry could not start. Run the command again and enter the passphrase when gpg asks; \
             if no prompt appears, run `export GPG_TTY=$(tty)` and check that `echo test | gpg --clearsign` \
             can ask for it. gpg said: {stderr}"
        )
    } else {
        format!(
            "secret key {keys} is protected by a passphrase, which gpg asks for on every export, and dotback \
             cannot let gpg ask here (not running in a terminal). Run the command again from a terminal: \
             gpg will prompt once per key."
        )
    }
}

/// gpg-error codes (low 16 bits of the value in `[GNUPG:] ERROR` lines) that mean "no
/// passphrase": BAD_PASSPHRASE, INV_PASSPHRASE, TIMEOUT, NO_PIN_ENTRY, PIN_ENTRY, CANCELED,
/// NO_PASSPHRASE, FULLY_CANCELED.
const PASSPHRASE_ERRORS: [u32; 8] = [11, 31, 62, 85, 86, 99, 177, 198];
/// gpg-error source of errors raised by pinentry itself (such as ENOTTY).
const SOURCE_PINENTRY: u32 = 5;

/// Longest stderr excerpt kept in an error.
const STDERR_LIMIT: usize = 1500;

enum Input<'a> {
    Null,
    Inherit,
    Bytes(&'a [u8]),
}

struct Run {
    status: ExitStatus,
    stdout: Zeroizing<Vec<u8>>,
    /// `[GNUPG:] ` status lines, prefix removed.
    status_lines: Vec<String>,
    /// The rest of stderr.
    log: String,
}

impl Run {
    fn success_or(self, what: &'static str) -> Result<Run, GpgError> {
        if self.status.success() { Ok(self) } else { Err(GpgError::Failed { what, stderr: self.stderr_excerpt() }) }
    }

    fn stderr_excerpt(&self) -> String {
        let log = self.log.trim();
        if log.is_empty() {
            return format!("no message ({})", self.status);
        }
        if log.len() <= STDERR_LIMIT {
            return log.to_owned();
        }
        let mut end = STDERR_LIMIT;
        while !log.is_char_boundary(end) {
            end -= 1;
        }
        format!("{} … (truncated)", &log[..end])
    }

    /// Status lines with the given keyword, as their arguments.
    fn status<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = Vec<&'a str>> + 'a {
        self.status_lines.iter().filter_map(move |line| {
            let mut words = line.split(' ');
            (words.next() == Some(keyword)).then(|| words.collect())
        })
    }
}

impl Gpg {
    /// `gpg` from `PATH`, with the default home directory.
    pub fn new() -> Gpg {
        Gpg::default()
    }

    /// `gpg` from `PATH` with `--homedir dir`.
    pub fn with_homedir(dir: impl Into<PathBuf>) -> Gpg {
        Gpg { homedir: Some(dir.into()), ..Gpg::default() }
    }

    /// Fingerprints of the primary keys that have a secret part here (including stubs for
    /// keys on a smartcard or with an offline primary key), from `--list-secret-keys
    /// --with-colons`.
    pub fn secret_fingerprints(&self) -> Result<Vec<String>, GpgError> {
        let args = ["--with-colons", "--with-fingerprint", "--list-secret-keys"];
        let run = self.run(&args, Input::Null)?.success_or("listing secret keys")?;
        let listing = String::from_utf8_lossy(&run.stdout);
        let mut fingerprints = Vec::new();
        let mut after_sec = false;
        for line in listing.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            match fields[0] {
                "sec" => after_sec = true,
                "fpr" if after_sec => {
                    after_sec = false;
                    if let Some(fpr) = fields.get(9).filter(|f| !f.is_empty()) {
                        fingerprints.push((*fpr).to_owned());
                    }
                }
                "ssb" | "pub" | "sub" => after_sec = false,
                _ => {}
            }
        }
        Ok(fingerprints)
    }

    /// Export every secret key, every public key and the owner trust. No secret key is not an
    /// error (empty `secret_keys`); a secret key that cannot be exported is, and then nothing
    /// is returned. See the module docs for passphrase prompts.
    pub fn export_all(&self) -> Result<Export, GpgError> {
        // Listing first also creates the trust database in a fresh home, without which
        // `--export-ownertrust` fails.
        let fingerprints = self.secret_fingerprints()?;
        let public = self.run(&["--armor", "--export"], Input::Null)?.success_or("export of public keys")?;
        let trust = self.run(&["--export-ownertrust"], Input::Null)?.success_or("export of owner trust")?;
        let secret_keys =
            if fingerprints.is_empty() { Zeroizing::new(Vec::new()) } else { self.export_secret(&fingerprints)? };
        Ok(Export { secret_keys, public_keys: public.stdout.to_vec(), ownertrust: trust.stdout.to_vec(), fingerprints })
    }

    /// Whether pinentry may ask now. The mode is always passed explicitly, overriding a
    /// `pinentry-mode loopback` in the user's gpg.conf (which `--batch` would turn into an
    /// immediate failure).
    fn may_prompt(&self) -> bool {
        match self.prompt {
            Prompt::Always => true,
            Prompt::Never => false,
            Prompt::IfTerminal => io::stdin().is_terminal(),
        }
    }

    fn pinentry_mode(&self) -> &'static str {
        if self.may_prompt() { "ask" } else { "error" }
    }

    fn export_secret(&self, fingerprints: &[String]) -> Result<Zeroizing<Vec<u8>>, GpgError> {
        let could_prompt = self.may_prompt();
        let run = if could_prompt {
            // Inherited stdin: gpg tells the agent which terminal pinentry should use.
            self.run(&["--pinentry-mode", "ask", "--armor", "--export-secret-keys"], Input::Inherit)?
        } else {
            self.run(&["--pinentry-mode", "error", "--armor", "--export-secret-keys"], Input::Null)?
        };
        let exported: Vec<&str> = run.status("EXPORTED").filter_map(|args| args.first().copied()).collect();
        let missing: Vec<String> =
            fingerprints.iter().filter(|f| !exported.iter().any(|e| e.eq_ignore_ascii_case(f))).cloned().collect();
        let passphrase_error = run.status("ERROR").any(|args| {
            let code: u32 = args.get(1).and_then(|c| c.parse().ok()).unwrap_or(0);
            code >> 24 == SOURCE_PINENTRY || PASSPHRASE_ERRORS.contains(&(code & 0xFFFF))
        });
        if !missing.is_empty() && passphrase_error {
            return Err(GpgError::PassphraseRequired {
                fingerprints: missing,
                could_prompt,
                stderr: run.stderr_excerpt(),
            });
        }
        if !missing.is_empty() {
            let stderr = format!("secret key {} was not exported: {}", missing.join(", "), run.stderr_excerpt());
            return Err(GpgError::Failed { what: "export of secret keys", stderr });
        }
        let run = run.success_or("export of secret keys")?;
        Ok(run.stdout)
    }

    /// Import an [`Export`]'s parts into this keyring: public keys, then secret keys, then
    /// owner trust (each skipped when empty). Returns the fingerprints of the secret keys
    /// imported or already present (`[GNUPG:] IMPORT_OK` with the secret-key flag), so the
    /// caller can compare them with [`Export::fingerprints`]. Protected keys stay protected
    /// and need no passphrase to import.
    pub fn import(&self, export_public: &[u8], secret: &[u8], ownertrust: &[u8]) -> Result<Vec<String>, GpgError> {
        if !export_public.is_empty() {
            self.run(&["--import"], Input::Bytes(export_public))?.success_or("import of public keys")?;
        }
        let mut fingerprints: Vec<String> = Vec::new();
        if !secret.is_empty() {
            // gpg ≥ 2.1 imports protected keys without their passphrase; should some version
            // want to ask anyway, it must not hang a watcher.
            let args = ["--pinentry-mode", self.pinentry_mode(), "--import"];
            let run = self.run(&args, Input::Bytes(secret))?.success_or("import of secret keys")?;
            for args in run.status("IMPORT_OK") {
                let reason: u32 = args.first().and_then(|r| r.parse().ok()).unwrap_or(0);
                if let Some(fpr) = args.get(1)
                    && reason & 16 != 0
                    && !fingerprints.iter().any(|f| f == fpr)
                {
                    fingerprints.push((*fpr).to_owned());
                }
            }
            if fingerprints.is_empty() {
                return Err(GpgError::Failed {
                    what: "import of secret keys",
                    stderr: format!("the data held no secret key: {}", run.stderr_excerpt()),
                });
            }
        }
        if !ownertrust.is_empty() {
            self.run(&["--import-ownertrust"], Input::Bytes(ownertrust))?.success_or("import of owner trust")?;
        }
        Ok(fingerprints)
    }

    /// Run gpg in batch mode with status lines on stderr, feeding `input` and collecting
    /// stdout into zeroizing memory.
    fn run(&self, args: &[&str], input: Input<'_>) -> Result<Run, GpgError> {
        let mut cmd = Command::new(&self.program);
        if let Some(home) = &self.homedir {
            cmd.arg("--homedir").arg(home);
        }
        cmd.args(["--batch", "--status-fd", "2"]).args(args);
        cmd.stdin(match input {
            Input::Null => Stdio::null(),
            Input::Inherit => Stdio::inherit(),
            Input::Bytes(_) => Stdio::piped(),
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let io_error = |source: io::Error| GpgError::Io { program: self.program.clone(), source };
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => GpgError::NotInstalled { program: self.program.clone() },
            _ => io_error(e),
        })?;
        let (stdin, stdout, mut stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (stdout, stderr, written, status) = std::thread::scope(|scope| {
            let writer = stdin.map(|mut pipe| {
                let bytes = match input {
                    Input::Bytes(bytes) => bytes,
                    _ => &[],
                };
                // Dropping the pipe at the end closes gpg's stdin.
                scope.spawn(move || pipe.write_all(bytes))
            });
            let err_reader = scope.spawn(move || {
                let mut buf = Vec::new();
                stderr.as_mut().map_or(Ok(0), |pipe| pipe.read_to_end(&mut buf)).map(|_| buf)
            });
            let stdout = stdout.map_or_else(|| Ok(Zeroizing::new(Vec::new())), read_to_end_zeroizing);
            if stdout.is_err() {
                let _ = child.kill();
            }
            let status = child.wait();
            let written = writer.map_or(Ok(()), |w| joined(w.join()));
            (stdout, joined(err_reader.join()), written, status)
        });
        let status = status.map_err(io_error)?;
        let stdout = stdout.map_err(io_error)?;
        let stderr = stderr.map_err(io_error)?;
        match written {
            // gpg stopped reading (bad input): its exit status and message say why.
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(io_error(e)),
            _ => {}
        }
        let mut status_lines = Vec::new();
        let mut log = String::new();
        for line in String::from_utf8_lossy(&stderr).lines() {
            match line.strip_prefix("[GNUPG:] ") {
                Some(status) => status_lines.push(status.to_owned()),
                None => {
                    log.push_str(line);
                    log.push('\n');
                }
            }
        }
        Ok(Run { status, stdout, status_lines, log })
    }
}

/// A helper thread's result; a panic there becomes an I/O error.
fn joined<T>(result: std::thread::Result<io::Result<T>>) -> io::Result<T> {
    result.unwrap_or_else(|_| Err(io::Error::other("pipe thread panicked")))
}

/// `read_to_end` into memory that is zeroed when freed, including every buffer outgrown on
/// the way.
fn read_to_end_zeroizing(mut reader: impl Read) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(16 * 1024));
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.len() + n > out.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity((out.capacity() * 2).max(out.len() + n)));
            bigger.extend_from_slice(&out);
            // The old buffer is zeroed as it is dropped here.
            out = bigger;
        }
        out.extend_from_slice(&chunk[..n]);
    }
    chunk.zeroize();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// Whether the real gpg can run; with `CI=true` its absence is a failure.
    fn gpg_available() -> bool {
        let ok = Command::new("gpg")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("gpg is not installed but CI=true: install GnuPG (the `gnupg` package) so the GPG tests run");
            }
            eprintln!("SKIPPED: gpg is not installed");
        }
        ok
    }

    /// A throwaway GNUPGHOME. Short (/tmp/dbgXXXXXX) because gpg-agent's socket path must fit
    /// in ~100 bytes; its agent is killed on drop.
    struct Home(tempfile::TempDir);

    impl Home {
        fn new() -> Home {
            let dir = tempfile::Builder::new().prefix("dbg").tempdir_in("/tmp").unwrap();
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
            // The cheapest passphrase hashing: protecting and unlocking test keys would
            // otherwise take seconds on a busy machine.
            std::fs::write(dir.path().join("gpg-agent.conf"), "s2k-count 65536\n").unwrap();
            Home(dir)
        }

        fn path(&self) -> &Path {
            self.0.path()
        }

        fn gpg(&self) -> Gpg {
            Gpg { program: "gpg".into(), homedir: Some(self.path().to_owned()), prompt: Prompt::Never }
        }

        fn cmd(&self, args: &[&str]) -> std::process::Output {
            Command::new("gpg")
                .arg("--homedir")
                .arg(self.path())
                .arg("--batch")
                .args(args)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }

        /// Generate an ed25519 signing key ("" for no passphrase); its fingerprint.
        fn gen_key(&self, uid: &str, passphrase: &str) -> String {
            let before = self.gpg().secret_fingerprints().unwrap();
            let out = self.cmd(&[
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
                "--quick-gen-key",
                uid,
                "ed25519",
                "sign",
                "never",
            ]);
            assert!(out.status.success(), "gen-key: {}", String::from_utf8_lossy(&out.stderr));
            let after = self.gpg().secret_fingerprints().unwrap();
            let new: Vec<String> = after.into_iter().filter(|f| !before.contains(f)).collect();
            assert_eq!(new.len(), 1, "{new:?}");
            new[0].clone()
        }

        /// Sign a file with `fpr` without any passphrase prompt, then verify it; the status
        /// output of the verification.
        fn sign_and_verify(&self, fpr: &str, passphrase: Option<&str>) -> Result<String, String> {
            let data = self.path().join("data.txt");
            let sig = self.path().join("data.txt.sig");
            std::fs::write(&data, "hello\n").unwrap();
            let (data, sig) = (data.to_str().unwrap(), sig.to_str().unwrap());
            let mut args = vec!["--yes"];
            match passphrase {
                Some(p) => args.extend(["--pinentry-mode", "loopback", "--passphrase", p]),
                None => args.extend(["--pinentry-mode", "error"]),
            }
            args.extend(["--local-user", fpr, "--output", sig, "--detach-sign", data]);
            let out = self.cmd(&args);
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).into_owned());
            }
            let out = self.cmd(&["--status-fd", "1", "--verify", sig, data]);
            assert!(out.status.success(), "verify: {}", String::from_utf8_lossy(&out.stderr));
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }

        /// `--export-ownertrust` without its comment lines.
        fn ownertrust(&self) -> Vec<String> {
            let out = self.cmd(&["--export-ownertrust"]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).map(str::to_owned).collect()
        }
    }

    impl Drop for Home {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.path())
                .args(["--kill", "all"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    #[test]
    fn unprotected_key_round_trips_and_signs() {
        if !gpg_available() {
            return;
        }
        let a = Home::new();
        let fpr = a.gen_key("Test <t@example.com>", "");
        let export = a.gpg().export_all().unwrap();
        assert_eq!(export.fingerprints, vec![fpr.clone()]);
        assert!(export.secret_keys.starts_with(b"-----BEGIN PGP PRIVATE KEY BLOCK-----"));
        assert!(export.public_keys.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        assert!(String::from_utf8_lossy(&export.ownertrust).contains(&format!("{fpr}:6:")));

        let b = Home::new();
        let imported = b.gpg().import(&export.public_keys, &export.secret_keys, &export.ownertrust).unwrap();
        assert_eq!(imported, vec![fpr.clone()]);
        assert_eq!(b.gpg().secret_fingerprints().unwrap(), vec![fpr.clone()]);
        let verified = b.sign_and_verify(&fpr, None).unwrap();
        assert!(verified.contains(&format!("VALIDSIG {fpr}")), "{verified}");
        // Owner trust came along: the key is ultimately trusted in the new home too.
        assert!(verified.contains("TRUST_ULTIMATE"), "{verified}");
        assert_eq!(b.ownertrust(), a.ownertrust());

        // Importing again is idempotent.
        let again = b.gpg().import(&export.public_keys, &export.secret_keys, &export.ownertrust).unwrap();
        assert_eq!(again, vec![fpr]);
    }

    #[test]
    fn no_secret_keys_is_an_empty_export() {
        if !gpg_available() {
            return;
        }
        let home = Home::new();
        let export = home.gpg().export_all().unwrap();
        assert!(export.secret_keys.is_empty() && export.fingerprints.is_empty() && export.public_keys.is_empty());
        assert_eq!(home.gpg().import(&[], &[], &[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn protected_key_without_a_terminal_is_a_clear_error() {
        if !gpg_available() {
            return;
        }
        let home = Home::new();
        let open = home.gen_key("Open <o@example.com>", "");
        let locked = home.gen_key("Locked <l@example.com>", "correct horse");
        let err = home.gpg().export_all().unwrap_err();
        match &err {
            GpgError::PassphraseRequired { fingerprints, could_prompt, .. } => {
                assert_eq!(fingerprints, &vec![locked.clone()], "only the protected key is missing");
                assert!(!could_prompt);
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&locked) && !msg.contains(&open) && msg.contains("terminal"), "{msg}");
    }

    #[test]
    fn protected_key_imports_without_passphrase_and_stays_protected() {
        if !gpg_available() {
            return;
        }
        let a = Home::new();
        let fpr = a.gen_key("Locked <l@example.com>", "pw");
        // dotback cannot export it without a prompt; the test supplies the passphrase.
        let out = a.cmd(&["--pinentry-mode", "loopback", "--passphrase", "pw", "--armor", "--export-secret-keys"]);
        assert!(out.status.success());
        let b = Home::new();
        assert_eq!(b.gpg().import(&[], &out.stdout, &[]).unwrap(), vec![fpr.clone()]);
        assert!(b.sign_and_verify(&fpr, None).is_err(), "still needs its passphrase");
        assert!(b.sign_and_verify(&fpr, Some("pw")).is_ok());
    }

    #[test]
    fn bad_input_is_a_failure_naming_the_step() {
        if !gpg_available() {
            return;
        }
        let home = Home::new();
        match home.gpg().import(&[], b"not a key\n", &[]) {
            Err(GpgError::Failed { what: "import of secret keys", stderr }) => assert!(!stderr.is_empty()),
            other => panic!("unexpected {other:?}"),
        }
        match home.gpg().import(&[], &[], b"zzzz:6:\n") {
            Err(GpgError::Failed { what: "import of owner trust", .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_program_is_not_installed() {
        let gpg = Gpg { program: "/nonexistent/dotback-test/gpg".into(), homedir: None, prompt: Prompt::Never };
        let err = gpg.export_all().unwrap_err();
        assert!(matches!(err, GpgError::NotInstalled { .. }), "{err:?}");
        assert!(err.to_string().contains("install GnuPG"));
    }

    #[test]
    fn export_debug_redacts_secret_keys() {
        let export = Export {
            secret_keys: Zeroizing::new(b"SECRET-MATERIAL".to_vec()),
            public_keys: b"pub".to_vec(),
            ownertrust: Vec::new(),
            fingerprints: vec!["ABCD".into()],
        };
        let shown = format!("{export:?}");
        assert!(!shown.contains("SECRET") && shown.contains("15 bytes redacted") && shown.contains("ABCD"), "{shown}");
    }

    #[test]
    fn zeroizing_reader_reads_everything() {
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let read = read_to_end_zeroizing(&data[..]).unwrap();
        assert_eq!(&read[..], &data[..]);
    }
}
