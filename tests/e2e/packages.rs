//! Package lists with real managers, each into a temporary prefix (a pip user base, a
//! CARGO_HOME, an npm prefix), so nothing the tests install reaches the machine: capture on
//! device A, restore on device B from the same remote, and run what B got.

use crate::common::*;
use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) const PIP_DEMO: &str = "dotback-demo";
pub(crate) const CARGO_DEMO: &str = "dotback-cargo-demo";
pub(crate) const NPM_DEMO: &str = "dotback-npm-demo";

/// The real programs these tests drive; cargo's directory (for PATH) when all are there.
pub(crate) fn tools() -> Option<PathBuf> {
    for t in ["python3", "pip3", "npm", "node", "cargo", "apt-mark"] {
        if !require(t) {
            return None;
        }
    }
    let out = Command::new("sh").args(["-c", "command -v cargo"]).output().unwrap();
    Some(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).parent().unwrap().to_path_buf())
}

/// The environment that points every manager at this device's own prefixes, offline.
pub(crate) fn prefixes(env: &TestEnv, wheels: &Path, registry: &str) -> Vec<(String, OsString)> {
    let mut v: Vec<(String, OsString)> = vec![
        ("PYTHONUSERBASE".into(), env.root.join("pyuser").into()),
        ("PIP_BREAK_SYSTEM_PACKAGES".into(), "1".into()), // Debian's pip refuses --user otherwise
        ("PIP_NO_INDEX".into(), "1".into()),
        ("PIP_FIND_LINKS".into(), wheels.into()),
        ("PIP_DISABLE_PIP_VERSION_CHECK".into(), "1".into()),
        ("CARGO_HOME".into(), env.root.join("cargo").into()),
        ("CARGO_NET_OFFLINE".into(), "true".into()),
        ("NPM_CONFIG_PREFIX".into(), env.root.join("npm").into()),
        ("NPM_CONFIG_REGISTRY".into(), registry.into()),
        ("NPM_CONFIG_AUDIT".into(), "false".into()),
        ("NPM_CONFIG_FUND".into(), "false".into()),
        ("NPM_CONFIG_UPDATE_NOTIFIER".into(), "false".into()),
    ];
    // A rustup-managed cargo finds its toolchains here (the test's own, unchanged).
    for k in ["RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
        if let Some(val) = std::env::var_os(k) {
            v.push((k.into(), val));
        }
    }
    fs::create_dir_all(env.root.join("npm")).unwrap();
    v
}

pub(crate) fn run_in(env: &TestEnv, extra: &[(String, OsString)], program: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.envs())
        .envs(extra.iter().cloned())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} {args:?} failed:\n{}", show(&out));
    stdout(&out)
}

fn dotback(env: &TestEnv, extra: &[(String, OsString)], args: &[&str]) -> std::process::Output {
    env.cmd(args).envs(extra.iter().cloned()).output().unwrap()
}

/// A wheel written by hand (a zip with METADATA, WHEEL, RECORD and a console script), so no
/// `wheel` package or index is needed.
pub(crate) fn build_wheel(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let script = r#"
import base64, hashlib, sys, zipfile
d = sys.argv[1]
info = "dotback_demo-0.1.0.dist-info"
files = {
    "dotback_demo/__init__.py": "def main():\n    print('dotback-demo works')\n",
    info + "/METADATA": "Metadata-Version: 2.1\nName: dotback-demo\nVersion: 0.1.0\n",
    info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    info + "/entry_points.txt": "[console_scripts]\ndotback-demo = dotback_demo:main\n",
}
record = []
for name, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{name},sha256={digest},{len(text)}")
record.append(info + "/RECORD,,")
files[info + "/RECORD"] = "\n".join(record) + "\n"
with zipfile.ZipFile(d + "/dotback_demo-0.1.0-py3-none-any.whl", "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
"#;
    let out = Command::new("python3").args(["-c", script]).arg(dir).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
}

pub(crate) fn build_crate(dir: &Path) {
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"{CARGO_DEMO}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"),
    )
    .unwrap();
    fs::write(dir.join("src/main.rs"), "fn main() {\n    println!(\"cargo demo works\");\n}\n").unwrap();
}

