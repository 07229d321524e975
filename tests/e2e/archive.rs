//! `dotback archive`: encrypted bundles of the store, read back with the real age and git, and
//! retention over archives with made-up times in their names.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A store with history: a plain file edited twice, an encrypted one, a deleted one.
fn store_with_history() -> TestEnv {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "export EDITOR=vi\n", 0o644);
    env.write(".config/app/settings.toml", "theme = \"dark\"\n", 0o600);
    env.write(".gone", "soon deleted\n", 0o644);
    env.ok(&["add", ".zshrc", ".config/app", ".gone"]);
    env.ok(&["commit"]);
    env.write(".ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\narchive-test-key\n", 0o600);
    env.write(".zshrc", "export EDITOR=nvim\n", 0o644);
    env.ok(&["add", ".ssh/id_ed25519"]);
    fs::remove_file(env.home.join(".gone")).unwrap();
    env.ok(&["commit"]);
    env
}

/// `dotback archive --to DIR ARGS --json`, parsed.
fn archive(env: &TestEnv, dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["archive", "--to", dir.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&env.ok(&all).stdout).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = git_cleared().args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?} in {}:\n{}", dir.display(), show(&out));
    stdout(&out)
}

#[test]
fn an_archive_decrypted_by_age_clones_into_the_same_tree_and_history() {
    if !require("age") {
        return;
    }
    let env = store_with_history();
    let store = store_of(&env);
    let usb = env.root.join("usb");
    fs::create_dir(&usb).unwrap();
    let report = archive(&env, &usb, &[]);
    let path = PathBuf::from(report["archive"].as_str().unwrap());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert_eq!(names(&usb), ["dotback-recovery.age", name], "the archive and the recovery key, no temporary left");
    assert!(name.starts_with("dotback-testbox-") && name.ends_with("Z.bundle.age"), "{name}");
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(report["recipients"], 2, "this device and the recovery key");
    assert_eq!(report["verified"]["commits"], 3);
    let cipher = fs::read(&path).unwrap();
    assert!(cipher.starts_with(b"age-encryption.org/v1\n"));
    for plain in ["EDITOR", "theme", "PACK", "git bundle"] {
        assert!(!cipher.windows(plain.len()).any(|w| w == plain.as_bytes()), "{plain} in the ciphertext");
    }

    // The real age, this device's identity file, the real git.
    let bundle = env.root.join("store.bundle");
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(env.identity_file())
        .arg("-o")
        .arg(&bundle)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "age -d: {}", show(&out));
    let clone = env.root.join("clone");
    let out = git_cleared().arg("clone").arg("-q").arg(&bundle).arg(&clone).output().unwrap();
    assert!(out.status.success(), "git clone of the bundle: {}", show(&out));
    let tree = |dir: &Path| git_out(dir, &["ls-tree", "-r", "--full-tree", "HEAD"]);
    assert_eq!(tree(&clone), tree(&store), "the same tree");
    assert!(tree(&clone).contains("dot_ssh/encrypted_private_id_ed25519.age"), "{}", tree(&clone));
    let log = |dir: &Path| git_out(dir, &["log", "--format=%H %T %an %s"]);
    assert_eq!(log(&clone), log(&store), "the same history");
    assert_eq!(git_out(&clone, &["rev-parse", "--abbrev-ref", "HEAD"]), "main\n");
    assert_eq!(fs::read_to_string(clone.join("dot_zshrc")).unwrap(), "export EDITOR=nvim\n");
    assert_eq!(git_out(&clone, &["status", "--porcelain"]), "", "the checkout is the tree");
    let deleted = git_out(&clone, &["show", "HEAD~1:dot_gone"]);
    assert_eq!(deleted, "soon deleted\n", "a file deleted since is in the history");

    // `archive verify` agrees, and the audit trail has the run.
    let v: serde_json::Value =
        serde_json::from_slice(&env.ok(&["archive", "verify", path.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert_eq!(v["refs"][0]["name"], "HEAD");
    assert_eq!(v["refs"][0]["id"].as_str().unwrap(), git_out(&store, &["rev-parse", "HEAD"]).trim());
    let audit = all_text(&store.join(".dotback/audit"));
    let record = audit.lines().find(|l| l.contains("\"command\":\"archive\"")).expect("an archive record");
    assert!(record.contains("\"outcome\":\"ok\"") && record.contains("\"archives_kept\":1"), "{record}");
}

#[test]
fn the_recovery_key_opens_an_archive_too_from_beside_it_or_else_from_the_store() {
    let env = store_with_history();
    let usb = env.root.join("usb");
    fs::create_dir(&usb).unwrap();
    let path = archive(&env, &usb, &[])["archive"].as_str().unwrap().to_string();
    let pass = env.passphrase_file();
    let wrong = env.root.join("wrong");
    fs::write(&wrong, "not the passphrase at all\n").unwrap();
    let verify = |file: &str, passphrase: &Path| {
        env.cmd(&["archive", "verify", file, "--recovery", "--passphrase-file", passphrase.to_str().unwrap()])
            .output()
            .unwrap()
    };

    // With the store's recovery key gone, the copy beside the archive opens it.
    let sealed = store_of(&env).join(".dotback/recovery.age");
    let aside = env.root.join("recovery.age.aside");
    fs::rename(&sealed, &aside).unwrap();
    let out = verify(&path, &pass);
    assert!(out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("is a complete archive"), "{}", show(&out));
    let out = verify(&path, &wrong);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("wrong passphrase") && err.contains(&usb.join("dotback-recovery.age").display().to_string()),
        "{err}"
    );
    assert!(err.contains("hint: check the passphrase"), "{err}");
    assert!(!err.contains("not the passphrase"), "never the passphrase: {err}");
    fs::rename(&aside, &sealed).unwrap();

    // An archive alone: the store's recovery key, as before.
    let alone = env.root.join("alone");
    fs::create_dir(&alone).unwrap();
    let copy = alone.join(Path::new(&path).file_name().unwrap());
    fs::copy(&path, &copy).unwrap();
    assert!(verify(copy.to_str().unwrap(), &pass).status.success());
    let (code, err) = env.fails(&[
        "archive",
        "verify",
        copy.to_str().unwrap(),
        "--recovery",
        "--passphrase-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("wrong passphrase") && err.contains(&sealed.display().to_string()), "{err}");
}

#[test]
fn the_directory_alone_restores_with_the_recovery_passphrase_and_plain_age() {
    if !require("age") || !require("python3") || !require("bash") {
        return;
    }
    let env = store_with_history();
    let store = store_of(&env);
    let usb = env.root.join("usb");
    fs::create_dir(&usb).unwrap();
    let sealed = fs::read(store.join(".dotback/recovery.age")).unwrap();
    let key = usb.join("dotback-recovery.age");
    let report = archive(&env, &usb, &[]);
    assert_eq!(report["recovery_key"], serde_json::json!({"path": key.display().to_string(), "written": true}));
    assert_eq!(fs::read(&key).unwrap(), sealed, "the same bytes as the store's");
    assert_eq!(fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let text = stdout(&env.ok(&["archive", "list", usb.to_str().unwrap()]));
    assert!(text.contains("dotback-recovery.age") && text.contains("the recovery key, passphrase-protected"), "{text}");

    // Rewritten only when it differs; never pruned. (Each earlier archive is moved back in
    // time, so the next one's name is free whatever the clock.)
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap());
    let before = inode(&key);
    let mut past = 0;
    let mut age_out = |report: &serde_json::Value| {
        past += 1;
        let old = usb.join(format!("dotback-testbox-2024010{past}T000000Z.bundle.age"));
        fs::rename(report["archive"].as_str().unwrap(), old).unwrap();
    };
    age_out(&report);
    let report = archive(&env, &usb, &["--keep-last", "1"]);
    assert_eq!(report["recovery_key"]["written"], false, "{report:#}");
    assert_eq!(inode(&key), before, "the same file, untouched");
    assert_eq!(report["removed"].as_array().unwrap().len(), 1, "{report:#}");
    fs::write(&key, "an older recovery key\n").unwrap();
    age_out(&report);
    let report = archive(&env, &usb, &["--keep-last", "1"]);
    assert_eq!(report["recovery_key"]["written"], true, "{report:#}");
    assert_eq!(fs::read(&key).unwrap(), sealed);
    let archive_file = PathBuf::from(report["archive"].as_str().unwrap());
    assert_eq!(names(&usb), ["dotback-recovery.age", archive_file.file_name().unwrap().to_str().unwrap()]);
    let list: serde_json::Value =
        serde_json::from_slice(&env.ok(&["archive", "list", usb.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert_eq!(list["recovery_key"], true);
    assert_eq!(list["archives"].as_array().unwrap().len(), 1, "the key is not an archive: {list:#}");

    // The disaster: only the directory, the passphrase and plain age. The private key goes
    // through a pipe, never to disk.
    let found = env.root.join("found");
    fs::create_dir(&found).unwrap();
    for name in names(&usb) {
        fs::copy(usb.join(&name), found.join(&name)).unwrap();
    }
    let work = env.root.join("restore");
    fs::create_dir(&work).unwrap();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pty-answer");
    let out = std::process::Command::new(tool)
        .args(["passphrase", PASSPHRASE, "--", "bash", "-c"])
        .arg(r#"age -d -i <(age -d "$1") -o store.bundle "$2""#)
        .arg("bash")
        .arg(found.join("dotback-recovery.age"))
        .arg(found.join(archive_file.file_name().unwrap()))
        .current_dir(&work)
        .output()
        .unwrap();
    let screen = stdout(&out);
    assert!(out.status.success(), "age: {screen}");
    assert!(screen.contains("Enter passphrase"), "age asked for the passphrase: {screen}");
    assert!(!screen.contains(PASSPHRASE), "not echoed: {screen}");
    let out = git_cleared().args(["clone", "-q", "store.bundle", "clone"]).current_dir(&work).output().unwrap();
    assert!(out.status.success(), "git clone of the bundle: {}", show(&out));
    assert_eq!(names(&work), ["clone", "store.bundle"], "nothing else written");
    let tree = |dir: &Path| git_out(dir, &["ls-tree", "-r", "--full-tree", "HEAD"]);
    assert_eq!(tree(&work.join("clone")), tree(&store), "the same tree");
    let log = |dir: &Path| git_out(dir, &["log", "--format=%H %T %s"]);
    assert_eq!(log(&work.join("clone")), log(&store), "the same history");
}

#[test]
fn a_corrupted_or_truncated_archive_fails_verify_naming_the_file() {
    let env = store_with_history();
    let usb = env.root.join("usb");
    fs::create_dir(&usb).unwrap();
    let good = PathBuf::from(archive(&env, &usb, &[])["archive"].as_str().unwrap());
    env.ok(&["archive", "verify", good.to_str().unwrap()]);
    let cipher = fs::read(&good).unwrap();
    let mut flipped = cipher.clone();
    let mid = flipped.len() / 2;
    for b in &mut flipped[mid..mid + 4] {
        *b ^= 0x5a;
    }
    let bad = env.root.join("flipped.bundle.age");
    fs::write(&bad, &flipped).unwrap();
    let cut = env.root.join("cut.bundle.age");
    fs::write(&cut, &cipher[..cipher.len() / 2]).unwrap();
    let not_age = env.root.join("notes.txt");
    fs::write(&not_age, "just notes\n").unwrap();
    for file in [&bad, &cut, &not_age] {
        let (code, err) = env.fails(&["archive", "verify", file.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(&file.display().to_string()), "names the file: {err}");
        assert!(err.contains("cannot decrypt the archive"), "{err}");
        assert!(err.contains("hint:"), "{err}");
    }
    let (_, err) = env.fails(&["archive", "verify", bad.to_str().unwrap()]);
    assert!(err.contains("damaged"), "{err}");
    let (code, err) = env.fails(&["archive", "verify", env.root.join("nothing").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read the archive"), "{err}");
}

#[test]
fn retention_prunes_only_this_devices_archives_as_the_policy_says() {
    let env = store_with_history();
    let usb = env.root.join("usb");
    fs::create_dir(&usb).unwrap();
    let first = PathBuf::from(archive(&env, &usb, &[])["archive"].as_str().unwrap());
    let content = fs::read(&first).unwrap();
    fs::remove_file(&first).unwrap();
    // Archives from the past (their time is in their name), and what is not this device's.
    let old = [
        "20240101T100000Z",
        "20240115T100000Z",
        "20240201T100000Z",
        "20240220T100000Z",
        "20240301T100000Z",
        "20240301T120000Z",
    ];
    for stamp in old {
        fs::write(usb.join(format!("dotback-testbox-{stamp}.bundle.age")), &content).unwrap();
    }
    let foreign = [
        "dotback-laptop-20200101T000000Z.bundle.age",
        "notes.txt",
        "dotback-testbox-2024.bundle.age",
        "dotback-testbox-20240101T100000Z.bundle.age.bak",
    ];
    for name in foreign {
        fs::write(usb.join(name), "keep me\n").unwrap();
    }
    fs::create_dir(usb.join("dotback-testbox-20230101T000000Z.bundle.age")).unwrap();

    // No rule: nothing goes.
    let report = archive(&env, &usb, &[]);
    assert_eq!(report["removed"], serde_json::json!([]));
    let newest = report["archive"].as_str().unwrap().to_string();
    fs::remove_file(&newest).unwrap();

    // `list` says what a policy would do, and does nothing.
    let list: serde_json::Value = serde_json::from_slice(
        &env.ok(&["archive", "list", usb.to_str().unwrap(), "--keep-monthly", "2", "--json"]).stdout,
    )
    .unwrap();
    let fates: Vec<(String, String, String)> = list["archives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let reasons: Vec<&str> = a["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            (a["name"].as_str().unwrap()[16..32].to_string(), a["action"].as_str().unwrap().into(), reasons.join(","))
        })
        .collect();
    let fate = |stamp: &str, action: &str, why: &str| (stamp.to_string(), action.to_string(), why.to_string());
    assert_eq!(
        fates[..6],
        [
            fate("20240301T120000Z", "keep", "monthly"),
            fate("20240301T100000Z", "remove", ""),
            fate("20240220T100000Z", "keep", "monthly"),
            fate("20240201T100000Z", "remove", ""),
            fate("20240115T100000Z", "remove", ""),
            fate("20240101T100000Z", "remove", ""),
        ]
    );
    assert_eq!(list["archives"][6]["action"], "other-device");
    assert_eq!(list["archives"].as_array().unwrap().len(), 7);
    let text = stdout(&env.ok(&["archive", "list", usb.to_str().unwrap(), "--keep-monthly", "2"]));
    assert!(text.contains("would be removed") && text.contains("kept: monthly"), "{text}");
    assert_eq!(names(&usb).len(), old.len() + foreign.len() + 2, "list removes nothing");

    // The new archive takes this month, the last rule keeps it too; 2024-03 the other month.
    let report = archive(&env, &usb, &["--keep-last", "1", "--keep-monthly", "2"]);
    let new = PathBuf::from(report["archive"].as_str().unwrap());
    let removed: Vec<&str> = report["removed"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(removed.len(), 5, "{removed:?}");
    let mut left = names(&usb);
    left.retain(|n| !foreign.contains(&n.as_str()));
    assert_eq!(
        left,
        [
            "dotback-recovery.age".to_string(),                   // the recovery key: never pruned
            "dotback-testbox-20230101T000000Z.bundle.age".into(), // a directory: not written by dotback
            "dotback-testbox-20240301T120000Z.bundle.age".into(),
            new.file_name().unwrap().to_str().unwrap().into(),
        ]
    );
    for name in foreign {
        assert_eq!(fs::read_to_string(usb.join(name)).unwrap(), "keep me\n", "{name} is untouched");
    }
    let ours = report["listing"]["archives"].as_array().unwrap();
    assert_eq!(ours[0]["reasons"], serde_json::json!(["last", "monthly"]));
    assert_eq!(ours[0]["new"], true);

    // An archive from the future holds the only `last` slot; the new one is kept regardless.
    // (The last one is moved back a year, so the next one's name is free whatever the clock.)
    let new_name = usb.join("dotback-testbox-20250101T000000Z.bundle.age");
    fs::rename(&new, &new_name).unwrap();
    let new = new_name;
    let future = usb.join("dotback-testbox-20991231T000000Z.bundle.age");
    fs::write(&future, &content).unwrap();
    let report = archive(&env, &usb, &["--keep-last", "1"]);
    let newest = PathBuf::from(report["archive"].as_str().unwrap());
    assert!(newest.exists() && future.exists(), "{report:#}");
    assert!(!new.exists(), "the previous one went: {report:#}");
    assert!(!usb.join("dotback-testbox-20240301T120000Z.bundle.age").exists());
}

#[test]
fn nothing_is_pruned_unless_the_new_archive_checked_out() {
    let env = store_with_history();
    let usb = env.root.join("usb");
    fs::create_dir(&usb).unwrap();
    let old = usb.join("dotback-testbox-20240101T000000Z.bundle.age");
    fs::write(&old, "an old archive\n").unwrap();
    // Without its identity the device cannot read back what it wrote: no archive is kept.
    let id = env.identity_file();
    fs::rename(&id, env.root.join("identity.away")).unwrap();
    let (code, err) = env.fails(&["archive", "--to", usb.to_str().unwrap(), "--keep-last", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot check the new archive"), "{err}");
    assert_eq!(names(&usb), ["dotback-testbox-20240101T000000Z.bundle.age"], "nothing written, nothing removed");
    fs::rename(env.root.join("identity.away"), &id).unwrap();

    // A directory that is not there (an unmounted disk) is named, and not created.
    let missing = env.root.join("unmounted");
    let (code, err) = env.fails(&["archive", "--to", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains(&missing.display().to_string()) && err.contains("does not exist"), "{err}");
    assert!(!missing.exists());
    let (code, err) = env.fails(&["archive", "--to", usb.to_str().unwrap(), "--keep-within", "7w"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a span of time"), "{err}");
}
