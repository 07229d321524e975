use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn init_creates_store_manifest_and_private_device_config() {
    let env = TestEnv::new();
    let out = env.ok(&["init", "--device", DEVICE, "--passphrase-file", env.passphrase_file().to_str().unwrap()]);
    assert!(stderr(&out).contains("Created the store"), "{}", show(&out));
    let store = env.store();
    assert!(store.join(".git").is_dir());
    let manifest = fs::read_to_string(store.join(".dotback/dotback.toml")).unwrap();
    assert!(manifest.contains("version = 1"), "{manifest}");
    let cfg_path = env.config_home.join("dotback/config.toml");
    let cfg = fs::read_to_string(&cfg_path).unwrap();
    assert!(cfg.contains(&format!("device = \"{DEVICE}\"")), "{cfg}");
    assert!(cfg.contains(&store.display().to_string()), "{cfg}");
    assert_eq!(fs::metadata(&cfg_path).unwrap().permissions().mode() & 0o777, 0o600);
    let log = stdout(&env.git(&["log", "--format=%s"]));
    assert!(log.contains(DEVICE), "{log}");
}

#[test]
fn init_twice_is_harmless() {
    let env = TestEnv::new();
    env.init();
    let before = stdout(&env.git(&["rev-parse", "HEAD"]));
    let out = env.ok(&["init"]);
    assert!(stderr(&out).contains("nothing changed"), "{}", show(&out));
    assert_eq!(stdout(&env.git(&["rev-parse", "HEAD"])), before);
}

