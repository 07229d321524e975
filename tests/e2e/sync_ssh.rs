//! Sync over ssh: a real sshd on 127.0.0.1 with a temporary host key, serving a bare repository.

use crate::common::*;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// A real sshd on 127.0.0.1 with its own host key and authorized_keys; killed on drop.
pub(crate) struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sshd {
    /// `None` (test skipped) when sshd is not installed outside CI; a failure under CI=true.
    pub(crate) fn start(dir: &Path) -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{SSHD} is missing: run `bash tests/run`, which installs openssh-server");
            }
            eprintln!("SKIPPED: {SSHD} is not installed");
            return None;
        }
        if !require("ssh-keygen") {
            return None;
        }
        fs::create_dir_all(dir).unwrap();
        keygen(&dir.join("host_ed25519"));
        fs::write(dir.join("authorized_keys"), "").unwrap();
        // sshd insists on its privilege-separation directory when run as root.
        let _ = fs::create_dir_all("/run/sshd");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n",
            d = dir.display()
        );
        fs::write(dir.join("sshd_config"), config).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let sshd = Sshd { child, port, dir: dir.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start:\n{}", sshd.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(sshd)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    pub(crate) fn authorize(&self, public_key: &Path) {
        let mut keys = fs::read_to_string(self.dir.join("authorized_keys")).unwrap();
        keys.push_str(&fs::read_to_string(public_key).unwrap());
        fs::write(self.dir.join("authorized_keys"), keys).unwrap();
    }

    /// The `known_hosts` line for this server's real host key.
    pub(crate) fn known_hosts_line(&self) -> String {
        let public = fs::read_to_string(self.dir.join("host_ed25519.pub")).unwrap();
        let mut parts = public.split_whitespace();
        format!("[127.0.0.1]:{} {} {}\n", self.port, parts.next().unwrap(), parts.next().unwrap())
    }

    /// The host key's fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen").arg("-lf").arg(self.dir.join("host_ed25519.pub")).output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        stdout(&out).split_whitespace().nth(1).unwrap().to_string()
    }

    pub(crate) fn url(&self, repo: &Path) -> String {
        format!("ssh://{}@127.0.0.1:{}{}", user(), self.port, repo.display())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    stdout(&out).trim().to_string()
}

/// An unencrypted ed25519 key pair at `path` and `path.pub`.
pub(crate) fn keygen(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "dotback-test", "-f"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
}

pub(crate) fn bare(env: &TestEnv) -> PathBuf {
    let p = env.root.join("remote.git");
    assert!(Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&p).status().unwrap().success());
    p
}

/// This device's ssh key (authorized on `sshd`) and a known_hosts with the server's real key.
fn trust(env: &TestEnv, sshd: &Sshd) {
    keygen(&env.home.join(".ssh/id_ed25519"));
    sshd.authorize(&env.home.join(".ssh/id_ed25519.pub"));
    fs::set_permissions(env.home.join(".ssh"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(env.home.join(".ssh/known_hosts"), sshd.known_hosts_line()).unwrap();
}

/// Runs `dotback ARGS` with the key pair's files out of the way (so only `sock`'s agent can
/// authenticate).
fn with_agent(env: &TestEnv, sock: &Path, args: &[&str]) -> std::process::Output {
    env.cmd(args).env("SSH_AUTH_SOCK", sock).output().unwrap()
}

#[test]
fn two_devices_sync_over_ssh() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    trust(&a, &sshd);
    a.write(".zshrc", "one\ntwo\nthree\n", 0o644);
    a.write(
        ".ssh/id_work",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        0o600,
    );
    a.ok(&["add", ".zshrc", ".ssh/id_work"]);
    a.ok(&["remote", "add", "origin", &sshd.url(&remote)]);
    a.ok(&["sync"]);
    assert_eq!(
        remote_head(&remote),
        Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string()),
        "pushed over ssh"
    );

    // Device b joins from the same remote over ssh, with its own key.
    let b = TestEnv::new();
    trust(&b, &sshd);
    let store = b.root.join("store");
    let out = Command::new("git").arg("clone").arg("-q").arg(&remote).arg(&store).envs(b.envs()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    b.git_in(&store, &["remote", "set-url", "origin", &sshd.url(&remote)]);
    b.join("b", &store);
    a.admit(&b, "b");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(".zshrc"), "one\ntwo\nthree\n");
    assert_eq!(
        fs::read_to_string(b.home.join(".ssh/id_work")).unwrap(),
        fs::read_to_string(a.home.join(".ssh/id_work")).unwrap()
    );

    // Edits on both sides merge through the ssh remote.
    a.write(".zshrc", "ONE\ntwo\nthree\n", 0o644);
    b.write(".zshrc", "one\ntwo\nTHREE\n", 0o644);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.read(".zshrc"), "ONE\ntwo\nTHREE\n");
    assert_eq!(b.read(".zshrc"), "ONE\ntwo\nTHREE\n");
    assert_eq!(remote_head(&remote), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string()));
}

