//! `dotback bootstrap`: a new machine restored from a remote.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Device A with a plain file, a private one, a secret and an ssh key, synced to a bare remote.
fn device_a() -> (TestEnv, std::path::PathBuf) {
    let (a, remote) = synced_with_zshrc("export A=1\n");
    a.write(".config/app/settings.toml", "x = 1\n", 0o600);
    a.write(".netrc", "machine example.org login me password hunter2\n", 0o600);
    a.write(".ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n", 0o600);
    a.write(".ssh/id_ed25519.pub", "ssh-ed25519 AAAA me@a\n", 0o644);
    a.ok(&["add", ".config/app/settings.toml", ".netrc", ".ssh"]);
    a.ok(&["sync"]);
    (a, remote)
}

fn bootstrap(b: &TestEnv, remote: &Path, extra: &[&str]) -> std::process::Output {
    let pass = b.passphrase_file();
    let mut args =
        vec!["bootstrap", remote.to_str().unwrap(), "--device", "b", "--passphrase-file", pass.to_str().unwrap()];
    args.extend_from_slice(extra);
    b.cmd(&args).output().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_new_home_gets_the_store_and_b_becomes_a_recipient() {
    let (a, remote) = device_a();
    let b = TestEnv::new();
    let out = bootstrap(&b, &remote, &["--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names[..2], ["clone", "unlock"], "{names:?}");
    assert!(report["total_secs"].as_f64().unwrap() > 0.0);
    for rel in [".zshrc", ".config/app/settings.toml", ".netrc", ".ssh/id_ed25519", ".ssh/id_ed25519.pub"] {
        assert_eq!(fs::read(b.home.join(rel)).unwrap(), fs::read(a.home.join(rel)).unwrap(), "{rel}");
        assert_eq!(mode(&b.home.join(rel)), mode(&a.home.join(rel)), "{rel}");
    }
    // The admission is committed whole and pushed: B's store has nothing left uncommitted, and
    // the remote's last commit holds the new recipients and every secret encrypted to them.
    let status: serde_json::Value = serde_json::from_slice(&b.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["uncommitted"].as_array().map(Vec::len), Some(0), "{status}");
    let shown = std::process::Command::new("git")
        .args(["-C", remote.to_str().unwrap(), "show", "--name-only", "--format=", "main"])
        .output()
        .unwrap();
    let changed = String::from_utf8_lossy(&shown.stdout).into_owned();
    for part in [".dotback/recipients.txt", "netrc", "id_ed25519."] {
        assert!(changed.lines().any(|l| l.contains(part) && !l.ends_with(".pub")), "{part} in:\n{changed}");
    }
    // B is a recipient on the remote: a secret A adds after its next sync opens on B with B's key.
    a.ok(&["sync"]);
    a.write(".aws/credentials", "[default]\naws_secret_access_key = abc\n", 0o600);
    a.ok(&["add", ".aws/credentials"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(".aws/credentials"), "[default]\naws_secret_access_key = abc\n");

    // A second bootstrap changes nothing and says so.
    let before = snapshot(&b.home);
    let again = bootstrap(&b, &remote, &[]);
    assert!(again.status.success(), "{}", show(&again));
    assert!(stderr(&again).contains("Nothing to do"), "{}", show(&again));
    assert_eq!(snapshot(&b.home), before);
}

#[test]
fn an_unreachable_remote_creates_nothing() {
    let b = TestEnv::new();
    let gone = b.root.join("no-such-remote.git");
    let out = bootstrap(&b, &gone, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    assert!(!b.store().exists(), "no store left behind");
    assert!(!b.config_home.join("dotback/config.toml").exists());
    assert!(fs::read_dir(&b.data_home).unwrap().next().is_none(), "nothing in XDG_DATA_HOME");
}

#[test]
fn a_wrong_passphrase_stops_at_unlock_and_resume_finishes() {
    let (_a, remote) = device_a();
    let b = TestEnv::new();
    fs::write(b.passphrase_file(), "not the passphrase\n").unwrap();
    let out = bootstrap(&b, &remote, &[]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("unlock"), "{}", show(&out));
    assert!(!b.home.join(".netrc").exists(), "no secret applied before the unlock");
    fs::write(b.passphrase_file(), format!("{PASSPHRASE}\n")).unwrap();
    // The same remote, written with a slash more.
    let out = bootstrap(&b, &remote.join(""), &["--resume", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["steps"][0]["outcome"], "done-earlier");
    assert_eq!(report["steps"][1]["outcome"], "done");
    assert!(b.home.join(".netrc").exists());
}

#[test]
fn files_already_in_home_are_backed_up_and_listed() {
    let (_a, remote) = device_a();
    let b = TestEnv::new();
    b.write(".zshrc", "mine\n", 0o644);
    let out = bootstrap(&b, &remote, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stdout(&out).contains("~/.zshrc"), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), "export A=1\n");
    assert_eq!(backed_up(&b, ".zshrc"), ["mine\n"]);
}

/// The files of `env`'s HOME and store work tree (not the store's git directory), by path.
fn restored(env: &TestEnv) -> (std::collections::BTreeMap<String, String>, Vec<String>) {
    let store: Vec<String> =
        walk(&env.store()).into_iter().filter(|p| !p.starts_with(".git/") && p != ".git").collect();
    (snapshot(&env.home), store)
}

fn walk(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .flatten()
        .map(|e| e.path().strip_prefix(root).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn a_bootstrap_killed_in_any_step_and_resumed_ends_as_an_uninterrupted_one() {
    let (_a, remote) = device_a();
    let reference = TestEnv::new();
    let out = bootstrap(&reference, &remote, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let expected = restored(&reference);
    for step in ["clone", "unlock", "ssh", "gpg", "package-managers", "packages", "dotfiles", "templates", "verify"] {
        let b = TestEnv::new();
        let pause = b.root.join("pause");
        fs::create_dir_all(&pause).unwrap();
        fs::write(pause.join(format!("bootstrap-{step}.hold")), "").unwrap();
        let pass = b.passphrase_file();
        let mut child = b
            .cmd(&["bootstrap", remote.to_str().unwrap(), "--device", "b", "--passphrase-file", pass.to_str().unwrap()])
            .env("DOTBACK_TEST_PAUSE_DIR", &pause)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        waits_for(&pause.join(format!("bootstrap-{step}.reached")));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        fs::remove_file(pause.join(format!("bootstrap-{step}.hold"))).unwrap();

        let out = bootstrap(&b, &remote, &["--resume", "--json"]);
        assert!(out.status.success(), "resumed after a kill in `{step}`:\n{}", show(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let steps = report["steps"].as_array().unwrap();
        let at = steps.iter().position(|s| s["name"] == step).unwrap();
        assert!(steps[..at].iter().all(|s| s["outcome"] == "done-earlier"), "killed in `{step}`: {steps:?}");
        assert_ne!(steps[at]["outcome"], "done-earlier", "the killed step `{step}` ran again");
        let (home, store) = restored(&b);
        assert_eq!(home, expected.0, "HOME after a kill in `{step}`");
        assert_eq!(store, expected.1, "the store's files after a kill in `{step}`");
        let top = |env: &TestEnv| -> Vec<String> {
            fs::read_dir(&env.data_home)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(top(&b), top(&reference), "no half-made clone left over after a kill in `{step}`");
        let status = b.ok(&["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        for key in ["targets", "uncommitted"] {
            assert_eq!(v[key].as_array().map(Vec::len), Some(0), "clean after a kill in `{step}`: {v}");
        }
        assert_eq!(v["remotes"][0]["ahead"], 0, "the admission is pushed after a kill in `{step}`: {v}");
    }
}

/// The disaster path end to end with real parts: a GPG key, a real ssh key, secrets and 2,000
/// dotfiles on A, pushed to a bare remote and to an sshd remote; B, an empty HOME, bootstraps
/// from the bare remote with the recovery passphrase.
#[test]
fn a_machine_with_keys_and_thousands_of_files_is_restored_from_its_remote() {
    use crate::keys_gpg_keyring::{gnupghome, gpg};
    use crate::sync_ssh::{Sshd, keygen};
    if !require("gpg") || !require("ssh-keygen") {
        return;
    }
    let (a, remote) = synced_with_zshrc("export A=1\n");
    let Some(sshd) = Sshd::start(&a.root.join("sshd")) else { return };
    let (_ga, gpg_a) = gnupghome("a");
    let (_gb, gpg_b) = gnupghome("b");
    let out =
        gpg(&gpg_a, &["--passphrase", "", "--quick-gen-key", "Boot <boot@example.com>", "ed25519", "sign", "never"]);
    assert!(out.status.success(), "{}", show(&out));
    let out = a.cmd(&["keys", "gpg-export"]).env("GNUPGHOME", &gpg_a).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    keygen(&a.home.join(".ssh/id_ed25519"));
    fs::set_permissions(a.home.join(".ssh"), fs::Permissions::from_mode(0o700)).unwrap();
    sshd.authorize(&a.home.join(".ssh/id_ed25519.pub"));
    fs::write(a.home.join(".ssh/known_hosts"), sshd.known_hosts_line()).unwrap();
    a.write(".netrc", "machine example.org login me password hunter2\n", 0o600);
    for k in 0..2000 {
        a.write(
            &format!(".config/many/d{}/f{k}.conf", k % 20),
            &format!("k = {k}\n"),
            if k % 7 == 0 { 0o600 } else { 0o644 },
        );
    }
    a.ok(&["add", ".ssh", ".netrc", ".config/many"]);
    // A step installing a tool, a template calling it, and A's real package lists.
    let manifest = a.store().join(".dotback/dotback.toml");
    fs::write(&manifest, format!("{}{TOOL_STEP}", fs::read_to_string(&manifest).unwrap())).unwrap();
    fs::write(a.store().join("dot_greeting.tmpl"), "{{ output (joinPath .chezmoi.homeDir \".local/bin/greet\") }}")
        .unwrap();
    let out = a.cmd(&["packages", "capture", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let server = TestEnv::new();
    let ssh_remote = crate::sync_ssh::bare(&server);
    let ssh_url = sshd.url(&ssh_remote);
    a.ok(&["remote", "add", "ssh", &ssh_url]);
    a.ok(&["sync"]);
    assert_eq!(remote_head(&ssh_remote), remote_head(&remote), "A pushed to both remotes");

    let Some(b) = chezmoi_env() else { return };
    let pass = b.passphrase_file();
    let args = ["bootstrap", remote.to_str().unwrap(), "--device", "b", "--passphrase-file", pass.to_str().unwrap()];
    let out = b.cmd(&[&args[..], &["--yes", "--json"]].concat()).env("GNUPGHOME", &gpg_b).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(b.read(".greeting"), "hello from the tool\n", "the template, rendered after its tool's step");
    let restored = report["packages"][1]["packages"].as_array().unwrap();
    assert!(restored.iter().any(|p| p["manager"] == "apt" && p["status"] == "already-there"), "{report:#}");
    // Every tracked file identical, contents and modes.
    let tracked = stdout(&a.ok(&["status", "--json"]));
    assert!(tracked.contains("\"targets\": []"), "A is clean: {tracked}");
    let (sa, sb) = (snapshot(&a.home), snapshot(&b.home));
    // (npm's cache, made by A's package capture, is not tracked.)
    for (rel, what) in sa.iter().filter(|(rel, _)| !rel.starts_with(".npm")) {
        assert_eq!(sb.get(rel), Some(what), "~/{rel}");
    }
    assert!(sa.len() > 2000, "{}", sa.len());
    // The restored ssh key is a real one: its public half matches, and it reaches the sshd remote.
    let derived =
        std::process::Command::new("ssh-keygen").arg("-yf").arg(b.home.join(".ssh/id_ed25519")).output().unwrap();
    assert!(derived.status.success(), "{}", show(&derived));
    let public = fs::read_to_string(b.home.join(".ssh/id_ed25519.pub")).unwrap();
    let key_of = |l: &str| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(key_of(&stdout(&derived)), key_of(&public));
    assert_eq!(mode(&b.home.join(".ssh/id_ed25519")), 0o600);
    b.ok(&["remote", "add", "ssh", &ssh_url]);
    b.ok(&["sync"]);
    // The GPG key signs in B's keyring.
    let doc = b.root.join("doc.txt");
    fs::write(&doc, "signed on b\n").unwrap();
    let sig = gpg(&gpg_b, &["--yes", "--local-user", "boot@example.com", "--detach-sign", doc.to_str().unwrap()]);
    assert!(sig.status.success(), "the imported key signs: {}", show(&sig));
    // A second bootstrap does nothing and says so.
    let before = snapshot(&b.home);
    let again = b.cmd(&args).env("GNUPGHOME", &gpg_b).output().unwrap();
    assert!(again.status.success(), "{}", show(&again));
    assert!(stderr(&again).contains("Nothing to do"), "{}", show(&again));
    assert_eq!(snapshot(&b.home), before);
    for h in [&gpg_a, &gpg_b] {
        let _ = std::process::Command::new("gpgconf").arg("--homedir").arg(h).args(["--kill", "all"]).status();
    }
}

/// At a terminal, a wrong passphrase is asked again, three times in all; then the bootstrap ends
/// cleanly at `unlock`: no secret applied, the remote's recipients untouched.
#[test]
fn a_wrong_passphrase_at_a_terminal_is_asked_three_times_then_stops_cleanly() {
    if !require("python3") {
        return;
    }
    let (_a, remote) = device_a();
    let before = remote_head(&remote);
    let b = TestEnv::new();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pty-answer");
    let out = std::process::Command::new(tool)
        .args(["passphrase:", "wrong one 1", "wrong one 2", "wrong one 3", "--"])
        .arg(env!("CARGO_BIN_EXE_dotback"))
        .args(["bootstrap", remote.to_str().unwrap(), "--device", "b"])
        .env_clear()
        .envs(b.envs())
        .current_dir(&b.home)
        .output()
        .unwrap();
    let screen = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{screen}");
    assert_eq!(screen.matches("Recovery passphrase:").count(), 3, "asked three times:\n{screen}");
    assert!(screen.contains("2 more tries") && screen.contains("1 more try"), "{screen}");
    assert!(screen.contains("bootstrap step `unlock` failed"), "{screen}");
    assert!(!screen.contains("wrong one"), "the passphrase is never echoed:\n{screen}");
    assert!(!b.home.join(".netrc").exists() && !b.home.join(".zshrc").exists(), "nothing applied");
    assert_eq!(remote_head(&remote), before, "nothing pushed");
    let progress = fs::read_to_string(b.state_home.join("dotback/bootstrap.json")).unwrap();
    assert!(progress.contains("\"unlock\": \"failed\""), "{progress}");
}

/// A's store with a step that installs a tool into HOME, and a template that calls the tool:
/// chezmoi can render it only once the step has run.
fn with_tool_step(steps: &str) -> (TestEnv, std::path::PathBuf) {
    let (a, remote) = device_a();
    let manifest = a.store().join(".dotback/dotback.toml");
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str(steps);
    fs::write(&manifest, text).unwrap();
    fs::write(a.store().join("dot_greeting.tmpl"), "{{ output (joinPath .chezmoi.homeDir \".local/bin/greet\") }}")
        .unwrap();
    a.ok(&["sync"]);
    (a, remote)
}

const TOOL_STEP: &str = r#"
[[bootstrap.step]]
name = "greet-tool"
run = "mkdir -p ~/.local/bin && printf '#!/bin/sh\necho hello from the tool\n' > ~/.local/bin/greet && chmod +x ~/.local/bin/greet"
unless = "test -x ~/.local/bin/greet"
after = ["packages"]
before = ["templates"]
"#;

fn chezmoi_env() -> Option<TestEnv> {
    let bin = chezmoi()?;
    Some(TestEnv::new().with_chezmoi(&bin))
}

#[test]
fn a_store_step_installs_the_tool_a_template_needs_before_chezmoi_renders_it() {
    let Some(b) = chezmoi_env() else { return };
    let (_a, remote) = with_tool_step(TOOL_STEP);
    let out = bootstrap(&b, &remote, &["--yes", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(b.read(".greeting"), "hello from the tool\n", "chezmoi rendered the template after the step");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    let at = |n: &str| order.iter().position(|s| *s == n).unwrap();
    assert!(at("packages") < at("greet-tool") && at("greet-tool") < at("templates"), "{order:?}");
    assert!(stderr(&out).contains("step `greet-tool`: mkdir -p"), "the commands were shown: {}", show(&out));

    let before = snapshot(&b.home);
    let again = bootstrap(&b, &remote, &[]);
    assert!(again.status.success(), "{}", show(&again));
    assert!(stderr(&again).contains("Nothing to do"), "{}", show(&again));
    assert!(!stderr(&again).contains("asks to run"), "an approved step is not asked about again: {}", show(&again));
    assert_eq!(snapshot(&b.home), before);
}

#[test]
fn a_store_step_is_never_run_unseen() {
    let b = TestEnv::new();
    let (_a, remote) = with_tool_step(TOOL_STEP);
    // No terminal and no --yes: the step is shown, not run, and nothing after unlock happens.
    let out = bootstrap(&b, &remote, &[]);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    assert!(stderr(&out).contains("greet-tool") && stderr(&out).contains("must be approved"), "{}", show(&out));
    assert!(!b.home.join(".local/bin/greet").exists(), "the step did not run");
    assert!(!b.home.join(".zshrc").exists(), "nothing applied before the approval");
    // Left out with --skip, the rest runs (the template needs chezmoi, which is not on PATH here).
    let out = bootstrap(&b, &remote, &["--skip", "greet-tool,templates"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!b.home.join(".local/bin/greet").exists());
    assert_eq!(b.read(".zshrc"), "export A=1\n");
}

#[test]
fn dry_run_prints_the_ordered_plan_and_creates_nothing() {
    let b = TestEnv::new();
    let (_a, remote) = with_tool_step(TOOL_STEP);
    let out = b.cmd(&["bootstrap", remote.to_str().unwrap(), "--dry-run"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let text = stdout(&out);
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in:\n{text}"));
    assert!(
        pos("clone (built-in)") < pos("greet-tool (store step)") && pos("greet-tool (store step)") < pos("templates")
    );
    assert!(text.contains("after packages (step `greet-tool` says after)"), "{text}");
    assert!(text.contains("runs: mkdir -p ~/.local/bin"), "{text}");
    assert!(!b.store().exists() && !b.config_home.join("dotback").exists(), "nothing created");
    assert!(fs::read_dir(&b.home).unwrap().next().is_none(), "HOME untouched");
}

#[test]
fn a_cycle_or_a_malformed_step_stops_before_any_step_after_the_clone() {
    let b = TestEnv::new();
    let (_a, remote) = with_tool_step(
        "\n[[bootstrap.step]]\nname = \"x\"\nrun = \"true\"\nafter = [\"templates\"]\nbefore = [\"dotfiles\"]\n",
    );
    let out = bootstrap(&b, &remote, &["--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(stderr(&out).contains("cycle: dotfiles -> templates -> x -> dotfiles"), "{}", show(&out));
    assert!(!b.home.join(".zshrc").exists(), "no step after the clone ran");

    // A malformed step (pushed with plain git: dotback refuses to commit it).
    let (a, remote) = device_a();
    let manifest = a.store().join(".dotback/dotback.toml");
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[[bootstrap.step]]\nname = \"y\"\nrun = \"true\"\ncolour = \"red\"\n");
    fs::write(&manifest, text).unwrap();
    git_by_hand(&a, &["commit", "-qam", "a step"]);
    git_by_hand(&a, &["push", "-q", "origin", "main"]);
    let c = TestEnv::new();
    let out = bootstrap(&c, &remote, &["--yes"]);
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("dotback.toml") && err.contains("colour") && err.contains("line"), "{err}");
}

#[test]
fn a_step_that_hangs_past_its_timeout_is_stopped_and_resume_runs_only_what_remained() {
    let Some(b) = chezmoi_env() else { return };
    let slow = "\n[[bootstrap.step]]\nname = \"slow\"\nrun = \"touch ~/.slow-ran; test -e ~/.go || sleep 600\"\ntimeout = \"1s\"\nafter = [\"dotfiles\"]\n";
    let (_a, remote) = with_tool_step(&format!("{TOOL_STEP}{slow}"));
    let out = bootstrap(&b, &remote, &["--yes"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("did not finish within its timeout of 1s"), "{}", show(&out));
    assert!(b.home.join(".zshrc").exists(), "the steps before it ran");
    fs::write(b.home.join(".go"), "").unwrap();
    fs::write(b.home.join(".zshrc"), "edited after the failure\n").unwrap();
    let out = bootstrap(&b, &remote, &["--yes", "--resume", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    let outcome = |n: &str| steps.iter().find(|s| s["name"] == n).unwrap()["outcome"].as_str().unwrap().to_string();
    assert_eq!(outcome("dotfiles"), "done-earlier", "{steps:?}");
    assert_eq!(outcome("slow"), "done");
    assert_eq!(b.read(".zshrc"), "edited after the failure\n", "the finished dotfiles step did not run again");
}

/// Package lists captured on A (a pip wheel, a cargo crate and an npm tarball, each installed into
/// A's own prefixes) are shown by B's dry run, installed by its bootstrap, and run on B.
#[test]
fn a_bootstrap_installs_the_packages_a_captured_and_they_run() {
    use crate::packages::*;
    let Some(cargo_dir) = tools() else { return };
    let (mut a, remote) = device_a();
    a.extra_path.push(cargo_dir.clone());
    let (wheels, a_env, registry) = install_demos(&a);
    let out = a.cmd(&["packages", "capture"]).envs(a_env.iter().cloned()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    a.ok(&["sync"]);

    let mut b = TestEnv::new();
    b.extra_path.push(cargo_dir);
    let b_env = prefixes(&b, &wheels, &registry.url);
    let pass = b.passphrase_file();
    let args = ["bootstrap", remote.to_str().unwrap(), "--device", "b", "--passphrase-file", pass.to_str().unwrap()];
    let plan = b.cmd(&[&args[..], &["--dry-run", "--json"]].concat()).envs(b_env.iter().cloned()).output().unwrap();
    assert!(plan.status.success(), "{}", show(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    for (m, n) in [("pip", PIP_DEMO), ("cargo", CARGO_DEMO), ("npm", NPM_DEMO)] {
        assert_eq!(status_of(&plan["packages"], m, n), "would-install", "{plan:#}");
    }
    assert!(!b.root.join("pyuser").exists(), "the dry run installed nothing");

    let out = b.cmd(&[&args[..], &["--yes", "--json"]].concat()).envs(b_env.iter().cloned()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = &report["packages"][1];
    for (m, n) in [("pip", PIP_DEMO), ("cargo", CARGO_DEMO), ("npm", NPM_DEMO)] {
        assert_eq!(status_of(packages, m, n), "installed", "{report:#}");
    }
    let ran = |program: std::path::PathBuf| run_in(&b, &b_env, program.to_str().unwrap(), &[], &b.home);
    assert_eq!(ran(b.root.join("pyuser/bin").join(PIP_DEMO)), "dotback-demo works\n");
    assert_eq!(ran(b.root.join("cargo/bin").join(CARGO_DEMO)), "cargo demo works\n");
    assert_eq!(ran(b.root.join("npm/bin").join(NPM_DEMO)), "npm demo works\n");
    assert_eq!(b.read(".zshrc"), "export A=1\n");
}

/// A package manager that fails is reported with its own words; the dotfiles are restored all
/// the same, the bootstrap exits 1, and `--resume` tries the packages again.
#[test]
fn a_package_manager_that_fails_is_reported_and_the_rest_is_restored() {
    let (a, remote) = device_a();
    let lists = a.store().join(".dotback/packages").join(DEVICE);
    fs::create_dir_all(&lists).unwrap();
    fs::write(lists.join("pipx.txt"), "some-tool\n").unwrap();
    a.ok(&["sync"]);
    let mut b = TestEnv::new();
    let bin = b.root.join("fake-bin");
    fs::create_dir_all(&bin).unwrap();
    let pipx = bin.join("pipx");
    fs::write(
        &pipx,
        "#!/bin/sh\ncase \"$1\" in\n  list) echo '{\"venvs\": {}}' ;;\n  install) echo 'pipx: no network to fetch some-tool' >&2; exit 1 ;;\nesac\n",
    )
    .unwrap();
    fs::set_permissions(&pipx, fs::Permissions::from_mode(0o755)).unwrap();
    b.extra_path.insert(0, bin);
    let out = bootstrap(&b, &remote, &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("did not get everything done"), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = report["steps"].as_array().unwrap().iter().find(|s| s["name"] == "packages").unwrap().clone();
    assert_eq!(step["outcome"], "incomplete", "{report:#}");
    assert!(step["detail"].to_string().contains("no network to fetch some-tool"), "{step}");
    assert_eq!(b.read(".zshrc"), "export A=1\n", "the dotfiles were restored");
    let progress = fs::read_to_string(b.state_home.join("dotback/bootstrap.json")).unwrap();
    assert!(progress.contains("\"packages\": \"incomplete\""), "{progress}");
}

/// A step pushed by someone without a key of the store never runs: the new machine's unlock
/// checks the store with the recovery key and holds the unsealed change back.
#[test]
fn a_step_pushed_without_a_key_never_runs() {
    let (a, remote) = device_a();
    let intruder = Intruder::clone_of(&a.root, &remote);
    let manifest = intruder.dir.join(".dotback/dotback.toml");
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[[bootstrap.step]]\nname = \"helpful\"\nrun = \"touch ~/pwned\"\n");
    fs::write(&manifest, text).unwrap();
    intruder.push("a helpful step");
    let b = TestEnv::new();
    let out = bootstrap(&b, &remote, &["--yes"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("held back"), "{}", show(&out));
    assert!(!b.home.join("pwned").exists(), "the pushed step did not run");
    assert!(!b.home.join(".netrc").exists(), "no secret was decrypted for the new machine");
}

/// `templates/bootstrap.sh`, run for real in a fresh HOME with dotback already installed, restores
/// the machine from a local remote.
#[test]
fn the_bootstrap_script_restores_a_fresh_home() {
    let (_a, remote) = device_a();
    let b = TestEnv::new();
    let script = b.root.join("bootstrap.sh");
    fs::write(&script, stdout(&b.ok(&["bootstrap", "--print-script"]))).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_dotback")).parent().unwrap().to_path_buf();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let pass = b.passphrase_file();
    let out = std::process::Command::new("sh")
        .arg(&script)
        .args([remote.to_str().unwrap(), "--device", "b", "--passphrase-file", pass.to_str().unwrap()])
        .env_clear()
        .envs(b.envs())
        .env("PATH", path)
        .current_dir(&b.home)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), "export A=1\n");
    assert!(b.home.join(".netrc").exists());
}

/// On a bootstrapped machine, `--dry-run` shows the plan that would run: from the manifest this
/// device trusts, never a step someone pushed without a key (which a sync holds back).
#[test]
fn dry_run_on_a_bootstrapped_machine_shows_no_step_pushed_without_a_key() {
    let (a, remote) = device_a();
    let b = TestEnv::new();
    let out = bootstrap(&b, &remote, &[]);
    assert!(out.status.success(), "{}", show(&out));
    a.ok(&["sync"]);
    let intruder = Intruder::clone_of(&a.root, &remote);
    let manifest = intruder.dir.join(".dotback/dotback.toml");
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[[bootstrap.step]]\nname = \"helpful\"\nrun = \"touch ~/pwned\"\nafter = [\"unlock\"]\n");
    fs::write(&manifest, text).unwrap();
    intruder.push("a helpful step");
    let out = b.cmd(&["sync"]).output().unwrap();
    assert!(stderr(&out).contains("held back"), "{}", show(&out));
    assert!(fs::read_to_string(b.store().join(".dotback/dotback.toml")).unwrap().contains("helpful"));

    let out = b.cmd(&["bootstrap", remote.to_str().unwrap(), "--dry-run"]).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(!stdout(&out).contains("helpful"), "the held-back step is not in the plan:\n{}", show(&out));
    assert!(stderr(&out).contains("held back"), "and the dry run says why: {}", show(&out));
    let out = bootstrap(&b, &remote, &["--yes", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!stdout(&out).contains("helpful") && !b.home.join("pwned").exists(), "{}", show(&out));
}

/// A progress file that is not one stops `--resume` with its path and what to do, rather than
/// starting over unasked (which would run again the store's steps that have no `unless`).
#[test]
fn a_corrupted_progress_file_is_named_and_nothing_runs() {
    let (_a, remote) = device_a();
    let b = TestEnv::new();
    fs::write(b.passphrase_file(), "not the passphrase\n").unwrap();
    assert!(!bootstrap(&b, &remote, &[]).status.success());
    let progress = b.state_home.join("dotback/bootstrap.json");
    fs::write(&progress, "{\"remote\": \"x\", \"steps\": {\"clone\": \"do").unwrap();
    fs::write(b.passphrase_file(), format!("{PASSPHRASE}\n")).unwrap();
    let out = bootstrap(&b, &remote, &["--resume"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains(progress.to_str().unwrap()) && err.contains("remove it"), "{err}");
    assert!(!b.home.join(".zshrc").exists(), "no step ran");
    fs::remove_file(&progress).unwrap();
    let out = bootstrap(&b, &remote, &["--resume"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(b.read(".zshrc"), "export A=1\n");
}

/// `--source` at a directory that holds something else, and a machine set up for another store:
/// refused before anything is written, with what to do (not `--resume`, which cannot help).
#[test]
fn an_occupied_source_or_another_store_is_refused_and_left_alone() {
    let (_a, remote) = device_a();
    let b = TestEnv::new();
    let dir = b.root.join("mine");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "keep me\n").unwrap();
    let out = bootstrap(&b, &remote, &["--source", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains(dir.to_str().unwrap()) && err.contains("another --source"), "{err}");
    assert!(!err.contains("--resume"), "resuming cannot help: {err}");
    assert_eq!(walk(&dir), ["notes.txt"]);
    assert!(!b.config_home.join("dotback/config.toml").exists());

    let out = bootstrap(&b, &remote, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let (_other, other_remote) = device_a();
    let before = snapshot(&b.home);
    let out = bootstrap(&b, &other_remote, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains(b.store().to_str().unwrap()) && err.contains(other_remote.to_str().unwrap()), "{err}");
    assert!(!err.contains("--resume"), "resuming cannot help: {err}");
    assert_eq!(snapshot(&b.home), before);
}