#[test]
fn init_adopts_an_existing_chezmoi_store_keeping_its_files_and_history() {
    let env = TestEnv::new();
    let store = env.root.join("mystore");
    fs::create_dir_all(&store).unwrap();
    fs::write(store.join("dot_bashrc"), "echo hi\n").unwrap();
    std::process::Command::new("git").args(["init", "-q", "-b", "main"]).arg(&store).status().unwrap();
    let git = |args: &[&str]| {
        std::process::Command::new("git").args(args).envs(env.envs()).current_dir(&store).output().unwrap()
    };
    git(&["add", "."]);
    assert!(git(&["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "mine"]).status.success());
    let pass = env.passphrase_file();
    let out = env.ok(&[
        "init",
        "--device",
        DEVICE,
        "--source",
        store.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    assert!(stderr(&out).contains("Using the store"), "{}", show(&out));
    assert_eq!(fs::read_to_string(store.join("dot_bashrc")).unwrap(), "echo hi\n");
    let log = String::from_utf8_lossy(&git(&["log", "--format=%s"]).stdout).into_owned();
    assert!(log.contains("mine") && log.contains("set up the store"), "{log}");
    env.ok(&["apply"]);
    assert_eq!(env.read(".bashrc"), "echo hi\n");
}

#[test]
fn init_refuses_to_silently_switch_stores() {
    let env = TestEnv::new();
    env.init();
    let other = env.root.join("other");
    let (code, err) = env.fails(&["init", "--source", other.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("already uses the store"), "{err}");
    assert!(!other.exists(), "nothing is created for a refused init");
}

#[test]
fn init_refuses_to_rename_a_set_up_device() {
    let env = TestEnv::new();
    env.init();
    let config = env.config_home.join("dotback/config.toml");
    let before = (fs::read_to_string(&config).unwrap(), stdout(&env.git(&["rev-parse", "HEAD"])));
    let (code, err) = env.fails(&["init", "--device", "renamed"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!("already set up as `{DEVICE}`; renaming it to `renamed` is not supported"))
            && err.contains("drop --device"),
        "{err}"
    );
    assert_eq!((fs::read_to_string(&config).unwrap(), stdout(&env.git(&["rev-parse", "HEAD"]))), before);
    let recipients = fs::read_to_string(env.store().join(".dotback/recipients.txt")).unwrap();
    assert!(recipients.contains(DEVICE) && !recipients.contains("renamed"), "{recipients}");
    // Its own name again is fine.
    let out = env.ok(&["init", "--device", DEVICE]);
    assert!(stderr(&out).contains("nothing changed"), "{}", show(&out));
}

#[test]
fn init_refuses_a_bare_repository_or_a_git_directory_and_writes_nothing_there() {
    let env = TestEnv::new();
    // A bare repository with history, as a new user might name it.
    let bare = bare(&env, "dotfiles.git");
    let work = env.root.join("work");
    fs::create_dir_all(&work).unwrap();
    env.git_in(&work, &["init", "-q", "-b", "main"]);
    fs::write(work.join("dot_bashrc"), "echo hi\n").unwrap();
    env.git_in(&work, &["add", "."]);
    assert!(
        env.git_in(&work, &["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "mine"]).status.success()
    );
    assert!(env.git_in(&work, &["push", "-q", bare.to_str().unwrap(), "main"]).status.success());
    let pass = env.passphrase_file();

    for source in [bare.clone(), work.join(".git"), work.join(".git/refs")] {
        let before = snapshot(&source);
        let work_before = snapshot(&work);
        let (code, err) = env.fails(&[
            "init",
            "--device",
            DEVICE,
            "--source",
            source.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("without a work tree"), "{err}");
        assert!(err.contains(&format!("git clone {}", source.display())) && err.contains("--source DIR"), "{err}");
        assert_eq!(snapshot(&source), before, "nothing was written into {}", source.display());
        assert_eq!(snapshot(&work), work_before);
        assert!(!env.config_home.join("dotback").exists(), "no config and no identity");
    }

    // The hint's way works: a clone of it is adopted with its history.
    let clone = env.root.join("clone");
    assert!(env.git_in(&env.root, &["clone", "-q", bare.to_str().unwrap(), clone.to_str().unwrap()]).status.success());
    env.ok(&[
        "init",
        "--device",
        DEVICE,
        "--source",
        clone.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    env.ok(&["apply"]);
    assert_eq!(env.read(".bashrc"), "echo hi\n");
}

#[test]
fn init_without_a_passphrase_leaves_nothing_behind() {
    let env = TestEnv::new();
    // Standard input is /dev/null: no passphrase to read.
    let (code, err) = env.fails(&["init", "--device", DEVICE]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("passphrase"), "{err}");
    assert!(!env.config_home.join("dotback").exists(), "no config, no identity");
    assert!(!env.store().exists(), "no store");

    // Adopting an existing repository: it is left exactly as it was.
    let store = env.root.join("mystore");
    fs::create_dir_all(&store).unwrap();
    env.git_in(&store, &["init", "-q", "-b", "main"]);
    fs::write(store.join("dot_bashrc"), "echo hi\n").unwrap();
    env.git_in(&store, &["add", "."]);
    assert!(
        env.git_in(&store, &["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "mine"]).status.success()
    );
    let before = snapshot(&store);
    let (code, err) = env.fails(&["init", "--device", DEVICE, "--source", store.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(snapshot(&store), before, "no commit, no .dotback");
    assert!(!env.config_home.join("dotback").exists());

    // Other commands say the device is not set up.
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("dotback init"), "{err}");
}

/// A repository's work tree, index and refs: what a user sees of it (unreachable objects and the
/// reflog, which record an undone commit as git's own undo does, left out).
fn visible(repo: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut all = snapshot(repo);
    all.retain(|k, _| !k.starts_with(".git/objects") && !k.starts_with(".git/logs"));
    all
}

#[test]
fn an_init_that_fails_while_writing_removes_what_it_wrote() {
    let env = TestEnv::new();
    let store = env.root.join("mystore");
    fs::create_dir_all(&store).unwrap();
    env.git_in(&store, &["init", "-q", "-b", "main"]);
    fs::write(store.join("dot_bashrc"), "echo hi\n").unwrap();
    env.git_in(&store, &["add", "."]);
    assert!(
        env.git_in(&store, &["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "mine"]).status.success()
    );
    let before = visible(&store);
    let pass = env.passphrase_file();
    let init = |env: &TestEnv| {
        env.cmd(&[
            "init",
            "--device",
            DEVICE,
            "--source",
            store.to_str().unwrap(),
            "--passphrase-file",
            pass.to_str().unwrap(),
        ])
    };

    // The commit fails (a git command holds the index): the keys and manifest written go again.
    fs::write(store.join(".git/index.lock"), "").unwrap();
    let lock_before = visible(&store);
    let out = init(&env).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(visible(&store), lock_before, "no .dotback left, no commit");
    assert!(!env.config_home.join("dotback").exists(), "no config, no identity");
    fs::remove_file(store.join(".git/index.lock")).unwrap();
    assert_eq!(visible(&store), before);

    // The config cannot be written, after the commit was made (nobody, not even root, creates
    // files in /proc/self): the commit is undone too.
    let out = init(&env).env("DOTBACK_CONFIG", "/proc/self/dotback.toml").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("/proc/self/dotback.toml"), "names the file: {}", show(&out));
    assert_eq!(visible(&store), before, "the branch, the index and the work tree are as they were");
    let reflog = stdout(&env.git_in(&store, &["reflog", "show", "main"]));
    assert!(
        reflog.contains("set up the store") && reflog.contains("dotback: undo"),
        "committed, then undone: {reflog}"
    );
    assert!(!env.config_home.join("dotback").exists(), "no identity");

    // Nothing stands in the way of the next try.
    let out = init(&env).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let log = stdout(&env.git_in(&store, &["log", "--format=%s"]));
    assert_eq!(log.lines().count(), 2, "one setup commit on top of `mine`: {log}");
    env.ok(&["status"]);
}

#[test]
fn a_device_whose_setup_did_not_finish_is_refused_until_init_finishes_it() {
    let env = TestEnv::new();
    env.init();
    let remote = bare(&env, "remote.git");
    env.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    // What an older dotback left after failing for lack of a passphrase: a config and a
    // committed store, without recipients or recovery key.
    git_by_hand(&env, &["rm", "-q", ".dotback/recipients.txt", ".dotback/recovery.age"]);
    git_by_hand(&env, &["commit", "-qm", "no keys"]);
    // An older dotback kept no trusted set either (with one, a keyless commit is held back).
    fs::remove_file(env.state_home.join("dotback/trusted-control.json")).unwrap();
    env.write(".zshrc", "mine\n", 0o644);
    for args in [&["status"][..], &["add", ".zshrc"], &["commit"], &["sync"], &["keys", "list"], &["apply"]] {
        let (code, err) = env.fails(args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(err.contains("did not finish") && err.contains("recipients.txt"), "{args:?}: {err}");
        assert!(err.contains("run `dotback init` again"), "{args:?}: {err}");
    }
    assert_eq!(remote_head(&remote), None, "a keyless store was not pushed anywhere");

    // init finishes it: keys, one commit; then everything works.
    let out = env.ok(&["init", "--passphrase-file", env.passphrase_file().to_str().unwrap()]);
    assert!(stderr(&out).contains("Created the store's recipients"), "{}", show(&out));
    assert!(
        env.store().join(".dotback/recipients.txt").is_file() && env.store().join(".dotback/recovery.age").is_file()
    );
    env.ok(&["add", ".zshrc"]);
    env.ok(&["sync"]);
    assert!(remote_head(&remote).is_some());

    // A recipients file deleted from the work tree only: refused, with the way to restore it.
    fs::remove_file(env.store().join(".dotback/recipients.txt")).unwrap();
    let (code, err) = env.fails(&["status"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("was deleted") && err.contains("checkout HEAD -- .dotback/recipients.txt"), "{err}");
}