#[test]
fn unknown_or_changed_host_keys_are_refused() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    trust(&a, &sshd);
    a.write(".zshrc", "mine\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &sshd.url(&remote)]);

    // No known_hosts entry at all.
    fs::remove_file(a.home.join(".ssh/known_hosts")).unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("host key") && err.contains(&sshd.fingerprint()), "names the key's fingerprint: {err}");
    assert!(err.contains(&format!("[127.0.0.1]:{}", sshd.port)), "names the host as known_hosts does: {err}");
    assert!(err.contains(&format!("`ssh -p {} 127.0.0.1`", sshd.port)), "the hint names the port: {err}");
    assert!(err.contains("local commit is safe"), "{err}");
    assert_eq!(remote_head(&remote), None, "nothing reached the server");
    let committed = stdout(&a.git(&["log", "-1", "--format=%s"]));
    assert!(committed.contains(".zshrc"), "the local commit was made: {committed}");

    // A different key recorded for this host and port: a changed key, refused the same way.
    let other = a.root.join("other_host_key");
    keygen(&other);
    let public = fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut parts = public.split_whitespace();
    let line = format!("[127.0.0.1]:{} {} {}\n", sshd.port, parts.next().unwrap(), parts.next().unwrap());
    fs::write(a.home.join(".ssh/known_hosts"), line).unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("does not match") && err.contains(&sshd.fingerprint()), "{err}");
    assert_eq!(remote_head(&remote), None);
    assert_eq!(a.read(".zshrc"), "mine\n", "nothing lost");

    // The right key: the queued commit goes out.
    fs::write(a.home.join(".ssh/known_hosts"), sshd.known_hosts_line()).unwrap();
    a.ok(&["sync"]);
    assert_eq!(remote_head(&remote), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string()));
}

#[test]
fn an_unauthorized_key_is_refused_and_an_agent_key_is_used() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    trust(&a, &sshd);
    // Replace the authorized key with a stranger's: ours is refused.
    fs::write(sshd.dir.join("authorized_keys"), "").unwrap();
    a.write(".zshrc", "mine\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &sshd.url(&remote)]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("refused every credential") && err.contains("~/.ssh/id_ed25519"), "{err}");
    assert!(err.contains("ssh-add"), "hints at the agent: {err}");
    assert_eq!(remote_head(&remote), None);

    // A key only ssh-agent holds (nothing under ~/.ssh can log in) is offered first and works.
    if !require("ssh-agent") {
        return;
    }
    let agent_key = a.root.join("agent_key");
    keygen(&agent_key);
    sshd.authorize(&agent_key.with_extension("pub"));
    let sock = a.root.join("agent.sock");
    let mut agent = Command::new("ssh-agent").arg("-D").arg("-a").arg(&sock).stdout(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = Command::new("ssh-add").arg("-q").arg(&agent_key).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(added.status.success(), "{}", show(&added));
    let out = with_agent(&a, &sock, &["sync"]);
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(out.status.success(), "{}\nsshd log:\n{}", show(&out), sshd.log());
    assert_eq!(remote_head(&remote), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string()));
}

