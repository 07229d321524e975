//! The store's code (scripts, templates, externals, `.chezmoiremove`, every `.chezmoi…` file) is
//! authenticated like its control files: what a push alone brings goes to chezmoi nowhere, not
//! on a device's sync or apply, not on a new machine's bootstrap, until the user accepts it; what
//! a device of the store adds is sealed and runs on the others.

use crate::common::*;
use std::fs;
use std::path::Path;

fn put(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A device with chezmoi on PATH and a store synced to a bare remote.
fn victim(chezmoi: &Path) -> (TestEnv, std::path::PathBuf) {
    let (a, remote) = synced_with_zshrc("one\n");
    (a.with_chezmoi(chezmoi), remote)
}

fn held_json(env: &TestEnv) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap();
    v["held_back"].clone()
}

fn bootstrap(b: &TestEnv, remote: &Path) -> std::process::Output {
    let pass = b.passphrase_file();
    let args = ["bootstrap", remote.to_str().unwrap(), "--device", "b", "--passphrase-file", pass.to_str().unwrap()];
    b.cmd(&[&args[..], &["--yes"]].concat()).output().unwrap()
}

/// Asserts `err` says the change to `path` arrived in `commit` and is held back, and how to settle it.
fn says_held(err: &str, path: &str, commit: &str) {
    assert!(err.contains(&format!("a change to {path}")), "{err}");
    assert!(err.contains(&format!("in commit {}", &commit[..12])) && err.contains("held back"), "{err}");
    assert!(err.contains("hands nothing to chezmoi"), "{err}");
    assert!(err.contains("dotback keys accept") && err.contains("dotback keys revert"), "{err}");
}

#[test]
fn a_pushed_script_runs_nowhere_until_the_user_accepts_it() {
    let Some(chezmoi) = chezmoi() else { return };
    let (a, remote) = victim(&chezmoi);
    let intruder = Intruder::clone_of(&a.root, &remote);
    put(&intruder.dir, "run_once_x.sh", "#!/bin/sh\ntouch \"$HOME/pwned\"\n");
    put(&intruder.dir, "dot_zshrc", "two\n");
    let commit = intruder.push("a helpful script");

    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    says_held(&err, "run_once_x.sh", &commit);
    assert!(!a.home.join("pwned").exists(), "the sync ran the pushed script");
    assert_eq!(a.read(".zshrc"), "two\n", "what dotback writes itself is applied");
    let (code, err) = a.fails(&["apply"]);
    assert_eq!(code, 6, "{err}");
    says_held(&err, "run_once_x.sh", &commit);
    assert!(!a.home.join("pwned").exists(), "the apply ran the pushed script");
    assert_eq!(held_json(&a)["code"][0], "run_once_x.sh");

    // A new machine bootstrapping from the remote holds it back as well, and runs nothing.
    let b = TestEnv::new().with_chezmoi(&chezmoi);
    let out = bootstrap(&b, &remote);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("held back"), "{}", show(&out));
    assert!(!b.home.join("pwned").exists(), "the bootstrap ran the pushed script");

    // The user takes it: from then on it is the store's code, and runs.
    let out = a.ok(&["keys", "accept"]);
    assert!(stderr(&out).contains("run_once_x.sh"), "{}", show(&out));
    a.ok(&["apply"]);
    assert!(a.home.join("pwned").exists(), "the accepted script ran");
    assert!(held_json(&a).is_null());
}

#[test]
fn a_pushed_template_external_or_removal_is_held_back_until_accepted() {
    let Some(chezmoi) = chezmoi() else { return };
    for variant in ["template", "external", "remove"] {
        let (a, remote) = victim(&chezmoi);
        a.write(".precious", "mine\n", 0o644);
        let marker = a.root.join("ran");
        let source = a.root.join("fetched");
        fs::write(&source, "from far away\n").unwrap();
        let intruder = Intruder::clone_of(&a.root, &remote);
        let (path, happened): (&str, Box<dyn Fn() -> bool>) = match variant {
            "template" => {
                let run = format!("{{{{ output \"sh\" \"-c\" \"echo ran > {}\" }}}}\n", marker.display());
                put(&intruder.dir, "dot_t.tmpl", &run);
                ("dot_t.tmpl", Box::new(|| marker.exists()))
            }
            "external" => {
                let url = format!("file://{}", source.display());
                put(
                    &intruder.dir,
                    ".chezmoiexternal.toml",
                    &format!("[\".fetched\"]\ntype = \"file\"\nurl = {url:?}\n"),
                );
                (".chezmoiexternal.toml", Box::new(|| a.home.join(".fetched").exists()))
            }
            _ => {
                put(&intruder.dir, ".chezmoiremove", ".precious\n");
                (".chezmoiremove", Box::new(|| !a.home.join(".precious").exists()))
            }
        };
        let commit = intruder.push("helpful");
        let (code, err) = a.fails(&["sync"]);
        assert_eq!(code, 6, "{variant}: {err}");
        says_held(&err, path, &commit);
        let (code, err) = a.fails(&["apply"]);
        assert_eq!(code, 6, "{variant}: {err}");
        assert!(!happened(), "{variant}: chezmoi was handed the pushed code");
        a.ok(&["keys", "accept"]);
        a.ok(&["apply"]);
        assert!(happened(), "{variant}: accepted, chezmoi applies it");
    }
}

