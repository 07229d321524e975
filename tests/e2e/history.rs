//! `dotback log` and `dotback restore --at`: a file edited five times, an encrypted one and a
//! deleted one come back byte for byte with their modes, by commit, by date and by relative
//! time; a path's log lists exactly its commits with their devices; `--audit` shows another
//! device's syncs.
//!
//! Commit times are set through `GIT_COMMITTER_DATE`, which dotback honours as git does, so the
//! history spans days without a test waiting for anything.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

const HOUR: i64 = 3600;

/// How long before now each commit is made, in hours: a day apart, but 30 hours between the
/// last two, so that "yesterday 18:00" falls between them whatever the time of day.
const AGO: [i64; 5] = [103, 79, 55, 31, 1];

/// dotback ARGS, committing as if at Unix time `t`.
fn at_time(env: &TestEnv, t: i64, args: &[&str]) -> Output {
    let out = env.cmd(args).env("GIT_COMMITTER_DATE", format!("{t} +0000")).output().unwrap();
    assert!(out.status.success(), "dotback {args:?} failed:\n{}", show(&out));
    out
}

fn head(env: &TestEnv) -> String {
    stdout(&env.git(&["rev-parse", "HEAD"])).trim().to_string()
}

fn mode(env: &TestEnv, rel: &str) -> u32 {
    fs::metadata(env.home.join(rel)).unwrap().permissions().mode() & 0o777
}

/// `t` as UTC (the tests' zone) in `format`.
fn utc(t: i64, format: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).unwrap().format(format).unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", show(out)))
}

/// `~/.zshrc` in five versions with three modes (so three source names), `~/.netrc` encrypted
/// in four, and `~/.config/app/conf`, deleted by the fourth commit: one commit per edit, made
/// [`AGO`] before now, every time on a whole minute.
struct Edited {
    env: TestEnv,
    /// Commit ids, oldest first, and their times.
    commits: Vec<String>,
    times: Vec<i64>,
}

const ZSHRC: [(&str, u32); 5] =
    [("v1\n", 0o644), ("v2 runs\n", 0o755), ("v3 private\n", 0o600), ("v4\nfour\n", 0o600), ("v5\n", 0o644)];
const NETRC: [&str; 5] = [
    "machine a login u password one\n",
    "machine a login u password two\n",
    "machine a login u password three\n",
    "machine a login u password three\n",
    "machine a login u password five\n",
];
const CONF: [&str; 3] = ["app one\n", "app two\n", "app three\n"];

fn edited() -> Edited {
    let env = TestEnv::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let base = now - now % 60;
    let pass = env.passphrase_file();
    at_time(&env, base - 150 * HOUR, &["init", "--device", DEVICE, "--passphrase-file", pass.to_str().unwrap()]);
    let mut commits = Vec::new();
    let mut times = Vec::new();
    for (i, (zshrc, zmode)) in ZSHRC.iter().enumerate() {
        let t = base - AGO[i] * HOUR;
        env.write(".zshrc", zshrc, *zmode);
        env.write(".netrc", NETRC[i], 0o600);
        match CONF.get(i) {
            Some(conf) => drop(env.write(".config/app/conf", conf, 0o644)),
            None if i == CONF.len() => fs::remove_file(env.home.join(".config/app/conf")).unwrap(),
            None => {}
        }
        if i == 0 {
            env.ok(&["add", ".zshrc", ".netrc", ".config/app/conf"]);
        }
        at_time(&env, t, &["commit"]);
        commits.push(head(&env));
        times.push(t);
    }
    assert!(env.store().join("encrypted_private_dot_netrc.age").is_file(), "~/.netrc is kept encrypted");
    assert!(!env.store().join("dot_config/app/conf").exists(), "the fourth commit deleted it");
    Edited { env, commits, times }
}

impl Edited {
    /// Restores `path` at WHEN and checks its content and mode.
    fn restores(&self, path: &str, when: &str, want: (&str, u32)) {
        let out = self.env.ok(&["restore", path, "--at", when]);
        assert_eq!(self.env.read(path), want.0, "{path} at {when}: {}", show(&out));
        assert_eq!(mode(&self.env, path), want.1, "{path} at {when}");
    }
}