/// `npm pack` of a package with one program; returns the tarball.
pub(crate) fn build_npm(env: &TestEnv, extra: &[(String, OsString)], dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("package.json"),
        format!(r#"{{"name": "{NPM_DEMO}", "version": "1.0.0", "bin": {{"{NPM_DEMO}": "cli.js"}}}}"#),
    )
    .unwrap();
    fs::write(dir.join("cli.js"), "#!/usr/bin/env node\nconsole.log('npm demo works');\n").unwrap();
    let name = run_in(env, extra, "npm", &["pack", "--silent"], dir);
    dir.join(name.trim())
}

/// A registry serving one package from a tarball, on 127.0.0.1 (npm installs by name only from
/// a registry). Killed when dropped.
pub(crate) struct Registry {
    child: Child,
    pub(crate) url: String,
}

impl Registry {
    pub(crate) fn serve(tarball: &Path) -> Registry {
        let script = r#"
import hashlib, http.server, json, sys
tgz, name = sys.argv[1], sys.argv[2]
data = open(tgz, "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if self.path.rstrip("/") == "/" + name:
            version = {"name": name, "version": "1.0.0", "bin": {name: "cli.js"},
                       "dist": {"tarball": f"http://127.0.0.1:{port}/{name}.tgz", "shasum": hashlib.sha1(data).hexdigest()}}
            body = json.dumps({"name": name, "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": version}}).encode()
        elif self.path == f"/{name}.tgz":
            body = data
        else:
            self.send_response(404); self.end_headers(); return
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(tarball)
            .arg(NPM_DEMO)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let mut port = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut port).unwrap();
        Registry { child, url: format!("http://127.0.0.1:{}/", port.trim()) }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", show(out)))
}

fn list_file(env: &TestEnv, device: &str, file: &str) -> String {
    fs::read_to_string(store_of(env).join(".dotback/packages").join(device).join(file)).unwrap_or_default()
}

/// Builds the pip wheel, the crate and the npm tarball, and installs the three on `a` into its
/// own prefixes; returns the wheels' directory, `a`'s environment and the registry serving npm.
pub(crate) fn install_demos(a: &TestEnv) -> (PathBuf, Vec<(String, OsString)>, Registry) {
    let wheels = a.root.join("wheels");
    build_wheel(&wheels);
    build_crate(&a.root.join("crate"));
    let a_env = prefixes(a, &wheels, "http://127.0.0.1:9/");
    let tarball = build_npm(a, &a_env, &a.root.join("npm-src"));
    let registry = Registry::serve(&tarball);
    run_in(a, &a_env, "python3", &["-m", "pip", "install", "--user", PIP_DEMO], &a.home);
    run_in(a, &a_env, "cargo", &["install", "--path", a.root.join("crate").to_str().unwrap()], &a.home);
    run_in(a, &a_env, "npm", &["install", "-g", tarball.to_str().unwrap()], &a.home);
    (wheels, a_env, registry)
}

pub(crate) fn status_of<'a>(report: &'a Value, manager: &str, name: &str) -> &'a str {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["manager"] == manager && o["name"] == name)
        .unwrap_or_else(|| panic!("no {manager} {name} in {report:#}"))["status"]
        .as_str()
        .unwrap()
}

