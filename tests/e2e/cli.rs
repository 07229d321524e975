use crate::common::*;

#[test]
fn help_lists_exactly_the_commands_that_work() {
    let env = TestEnv::new();
    let help = stdout(&env.ok(&["--help"]));
    for cmd in ["init", "add", "forget", "status", "diff", "apply", "commit", "keys", "hooks", "guard", "completions"] {
        assert!(help.contains(&format!("  {cmd} ")), "{cmd} missing from help:\n{help}");
    }
    for later in ["sync", "watch", "bootstrap", "check", "drill"] {
        assert!(!help.contains(&format!("  {later} ")), "{later} listed before it exists:\n{help}");
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