#[test]
fn a_script_a_device_adds_is_sealed_and_runs_on_the_other_devices() {
    let Some(chezmoi) = chezmoi() else { return };
    let (a, remote) = victim(&chezmoi);
    let b = device_from(&remote, "b").with_chezmoi(&chezmoi);
    a.admit(&b, "b");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    put(&store_of(&a), "run_once_hello.sh", "#!/bin/sh\necho hello >> \"$HOME/hello.log\"\n");
    put(&store_of(&a), "dot_greeting.tmpl", "{{ \"hi\" | upper }}\nmiddle\nend\n");
    a.ok(&["sync"]);
    let out = b.ok(&["sync"]);
    assert_eq!(fs::read_to_string(b.home.join("hello.log")).unwrap(), "hello\n", "{}", show(&out));
    assert_eq!(b.read(".greeting"), "HI\nmiddle\nend\n");
    assert!(held_json(&a).is_null() && held_json(&b).is_null());

    // Both change the code at once, the same template included: each side is sealed, and so is
    // their merge.
    put(&store_of(&a), "run_once_from_a.sh", "#!/bin/sh\necho a >> \"$HOME/hello.log\"\n");
    put(&store_of(&a), "dot_greeting.tmpl", "{{ \"hello\" | upper }}\nmiddle\nend\n");
    put(&store_of(&b), "run_once_from_b.sh", "#!/bin/sh\necho b >> \"$HOME/hello.log\"\n");
    put(&store_of(&b), "dot_greeting.tmpl", "{{ \"hi\" | upper }}\nmiddle\nend from b\n");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert!(held_json(&a).is_null() && held_json(&b).is_null());
    for (env, mine) in [(&a, "b"), (&b, "a")] {
        let log = fs::read_to_string(env.home.join("hello.log")).unwrap();
        assert!(log.lines().any(|l| l == mine), "the other device's script ran: {log}");
    }
    for env in [&a, &b] {
        assert_eq!(env.read(".greeting"), "HELLO\nmiddle\nend from b\n");
    }
}

/// A seal from before code was sealed: the files' MAC alone (the code's lines are longer).
fn strip_code_seal(env: &TestEnv) {
    let path = store_of(env).join(".dotback/trust/control.mac");
    let text = fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().enumerate().filter(|(i, l)| *i < 2 || l.len() == 64).map(|(_, l)| l).collect();
    assert!(kept.len() < text.lines().count(), "the seal covered the code: {text}");
    fs::write(&path, format!("{}\n", kept.join("\n"))).unwrap();
}

/// The trusted copy as a dotback from before code was sealed kept it: no code.
fn forget_trusted_code(env: &TestEnv) {
    let path = env.state_home.join("dotback/trusted-control.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert!(v.as_object_mut().unwrap().remove("code").is_some());
    fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn a_store_sealed_before_code_was_keeps_working_and_its_code_gets_sealed() {
    let Some(chezmoi) = chezmoi() else { return };
    let (a, remote) = victim(&chezmoi);
    let b = device_from(&remote, "b").with_chezmoi(&chezmoi);
    a.admit(&b, "b");
    put(&store_of(&a), "run_once_hello.sh", "#!/bin/sh\necho hello >> \"$HOME/hello.log\"\n");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    // As an earlier dotback left it: a seal over the control files alone, trusted copies
    // without code.
    strip_code_seal(&a);
    git_by_hand(&a, &["commit", "-qam", "sealed by an earlier dotback"]);
    git_by_hand(&a, &["push", "-q", "origin", "HEAD:main"]);
    for e in [&a, &b] {
        forget_trusted_code(e);
    }
    let out = b.ok(&["sync"]);
    assert!(!stderr(&out).contains("held back"), "{}", show(&out));
    assert_eq!(fs::read_to_string(b.home.join("hello.log")).unwrap(), "hello\n", "the store's code runs as before");
    assert!(held_json(&b).is_null());
    // The first device that holds the store key seals the code it uses; the other takes that.
    a.ok(&["sync"]);
    let mac = fs::read_to_string(store_of(&a).join(".dotback/trust/control.mac")).unwrap();
    assert!(mac.lines().any(|l| l.len() == 68), "a sealed the code: {mac}");
    b.ok(&["sync"]);
    assert!(held_json(&a).is_null() && held_json(&b).is_null());

    // From then on a push alone changes the code nowhere.
    let intruder = Intruder::clone_of(&a.root, &remote);
    put(&intruder.dir, "run_once_x.sh", "#!/bin/sh\ntouch \"$HOME/pwned\"\n");
    intruder.push("a helpful script");
    let (code, err) = b.fails(&["sync"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("run_once_x.sh") && err.contains("held back"), "{err}");
    assert!(!b.home.join("pwned").exists());
    // Reverted, the script is gone from the store and the device settles.
    b.ok(&["keys", "revert"]);
    assert!(!store_of(&b).join("run_once_x.sh").exists());
    b.ok(&["sync"]);
    assert!(held_json(&b).is_null());
    a.ok(&["sync"]);
    assert!(!a.home.join("pwned").exists() && held_json(&a).is_null());
}

#[test]
fn a_bootstrapped_machine_bootstrapping_again_hands_held_back_code_to_nobody() {
    let Some(chezmoi) = chezmoi() else { return };
    let (a, remote) = victim(&chezmoi);
    put(&store_of(&a), "dot_greeting.tmpl", "{{ \"hi\" | upper }}\n");
    a.ok(&["sync"]);
    let b = TestEnv::new().with_chezmoi(&chezmoi);
    let out = bootstrap(&b, &remote);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(b.read(".greeting"), "HI\n");
    let intruder = Intruder::clone_of(&a.root, &remote);
    put(&intruder.dir, "run_once_x.sh", "#!/bin/sh\ntouch \"$HOME/pwned\"\n");
    let commit = intruder.push("a helpful script");
    let (code, _) = b.fails(&["sync"]);
    assert_eq!(code, 6);
    let out = bootstrap(&b, &remote);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("bootstrap step `templates`"), "{err}");
    says_held(&err, "run_once_x.sh", &commit);
    assert!(!b.home.join("pwned").exists(), "the templates step ran the pushed script");
}
