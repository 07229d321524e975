use crate::common::*;

#[test]
fn help_lists_exactly_the_commands_that_work() {
    let env = TestEnv::new();
    let help = stdout(&env.ok(&["--help"]));
    for cmd in [
        "init",
        "add",
        "forget",
        "status",
        "diff",
        "apply",
        "commit",
        "resolve",
        "log",
        "restore",
        "keys",
        "remote",
        "sync",
        "push",
        "hooks",
        "guard",
        "recover",
        "archive",
        "completions",
        "bootstrap",
        "packages",
        "watch",
        "service",
        "drill",
        "check",
    ] {
        assert!(help.contains(&format!("  {cmd} ")), "{cmd} missing from help:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let (code, err) = env.fails(&["add"]);
    assert_eq!(code, 2, "{err}");
    let (code, _) = env.fails(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn committed_completions_are_up_to_date() {
    let env = TestEnv::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let files = [
        ("bash", "dotback.bash"),
        ("zsh", "_dotback"),
        ("fish", "dotback.fish"),
        ("elvish", "dotback.elv"),
        ("powershell", "_dotback.ps1"),
    ];
    let bless = std::env::var_os("DOTBACK_BLESS").is_some();
    for (shell, file) in files {
        let generated = stdout(&env.ok(&["completions", shell]));
        assert!(generated.contains("dotback"), "{shell}: {generated}");
        let path = dir.join(file);
        if bless {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "completions/{file} is stale: run `DOTBACK_BLESS=1 cargo test committed_completions` and commit it"
        );
    }
}

/// One page per command and subcommand, nothing else in `completions/man/`.
#[test]
fn committed_man_pages_are_up_to_date() {
    let env = TestEnv::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/man");
    let listed = stdout(&env.ok(&["completions", "--man"]));
    let pages: Vec<&str> = listed.lines().collect();
    for page in ["dotback.1", "dotback-sync.1", "dotback-keys-add-device.1", "dotback-completions.1"] {
        assert!(pages.contains(&page), "{page} not generated: {pages:?}");
    }
    let bless = std::env::var_os("DOTBACK_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let stale = "run `DOTBACK_BLESS=1 cargo test committed_man_pages` and commit completions/man";
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("completions/man: {e}: {stale}")) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if pages.contains(&name.as_str()) {
            continue;
        }
        assert!(bless, "completions/man/{name} is no command's page: {stale}");
        std::fs::remove_file(&path).unwrap();
    }
    for page in pages {
        let generated = stdout(&env.ok(&["completions", "--man", page]));
        assert!(generated.contains(".SH SYNOPSIS"), "{page}: {generated}");
        let path = dir.join(page);
        if bless {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == generated, "completions/man/{page} is stale: {stale}");
    }
    let (code, err) = env.fails(&["completions", "--man", "dotback-frobnicate.1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("dotback-frobnicate.1"), "{err}");
}

#[test]
fn remotes_are_added_listed_and_removed() {
    let env = TestEnv::new();
    env.init();
    let bare = bare(&env, "usb.git");
    env.ok(&["remote", "add", "usb", bare.to_str().unwrap()]);
    env.ok(&["remote", "add", "hosted", "git@example.com:me/dotfiles.git"]);
    let v: serde_json::Value = serde_json::from_slice(&env.ok(&["remote", "list", "--json"]).stdout).unwrap();
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hosted", "usb"]);
    assert_eq!(v[1]["url"], bare.to_str().unwrap());
    let (_, err) = env.fails(&["remote", "add", "usb", "/elsewhere"]);
    assert!(err.contains("already a remote named `usb`"), "{err}");
    let (code, _) = env.fails(&["remote", "add", "bad/name", "/x"]);
    assert_eq!(code, 2);
    // A password in the URL would be stored in plaintext: refused, and never echoed.
    let (code, err) = env.fails(&["remote", "add", "hosted2", "https://me:hunter2@example.com/dots.git"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("credential helper") && !err.contains("hunter2"), "{err}");
    assert!(!std::fs::read_to_string(env.store().join(".git/config")).unwrap().contains("hunter2"));
    // One set with plain git is listed without it.
    env.git(&["remote", "add", "manual", "https://me:hunter2@example.com/dots.git"]);
    let listed = stdout(&env.ok(&["remote", "list"])) + &stdout(&env.ok(&["remote", "list", "--json"]));
    assert!(listed.contains("https://me:***@example.com/dots.git") && !listed.contains("hunter2"), "{listed}");
    env.git(&["remote", "remove", "manual"]);
    env.ok(&["remote", "remove", "usb"]);
    assert!(bare.join("HEAD").is_file(), "the repository itself is untouched");
    let (_, err) = env.fails(&["remote", "remove", "usb"]);
    assert!(err.contains("no remote named `usb`"), "{err}");
    let remotes = stdout(&env.git(&["remote"]));
    assert_eq!(remotes.trim(), "hosted");
}