#[test]
fn a_closed_ssh_port_is_unreachable_not_refused() {
    let a = TestEnv::new();
    if !require("ssh-keygen") {
        return;
    }
    a.init();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    a.write(".zshrc", "mine\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &format!("ssh://{}@127.0.0.1:{port}/nowhere.git", user())]);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 5, "unreachable means retry later: {err}");
    assert!(err.contains("origin") && err.contains("local commit is safe"), "{err}");
}

/// The server's host key as `known_hosts` writes it after the host names: `TYPE BASE64`.
fn host_key(sshd: &Sshd) -> String {
    let line = sshd.known_hosts_line();
    line.split_once(' ').unwrap().1.trim().to_string()
}

#[test]
fn a_revoked_host_key_is_refused_even_when_another_line_accepts_it() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    trust(&a, &sshd);
    a.write(".zshrc", "mine\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &sshd.url(&remote)]);
    let known_hosts = a.home.join(".ssh/known_hosts");

    // The right key is recorded, and a later line revokes it (for every host): ssh refuses it.
    let key = host_key(&sshd);
    fs::write(&known_hosts, format!("{}@revoked * {key}\n", sshd.known_hosts_line())).unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("was revoked") && err.contains(&sshd.fingerprint()), "{err}");
    assert!(err.contains("known_hosts line 2"), "names the line: {err}");
    assert!(!err.contains("ssh -p"), "no advice to record a revoked key: {err}");
    assert_eq!(remote_head(&remote), None, "nothing reached the server");

    // Only a certificate authority vouches for the host: refused, saying why.
    fs::write(&known_hosts, format!("@cert-authority [127.0.0.*]:* {key}\n")).unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("@cert-authority") && err.contains("cannot check host certificates"), "{err}");
    assert!(err.contains(&format!("ssh-keyscan -p {} 127.0.0.1", sshd.port)), "{err}");
    assert_eq!(remote_head(&remote), None);

    // A revocation for another host's key leaves this one alone.
    let other = a.root.join("other_host_key");
    keygen(&other);
    let public = fs::read_to_string(other.with_extension("pub")).unwrap();
    let other_key = public.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    fs::write(&known_hosts, format!("@revoked * {other_key}\n{}", sshd.known_hosts_line())).unwrap();
    a.ok(&["sync"]);
    assert_eq!(remote_head(&remote), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string()));
}

#[test]
fn wildcard_negated_and_hashed_known_hosts_entries_work_as_in_openssh() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    trust(&a, &sshd);
    a.ok(&["remote", "add", "origin", &sshd.url(&remote)]);
    let known_hosts = a.home.join(".ssh/known_hosts");
    let key = host_key(&sshd);
    let pushed = |a: &TestEnv, content: &str| {
        a.write(".zshrc", content, 0o644);
        a.ok(&["add", ".zshrc"]);
        a.ok(&["sync"]);
        assert_eq!(remote_head(&remote), Some(stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string()));
    };

    // A wildcard over the address, with the port.
    fs::write(&known_hosts, format!("[127.0.0.*]:{} {key}\n", sshd.port)).unwrap();
    pushed(&a, "one\n");

    // A negated pattern rules the line out even though another pattern matches.
    fs::write(&known_hosts, format!("[127.0.0.*]:{p},![127.0.0.1]:{p} {key}\n", p = sshd.port)).unwrap();
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("is not in ~/.ssh/known_hosts"), "{err}");

    // A hashed entry, as `ssh-keygen -H` writes it.
    fs::write(&known_hosts, sshd.known_hosts_line()).unwrap();
    let out = Command::new("ssh-keygen").arg("-H").arg("-f").arg(&known_hosts).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let hashed = fs::read_to_string(&known_hosts).unwrap();
    assert!(hashed.starts_with("|1|") && !hashed.contains("127.0.0.1"), "hashed: {hashed}");
    pushed(&a, "two\n");
}

