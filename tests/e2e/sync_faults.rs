//! `dotback sync` killed with SIGKILL at random points: after each kill the store and the remote
//! pass `git fsck`, no live file is partial, and the next sync completes with nothing lost.
//!
//! The sequence is seeded and the seed is in every failure message: replay one with
//! `DOTBACK_FAULT_SEED=<seed>`. 100 rounds by default; more with `DOTBACK_FAULT_ROUNDS=<n>`, e.g.
//! `DOTBACK_FAULT_ROUNDS=2000 cargo test --release --test e2e killed_syncs`.
//!
//! Every file the test writes is a list of self-checking lines (`words #checksum`) closed by an
//! `end <count>` line, so a file cut short anywhere (mid-line or at a line boundary) is caught,
//! while any whole version, including a line-wise merge of two whole versions, passes.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// FNV-1a, enough to tell a cut line from a whole one.
fn checksum(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn render(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines.iter().cloned().chain([format!("end {}", lines.len())]) {
        out.push_str(&format!("{l} #{:016x}\n", checksum(&l)));
    }
    out
}

/// The lines of a whole file, or what is wrong with it.
fn parse(text: &str) -> Result<Vec<String>, String> {
    let Some(body) = text.strip_suffix('\n') else { return Err("does not end with a newline".into()) };
    let mut lines = Vec::new();
    for (i, raw) in body.split('\n').enumerate() {
        let (words, sum) = raw.rsplit_once(" #").ok_or(format!("line {} has no checksum: {raw:?}", i + 1))?;
        if format!("{:016x}", checksum(words)) != sum {
            return Err(format!("line {} is cut or damaged: {raw:?}", i + 1));
        }
        lines.push(words.to_string());
    }
    let end = lines.pop().unwrap_or_default();
    if end != format!("end {}", lines.len()) {
        return Err(format!("ends with {end:?} after {} lines: the file was cut short", lines.len()));
    }
    Ok(lines)
}

/// Every regular file in `home` (dotback temp files aside, which the caller checks) is whole.
fn assert_whole(home: &Path, what: &str) {
    for e in walkdir::WalkDir::new(home).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        if e.file_name().to_string_lossy().contains(".dotback-tmp-") {
            continue;
        }
        let text = fs::read_to_string(e.path()).unwrap();
        if let Err(why) = parse(&text) {
            panic!("{what}: {} is partial: {why}", e.path().display());
        }
    }
}

/// Files dotback writes while it works and must not leave behind.
fn litter(root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".dotback-tmp-"))
        .map(|e| e.path().display().to_string())
        .collect()
}

