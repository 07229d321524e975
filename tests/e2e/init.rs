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
