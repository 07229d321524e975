//! The test environment: every test gets its own HOME, XDG directories, an empty global git
//! config, a cleared environment and a fixed device name.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const DEVICE: &str = "testbox";
pub const PASSPHRASE: &str = "correct horse battery staple";

pub struct TestEnv {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub config_home: PathBuf,
    pub state_home: PathBuf,
    pub data_home: PathBuf,
    /// Extra directories put first on PATH (e.g. the chezmoi binary's).
    pub extra_path: Vec<PathBuf>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new().prefix("dotback-e2e-").tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let env = TestEnv {
            home: root.join("home"),
            config_home: root.join("xdg/config"),
            state_home: root.join("xdg/state"),
            data_home: root.join("xdg/data"),
            root,
            _dir: dir,
            extra_path: Vec::new(),
        };
        for d in [&env.home, &env.config_home, &env.state_home, &env.data_home] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(env.root.join("gitconfig"), "").unwrap();
        fs::write(env.passphrase_file(), format!("{PASSPHRASE}\n")).unwrap();
        env
    }

    /// This device's public key, from `dotback keys list --json`.
    pub fn recipient(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.ok(&["keys", "list", "--json"]).stdout).unwrap();
        v["this_device"]["recipient"].as_str().expect("device has an identity").to_string()
    }

    /// The device identity file dotback created.
    pub fn identity_file(&self) -> PathBuf {
        self.config_home.join("dotback/identity.txt")
    }

    /// Makes `other` (same store) a recipient, by running `keys add-device` here.
    pub fn admit(&self, other: &TestEnv, name: &str) {
        self.ok(&["keys", "add-device", name, &other.recipient()]);
    }

    /// Points chezmoi (and so dotback, which reads chezmoi's age settings) at `identity`.
    pub fn chezmoi_age_config(&self, identity: &Path, recipient: &str) {
        let dir = self.config_home.join("chezmoi");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("chezmoi.toml"),
            format!(
                "encryption = \"age\"\n[age]\nidentity = {:?}\nrecipient = {:?}\n",
                identity.display().to_string(),
                recipient
            ),
        )
        .unwrap();
    }

    /// A file holding the recovery passphrase, for `init --passphrase-file`.
    pub fn passphrase_file(&self) -> PathBuf {
        self.root.join("passphrase")
    }

    /// A second HOME sharing nothing with this one.
    pub fn sibling() -> TestEnv {
        TestEnv::new()
    }

    pub fn store(&self) -> PathBuf {
        self.data_home.join("chezmoi")
    }

    /// Puts the chezmoi binary's directory on PATH for this env's commands.
    pub fn with_chezmoi(mut self, bin: &Path) -> TestEnv {
        self.extra_path.push(bin.parent().unwrap().to_path_buf());
        self
    }

    pub fn envs(&self) -> Vec<(&'static str, OsString)> {
        let mut path: Vec<PathBuf> = self.extra_path.clone();
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        vec![
            ("HOME", self.home.clone().into()),
            ("XDG_CONFIG_HOME", self.config_home.clone().into()),
            ("XDG_STATE_HOME", self.state_home.clone().into()),
            ("XDG_DATA_HOME", self.data_home.clone().into()),
            ("XDG_CACHE_HOME", self.root.join("xdg/cache").into()),
            ("PATH", std::env::join_paths(path).unwrap()),
            ("GIT_CONFIG_GLOBAL", self.root.join("gitconfig").into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("LANG", "C.UTF-8".into()),
            ("TZ", "UTC".into()),
            // Sealing the recovery key at the real work factor takes seconds per test. Honoured
            // only with the `test-fast-scrypt` feature (tests/run enables it).
            ("DOTBACK_TEST_SCRYPT_LOG_N", "10".into()),
        ]
    }

    /// `dotback ARGS` in HOME.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dotback"));
        c.args(args).env_clear().envs(self.envs()).current_dir(&self.home).stdin(Stdio::null());
        c
    }

    /// Runs dotback and asserts success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().unwrap();
        assert!(out.status.success(), "dotback {args:?} failed:\n{}", show(&out));
        out
    }

    /// Runs dotback and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.cmd(args).output().unwrap();
        assert!(!out.status.success(), "dotback {args:?} should fail:\n{}", show(&out));
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    pub fn init(&self) {
        self.ok(&["init", "--device", DEVICE, "--passphrase-file", self.passphrase_file().to_str().unwrap()]);
    }

    /// `init` as another device of `store` (which already has its keys).
    pub fn join(&self, device: &str, store: &Path) {
        self.ok(&["init", "--device", device, "--source", store.to_str().unwrap()]);
    }

    /// Writes a file in HOME (creating parents) with `mode`.
    pub fn write(&self, rel: &str, content: &str, mode: u32) -> PathBuf {
        let p = self.home.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.home.join(rel)).unwrap()
    }

    pub fn git(&self, args: &[&str]) -> Output {
        self.git_in(&self.store(), args)
    }

    /// git in `dir`, with this env's environment.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Output {
        let out = Command::new("git").args(args).env_clear().envs(self.envs()).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "git {args:?} failed:\n{}", show(&out));
        out
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn show(out: &Output) -> String {
    format!("status: {}\nstdout:\n{}\nstderr:\n{}", out.status, stdout(out), stderr(out))
}

