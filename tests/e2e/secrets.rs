//! Secrets: encrypted in git to every device and the recovery key, decrypted on apply, never
//! in plaintext in git, a temp file, or an error message.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// A private key made by ssh-keygen in `env`'s ~/.ssh, with its .pub and a config.
fn ssh_fixture(env: &TestEnv) {
    let ssh = env.home.join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(ssh.join("id_ed25519"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    env.write(".ssh/config", "Host *\n  IdentitiesOnly yes\n", 0o644);
    env.write(".ssh/known_hosts", "example.com ssh-ed25519 AAAA\n", 0o644);
}

fn store_blob_contains(store: &Path, needle: &[u8]) -> Vec<String> {
    // Every blob in every commit of the store's history, plus the index.
    let objects = Command::new("git").args(["rev-list", "--objects", "--all"]).current_dir(store).output().unwrap();
    let mut hits = Vec::new();
    let list = String::from_utf8_lossy(&objects.stdout).into_owned();
    let mut ids: Vec<String> = list.lines().map(|l| l.split(' ').next().unwrap().to_string()).collect();
    let staged = Command::new("git").args(["ls-files", "-s"]).current_dir(store).output().unwrap();
    ids.extend(
        String::from_utf8_lossy(&staged.stdout).lines().filter_map(|l| l.split_whitespace().nth(1).map(String::from)),
    );
    for id in ids {
        let kind = Command::new("git").args(["cat-file", "-t", &id]).current_dir(store).output().unwrap();
        if String::from_utf8_lossy(&kind.stdout).trim() != "blob" {
            continue;
        }
        let blob = Command::new("git").args(["cat-file", "blob", &id]).current_dir(store).output().unwrap().stdout;
        if blob.windows(needle.len()).any(|w| w == needle) {
            hits.push(id);
        }
    }
    hits
}

#[test]
fn ssh_keys_are_encrypted_in_git_and_restored_with_their_modes() {
    if !require("ssh-keygen") {
        return;
    }
    let a = TestEnv::new();
    a.init();
    ssh_fixture(&a);
    let out = a.ok(&["add", ".ssh"]);
    assert!(stderr(&out).contains("Encrypted ~/.ssh/id_ed25519"), "{}", show(&out));
    a.ok(&["commit"]);
    let s = a.store();
    let enc = s.join("private_dot_ssh/encrypted_private_id_ed25519.age");
    let cipher = fs::read_to_string(&enc).unwrap();
    assert!(cipher.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "{cipher}");
    assert!(s.join("private_dot_ssh/id_ed25519.pub").is_file(), "public keys stay plain");
    assert!(s.join("private_dot_ssh/config").is_file() && s.join("private_dot_ssh/known_hosts").is_file());

    let b = TestEnv::new();
    b.join("b", &s);
    a.admit(&b, "b");
    b.ok(&["apply"]);
    let key = b.home.join(".ssh/id_ed25519");
    assert_eq!(mode(&b.home.join(".ssh")), 0o700);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(fs::read(&key).unwrap(), fs::read(a.home.join(".ssh/id_ed25519")).unwrap());
    let derived = Command::new("ssh-keygen").arg("-y").arg("-f").arg(&key).output().unwrap();
    let public = fs::read_to_string(b.home.join(".ssh/id_ed25519.pub")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&derived.stdout).split_whitespace().take(2).collect::<Vec<_>>(),
        public.split_whitespace().take(2).collect::<Vec<_>>(),
        "the restored private key matches its .pub"
    );
}

#[test]
fn content_scan_and_flag_encrypt_files_rules_do_not_name() {
    let env = TestEnv::new();
    env.init();
    let token = format!("ghp_{}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
    env.write(".config/tool/settings", &format!("token = {token}\n"), 0o644);
    env.write(".config/tool/plain", "color = blue\n", 0o644);
    env.write(".config/tool/forced", "nothing secret\n", 0o644);
    env.ok(&["add", ".config/tool/settings", ".config/tool/plain"]);
    env.ok(&["add", "--encrypt", ".config/tool/forced"]);
    let dir = env.store().join("dot_config/tool");
    assert!(dir.join("encrypted_settings.age").is_file());
    assert!(dir.join("plain").is_file());
    assert!(dir.join("encrypted_forced.age").is_file());
    // A token pasted into a tracked plaintext file is encrypted on the next commit.
    env.write(".config/tool/plain", &format!("color = blue\ntoken = {token}\n"), 0o644);
    env.ok(&["commit"]);
    assert!(dir.join("encrypted_plain.age").is_file() && !dir.join("plain").exists());
    assert!(store_blob_contains(&env.store(), token.as_bytes()).is_empty(), "the token never reached git");
}

#[test]
fn age_cli_reads_what_dotback_writes_and_the_reverse() {
    if !require("age") {
        return;
    }
    let env = TestEnv::new();
    env.init();
    env.write(".netrc", "machine example.com password hunter2hunter2\n", 0o600);
    env.ok(&["add", ".netrc"]);
    let enc = env.store().join("encrypted_private_dot_netrc.age");
    let out = Command::new("age").arg("-d").arg("-i").arg(env.identity_file()).arg(&enc).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(stdout(&out), "machine example.com password hunter2hunter2\n");
    // A file encrypted by the age CLI to the store's recipients file is applied by dotback.
    let recipients = env.store().join(".dotback/recipients.txt");
    let target = env.store().join("encrypted_private_dot_pgpass.age");
    let mut child = Command::new("age")
        .arg("-a")
        .arg("-R")
        .arg(&recipients)
        .arg("-o")
        .arg(&target)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"db:5432:*:me:s3cret-pass\n").unwrap();
    assert!(child.wait().unwrap().success());
    env.ok(&["apply", ".pgpass"]);
    assert_eq!(env.read(".pgpass"), "db:5432:*:me:s3cret-pass\n");
    assert_eq!(mode(&env.home.join(".pgpass")), 0o600);
}

#[test]
fn chezmoi_reads_dotback_secrets_and_dotback_reads_chezmoi_secrets() {
    let Some(chezmoi) = chezmoi() else { return };
    if !require("age") {
        return;
    }
    let env = TestEnv::new().with_chezmoi(&chezmoi);
    env.init();
    env.write(".netrc", "machine a password one\n", 0o600);
    env.ok(&["add", ".netrc"]);
    env.chezmoi_age_config(&env.identity_file(), &env.recipient());
    let store = env.store();
    let out =
        run_chezmoi(&env, &chezmoi, &["decrypt", store.join("encrypted_private_dot_netrc.age").to_str().unwrap()]);
    assert_eq!(stdout(&out), "machine a password one\n");
    // chezmoi add --encrypt writes a file dotback decrypts.
    env.write(".npmrc", "//registry/:_authToken=abcdef\n", 0o600);
    let home = env.home.to_str().unwrap().to_string();
    run_chezmoi(
        &env,
        &chezmoi,
        &["--source", store.to_str().unwrap(), "--destination", &home, "add", "--encrypt", &format!("{home}/.npmrc")],
    );
    fs::remove_file(env.home.join(".npmrc")).unwrap();
    env.ok(&["apply", ".npmrc"]);
    assert_eq!(env.read(".npmrc"), "//registry/:_authToken=abcdef\n");
}

#[test]
fn three_devices_each_decrypt_everything_and_a_removed_one_nothing_new() {
    if !require("age") {
        return;
    }
    let a = TestEnv::new();
    a.init();
    let (b, c) = (TestEnv::new(), TestEnv::new());
    b.join("b", &a.store());
    c.join("c", &a.store());
    a.admit(&b, "b");
    a.admit(&c, "c");
    a.write(".netrc", "machine x password p1p1p1p1\n", 0o600);
    a.write(".aws/credentials", "[default]\naws_secret_access_key = abc\n", 0o600);
    a.ok(&["add", ".netrc", ".aws"]);
    a.ok(&["commit"]);
    for (env, name) in [(&b, "b"), (&c, "c")] {
        env.ok(&["apply"]);
        assert_eq!(env.read(".netrc"), "machine x password p1p1p1p1\n", "{name}");
        assert_eq!(env.read(".aws/credentials"), "[default]\naws_secret_access_key = abc\n", "{name}");
    }
    let v: serde_json::Value = serde_json::from_slice(&a.ok(&["keys", "list", "--json"]).stdout).unwrap();
    assert_eq!(v["devices"].as_array().unwrap().len(), 3);
    assert!(v["recovery"].as_str().unwrap().starts_with("age1"));

    let out = a.ok(&["keys", "remove-device", "c"]);
    assert!(stderr(&out).contains("re-encrypted"), "{}", show(&out));
    let enc = a.store().join("encrypted_private_dot_netrc.age");
    let by_c = Command::new("age").arg("-d").arg("-i").arg(c.identity_file()).arg(&enc).output().unwrap();
    assert!(!by_c.status.success(), "the removed device decrypts nothing in the new commit");
    let by_b = Command::new("age").arg("-d").arg("-i").arg(b.identity_file()).arg(&enc).output().unwrap();
    assert!(by_b.status.success(), "{}", show(&by_b));
    let log = stdout(&a.git(&["log", "-1", "--format=%s", "--name-only"]));
    assert!(log.contains("remove device c") && log.contains("recipients.txt") && log.contains("netrc"), "{log}");
    // c now sees the secrets as locked, says so, and writes nothing.
    c.write(".netrc", "c's own\n", 0o600);
    fs::write(a.store().join("dot_plain"), "plain\n").unwrap();
    let (code, err) = c.fails(&["apply"]);
    assert_eq!(code, 1);
    assert!(err.contains("encrypted_private_dot_netrc.age") && err.contains("could not be decrypted"), "{err}");
    assert_eq!(c.read(".netrc"), "c's own\n");
    assert_eq!(c.read(".plain"), "plain\n", "everything else is applied");
}

#[test]
fn the_recovery_passphrase_alone_restores_a_new_machine() {
    let a = TestEnv::new();
    a.init();
    a.write(".netrc", "machine x password recover-me\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.ok(&["commit"]);
    let fresh = TestEnv::new();
    fresh.join("fresh", &a.store());
    fs::write(fresh.root.join("wrong"), "not the passphrase\n").unwrap();
    let (code, err) =
        fresh.fails(&["keys", "unlock", "--recovery", "--passphrase-file", fresh.root.join("wrong").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("recovery.age") && err.to_lowercase().contains("passphrase"), "{err}");
    assert!(!fresh.home.join(".netrc").exists());
    fresh.ok(&["keys", "unlock", "--recovery", "--passphrase-file", fresh.passphrase_file().to_str().unwrap()]);
    fresh.ok(&["apply"]);
    assert_eq!(fresh.read(".netrc"), "machine x password recover-me\n");
    // Rotating the recovery key: the new passphrase works, the old one no longer does.
    fs::write(a.root.join("new-pass"), "a brand new passphrase\n").unwrap();
    a.ok(&["keys", "recovery", "--rotate", "--passphrase-file", a.root.join("new-pass").to_str().unwrap()]);
    let later = TestEnv::new();
    later.join("later", &a.store());
    later.fails(&["keys", "unlock", "--recovery", "--passphrase-file", later.passphrase_file().to_str().unwrap()]);
    later.ok(&["keys", "unlock", "--recovery", "--passphrase-file", a.root.join("new-pass").to_str().unwrap()]);
    later.ok(&["apply"]);
    assert_eq!(later.read(".netrc"), "machine x password recover-me\n");
}

#[test]
fn damaged_ciphertext_and_an_open_identity_file_are_refused_naming_the_file() {
    let env = TestEnv::new();
    env.init();
    env.write(".netrc", "machine x password pw-zq81\n", 0o600);
    env.ok(&["add", ".netrc"]);
    env.ok(&["commit"]);
    fs::remove_file(env.home.join(".netrc")).unwrap();
    let enc = env.store().join("encrypted_private_dot_netrc.age");
    let good = fs::read_to_string(&enc).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    for (what, bad) in [
        ("truncated", lines[..lines.len() / 2].join("\n")),
        ("corrupted", good.replacen(&lines[2][..8], "AAAAAAAA", 1)),
        ("not age", "hello\n".to_string()),
    ] {
        fs::write(&enc, &bad).unwrap();
        let (code, err) = env.fails(&["apply"]);
        assert_eq!(code, 1, "{what}");
        assert!(err.contains("encrypted_private_dot_netrc.age"), "{what}: {err}");
        assert!(!env.home.join(".netrc").exists(), "{what}: no partial plaintext");
        assert!(!err.contains("pw-zq81"), "{what}: no plaintext in the message");
    }
    fs::write(&enc, &good).unwrap();
    fs::set_permissions(env.identity_file(), fs::Permissions::from_mode(0o644)).unwrap();
    let (_, err) = env.fails(&["apply"]);
    assert!(err.contains("identity.txt") && err.contains("644"), "{err}");
    fs::set_permissions(env.identity_file(), fs::Permissions::from_mode(0o600)).unwrap();
    env.ok(&["apply"]);
    assert_eq!(env.read(".netrc"), "machine x password pw-zq81\n");
}

#[test]
fn without_recipients_a_secret_is_refused_not_stored_in_plaintext() {
    let env = TestEnv::new();
    env.init();
    let recipients = env.store().join(".dotback/recipients.txt");
    env.write(".netrc", "machine x password nope\n", 0o600);
    // An empty recipients file: the secret is refused. A deleted one: the store is refused
    // whole (exit 3), with the way to restore the file.
    for (content, want) in [(Some("# nobody\n"), 1), (None, 3)] {
        match content {
            None => {
                let _ = fs::remove_file(&recipients);
            }
            Some(c) => fs::write(&recipients, c).unwrap(),
        }
        let before = snapshot(&env.store());
        let (code, err) = env.fails(&["add", ".netrc"]);
        assert_eq!(code, want, "{err}");
        assert!(
            err.contains(if want == 1 { ".netrc" } else { "checkout HEAD" }) && err.contains("recipients.txt"),
            "{err}"
        );
        assert_eq!(snapshot(&env.store()), before, "nothing written");
    }
}

#[test]
fn the_pre_commit_hook_refuses_a_plaintext_key_committed_with_git() {
    let env = TestEnv::new();
    env.init();
    env.ok(&["hooks", "install"]);
    let key = format!(
        "-----BEGIN OPENSSH {}-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        "PRIVATE KEY"
    );
    fs::write(env.store().join("dot_leaked"), &key).unwrap();
    let git =
        |args: &[&str]| Command::new("git").args(args).envs(env.envs()).current_dir(env.store()).output().unwrap();
    assert!(git(&["add", "dot_leaked"]).status.success());
    let out = git(&["-c", "user.name=u", "-c", "user.email=u@x", "commit", "-m", "oops"]);
    assert!(!out.status.success(), "the hook must refuse: {}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("dot_leaked") && err.contains("refusing to commit"), "{err}");
    assert!(!err.contains("b3BlbnNzaC1rZXktdjEAAAAA"), "never the key itself");
    // dotback's own commit runs the same guard.
    let (_, err) = env.fails(&["commit"]);
    assert!(err.contains("dot_leaked"), "{err}");
    let log = Command::new("git").args(["log", "--all", "-p"]).current_dir(env.store()).output().unwrap();
    assert!(!String::from_utf8_lossy(&log.stdout).contains("b3BlbnNzaC1rZXktdjEAAAAA"));
}

#[test]
fn no_secret_plaintext_anywhere_in_history_after_adds_commits_and_rekeys() {
    let a = TestEnv::new();
    a.init();
    let b = TestEnv::new();
    b.join("b", &a.store());
    let secrets = ["netrc-plaintext-1111", "aws-plaintext-2222", "token-plaintext-3333"];
    a.write(".netrc", &format!("machine x password {}\n", secrets[0]), 0o600);
    a.write(".aws/credentials", &format!("aws_secret_access_key = {}\n", secrets[1]), 0o600);
    a.write(".config/app/secret.key", &format!("{}\n", secrets[2]), 0o600);
    a.ok(&["add", ".netrc", ".aws", ".config/app"]);
    a.ok(&["commit"]);
    a.admit(&b, "b");
    a.write(".netrc", &format!("machine x password {} changed\n", secrets[0]), 0o600);
    a.ok(&["commit"]);
    a.ok(&["keys", "rekey"]);
    a.ok(&["keys", "remove-device", "b"]);
    for s in secrets {
        assert!(store_blob_contains(&a.store(), s.as_bytes()).is_empty(), "{s} is in git");
    }
    // Files created in HOME and the store for secrets are owner-only.
    assert_eq!(mode(&a.store().join("encrypted_private_dot_netrc.age")), 0o600);
    assert_eq!(mode(&a.identity_file()), 0o600);
    assert_eq!(mode(&a.config_home.join("dotback/config.toml")), 0o600);
}

#[test]
fn private_files_are_never_created_readable_by_others() {
    if !require("strace") {
        return;
    }
    let a = TestEnv::new();
    a.init();
    a.write(".netrc", "machine x password traced\n", 0o600);
    a.write(".zshrc", "plain\n", 0o644);
    a.ok(&["add", ".netrc", ".zshrc"]);
    let b = TestEnv::new();
    b.join("b", &a.store());
    a.admit(&b, "b");
    let log = b.root.join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=openat,fchmod,chmod,rename,renameat,renameat2", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_dotback"))
        .arg("apply")
        .env_clear()
        .envs(b.envs())
        .current_dir(&b.home);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let trace = fs::read_to_string(&log).unwrap();
    let home = b.home.display().to_string();
    let mut created = 0;
    for line in trace.lines().filter(|l| l.contains("O_CREAT") && l.contains(&home)) {
        created += 1;
        let m = line.rsplit(", ").next().unwrap().trim_end_matches(|c: char| !c.is_ascii_digit());
        let m = u32::from_str_radix(m.trim_start_matches('0'), 8).unwrap_or(0);
        assert_eq!(m & 0o077, 0, "created readable by others: {line}");
    }
    assert!(created >= 2, "the trace saw the files being created:\n{trace}");
    assert_eq!(mode(&b.home.join(".netrc")), 0o600);
    assert_eq!(mode(&b.home.join(".zshrc")), 0o644);
}

#[test]
fn diff_and_status_decrypt_transparently_and_name_what_they_cannot() {
    let a = TestEnv::new();
    a.init();
    a.write(".netrc", "machine x\npassword one\n", 0o600);
    a.ok(&["add", ".netrc"]);
    a.write(".netrc", "machine x\npassword two\n", 0o600);
    let text = stdout(&a.ok(&["diff"]));
    assert!(text.contains("-password two") && text.contains("+password one"), "diff shows plaintext: {text}");
    assert!(!text.contains("BEGIN AGE"), "{text}");

    // A device that is not a recipient is told how to become one, and status names the file.
    let b = TestEnv::new();
    let out = b.ok(&["init", "--device", "b", "--source", a.store().to_str().unwrap()]);
    let err = stderr(&out);
    assert!(err.contains("dotback keys add-device b age1"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&b.ok(&["status", "--json"]).stdout).unwrap();
    let t = &v["targets"][0];
    assert_eq!(t["path"], ".netrc");
    assert_eq!(t["change"], "locked");
    assert!(t["detail"].as_str().unwrap().contains("encrypted_private_dot_netrc.age"), "{t}");
    let human = stdout(&b.ok(&["status"]));
    assert!(human.contains("cannot decrypt") && human.contains("~/.netrc"), "{human}");
}
