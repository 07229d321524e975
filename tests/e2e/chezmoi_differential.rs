//! The store is a chezmoi source directory: chezmoi and dotback must produce the same HOME
//! from the same store, whichever of them wrote it.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// A home covering every attribute dotback writes, plus names that need care.
fn fixture(env: &TestEnv) -> Vec<&'static str> {
    env.write(".zshrc", "export EDITOR=vi\n", 0o644);
    env.write(".netrc", "machine example login me\n", 0o600);
    env.write(".ssh/config", "Host *\n  IdentitiesOnly yes\n", 0o644);
    env.write(".ssh/known_hosts", "host key\n", 0o644);
    fs::set_permissions(env.home.join(".ssh"), fs::Permissions::from_mode(0o700)).unwrap();
    env.write(".local/bin/tool", "#!/bin/sh\necho tool\n", 0o755);
    env.write(".local/bin/private-tool", "#!/bin/sh\n", 0o700);
    env.write(".readonly", "do not edit\n", 0o444);
    env.write(".hushlogin", "", 0o644);
    env.write(".config/nvim/init.lua", "vim.o.number = true\n", 0o644);
    env.write(".config/a.b.c/settings.json", "{}\n", 0o644);
    env.write(".config/deep/er/still/file", "deep\n", 0o644);
    env.write("private_notes", "literal prefix name\n", 0o644);
    env.write("notes.tmpl", "not a template {{ .x }}\n", 0o644);
    env.write(".dot_twice", "dot prefix inside a name\n", 0o644);
    std::os::unix::fs::symlink(".config/nvim/init.lua", env.home.join(".vimrc")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", env.home.join(".dangling")).unwrap();
    vec![
        ".zshrc",
        ".netrc",
        ".ssh",
        ".local",
        ".readonly",
        ".hushlogin",
        ".config",
        "private_notes",
        "notes.tmpl",
        ".dot_twice",
        ".vimrc",
        ".dangling",
    ]
}

#[test]
fn dotback_store_applies_identically_with_chezmoi_and_dotback() {
    let Some(chezmoi) = chezmoi() else { return };
    let origin = TestEnv::new();
    origin.init();
    let items = fixture(&origin);
    let mut args = vec!["add"];
    args.extend(&items);
    origin.ok(&args);
    origin.ok(&["commit"]);
    let store = origin.store();
    let store_arg = store.to_str().unwrap();

    // Both read the secrets with the origin's identity, through chezmoi's own age settings.
    let recipient = origin.recipient();
    let by_chezmoi = TestEnv::new();
    by_chezmoi.chezmoi_age_config(&origin.identity_file(), &recipient);
    run_chezmoi(
        &by_chezmoi,
        &chezmoi,
        &["apply", "--source", store_arg, "--destination", by_chezmoi.home.to_str().unwrap()],
    );
    let by_dotback = TestEnv::new();
    by_dotback.chezmoi_age_config(&origin.identity_file(), &recipient);
    by_dotback.ok(&["init", "--device", "b", "--source", store_arg]);
    by_dotback.ok(&["apply"]);
    assert!(store.join("encrypted_private_dot_netrc.age").is_file(), ".netrc is secret: stored encrypted");

    let want = snapshot(&by_chezmoi.home);
    assert_eq!(snapshot(&by_dotback.home), want);
    // And both reproduce the original home (every mode in the fixture is expressible).
    assert_eq!(want, snapshot(&origin.home));
}

#[test]
fn chezmoi_store_applies_identically_with_chezmoi_and_dotback() {
    let Some(chezmoi) = chezmoi() else { return };
    let origin = TestEnv::new().with_chezmoi(&chezmoi);
    let items = fixture(&origin);
    let store = origin.root.join("chezmoi-store");
    let store_arg = store.to_str().unwrap();
    let home_arg = origin.home.to_str().unwrap();
    let mut args = vec!["add", "--source", store_arg, "--destination", home_arg];
    let abs: Vec<String> = items.iter().map(|i| origin.home.join(i).display().to_string()).collect();
    args.extend(abs.iter().map(String::as_str));
    run_chezmoi(&origin, &chezmoi, &args);

    let by_chezmoi = TestEnv::new();
    run_chezmoi(
        &by_chezmoi,
        &chezmoi,
        &["apply", "--source", store_arg, "--destination", by_chezmoi.home.to_str().unwrap()],
    );
    let by_dotback = TestEnv::new();
    let pass = by_dotback.passphrase_file();
    by_dotback.ok(&["init", "--device", "b", "--source", store_arg, "--passphrase-file", pass.to_str().unwrap()]);
    by_dotback.ok(&["apply"]);
    assert_eq!(snapshot(&by_dotback.home), snapshot(&by_chezmoi.home));
}

#[test]
fn templates_are_delegated_to_chezmoi_and_never_rewritten() {
    let Some(chezmoi) = chezmoi() else { return };
    let env = TestEnv::new().with_chezmoi(&chezmoi);
    env.init();
    let tmpl = "[user]\n  name = {{ \"dotback\" | upper }}\n";
    fs::write(env.store().join("dot_gitconfig.tmpl"), tmpl).unwrap();
    fs::write(env.store().join("dot_plain"), "plain\n").unwrap();

    let v: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["delegated"][0]["path"], ".gitconfig");
    assert_eq!(v["delegated"][0]["reason"], "template");

    env.ok(&["apply"]);
    assert_eq!(env.read(".gitconfig"), "[user]\n  name = DOTBACK\n");
    assert_eq!(env.read(".plain"), "plain\n");

    // A live edit of a rendered template is never written back over the template.
    env.write(".gitconfig", "edited\n", 0o644);
    env.ok(&["commit"]);
    assert_eq!(fs::read_to_string(env.store().join("dot_gitconfig.tmpl")).unwrap(), tmpl);
    let (_, err) = env.fails(&["add", ".gitconfig"]);
    assert!(err.contains("never rewrites"), "{err}");

    // Without chezmoi, apply says what it skipped, and fails.
    let bare = TestEnv::new();
    bare.ok(&["init", "--device", "b", "--source", env.store().to_str().unwrap()]);
    let (_, err) = bare.fails(&["apply"]);
    assert!(err.contains("1 entry needs chezmoi") && err.contains("1 template"), "{err}");
    assert!(!bare.home.join(".gitconfig").exists());
    assert_eq!(bare.read(".plain"), "plain\n");
}

#[test]
fn init_uses_chezmoi_source_path_when_chezmoi_is_installed() {
    let Some(chezmoi) = chezmoi() else { return };
    let env = TestEnv::new().with_chezmoi(&chezmoi);
    let custom = env.root.join("custom-source");
    fs::create_dir_all(env.config_home.join("chezmoi")).unwrap();
    fs::write(
        env.config_home.join("chezmoi/chezmoi.toml"),
        format!("sourceDir = {:?}\n", custom.display().to_string()),
    )
    .unwrap();
    env.init();
    assert!(custom.join(".git").is_dir(), "the store goes where chezmoi looks for it");
    let cfg = fs::read_to_string(env.config_home.join("dotback/config.toml")).unwrap();
    assert!(cfg.contains(&custom.display().to_string()), "{cfg}");
}