/// What a tree holds: per relative path, its kind, permission bits and content or link target.
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let md = fs::symlink_metadata(e.path()).unwrap();
        let perm = md.mode() & 0o7777;
        let v = if md.file_type().is_symlink() {
            format!("link -> {}", fs::read_link(e.path()).unwrap().display())
        } else if md.is_dir() {
            format!("dir {perm:04o}")
        } else {
            format!("file {perm:04o} {:?}", String::from_utf8_lossy(&fs::read(e.path()).unwrap()))
        };
        map.insert(rel, v);
    }
    map
}

/// Every file under `root` with its mode, for "nothing changed" assertions.
pub fn tree_digest(root: &Path) -> BTreeMap<String, String> {
    snapshot(root)
}

/// The chezmoi binary for differential tests. Missing under CI=true is a failure with a clear
/// message; elsewhere the test says it is skipped.
pub fn chezmoi() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DOTBACK_TEST_CHEZMOI").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/chezmoi")),
    ];
    if let Some(p) = candidates.into_iter().flatten().find(|p| p.is_file()) {
        return Some(p);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the chezmoi binary is missing: run `bash tests/run`, which fetches it into target/test-tools/");
    }
    eprintln!("SKIPPED: no chezmoi binary (run `bash tests/run` to fetch it)");
    None
}

/// Whether the real program `name` is installed. Missing under CI=true is a failure with a
/// clear message; elsewhere the test says it is skipped.
pub fn require(name: &str) -> bool {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().unwrap().status.success();
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("`{name}` is missing: run `bash tests/run`, which installs it");
        }
        eprintln!("SKIPPED: `{name}` is not installed");
    }
    found
}

/// Runs the real chezmoi with this env's HOME and XDG dirs.
pub fn run_chezmoi(env: &TestEnv, bin: &Path, args: &[&str]) -> Output {
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.envs())
        .current_dir(&env.home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "chezmoi {args:?} failed:\n{}", show(&out));
    out
}

// Sync between devices through bare remotes.

pub fn bare(env: &TestEnv, name: &str) -> PathBuf {
    let p = env.root.join(name);
    let out = Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(&p)
        .env_clear()
        .envs(env.envs())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    p
}

/// A device with `~/.zshrc` (holding `zshrc`) committed and synced to the bare remote `origin`.
pub fn synced_with_zshrc(zshrc: &str) -> (TestEnv, PathBuf) {
    let a = TestEnv::new();
    a.init();
    let remote = bare(&a, "remote.git");
    a.write(".zshrc", zshrc, 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.ok(&["sync"]);
    (a, remote)
}

/// Devices a (`DEVICE`) and b sharing a remote, having edited ~/.zshrc apart (from `base`, to
/// `from_a` and `from_b`): a synced first, so b's sync could not merge. Returns both devices and
/// b's sync, which kept b's version live and a's beside it.
pub fn zshrc_conflict(base: &str, from_a: &str, from_b: &str) -> (TestEnv, TestEnv, Output) {
    let (a, remote) = synced_with_zshrc(base);
    let b = device_from(&remote, "b");
    b.ok(&["apply"]);
    a.write(".zshrc", from_a, 0o644);
    b.write(".zshrc", from_b, 0o644);
    a.ok(&["sync"]);
    let made = b.sync_in_conflict();
    (a, b, made)
}

/// Device `name`: a clone of `remote` as its store.
pub fn device_from(remote: &Path, name: &str) -> TestEnv {
    let env = TestEnv::new();
    let store = env.root.join("store");
    let out = Command::new("git")
        .arg("clone")
        .arg("-q")
        .arg(remote)
        .arg(&store)
        .env_clear()
        .envs(env.envs())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    env.join(name, &store);
    env
}

pub fn store_of(env: &TestEnv) -> PathBuf {
    let cfg = fs::read_to_string(env.config_home.join("dotback/config.toml")).unwrap();
    let line = cfg.lines().find(|l| l.starts_with("source")).unwrap();
    PathBuf::from(line.split('"').nth(1).unwrap())
}

/// A small deterministic generator, so a failing sequence can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Every file below `root` (contents), for "is this token anywhere" checks.
pub fn all_text(root: &Path) -> String {
    let mut out = String::new();
    for e in walkdir::WalkDir::new(root).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        out.push_str(&String::from_utf8_lossy(&fs::read(e.path()).unwrap()));
        out.push('\n');
    }
    out
}