#[test]
fn restore_at_a_commit_a_date_or_a_relative_time_gives_each_version_back() {
    let e = edited();
    let env = &e.env;
    let zshrc = |i: usize| ZSHRC[i];
    let netrc = |i: usize| (NETRC[i], 0o600);

    // By commit, full and abbreviated.
    for i in 0..5 {
        let id = if i % 2 == 0 { e.commits[i].clone() } else { e.commits[i][..7].to_string() };
        e.restores(".zshrc", &id, zshrc(i));
        e.restores(".netrc", &id, netrc(i));
    }
    let mut saved = backed_up(env, ".zshrc");
    saved.sort();
    let mut replaced: Vec<String> = ZSHRC.iter().map(|(text, _)| text.to_string()).collect();
    replaced.sort();
    assert_eq!(saved, replaced, "every live version was saved before it was replaced");
    assert!(backed_up(env, ".netrc").contains(&NETRC[4].to_string()));
    let all_backups = all_text(&env.state_home.join("dotback/backups"));
    assert!(!all_backups.contains("-----BEGIN AGE"), "the backups hold plaintext of live files, not the store's");

    // By date: each commit's own time, as a local date and time (the tests' zone is UTC), as
    // RFC 3339, and as its day (the end of it).
    let minute = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let rfc3339 = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let day = time::macros::format_description!("[year]-[month]-[day]");
    for i in (0..5).rev() {
        let t = e.times[i];
        e.restores(".zshrc", &utc(t, minute), zshrc(i));
        e.restores(".zshrc", &utc(t + 59, rfc3339), zshrc(i));
        e.restores(".netrc", &utc(t, day), netrc(i));
    }
    // A second before a commit is the one before it.
    e.restores(".zshrc", &utc(e.times[3] - 1, rfc3339), zshrc(2));

    // Relative to now.
    e.restores(".zshrc", "4 days ago", zshrc(0));
    e.restores(".zshrc", "3 days ago", zshrc(1));
    e.restores(".netrc", "2 days ago", netrc(2));
    e.restores(".zshrc", "yesterday", zshrc(3));
    e.restores(".zshrc", "yesterday 18:00", zshrc(3));
    e.restores(".zshrc", "3 hours ago", zshrc(3));
    e.restores(".netrc", "30 minutes ago", netrc(4));

    // Restoring what is live already writes nothing and backs nothing up.
    let backups = backed_up(env, ".netrc").len();
    let out = env.ok(&["restore", ".netrc", "--at", &e.commits[4]]);
    assert!(stderr(&out).contains("already as it was"), "{}", show(&out));
    assert_eq!(backed_up(env, ".netrc").len(), backups);

    // A restored file is an edit in HOME, which the next commit records.
    e.restores(".zshrc", &e.commits[1], zshrc(1));
    env.ok(&["commit"]);
    assert_eq!(fs::read_to_string(env.store().join("executable_dot_zshrc")).unwrap(), "v2 runs\n");
}

