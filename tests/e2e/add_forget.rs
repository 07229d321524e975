use crate::common::*;
use std::fs;

#[test]
fn add_records_modes_as_attributes() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "export A=1\n", 0o644);
    env.write(".ssh/config", "Host x\n", 0o644);
    fs::set_permissions(env.home.join(".ssh"), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    env.write(".local/bin/tool", "#!/bin/sh\n", 0o755);
    env.write(".hushlogin", "", 0o644);
    env.write(".readonly", "ro\n", 0o444);
    std::os::unix::fs::symlink(".zshrc", env.home.join(".zshrc-link")).unwrap();
    env.ok(&["add", ".zshrc", ".ssh", ".local/bin/tool", ".hushlogin", ".readonly", ".zshrc-link"]);
    let s = env.store();
    assert_eq!(fs::read_to_string(s.join("dot_zshrc")).unwrap(), "export A=1\n");
    assert!(s.join("private_dot_ssh/config").is_file());
    assert!(s.join("dot_local/bin/executable_tool").is_file());
    assert!(s.join("empty_dot_hushlogin").is_file());
    assert!(s.join("readonly_dot_readonly").is_file());
    assert_eq!(fs::read_to_string(s.join("symlink_dot_zshrc-link")).unwrap().trim(), ".zshrc");
}

#[test]
fn readd_after_mode_change_renames_the_entry() {
    let env = TestEnv::new();
    env.init();
    env.write("script", "#!/bin/sh\n", 0o644);
    env.ok(&["add", "script"]);
    assert!(env.store().join("script").is_file());
    env.write("script", "#!/bin/sh\n", 0o755);
    env.ok(&["add", "script"]);
    assert!(!env.store().join("script").exists());
    assert!(env.store().join("executable_script").is_file());
}

#[test]
fn add_refuses_paths_outside_home_and_inside_the_store() {
    let env = TestEnv::new();
    env.init();
    let outside = env.root.join("outside.txt");
    fs::write(&outside, "x").unwrap();
    let (_, err) = env.fails(&["add", outside.to_str().unwrap()]);
    assert!(err.contains("outside HOME"), "{err}");
    let (_, err) = env.fails(&["add", "../outside.txt"]);
    assert!(err.contains("outside HOME"), "{err}");
    let inside = env.store().join(".dotback/dotback.toml");
    let (_, err) = env.fails(&["add", inside.to_str().unwrap()]);
    assert!(err.contains("inside the store"), "{err}");
}

#[test]
fn add_follows_no_symlink_out_of_home() {
    let env = TestEnv::new();
    env.init();
    let outside = env.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, env.home.join("link")).unwrap();
    let (_, err) = env.fails(&["add", "link/secret"]);
    assert!(err.contains("outside HOME"), "{err}");
    // The link itself is tracked as a link, never followed.
    env.ok(&["add", "link"]);
    assert!(env.store().join("symlink_link").is_file());
}

#[test]
fn add_of_a_directory_skips_dotbacks_own_files() {
    let env = TestEnv::new();
    // Config and store inside HOME, as with the default XDG layout.
    let cmd_env = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env_remove("XDG_CONFIG_HOME").env_remove("XDG_DATA_HOME").env_remove("XDG_STATE_HOME");
        c.output().unwrap()
    };
    let pass = env.passphrase_file();
    assert!(cmd_env(&["init", "--device", DEVICE, "--passphrase-file", pass.to_str().unwrap()]).status.success());
    env.write(".config/nvim/init.lua", "x\n", 0o644);
    env.write(".local/share/other", "y\n", 0o644);
    let out = cmd_env(&["add", ".config", ".local"]);
    assert!(out.status.success(), "{}", show(&out));
    let store = env.home.join(".local/share/chezmoi");
    assert!(store.join("dot_config/nvim/init.lua").is_file());
    assert!(store.join("dot_local/share/other").is_file());
    assert!(!store.join("dot_config/dotback").exists(), "device config must not be tracked");
    assert!(!store.join("dot_local/share/chezmoi").exists(), "the store must not track itself");
    assert!(!store.join("dot_local/state/dotback").exists(), "state must not be tracked");
}

#[test]
fn forget_untracks_but_leaves_the_live_file() {
    let env = TestEnv::new();
    env.init();
    env.write(".config/app/a", "a\n", 0o644);
    env.write(".config/app/b", "b\n", 0o644);
    env.ok(&["add", ".config/app"]);
    env.ok(&["commit"]);
    env.ok(&["forget", ".config/app/a"]);
    assert!(!env.store().join("dot_config/app/a").exists());
    assert!(env.store().join("dot_config/app/b").exists());
    assert_eq!(env.read(".config/app/a"), "a\n");
    let (_, err) = env.fails(&["forget", ".config/app/a"]);
    assert!(err.contains("not managed"), "{err}");
}
