//! git's configuration as git itself finds it: `GIT_CONFIG_GLOBAL` replaces `~/.gitconfig`
//! (libgit2 alone would read `~/.gitconfig` whatever it says).

use crate::common::*;
use std::fs;

fn author(env: &TestEnv) -> String {
    stdout(&env.git(&["log", "-1", "--format=%an <%ae> / %cn <%ce>"])).trim().to_string()
}

#[test]
fn the_commit_author_comes_from_git_config_global() {
    let env = TestEnv::new();
    env.init();
    env.write(".gitconfig", "[user]\n\tname = Home File\n\temail = home@example.org\n", 0o644);
    fs::write(env.root.join("gitconfig"), "[user]\n\tname = Global Env\n\temail = env@example.org\n").unwrap();
    env.write(".zshrc", "one\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    env.ok(&["commit"]);
    assert_eq!(author(&env), "Global Env <env@example.org> / Global Env <env@example.org>");

    // A global file without a name: not ~/.gitconfig's, but the device's, as when git has none.
    fs::write(env.root.join("gitconfig"), "[core]\n\tquotepath = false\n").unwrap();
    env.write(".zshrc", "two\n", 0o644);
    env.ok(&["commit"]);
    assert_eq!(author(&env), format!("{DEVICE} <{DEVICE}@dotback> / {DEVICE} <{DEVICE}@dotback>"));

    // Without GIT_CONFIG_GLOBAL, ~/.gitconfig is the global file again.
    env.write(".zshrc", "three\n", 0o644);
    let out = env.cmd(&["commit"]).env_remove("GIT_CONFIG_GLOBAL").output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(author(&env), "Home File <home@example.org> / Home File <home@example.org>");
}