#[test]
fn a_deleted_file_comes_back_and_what_never_was_is_a_clear_error() {
    let e = edited();
    let env = &e.env;
    assert!(!env.home.join(".config/app/conf").exists());

    // At the commit that deleted it, and after: it was not there.
    let (code, err) = env.fails(&["restore", ".config/app/conf", "--at", &e.commits[3]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("~/.config/app/conf is not in the store at commit"), "{err}");
    assert!(!env.home.join(".config/app/conf").exists(), "nothing was written");

    // Before the deletion: each of its versions, and the hint that the store no longer has it.
    for (i, conf) in CONF.iter().enumerate().rev() {
        let out = env.ok(&["restore", ".config/app/conf", "--at", &e.commits[i]]);
        assert_eq!(env.read(".config/app/conf"), *conf);
        assert_eq!(mode(env, ".config/app/conf"), 0o644);
        assert!(stderr(&out).contains("not in the store now; `dotback add` keeps it"), "{}", show(&out));
    }
    // A whole directory, as it was.
    fs::remove_dir_all(env.home.join(".config/app")).unwrap();
    env.ok(&["restore", ".config", "--at", &e.commits[1]]);
    assert_eq!(env.read(".config/app/conf"), CONF[1]);

    // Before the first commit, and times or commits that are none.
    let (code, err) = env.fails(&["restore", ".zshrc", "--at", "2001-01-01"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the store has no commit from 2001-01-01 23:59:59 UTC or before: its first is from"), "{err}");
    let (code, err) = env.fails(&["restore", ".zshrc", "--at", "deadbeef"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no commit in the store starts with `deadbeef`"), "{err}");
    let (code, err) = env.fails(&["restore", ".zshrc", "--at", "last tuesday"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`last tuesday` is no commit or time dotback understands"), "{err}");
    let (code, err) = env.fails(&["restore", ".never", "--at", &e.commits[4]]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("~/.never is not in the store at commit"), "{err}");
    assert_eq!(env.read(".zshrc"), ZSHRC[4].0, "no failed restore touched HOME");
}

#[test]
fn restore_to_a_directory_leaves_home_alone_and_is_audited() {
    let e = edited();
    let env = &e.env;
    let home_before = snapshot(&env.home);
    let out_dir = env.root.join("restored");
    let out = env.ok(&["restore", ".zshrc", "--at", &e.commits[1], "--to", out_dir.to_str().unwrap(), "--json"]);
    let report = json(&out);
    assert_eq!(report["commit"], e.commits[1].as_str());
    assert_eq!(report["written"], serde_json::json!([".zshrc"]));
    assert_eq!(report["backup_dir"], serde_json::Value::Null);
    assert_eq!(report["delegated"], serde_json::json!([]), "arrays are never null");
    let restored = out_dir.join(".zshrc");
    assert_eq!(fs::read_to_string(&restored).unwrap(), ZSHRC[1].0);
    assert_eq!(fs::metadata(&restored).unwrap().permissions().mode() & 0o777, 0o755);

    // An encrypted file, decrypted, below a directory made with its mode; and a deleted one.
    env.ok(&["restore", ".netrc", "--at", &e.commits[0], "--to", out_dir.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(out_dir.join(".netrc")).unwrap(), NETRC[0]);
    assert_eq!(fs::metadata(out_dir.join(".netrc")).unwrap().permissions().mode() & 0o777, 0o600);
    env.ok(&["restore", ".config/app/conf", "--at", &e.commits[2], "--to", out_dir.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(out_dir.join(".config/app/conf")).unwrap(), CONF[2]);
    assert_eq!(snapshot(&env.home), home_before, "HOME is left alone");
    assert!(backed_up(env, ".zshrc").is_empty(), "nothing in HOME was replaced, so nothing backed up");

    // Into the store: refused.
    let (code, err) = env.fails(&["restore", ".zshrc", "--at", &e.commits[0], "--to", env.store().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is dotback's store"), "{err}");

    // Each restore left one record, with counts and no path or secret.
    let log = json(&env.ok(&["log", "--json"]));
    let restores: Vec<&serde_json::Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "audit" && e["record"]["command"] == "restore")
        .collect();
    assert_eq!(restores.len(), 4, "{log:#}");
    let outcomes: Vec<&str> = restores.iter().map(|r| r["record"]["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["error", "ok", "ok", "ok"], "newest first");
    assert_eq!(restores[3]["record"]["applied"], 1);
    let trail = all_text(&env.store().join(".dotback/audit"));
    for never in [".zshrc", ".netrc", "password", "restored"] {
        assert!(!trail.contains(never), "the audit trail holds no {never:?}:\n{trail}");
    }
}

#[test]
fn a_paths_log_follows_its_source_names_and_lists_exactly_its_commits() {
    let e = edited();
    let env = &e.env;
    let log = json(&env.ok(&["log", ".zshrc", "--json"]));
    let entries = log["entries"].as_array().unwrap();
    let ids: Vec<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let want: Vec<&str> = e.commits.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, want, "every commit of ~/.zshrc, newest first, and nothing else");
    assert!(entries.iter().all(|e| e["kind"] == "commit" && e["device"] == DEVICE), "{log:#}");
    let times: Vec<i64> = entries.iter().map(|e| e["time"].as_i64().unwrap()).collect();
    assert_eq!(times, e.times.iter().rev().copied().collect::<Vec<_>>());
    let sources = |i: usize| entries[4 - i]["sources"].clone();
    assert_eq!(sources(0), serde_json::json!(["dot_zshrc"]));
    assert_eq!(sources(1), serde_json::json!(["dot_zshrc", "executable_dot_zshrc"]), "a change of attributes");
    assert_eq!(sources(2), serde_json::json!(["executable_dot_zshrc", "private_dot_zshrc"]));
    assert_eq!(sources(3), serde_json::json!(["private_dot_zshrc"]));

    // The encrypted file did not change in the fourth commit; the deleted one ends with it.
    let ids_of = |path: &str| -> Vec<String> {
        let log = json(&env.ok(&["log", path, "--json"]));
        log["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
    };
    let c = &e.commits;
    assert_eq!(ids_of(".netrc"), [&*c[4], &c[2], &c[1], &c[0]]);
    assert_eq!(ids_of(".config/app/conf"), [&*c[3], &c[2], &c[1], &c[0]]);
    assert_eq!(ids_of(".config"), [&*c[3], &c[2], &c[1], &c[0]], "a directory's log covers what is below it");
    let text = stdout(&env.ok(&["log", ".zshrc", "-n", "2"]));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().next().unwrap().contains(&c[4][..8]), "{text}");
    let text = stdout(&env.ok(&["log", ".zshrc"]));
    let third = text.lines().find(|l| l.contains(&c[2][..8])).unwrap_or_else(|| panic!("{text}"));
    assert!(third.ends_with("(executable_dot_zshrc -> private_dot_zshrc)"), "{text}");
    let empty = json(&env.ok(&["log", ".never", "--json"]));
    assert_eq!(empty["entries"], serde_json::json!([]));
}

#[test]
fn log_names_each_commits_device_and_audit_shows_other_devices_syncs() {
    let (a, remote) = synced_with_zshrc("one\n");
    let b = device_from(&remote, "b");
    b.ok(&["apply"]);
    b.write(".zshrc", "two\n", 0o644);
    b.ok(&["sync"]);
    // b's sync record travels with its next commit.
    b.write(".bashrc", "b\n", 0o644);
    b.ok(&["add", ".bashrc"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.read(".zshrc"), "two\n");
    // A commit made by hand names no device: its author stands in.
    fs::write(a.store().join("dot_zshrc"), "three\n").unwrap();
    git_by_hand(&a, &["commit", "-q", "-am", "by hand"]);

    let log = json(&a.ok(&["log", ".zshrc", "--json"]));
    let devices: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["device"].as_str().unwrap()).collect();
    assert_eq!(devices, ["Someone", "b", DEVICE], "{log:#}");
    let git_ids = stdout(&a.git(&["log", "--format=%H", "--", "dot_zshrc"]));
    let ids: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, git_ids.lines().collect::<Vec<_>>(), "the same commits git lists for the file");

    let audit_of = |args: &[&str]| -> Vec<(String, String)> {
        let log = json(&a.ok(args));
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "audit")
            .map(|e| (e["device"].as_str().unwrap().to_string(), e["record"]["command"].as_str().unwrap().to_string()))
            .collect()
    };
    let mine = audit_of(&["log", "--json"]);
    assert!(!mine.is_empty() && mine.iter().all(|(d, _)| d == DEVICE), "{mine:?}");
    let all = audit_of(&["log", "--audit", "--json"]);
    assert!(all.contains(&("b".to_string(), "sync".to_string())), "b's sync is in a's log --audit: {all:?}");
    assert!(all.contains(&(DEVICE.to_string(), "sync".to_string())), "{all:?}");
    assert!(audit_of(&["log", ".zshrc", "--json"]).is_empty(), "a path's log has no records (they name no paths)");

    let text = stdout(&a.ok(&["log", "--audit"]));
    assert!(text.lines().any(|l| l.contains(" b ") && l.contains("audit") && l.contains("sync ok")), "{text}");
    assert!(text.lines().any(|l| l.contains("Someone") && l.contains("by hand")), "{text}");
}

#[test]
fn a_link_comes_back_as_a_link_and_a_template_is_left_to_chezmoi() {
    let env = TestEnv::new();
    env.init();
    std::os::unix::fs::symlink(".config/vim/one", env.home.join(".vimrc")).unwrap();
    env.ok(&["add", ".vimrc"]);
    env.ok(&["commit"]);
    let first = head(&env);
    fs::remove_file(env.home.join(".vimrc")).unwrap();
    std::os::unix::fs::symlink(".config/vim/two", env.home.join(".vimrc")).unwrap();
    env.ok(&["commit"]);
    env.ok(&["restore", ".vimrc", "--at", &first]);
    assert_eq!(fs::read_link(env.home.join(".vimrc")).unwrap(), std::path::Path::new(".config/vim/one"));
    let saved = env.state_home.join("dotback/backups");
    let saved_link = fs::read_dir(&saved).unwrap().flatten().map(|d| d.path().join(".vimrc")).next().unwrap();
    assert_eq!(
        fs::read_link(saved_link).unwrap(),
        std::path::Path::new(".config/vim/two"),
        "the live link saved first"
    );

    fs::write(env.store().join("dot_gitconfig.tmpl"), "[user]\n  name = {{ .name }}\n").unwrap();
    git_by_hand(&env, &["add", "dot_gitconfig.tmpl"]);
    git_by_hand(&env, &["commit", "-q", "-m", "a template"]);
    let (code, err) = env.fails(&["restore", ".gitconfig", "--at", &head(&env)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("~/.gitconfig is a template at commit"), "{err}");
    assert!(err.contains("chezmoi renders it, so dotback does not restore it"), "{err}");
    assert!(!env.home.join(".gitconfig").exists());
    // Below a directory restored whole, a template is named and passed over.
    let all = env.root.join("all");
    let out = env.ok(&["restore", env.home.to_str().unwrap(), "--at", &head(&env), "--to", all.to_str().unwrap()]);
    assert!(stderr(&out).contains("~/.gitconfig is a template (chezmoi renders it): not restored"), "{}", show(&out));
    assert_eq!(fs::read_link(env.root.join("all/.vimrc")).unwrap(), std::path::Path::new(".config/vim/two"));
}
