//! GPG keys through the real gpg, and the device identity in a real Secret Service.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A short-pathed, owner-only GNUPGHOME (gpg-agent's socket path must stay short).
pub(crate) fn gnupghome(tag: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix(&format!("g{tag}")).tempdir_in("/tmp").unwrap();
    let home = dir.path().join("g");
    fs::create_dir(&home).unwrap();
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    (dir, home)
}

pub(crate) fn gpg(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new("gpg").arg("--homedir").arg(home).arg("--batch").args(args).output().unwrap()
}

#[test]
fn gpg_keys_exported_on_one_device_sign_on_another() {
    if !require("gpg") {
        return;
    }
    let (_g1, home1) = gnupghome("a");
    let (_g2, home2) = gnupghome("b");
    let out = gpg(&home1, &["--passphrase", "", "--quick-gen-key", "Test <t@example.com>", "ed25519", "sign", "never"]);
    assert!(out.status.success(), "{}", show(&out));
    let a = TestEnv::new();
    a.init();
    let out = a.cmd(&["keys", "gpg-export"]).env("GNUPGHOME", &home1).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let dir = a.store().join(".dotback/keys/gpg");
    let secret = fs::read_to_string(dir.join("secret-keys.asc.age")).unwrap();
    assert!(secret.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "secret keys are encrypted in the store");
    assert!(fs::read_to_string(dir.join("public-keys.asc")).unwrap().contains("BEGIN PGP PUBLIC KEY BLOCK"));
    let log = stdout(&a.git(&["log", "-1", "--name-only", "--format=%s"]));
    assert!(log.contains("export GPG keys"), "{log}");

    let b = TestEnv::new();
    b.join("b", &a.store());
    a.admit(&b, "b");
    let out = b.cmd(&["keys", "gpg-import"]).env("GNUPGHOME", &home2).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let doc = b.root.join("doc.txt");
    fs::write(&doc, "signed on device b\n").unwrap();
    let sig = gpg(&home2, &["--yes", "--local-user", "t@example.com", "--detach-sign", doc.to_str().unwrap()]);
    assert!(sig.status.success(), "the imported key can sign: {}", show(&sig));
    let verify = gpg(&home1, &["--verify", &format!("{}.sig", doc.display()), doc.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", show(&verify));
    for h in [&home1, &home2] {
        let _ = Command::new("gpgconf").arg("--homedir").arg(h).args(["--kill", "all"]).status();
    }
}

#[test]
fn the_identity_can_live_in_the_os_keyring() {
    let Some(bus) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("no D-Bus session: run the suite under tests/tools/with-keyring (bash tests/run does)");
        }
        eprintln!("SKIPPED: no Secret Service (run under tests/tools/with-keyring)");
        return;
    };
    if !require("secret-tool") {
        return;
    }
    let device = format!("kr{}", std::process::id());
    let env = TestEnv::new();
    let keyring_env = |c: &mut Command| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &bus);
        if let Some(ctl) = std::env::var_os("GNOME_KEYRING_CONTROL") {
            c.env("GNOME_KEYRING_CONTROL", ctl);
        }
    };
    let run = |args: &[&str]| {
        let mut c = env.cmd(args);
        keyring_env(&mut c);
        c.output().unwrap()
    };
    let pass = env.passphrase_file();
    let out = run(&["init", "--device", &device, "--identity", "keyring", "--passphrase-file", pass.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(!env.identity_file().exists(), "no identity file with identity = keyring");
    let cfg = fs::read_to_string(env.config_home.join("dotback/config.toml")).unwrap();
    assert!(cfg.contains("identity = \"keyring\""), "{cfg}");
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", "dotback", "username", &format!("identity:{device}")])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&lookup.stdout).starts_with("AGE-SECRET-KEY-1"), "the keyring holds the identity");

    env.write(".netrc", "machine k password from-keyring\n", 0o600);
    assert!(run(&["add", ".netrc"]).status.success());
    fs::remove_file(env.home.join(".netrc")).unwrap();
    let out = run(&["apply"]);
    assert!(out.status.success(), "decrypts with the keyring's identity: {}", show(&out));
    assert_eq!(env.read(".netrc"), "machine k password from-keyring\n");

    // Without a reachable keyring the error says so and how to fall back.
    let mut c = env.cmd(&["apply", "--force"]);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    fs::remove_file(env.home.join(".netrc")).unwrap();
    let out = c.output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("keyring") && err.contains("identity = \"file\""), "{err}");
    let _ = Command::new("secret-tool")
        .args(["clear", "service", "dotback", "username", &format!("identity:{device}")])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .status();
}

#[test]
fn gpg_import_of_an_unreadable_secret_key_file_fails_naming_it() {
    if !require("gpg") {
        return;
    }
    let (_g1, home1) = gnupghome("u");
    let (_g2, home2) = gnupghome("v");
    let out = gpg(&home1, &["--passphrase", "", "--quick-gen-key", "Test <u@example.com>", "ed25519", "sign", "never"]);
    assert!(out.status.success(), "{}", show(&out));
    let a = TestEnv::new();
    a.init();
    let out = a.cmd(&["keys", "gpg-export"]).env("GNUPGHOME", &home1).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let secret = a.store().join(".dotback/keys/gpg/secret-keys.asc.age");
    // Unreadable: no permission, or (root reads anything) a directory where the file was.
    if is_root() {
        fs::remove_file(&secret).unwrap();
        fs::create_dir(&secret).unwrap();
    } else {
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    }
    let out = a.cmd(&["keys", "gpg-import"]).env("GNUPGHOME", &home2).output().unwrap();
    assert!(!out.status.success(), "an unreadable secret key file is an error: {}", show(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot read {}", secret.display())), "{err}");
    assert!(!err.contains("Imported"), "{err}");
    let listed = gpg(&home2, &["--list-secret-keys"]);
    assert!(!stdout(&listed).contains("u@example.com"), "nothing was imported");
    if !is_root() {
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    }
    for h in [&home1, &home2] {
        let _ = Command::new("gpgconf").arg("--homedir").arg(h).args(["--kill", "all"]).status();
    }
}