/// git outside any TestEnv, with an environment as cleared as theirs: no user or system config
/// (so no pager, colour, external diff or hook of the developer's), a fixed locale and zone.
pub fn git_cleared() -> Command {
    let mut c = Command::new("git");
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LANG", "C.UTF-8")
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    c
}

/// What dotback's backups hold for `rel` (a path below HOME), oldest first.
pub fn backed_up(env: &TestEnv, rel: &str) -> Vec<String> {
    let root = env.state_home.join("dotback/backups");
    let mut runs: Vec<PathBuf> = fs::read_dir(&root).map_or(Vec::new(), |d| d.flatten().map(|e| e.path()).collect());
    runs.sort();
    runs.iter().filter_map(|run| fs::read_to_string(run.join(rel)).ok()).collect()
}

/// Every plaintext blob in a store's history.
pub fn history_text(store: &Path) -> String {
    let out = git_cleared().args(["log", "--all", "-p", "--format="]).current_dir(store).output().unwrap();
    assert!(out.status.success(), "git log in {}: {}", store.display(), show(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `git status --porcelain` in `env`'s store, without the audit trail (its newest record waits
/// for the next commit by design; see src/audit.rs).
pub fn store_changes(env: &TestEnv) -> String {
    let out = env.git_in(&store_of(env), &["status", "--porcelain"]);
    stdout(&out).lines().filter(|l| !l.contains(".dotback/audit/")).map(|l| format!("{l}\n")).collect()
}

/// The commit `main` points at in the bare repository `remote`, if it has one.
pub fn remote_head(remote: &Path) -> Option<String> {
    let out =
        git_cleared().arg("--git-dir").arg(remote).args(["rev-parse", "--verify", "-q", "main"]).output().unwrap();
    out.status.success().then(|| stdout(&out).trim().to_string())
}

/// git in `env`'s store as a person with a name (for commits made by hand).
pub fn git_by_hand(env: &TestEnv, args: &[&str]) -> Output {
    let mut all = vec!["-c", "user.name=Someone", "-c", "user.email=someone@example.org"];
    all.extend_from_slice(args);
    env.git_in(&store_of(env), &all)
}

/// Runs dotback as an unprivileged user when the tests run as root (root reads every file).
pub fn unprivileged(env: &TestEnv, args: &[&str]) -> std::process::Output {
    if !is_root() {
        return env.cmd(args).output().unwrap();
    }
    assert!(Command::new("chown").args(["-R", "65534:65534"]).arg(&env.root).status().unwrap().success());
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_dotback"))
        .args(args)
        .env_clear()
        .envs(env.envs())
        .current_dir(&env.home);
    c.output().unwrap()
}

/// Whether the tests run as root (who may write into read-only directories).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Someone with push access to `remote` and no key of the store: a plain git clone of it, at
/// `root/attacker` (made on first use), committing as a person of their own.
pub struct Intruder {
    pub dir: PathBuf,
}

impl Intruder {
    pub fn clone_of(root: &Path, remote: &Path) -> Intruder {
        let dir = root.join("attacker");
        if !dir.exists() {
            let out = Command::new("git").arg("clone").arg("-q").arg(remote).arg(&dir).output().unwrap();
            assert!(out.status.success(), "{}", show(&out));
        }
        Intruder { dir }
    }

    /// git in the clone; asserts success and returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=Mallory", "-c", "user.email=m@example.org"])
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", show(&out));
        stdout(&out)
    }

    /// Takes in what the remote has, commits everything (past any hook) and pushes; returns the commit.
    pub fn push(&self, message: &str) -> String {
        self.git(&["pull", "-q", "--no-rebase", "origin", "main"]);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--no-verify", "-m", message]);
        self.git(&["push", "-q", "origin", "HEAD:main"]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

/// The exit code of a sync that ends with a conflict unsettled.
pub const CONFLICTS: i32 = 8;

impl TestEnv {
    /// Runs `dotback sync` while a conflict is, or becomes, unsettled: asserts it exits 8.
    pub fn sync_in_conflict(&self) -> Output {
        let out = self.cmd(&["sync"]).output().unwrap();
        assert_eq!(out.status.code(), Some(CONFLICTS), "dotback sync should end in conflict:\n{}", show(&out));
        out
    }

    /// Runs `dotback sync` and asserts it ended well: 0, or 8 with nothing worse than a conflict
    /// left for `dotback resolve`.
    pub fn synced(&self) -> Output {
        let out = self.cmd(&["sync"]).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | CONFLICTS)), "dotback sync failed:\n{}", show(&out));
        out
    }
}

/// Waits (a minute at most) until `path` exists: a test seam's "reached" file, say.
pub fn waits_for(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