/// `git fsck --full --strict` in `git_dir` exits 0.
fn fsck(git_dir: &Path, what: &str) {
    let out = git_cleared()
        .arg("--git-dir")
        .arg(git_dir)
        .args(["fsck", "--full", "--strict", "--no-progress"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{what}: git fsck of {} failed:\n{}", git_dir.display(), show(&out));
}

/// Rewrites `rel` in `d`'s HOME from `lines`, keeping its mode.
fn put(d: &TestEnv, rel: &str, lines: &[String], mode: u32) {
    d.write(rel, &render(lines), mode);
}

fn lines_of(d: &TestEnv, rel: &str) -> Vec<String> {
    parse(&d.read(rel)).unwrap_or_else(|why| panic!("~/{rel} before an edit: {why}"))
}

const NETRC: &str = ".netrc";
const BIG: &str = ".config/fault/big";

/// One device's files the test may edit (tracked, whole, and not conflict copies).
fn editable(d: &TestEnv, created: &[String]) -> Vec<String> {
    [".zshrc", NETRC, BIG]
        .into_iter()
        .map(String::from)
        .chain(created.iter().cloned())
        .filter(|f| d.home.join(f).is_file())
        .collect()
}

/// An edit the test made: its token, where it went, and whether that file is encrypted (its
/// history is ciphertext, so the token must stay live).
struct Edit {
    token: String,
    place: String,
    encrypted: bool,
}

/// Makes one random edit on `d`; returns what it wrote, if anything.
fn edit(d: &TestEnv, name: &str, rng: &mut Rng, created: &mut Vec<String>, token: String) -> Option<Edit> {
    let files = editable(d, created);
    match rng.below(10) {
        // Add a word to a line (the line's older tokens stay on it).
        0..=4 => {
            let f = &files[rng.below(files.len() as u64) as usize];
            let mut lines = lines_of(d, f);
            let i = rng.below(lines.len() as u64) as usize;
            lines[i] = format!("{} {token}", lines[i]);
            put(d, f, &lines, if f == NETRC { 0o600 } else { 0o644 });
            Some(Edit { place: format!("{name}:~/{f}"), encrypted: f == NETRC, token })
        }
        // Append a line.
        5..=6 => {
            let f = &files[rng.below(files.len() as u64) as usize];
            let mut lines = lines_of(d, f);
            lines.push(format!("appended {token}"));
            put(d, f, &lines, if f == NETRC { 0o600 } else { 0o644 });
            Some(Edit { place: format!("{name}:~/{f}"), encrypted: f == NETRC, token })
        }
        // A new tracked file.
        7..=8 => {
            let f = format!(".config/fault/new-{name}-{}", created.len());
            put(d, &f, &[format!("created {token}"), "second line".into()], 0o644);
            d.ok(&["add", &f]);
            created.push(f.clone());
            Some(Edit { place: format!("{name}:~/{f} (new)"), encrypted: false, token })
        }
        // Stop tracking a created file and delete it; committed first, so its content stays in
        // history.
        _ => {
            let f = created.iter().find(|f| d.home.join(f).is_file())?.clone();
            d.ok(&["commit"]);
            d.ok(&["forget", &f]);
            fs::remove_file(d.home.join(&f)).unwrap();
            None
        }
    }
}

#[test]
fn killed_syncs_leave_nothing_broken_and_lose_nothing() {
    if !require("git") {
        return;
    }
    let rounds: u64 = std::env::var("DOTBACK_FAULT_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(100);
    let seed: u64 = std::env::var("DOTBACK_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0xdead_5eed_f417);
    let mut rng = Rng(seed | 1);

    // Device a with a bare remote, device b cloned from it, both recipients of the secret.
    let a = TestEnv::new();
    a.init();
    let remote = bare(&a, "remote.git");
    put(&a, ".zshrc", &(1..=8).map(|i| format!("zsh line {i}")).collect::<Vec<_>>(), 0o644);
    put(&a, NETRC, &(1..=4).map(|i| format!("machine m{i} password p{i}")).collect::<Vec<_>>(), 0o600);
    // A few hundred KB, so writing it (store, HOME, remote) takes a while.
    let filler = "x".repeat(90);
    put(&a, BIG, &(1..=3000).map(|i| format!("big {i:05} {filler}")).collect::<Vec<_>>(), 0o644);
    a.ok(&["add", ".zshrc", NETRC, BIG]);
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.ok(&["sync"]);
    let b = device_from(&remote, "b");
    a.admit(&b, "b");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.read(NETRC), a.read(NETRC));
    let devices = [(&a, "a"), (&b, "b")];
    let mut created: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut tokens: Vec<Edit> = Vec::new();
    let mut n = 0;
    let mut token = || {
        n += 1;
        format!("tok-{seed:x}-{n}.")
    };

    // How long a sync takes here, from the latest few: the calibration syncs below (edits both
    // ways), then the sync after each round's kill. Kills are spread over their median, so
    // most land mid-sync however loaded the machine is, and some after a quicker sync finished.
    let mut took = Vec::new();
    for _ in 0..3 {
        for (i, (d, name)) in devices.iter().enumerate() {
            tokens.extend(edit(d, name, &mut rng, &mut created[i], token()));
            let t = Instant::now();
            d.synced();
            took.push(t.elapsed());
        }
    }
    let median = |took: &[Duration]| {
        let mut recent = took[took.len().saturating_sub(7)..].to_vec();
        recent.sort();
        recent[recent.len() / 2]
    };

    let mut killed = 0;
    for round in 0..rounds {
        let ctx = format!("round {round} (DOTBACK_FAULT_SEED={seed})");
        for (i, (d, name)) in devices.iter().enumerate() {
            for _ in 0..rng.below(3) {
                tokens.extend(edit(d, name, &mut rng, &mut created[i], token()));
            }
        }
        let (d, _) = devices[rng.below(2) as usize];
        let delay = Duration::from_micros(rng.below((median(&took).as_micros() as u64).max(1)));
        let log = d.root.join("killed-sync.log");
        let mut child = d.cmd(&["sync"]).stdout(Stdio::null()).stderr(fs::File::create(&log).unwrap()).spawn().unwrap();
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            let err = fs::read_to_string(&log).unwrap();
            assert!(matches!(status.code(), Some(0 | CONFLICTS)), "{ctx}: a sync that was not killed failed:\n{err}");
        } else {
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            killed += u32::from(!status.success());
        }

        // Right after the kill: both repositories are sound and no live file is partial.
        fsck(&store_of(d).join(".git"), &ctx);
        fsck(&remote, &ctx);
        assert_whole(&d.home, &format!("{ctx}, after the kill"));

        // The next sync finishes the job.
        let t = Instant::now();
        let out = d.cmd(&["sync"]).output().unwrap();
        took.push(t.elapsed());
        assert!(
            matches!(out.status.code(), Some(0 | CONFLICTS)),
            "{ctx}: the sync after the kill failed:\n{}",
            show(&out)
        );
        assert_whole(&d.home, &format!("{ctx}, after the next sync"));
        let left: Vec<String> = litter(&d.home).into_iter().chain(litter(&store_of(d))).collect();
        assert!(left.is_empty(), "{ctx}: temporary files left behind: {left:?}");
        let v: serde_json::Value = serde_json::from_slice(&d.ok(&["status", "--json"]).stdout).unwrap();
        assert_eq!(v["targets"].as_array().unwrap().len(), 0, "{ctx}: HOME matches the store after a sync: {v}");
        let dirty = store_changes(d);
        assert!(dirty.is_empty(), "{ctx}: the store has uncommitted changes after a sync:\n{dirty}");
    }
    let typical = median(&took);
    eprintln!("{killed} of {rounds} syncs were killed before they finished (a sync took about {typical:?})");
    if rounds >= 20 {
        assert!(
            u64::from(killed) * 2 > rounds,
            "only {killed} of {rounds} syncs were killed before they finished (seed {seed}): the kills \
             must land mid-sync (a sync took about {typical:?})"
        );
    }

    // Settle both devices, then every edit is somewhere: live, in a conflict copy, or in history.
    for (d, _) in devices.iter().chain(devices.iter()) {
        d.synced();
    }
    let tree = |d: &TestEnv| stdout(&d.git_in(&store_of(d), &["rev-parse", "HEAD^{tree}"]));
    assert_eq!(tree(&a), tree(&b), "both stores hold the same tree (seed {seed})");
    for (d, _) in devices {
        assert_whole(&d.home, &format!("settled (seed {seed})"));
        fsck(&store_of(d).join(".git"), &format!("settled (seed {seed})"));
    }
    let live = format!("{}{}", all_text(&a.home), all_text(&b.home));
    let history = history_text(&store_of(&a));
    for Edit { token, place, encrypted } in &tokens {
        let found = live.contains(token.as_str()) || (!encrypted && history.contains(token.as_str()));
        assert!(
            found,
            "edit {token} to {place} was lost (seed {seed}): not in a live file, a conflict copy or history"
        );
    }
    assert!(tokens.len() as u64 > rounds / 2, "the sequence made enough edits ({})", tokens.len());
}

#[test]
fn a_git_lock_file_dotback_did_not_leave_is_named_and_kept() {
    let env = TestEnv::new();
    env.init();
    env.write(".zshrc", "z\n", 0o644);
    env.ok(&["add", ".zshrc"]);
    // A git the user runs in the store (or one that was stopped): not dotback's to remove.
    let lock = env.store().join(".git/index.lock");
    fs::write(&lock, "").unwrap();
    let (code, err) = env.fails(&["commit"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&lock.display().to_string()) && err.contains("if none is, remove"), "{err}");
    assert!(lock.exists(), "left in place");
    fs::remove_file(&lock).unwrap();
    env.ok(&["commit"]);
    assert!(stdout(&env.git(&["log", "-1", "--format=%s"])).contains("~/.zshrc"));
}