#[test]
fn packages_installed_on_a_are_restored_on_b_and_run() {
    let Some(cargo_dir) = tools() else { return };
    let mut a = TestEnv::new();
    a.extra_path.push(cargo_dir.clone());
    a.init();
    let remote = bare(&a, "remote.git");
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    // A installs the three for real, into its own prefixes.
    let (wheels, a_env, registry) = install_demos(&a);

    let out = dotback(&a, &a_env, &["packages", "capture", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let captured = json(&out);
    assert!(captured["commit"].is_string(), "{captured:#}");
    assert_eq!(captured["failed"], serde_json::json!([]), "arrays are never null");
    assert_eq!(list_file(&a, DEVICE, "pip.txt"), format!("{PIP_DEMO}\n"));
    assert_eq!(list_file(&a, DEVICE, "npm.txt"), format!("{NPM_DEMO}\n"));
    let crate_dir = a.root.join("crate");
    assert_eq!(list_file(&a, DEVICE, "cargo.txt"), format!("{CARGO_DEMO}\tpath+file://{}\n", crate_dir.display()));
    let log = git_cleared().args(["log", "-1", "--format=%s"]).current_dir(store_of(&a)).output().unwrap();
    assert_eq!(stdout(&log), format!("packages: capture on {DEVICE}\n"));
    a.ok(&["sync"]);

    // B: another HOME from the same remote, with empty prefixes.
    let mut b = device_from(&remote, "b");
    b.extra_path.push(cargo_dir);
    let b_env = prefixes(&b, &wheels, &registry.url);
    let out = dotback(&b, &b_env, &["packages", "diff", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let diff = json(&out);
    assert_eq!(diff["other"], DEVICE);
    let missing: Vec<&str> =
        diff["managers"].as_array().unwrap().iter().map(|m| m["manager"].as_str().unwrap()).collect();
    for m in ["cargo", "pip", "npm"] {
        assert!(missing.contains(&m), "{m} missing from {diff:#}");
    }

    let out = dotback(&b, &b_env, &["packages", "restore", "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let dry = json(&out);
    assert_eq!(dry["from"], DEVICE, "the device captured last");
    assert_eq!(status_of(&dry, "pip", PIP_DEMO), "would-install");
    assert!(!b.root.join("pyuser").exists(), "a dry run installs nothing");

    let out = dotback(&b, &b_env, &["packages", "restore", "--yes", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let restored = json(&out);
    for (m, n) in [("pip", PIP_DEMO), ("cargo", CARGO_DEMO), ("npm", NPM_DEMO)] {
        assert_eq!(status_of(&restored, m, n), "installed", "{restored:#}");
    }
    assert!(stderr(&out).contains(&format!("Running: cargo install --path {}", crate_dir.display())), "{}", show(&out));
    // What B got runs.
    let ran = |program: PathBuf| run_in(&b, &b_env, program.to_str().unwrap(), &[], &b.home);
    assert_eq!(ran(b.root.join("pyuser/bin").join(PIP_DEMO)), "dotback-demo works\n");
    assert_eq!(ran(b.root.join("cargo/bin").join(CARGO_DEMO)), "cargo demo works\n");
    assert_eq!(ran(b.root.join("npm/bin").join(NPM_DEMO)), "npm demo works\n");

    // Again: everything is there already.
    let again = json(&dotback(&b, &b_env, &["packages", "restore", "--yes", "--json"]));
    for (m, n) in [("pip", PIP_DEMO), ("cargo", CARGO_DEMO), ("npm", NPM_DEMO)] {
        assert_eq!(status_of(&again, m, n), "already-there");
    }
}

#[test]
fn apt_list_is_real_sorted_and_a_second_capture_commits_nothing() {
    if !require("apt-mark") {
        return;
    }
    let env = TestEnv::new();
    env.init();
    let out = env.ok(&["packages", "capture"]);
    let apt = list_file(&env, DEVICE, "apt.txt");
    let names: Vec<&str> = apt.lines().collect();
    assert!(!names.is_empty(), "{}", show(&out));
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "sorted, each once");
    let real = Command::new("apt-mark").arg("showmanual").output().unwrap();
    for n in stdout(&real).lines() {
        assert!(names.contains(&n), "{n} of `apt-mark showmanual` is in the list");
    }
    let history = history_text(&store_of(&env));
    let out = env.ok(&["packages", "capture"]);
    assert_eq!(history_text(&store_of(&env)), history, "no commit the second time");
    assert_eq!(list_file(&env, DEVICE, "apt.txt"), apt, "stable");
    assert!(stderr(&out).contains("Nothing new"), "{}", show(&out));
}

/// A fake program on PATH for a manager.
fn fake(env: &mut TestEnv, name: &str, script: &str) {
    let dir = env.root.join("fake-bin");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    if !env.extra_path.contains(&dir) {
        env.extra_path.insert(0, dir);
    }
}

#[test]
fn a_failing_manager_is_reported_and_the_others_are_recorded() {
    let mut env = TestEnv::new();
    env.init();
    fake(&mut env, "pipx", "#!/bin/sh\necho 'pipx: the venvs directory is broken' >&2\nexit 1\n");
    fake(
        &mut env,
        "code",
        "#!/bin/sh\n[ \"$1\" = --list-extensions ] && printf 'ms-python.python\\nrust-lang.rust-analyzer\\n'\n",
    );
    let out = env.cmd(&["packages", "capture", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report = json(&out);
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["manager"], "pipx");
    assert!(failed[0]["error"].as_str().unwrap().contains("venvs directory is broken"), "{report:#}");
    assert!(stderr(&out).contains("pipx"), "{}", show(&out));
    assert_eq!(list_file(&env, DEVICE, "code.txt"), "ms-python.python\nrust-lang.rust-analyzer\n");
    assert!(report["commit"].is_string(), "the others are committed: {report:#}");
    assert_eq!(list_file(&env, DEVICE, "pipx.txt"), "", "no list for the failed manager");
}

/// Writes a device's list into the store by hand, as a hostile push could.
fn plant(env: &TestEnv, device: &str, file: &str, text: &str) {
    let dir = store_of(env).join(".dotback/packages").join(device);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(file), text).unwrap();
}

#[test]
fn hostile_lists_are_refused_and_nothing_runs() {
    let mut env = TestEnv::new();
    env.init();
    let ran = env.root.join("ran");
    let log = format!("#!/bin/sh\necho \"$0 $*\" >> {}\n", ran.display());
    fake(&mut env, "code", &log);
    fake(&mut env, "npm", &log);
    plant(&env, "evil", "code.txt", "--install-extension=evil.pwn\n");
    plant(&env, "evil", "npm.txt", "left-pad\nx; rm -rf ~\n");
    // Files and URLs, which the managers would install as given (apt and dnf as root).
    for (program, script) in [("apt-mark", "#!/bin/sh\n"), ("dpkg-query", "#!/bin/sh\n")] {
        fake(&mut env, program, script);
    }
    for program in ["apt-get", "sudo", "flatpak"] {
        fake(&mut env, program, &log);
    }
    plant(&env, "evil", "apt.txt", "git\n./.local/share/chezmoi/evil.deb\n");
    plant(&env, "evil", "flatpak.txt", "org.example.App\thttps://evil.example/repo\n");
    let out = env.cmd(&["packages", "restore", "--from", "evil", "--yes", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report = json(&out);
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 4, "{report:#}");
    assert!(report.to_string().contains("never files or URLs"), "{report:#}");
    assert!(skipped.iter().all(|s| s["reason"].as_str().unwrap().contains("refused")), "{report:#}");
    assert_eq!(report["packages"], serde_json::json!([]));
    assert!(!ran.exists(), "no manager ran: {}", fs::read_to_string(&ran).unwrap_or_default());
    let (code, err) = env.fails(&["packages", "restore", "--from", "../x"]);
    assert_eq!(code, 2);
    assert!(err.contains("`../x` cannot name a device"), "{err}");
}

#[test]
fn sudo_that_needs_a_password_without_a_terminal_is_a_clear_error() {
    if !require("apt-mark") {
        return;
    }
    let mut env = TestEnv::new();
    env.init();
    let ran = env.root.join("ran");
    fake(
        &mut env,
        "sudo",
        &format!("#!/bin/sh\necho \"$*\" >> {}\necho 'sudo: a password is required' >&2\nexit 1\n", ran.display()),
    );
    plant(&env, "laptop", "apt.txt", "dotback-test-no-such-package\n");
    let out = unprivileged(&env, &["packages", "restore", "--from", "laptop", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("needs sudo, and sudo needs a password but there is no terminal"), "{err}");
    assert!(err.contains("apt-get install -y -q dotback-test-no-such-package"), "names the command: {err}");
    assert_eq!(fs::read_to_string(&ran).unwrap(), "-n true\n", "sudo was only asked whether it needs a password");
}

#[test]
fn sync_captures_first_when_configured_and_a_failing_manager_is_only_a_warning() {
    let (mut a, _remote) = synced_with_zshrc("export A=1\n");
    fake(&mut a, "code", "#!/bin/sh\n[ \"$1\" = --list-extensions ] && echo ms-python.python\n");
    fake(&mut a, "pipx", "#!/bin/sh\necho 'pipx: broken' >&2\nexit 1\n");
    a.ok(&["sync"]);
    assert_eq!(list_file(&a, DEVICE, "code.txt"), "", "off unless configured");
    let config = a.config_home.join("dotback/config.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str("\n[packages]\ncapture = true\n");
    fs::write(&config, text).unwrap();
    a.write(".zshrc", "export A=2\n", 0o644);
    let out = a.ok(&["sync"]);
    assert!(stderr(&out).contains("pipx"), "the failure is a warning: {}", show(&out));
    assert_eq!(list_file(&a, DEVICE, "code.txt"), "ms-python.python\n");
    let log = git_cleared().args(["log", "-2", "--format=%s"]).current_dir(store_of(&a)).output().unwrap();
    let subjects = stdout(&log);
    assert!(subjects.ends_with(&format!("packages: capture on {DEVICE}\n")), "the lists first: {subjects}");
    assert!(subjects.starts_with(&format!("{DEVICE}: update ~/.zshrc")), "then HOME: {subjects}");
    assert_eq!(store_changes(&a), "", "everything committed");
}
