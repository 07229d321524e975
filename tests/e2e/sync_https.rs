//! Sync over https: a real git smart-HTTP server (`tests/tools/https-git-server`) on 127.0.0.1
//! with a certificate from a throwaway CA and HTTP Basic authentication.

use crate::common::*;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pa55word";

/// The server process; killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
    root: PathBuf,
}

impl Server {
    /// `None` (test skipped) when python3 or openssl is missing outside CI; a failure under CI=true.
    fn start(dir: &Path) -> Option<Server> {
        if !require("python3") || !require("openssl") {
            return None;
        }
        let root = dir.join("repos");
        fs::create_dir_all(&root).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/https-git-server");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.join("tls"))
            .arg(&root)
            .args([USER, PASSWORD])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(dir.join("server.log")).unwrap())
            .spawn()
            .unwrap();
        // The server prints its port once it is listening (and exits on a setup failure).
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let mut server = Server { child, port: 0, dir: dir.to_path_buf(), root };
        server.port =
            line.trim().parse().unwrap_or_else(|_| panic!("the https server did not start:\n{}", server.log()));
        Some(server)
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The certificate authority that signed the server's certificate.
    fn ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// A new bare repository served as `https://127.0.0.1:PORT/NAME`.
    fn bare(&self, name: &str) -> PathBuf {
        let p = self.root.join(name);
        assert!(Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&p).status().unwrap().success());
        p
    }

    fn url(&self, name: &str) -> String {
        format!("https://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `dotback ARGS` trusting `ca` (through OpenSSL's `SSL_CERT_FILE`).
fn trusting(env: &TestEnv, ca: &Path, args: &[&str]) -> Output {
    env.cmd(args).env("SSL_CERT_FILE", ca).output().unwrap()
}

fn ok_trusting(env: &TestEnv, ca: &Path, args: &[&str]) -> Output {
    let out = trusting(env, ca, args);
    assert!(out.status.success(), "dotback {args:?} failed:\n{}", show(&out));
    out
}

fn fails_trusting(env: &TestEnv, ca: &Path, args: &[&str]) -> (i32, String) {
    let out = trusting(env, ca, args);
    assert!(!out.status.success(), "dotback {args:?} should fail:\n{}", show(&out));
    (out.status.code().unwrap_or(-1), format!("{}{}", stdout(&out), stderr(&out)))
}

/// git's `store` credential helper in this env's global git config, holding `password`.
fn store_helper(env: &TestEnv, server: &Server, password: &str) {
    let file = env.root.join("git-credentials");
    fs::write(&file, format!("https://{USER}:{password}@127.0.0.1:{}\n", server.port)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(env.root.join("gitconfig"), format!("[credential]\n\thelper = store --file={}\n", file.display()))
        .unwrap();
}

fn head(env: &TestEnv) -> String {
    stdout(&env.git(&["rev-parse", "HEAD"])).trim().to_string()
}

#[test]
fn two_devices_sync_over_https_with_a_credential_helper() {
    let a = TestEnv::new();
    let Some(server) = Server::start(&a.root.join("https")) else { return };
    let ca = server.ca();
    let remote = server.bare("dots.git");
    a.init();
    store_helper(&a, &server, PASSWORD);
    a.write(".zshrc", "one\ntwo\nthree\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &server.url("dots.git")]);
    ok_trusting(&a, &ca, &["sync"]);
    assert_eq!(remote_head(&remote), Some(head(&a)), "pushed over https:\n{}", server.log());

    // Device b joins from the same remote over https, with its own credential helper.
    let b = TestEnv::new();
    store_helper(&b, &server, PASSWORD);
    let store = b.root.join("store");
    let out = Command::new("git").arg("clone").arg("-q").arg(&remote).arg(&store).envs(b.envs()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    b.git_in(&store, &["remote", "set-url", "origin", &server.url("dots.git")]);
    b.join("b", &store);
    a.admit(&b, "b");
    ok_trusting(&a, &ca, &["sync"]);
    ok_trusting(&b, &ca, &["sync"]);
    assert_eq!(b.read(".zshrc"), "one\ntwo\nthree\n");

    // Edits on both sides merge through the https remote.
    a.write(".zshrc", "ONE\ntwo\nthree\n", 0o644);
    b.write(".zshrc", "one\ntwo\nTHREE\n", 0o644);
    ok_trusting(&a, &ca, &["sync"]);
    ok_trusting(&b, &ca, &["sync"]);
    ok_trusting(&a, &ca, &["sync"]);
    assert_eq!(a.read(".zshrc"), "ONE\ntwo\nTHREE\n");
    assert_eq!(b.read(".zshrc"), "ONE\ntwo\nTHREE\n");
    assert_eq!(remote_head(&remote), Some(head(&a)));
    assert_eq!(stdout(&b.git_in(&store, &["rev-parse", "HEAD"])).trim(), head(&a));
}

#[test]
fn missing_or_wrong_credentials_are_refused_without_echoing_the_password() {
    let a = TestEnv::new();
    let Some(server) = Server::start(&a.root.join("https")) else { return };
    let ca = server.ca();
    let remote = server.bare("dots.git");
    a.init();
    a.write(".zshrc", "mine\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &server.url("dots.git")]);

    // No credential helper at all.
    let (code, err) = fails_trusting(&a, &ca, &["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("`origin`") && err.contains(&server.url("dots.git")), "names the remote: {err}");
    assert!(err.contains("refused"), "{err}");
    assert!(err.contains("no git credential helper has a password"), "{err}");
    assert!(err.contains(&format!("git ls-remote {}", server.url("dots.git"))), "says how to store one: {err}");
    assert!(err.contains("local commit is safe"), "{err}");
    assert_eq!(remote_head(&remote), None, "nothing reached the server");
    let committed = stdout(&a.git(&["log", "-1", "--format=%s"]));
    assert!(committed.contains(".zshrc"), "the local commit was made: {committed}");

    // A helper holding only another server's password: it is never sent here (helpers are
    // asked about this host and port, even though it is an IP address).
    let file = a.root.join("git-credentials");
    fs::write(&file, format!("https://{USER}:{PASSWORD}-elsewhere@example.org\n")).unwrap();
    let config = format!("[credential]\n\thelper = store --file={}\n", file.display());
    // Also where libgit2 looks for the global config (it does not read GIT_CONFIG_GLOBAL).
    fs::write(a.root.join("gitconfig"), &config).unwrap();
    fs::write(a.home.join(".gitconfig"), &config).unwrap();
    let (code, err) = fails_trusting(&a, &ca, &["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("no git credential helper has a password"), "{err}");
    assert!(!err.contains("elsewhere"), "{err}");
    assert_eq!(remote_head(&remote), None);

    fs::remove_file(a.home.join(".gitconfig")).unwrap();

    // A helper that answers with the wrong password.
    let wrong = "not-the-pa55word";
    store_helper(&a, &server, wrong);
    let (code, err) = fails_trusting(&a, &ca, &["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("refused") && err.contains("`origin`"), "{err}");
    assert!(!err.contains(wrong) && !err.contains(PASSWORD), "never prints a password: {err}");
    assert!(
        err.contains(&format!("`{USER}`")) && err.contains("git credential reject"),
        "says how to replace it: {err}"
    );
    assert_eq!(remote_head(&remote), None);
    assert_eq!(a.read(".zshrc"), "mine\n", "nothing lost");

    // A password in the remote's URL: wrong, it is refused and never echoed.
    fs::write(a.root.join("gitconfig"), "").unwrap();
    let url = format!("https://{USER}:{wrong}@127.0.0.1:{}/dots.git", server.port);
    a.git(&["remote", "set-url", "origin", &url]);
    let (code, err) = fails_trusting(&a, &ca, &["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("refused") && err.contains("`origin`"), "{err}");
    assert!(!err.contains(wrong), "never prints the URL's password: {err}");
    assert!(
        err.contains(&format!("https://{USER}:***@127.0.0.1")) && err.contains("password written in the remote's URL"),
        "{err}"
    );
    assert_eq!(remote_head(&remote), None);

    // The right password in the URL works.
    let url = format!("https://{USER}:{PASSWORD}@127.0.0.1:{}/dots.git", server.port);
    a.git(&["remote", "set-url", "origin", &url]);
    let out = ok_trusting(&a, &ca, &["sync"]);
    assert!(!stdout(&out).contains(PASSWORD) && !stderr(&out).contains(PASSWORD), "{}", show(&out));
    assert_eq!(remote_head(&remote), Some(head(&a)));
}

#[test]
fn a_certificate_from_an_untrusted_authority_is_refused() {
    let a = TestEnv::new();
    let Some(server) = Server::start(&a.root.join("https")) else { return };
    let remote = server.bare("dots.git");
    a.init();
    store_helper(&a, &server, PASSWORD);
    a.write(".zshrc", "mine\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", &server.url("dots.git")]);

    // The system's authorities only: the test CA is not among them.
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("not trusted") && err.contains("`origin`"), "{err}");
    assert!(err.contains("local commit is safe"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    assert_eq!(remote_head(&remote), None, "nothing reached the server");
    assert!(!server.log().contains("POST"), "nothing was sent:\n{}", server.log());

    // Another authority than the one that signed the server's certificate.
    let other = a.root.join("other-ca");
    fs::create_dir_all(&other).unwrap();
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=another CA", "-keyout"])
        .arg(other.join("ca.key"))
        .arg("-out")
        .arg(other.join("ca.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let (code, err) = fails_trusting(&a, &other.join("ca.pem"), &["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("not trusted"), "{err}");
    assert_eq!(remote_head(&remote), None);

    // Trusting the right authority: the queued commit goes out.
    ok_trusting(&a, &server.ca(), &["sync"]);
    assert_eq!(remote_head(&remote), Some(head(&a)));
}