#[test]
fn an_ssh_config_alias_names_the_host_port_user_and_key() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    // The only key that logs in sits where only the alias's IdentityFile finds it, and the server
    // listens on a port only the alias names.
    let key = a.home.join(".ssh/keys/backup_key");
    keygen(&key);
    sshd.authorize(&key.with_extension("pub"));
    fs::set_permissions(a.home.join(".ssh"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(a.home.join(".ssh/known_hosts"), sshd.known_hosts_line()).unwrap();
    let config = format!(
        "# a comment\nHost other\n    Port 1\n\nHost backup-*  !backup-old\n    HostName 127.0.0.1\n    Port {}\n    User {}\n    IdentityFile ~/.ssh/keys/backup_key\n    IdentitiesOnly yes\n\nHost *\n    User nobody-at-all\n",
        sshd.port,
        user()
    );
    fs::write(a.home.join(".ssh/config"), config).unwrap();
    a.write(".zshrc", "one\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    let url = format!("backup-box:{}", remote.display());
    a.ok(&["remote", "add", "origin", &url]);
    let out = a.ok(&["sync"]);
    assert!(!stderr(&out).contains("error"), "{}\nsshd log:\n{}", show(&out), sshd.log());
    let head = || stdout(&a.git(&["rev-parse", "HEAD"])).trim().to_string();
    assert_eq!(remote_head(&remote), Some(head()), "pushed through the alias");
    assert_eq!(stdout(&a.git(&["remote", "get-url", "origin"])).trim(), url, "the store keeps the alias");
    let tracking = stdout(&a.git(&["rev-parse", "refs/remotes/origin/main"]));
    assert_eq!(tracking.trim(), head(), "`status` knows what the remote has");

    // A second device's edit comes back through the alias (a fetch).
    let b = device_from(&remote, "b");
    a.admit(&b, "b");
    a.ok(&["sync"]);
    b.ok(&["apply"]);
    b.write(".zshrc", "from b\n", 0o644);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.read(".zshrc"), "from b\n");

    // The host key is checked for the real host and port the alias names.
    fs::remove_file(a.home.join(".ssh/known_hosts")).unwrap();
    a.write(".zshrc", "two\n", 0o644);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains(&format!("[127.0.0.1]:{}", sshd.port)) && err.contains(&sshd.fingerprint()), "{err}");
    // ... or under its HostKeyAlias, as ssh looks it up.
    let config = fs::read_to_string(a.home.join(".ssh/config")).unwrap();
    let config = config.replace("IdentitiesOnly yes", "IdentitiesOnly yes\n    HostKeyAlias backup-key-name");
    fs::write(a.home.join(".ssh/config"), config).unwrap();
    fs::write(a.home.join(".ssh/known_hosts"), format!("backup-key-name {}\n", host_key(&sshd))).unwrap();
    a.ok(&["sync"]);
    assert_eq!(remote_head(&remote), Some(head()));

    // A negated pattern leaves the alias unresolved, as ssh would: it cannot be reached.
    a.git(&["remote", "set-url", "origin", &format!("backup-old:{}", remote.display())]);
    a.write(".zshrc", "three\n", 0o644);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 5, "{err}");
}

#[test]
fn four_devices_syncing_at_once_over_ssh_lose_nothing() {
    let host = TestEnv::new();
    let Some(sshd) = Sshd::start(&host.root.join("sshd")) else { return };
    let remote = bare(&host);
    let url = sshd.url(&remote);
    let devs = crate::concurrent::devices_with(4, &url, &|env| trust(env, &sshd), &|i| {
        let d = TestEnv::new();
        trust(&d, &sshd);
        let store = d.root.join("store");
        let out = Command::new("git").arg("clone").arg("-q").arg(&remote).arg(&store).envs(d.envs()).output().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        d.git_in(&store, &["remote", "set-url", "origin", &url]);
        d.join(&format!("dev{i}"), &store);
        d
    });
    crate::concurrent::hammer(&devs, &remote, 20);
}

#[test]
fn a_push_a_hook_refuses_is_a_remote_reached_that_refused_not_a_race() {
    let a = TestEnv::new();
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let remote = bare(&a);
    a.init();
    trust(&a, &sshd);
    a.write(".zshrc", "one\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &sshd.url(&remote)]);
    a.ok(&["sync"]);
    let hook = remote.join("hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\necho 'pushes are closed today' >&2\nexit 1\n").unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let before = remote_head(&remote);

    a.write(".zshrc", "two\n", 0o644);
    let out = a.cmd(&["sync"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "a refusal, not a race to retry:\n{}", show(&out));
    let text = show(&out);
    assert!(text.contains("1 remote reached"), "the remote was reached: {text}");
    assert!(text.contains("remote `origin`") && text.contains("declined"), "and why it refused: {text}");
    assert!(!text.contains("pushed first"), "{text}");
    assert_eq!(remote_head(&remote), before, "nothing landed");
}
