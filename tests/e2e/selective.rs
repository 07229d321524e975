//! Selective sync: `[[only]]` rules in the manifest limit targets to some devices or OSes.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const SWAY: &str = "bindsym $mod+Return exec foot\n";
const RULE: &str = "\n[[only]]\npaths = [\".config/sway/**\"]\ndevices = [\"laptop\"]\n";

fn status_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap()
}

fn paths_of(v: &serde_json::Value, field: &str) -> Vec<String> {
    v[field].as_array().unwrap().iter().map(|t| t["path"].as_str().unwrap().to_string()).collect()
}

fn append_rule(store: &Path, rule: &str) {
    let manifest = store.join(".dotback/dotback.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, format!("{text}{rule}")).unwrap();
}

/// The file as committed at `rev` in a git repository (work tree or bare).
fn committed(env: &TestEnv, repo: &Path, rev: &str, path: &str) -> Option<String> {
    let out = Command::new("git")
        .args(["show", &format!("{rev}:{path}")])
        .env_clear()
        .envs(env.envs())
        .current_dir(repo)
        .output()
        .unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// "laptop" tracks `.zshrc` and `.config/sway/config`, the latter limited to itself; "desk"
/// (a clone of the same remote) already has a sway config of its own.
fn laptop_and_desk() -> (TestEnv, TestEnv, PathBuf) {
    let laptop = TestEnv::new();
    laptop.ok(&["init", "--device", "laptop", "--passphrase-file", laptop.passphrase_file().to_str().unwrap()]);
    let remote = bare(&laptop, "remote.git");
    laptop.write(".zshrc", "export EDITOR=vi\n", 0o644);
    laptop.write(".config/sway/config", SWAY, 0o644);
    append_rule(&laptop.store(), RULE);
    laptop.ok(&["add", ".zshrc", ".config/sway"]);
    laptop.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    laptop.ok(&["sync"]);
    let desk = TestEnv::new();
    desk.write(".config/sway/config", "desk's own\n", 0o600);
    let store = desk.root.join("store");
    let out = Command::new("git").arg("clone").arg("-q").arg(&remote).arg(&store).envs(desk.envs()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    desk.join("desk", &store);
    (laptop, desk, remote)
}

#[test]
fn another_device_skips_the_paths_and_keeps_its_own_file() {
    let (laptop, desk, remote) = laptop_and_desk();
    let out = desk.ok(&["sync"]);
    assert!(!stderr(&out).contains("left ~/.config/sway"), "{}", show(&out));
    assert_eq!(desk.read(".zshrc"), "export EDITOR=vi\n", "unlimited files still apply");
    assert_eq!(desk.read(".config/sway/config"), "desk's own\n", "the live file at a skipped path is untouched");

    // Status: skipped, listed apart, and otherwise clean.
    let v = status_json(&desk);
    assert_eq!(paths_of(&v, "targets"), Vec::<String>::new(), "{v}");
    assert_eq!(v["uncommitted"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(paths_of(&v, "skipped_on_device"), [".config/sway", ".config/sway/config"], "{v}");
    assert!(v["skipped_on_device"][0]["rule"].as_str().unwrap().contains("laptop"), "{v}");
    let text = stdout(&desk.ok(&["status"]));
    assert!(text.contains("Skipped on this device (selective sync"), "{text}");
    assert!(text.contains("~/.config/sway and 1 below it") && text.contains(".config/sway/**"), "{text}");
    assert!(text.contains("Up to date: 1 file and 1 directory match"), "{text}"); // ~/.config and ~/.zshrc

    // Its own file is never captured, even edited; nothing is committed or deleted in the store.
    desk.write(".config/sway/config", "desk's own, edited\n", 0o600);
    let out = desk.ok(&["commit"]);
    assert!(stderr(&out).contains("Nothing to commit"), "{}", show(&out));
    desk.ok(&["sync"]);
    assert_eq!(committed(&desk, &remote, "main", "dot_config/sway/config").as_deref(), Some(SWAY));
    assert!(stdout(&desk.ok(&["diff"])).is_empty());

    // apply of the path says why nothing happens, and leaves the file as it is.
    let out = desk.ok(&["apply", "--force", ".config/sway/config"]);
    assert!(stderr(&out).contains("~/.config/sway/config is skipped on this device"), "{}", show(&out));
    assert!(stderr(&out).contains("[[only]]") && stderr(&out).contains("laptop"), "{}", show(&out));
    assert_eq!(desk.read(".config/sway/config"), "desk's own, edited\n");
    let v: serde_json::Value =
        serde_json::from_slice(&desk.ok(&["apply", "--dry-run", "--json", ".config/sway"]).stdout).unwrap();
    assert_eq!(v["actions"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["skipped_on_device"], serde_json::json!([".config/sway", ".config/sway/config"]), "{v}");

    // Edits on the laptop still reach the store on both devices, never desk's HOME.
    laptop.write(".config/sway/config", "bindsym $mod+d exec menu\n", 0o644);
    laptop.ok(&["sync"]);
    desk.ok(&["sync"]);
    let desk_store = store_of(&desk);
    assert_eq!(fs::read_to_string(desk_store.join("dot_config/sway/config")).unwrap(), "bindsym $mod+d exec menu\n");
    assert_eq!(desk.read(".config/sway/config"), "desk's own, edited\n");
    assert_eq!(paths_of(&status_json(&desk), "targets"), Vec::<String>::new());
    laptop.ok(&["sync"]);
    assert_eq!(laptop.read(".config/sway/config"), "bindsym $mod+d exec menu\n");
    assert_eq!(paths_of(&status_json(&laptop), "skipped_on_device"), Vec::<String>::new());
}

#[test]
fn a_device_without_the_file_does_not_get_it() {
    let (_laptop, desk, _) = laptop_and_desk();
    fs::remove_dir_all(desk.home.join(".config/sway")).unwrap();
    desk.ok(&["sync"]);
    assert!(!desk.home.join(".config/sway").exists(), "neither the file nor its directory is created");
    desk.ok(&["apply"]);
    assert!(!desk.home.join(".config/sway").exists());
    let v = status_json(&desk);
    assert_eq!(paths_of(&v, "targets"), Vec::<String>::new(), "{v}");
    assert_eq!(paths_of(&v, "skipped_on_device").len(), 2, "{v}");
    // Absent here is no deletion: the laptop's file stays in the store.
    desk.ok(&["sync"]);
    assert_eq!(fs::read_to_string(store_of(&desk).join("dot_config/sway/config")).unwrap(), SWAY);
}

#[test]
fn a_directory_deleted_here_keeps_what_is_limited_to_other_devices() {
    let (laptop, desk, remote) = laptop_and_desk();
    desk.ok(&["sync"]);
    desk.write(".config/foot/foot.ini", "font=mono\n", 0o644);
    desk.ok(&["add", ".config/foot"]);
    desk.ok(&["sync"]);
    fs::remove_dir_all(desk.home.join(".config")).unwrap();
    desk.ok(&["sync"]);
    assert!(committed(&desk, &remote, "main", "dot_config/foot/foot.ini").is_none(), "desk's own file is deleted");
    assert_eq!(committed(&desk, &remote, "main", "dot_config/sway/config").as_deref(), Some(SWAY));
    assert_eq!(paths_of(&status_json(&desk), "targets"), Vec::<String>::new());
    laptop.ok(&["sync"]);
    assert_eq!(laptop.read(".config/sway/config"), SWAY, "the laptop keeps its file");
}

#[test]
fn forget_refuses_a_path_limited_to_other_devices() {
    let (laptop, desk, remote) = laptop_and_desk();
    desk.ok(&["sync"]);
    for path in [".config/sway", ".config/sway/config", ".config"] {
        let (code, err) = desk.fails(&["forget", path]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("~/.config/sway") && err.contains("[[only]]") && err.contains("(desk)"), "{err}");
        assert!(err.contains("nothing was changed in the store"), "{err}");
    }
    assert!(store_changes(&desk).is_empty(), "{}", store_changes(&desk));
    desk.ok(&["sync"]);
    laptop.ok(&["sync"]);
    assert_eq!(committed(&desk, &remote, "main", "dot_config/sway/config").as_deref(), Some(SWAY));
    assert_eq!(laptop.read(".config/sway/config"), SWAY, "the laptop keeps its file");
}

#[test]
fn add_refuses_a_path_limited_to_other_devices() {
    let (_laptop, desk, _) = laptop_and_desk();
    desk.ok(&["sync"]);
    let (code, err) = desk.fails(&["add", ".config/sway/config"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("~/.config/sway/config") && err.contains("[[only]]") && err.contains("laptop"), "{err}");
    assert!(err.contains("(desk)"), "{err}");
    // Adding the directory above it passes over the limited paths, with a word about them.
    desk.write(".config/foot/foot.ini", "font=mono\n", 0o644);
    let out = desk.ok(&["add", ".config"]);
    assert!(stderr(&out).contains("skipped ~/.config/sway: limited to other devices"), "{}", show(&out));
    desk.ok(&["commit"]);
    let store = store_of(&desk);
    assert_eq!(fs::read_to_string(store.join("dot_config/foot/foot.ini")).unwrap(), "font=mono\n");
    assert_eq!(fs::read_to_string(store.join("dot_config/sway/config")).unwrap(), SWAY, "the laptop's file stays");
}

#[test]
fn the_os_filter_keeps_this_os_and_skips_the_other() {
    let (here, other) = match std::env::consts::OS {
        "macos" => ("macos", "linux"),
        _ => ("linux", "macos"),
    };
    let env = TestEnv::new();
    env.init();
    env.write(".here", "here\n", 0o644);
    env.write(".other", "other\n", 0o644);
    env.ok(&["add", ".here", ".other"]);
    append_rule(
        &env.store(),
        &format!(
            "\n[[only]]\npaths = [\".here\"]\nos = \"{here}\"\n\n[[only]]\npaths = [\".other\"]\nos = [\"{other}\"]\ndevices = [\"{DEVICE}\"]\n"
        ),
    );
    env.ok(&["commit"]);
    fs::remove_file(env.home.join(".here")).unwrap();
    fs::remove_file(env.home.join(".other")).unwrap();
    env.ok(&["apply"]);
    assert_eq!(env.read(".here"), "here\n");
    assert!(!env.home.join(".other").exists(), "a rule for another OS skips the path");
    let v = status_json(&env);
    assert_eq!(paths_of(&v, "targets"), Vec::<String>::new(), "{v}");
    assert_eq!(paths_of(&v, "skipped_on_device"), [".other"], "{v}");
    assert!(committed(&env, &env.store(), "HEAD", "dot_other").is_some());
}

#[test]
fn malformed_rules_are_config_errors_naming_file_line_and_key() {
    let env = TestEnv::new();
    env.init();
    let manifest = env.store().join(".dotback/dotback.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    let lines = good.lines().count();
    let cases = [
        ("[[only]]\npaths = [\"x\"]\ndevices = [\"a\"]\nhosts = [\"b\"]\n", 4, "hosts"),
        ("[[only]]\npaths = [\"x\"]\nos = \"windows\"\n", 3, "os: unknown OS `windows`"),
        ("[[only]]\npaths = []\ndevices = [\"a\"]\n", 1, "empty `paths`"),
        ("[[only]]\npaths = [\"x\"]\n", 1, "needs `devices"),
    ];
    for (rule, line, want) in cases {
        fs::write(&manifest, format!("{good}\n{rule}")).unwrap();
        for cmd in [&["status"][..], &["apply"], &["commit"]] {
            let (code, err) = env.fails(cmd);
            assert_eq!(code, 3, "{cmd:?} {rule:?}: {err}");
            assert!(err.contains(&manifest.display().to_string()) && err.contains(want), "{rule:?}: {err}");
            let at = format!("line {}", lines + 1 + line);
            assert!(err.contains(&at), "{rule:?}: wants {at}: {err}");
        }
    }
    fs::write(&manifest, good).unwrap();
    env.ok(&["status"]);
}
