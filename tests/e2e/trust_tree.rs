//! Commits a push alone can bring (issue 8, findings 3, 5, 6 and the size cap), written as the
//! attack: an attacker with push access to a real bare remote, and no key of the store, pushes
//! trees no dotback device makes; the victim runs `dotback sync`. A bad commit is refused for
//! that remote alone (exit 6, naming the commit), nothing moves, nothing lands outside HOME or
//! the store, and the victim's own edits still commit and reach its other remote.
//!
//! Trees are written raw into the object database (as `git hash-object --literally` would),
//! because no git command makes most of them. The randomized test takes
//! `DOTBACK_TREE_FUZZ_SEED` and `DOTBACK_TREE_FUZZ_ROUNDS` (default 1000).

use crate::common::*;
use git2::{Oid, Repository};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the tests' trees are made of: an entry as written.
#[derive(Clone)]
struct Raw {
    mode: String,
    name: Vec<u8>,
    id: Oid,
}

impl Raw {
    fn new(mode: &str, name: impl Into<Vec<u8>>, id: Oid) -> Raw {
        Raw { mode: mode.into(), name: name.into(), id }
    }
    fn is_dir(&self) -> bool {
        self.mode.trim_start_matches('0') == "40000"
    }
}

fn read_tree(repo: &Repository, id: Oid) -> Vec<Raw> {
    let odb = repo.odb().unwrap();
    let obj = odb.read(id).unwrap();
    let mut data = obj.data();
    let mut out = Vec::new();
    while !data.is_empty() {
        let sp = data.iter().position(|&b| b == b' ').unwrap();
        let nul = data.iter().position(|&b| b == 0).unwrap();
        let mode = String::from_utf8(data[..sp].to_vec()).unwrap();
        out.push(Raw {
            mode,
            name: data[sp + 1..nul].to_vec(),
            id: Oid::from_bytes(&data[nul + 1..nul + 21]).unwrap(),
        });
        data = &data[nul + 21..];
    }
    out
}

/// Writes a tree in git's order (a directory sorts as if its name ended in `/`).
fn write_tree(repo: &Repository, mut entries: Vec<Raw>) -> Oid {
    let key = |e: &Raw| {
        let mut k = e.name.clone();
        if e.is_dir() {
            k.push(b'/');
        }
        k
    };
    entries.sort_by_key(key);
    let mut data = Vec::new();
    for e in entries {
        data.extend_from_slice(e.mode.as_bytes());
        data.push(b' ');
        data.extend_from_slice(&e.name);
        data.push(0);
        data.extend_from_slice(e.id.as_bytes());
    }
    repo.odb().unwrap().write(git2::ObjectType::Tree, &data).unwrap()
}

/// `tree` with `leaf` put at `dirs` (directories made or entered on the way, an entry of the
/// same name replaced).
fn insert(repo: &Repository, tree: Option<Oid>, dirs: &[Vec<u8>], leaf: Raw) -> Oid {
    let mut entries = tree.map(|t| read_tree(repo, t)).unwrap_or_default();
    let name = dirs.first().unwrap_or(&leaf.name).clone();
    let existing = entries.iter().find(|e| e.name == name && e.is_dir()).map(|e| e.id);
    entries.retain(|e| e.name != name);
    entries.push(match dirs {
        [] => leaf,
        [_, rest @ ..] => Raw::new("40000", name, insert(repo, existing, rest, leaf)),
    });
    write_tree(repo, entries)
}

/// A commit of `tree` on `parent`, made in `repo` (the attacker's), written raw: libgit2 would
/// parse the tree first, and some of the trees here it cannot parse.
fn commit(repo: &Repository, tree: Oid, parent: Oid, message: &str) -> Oid {
    let who = "Mallory <mallory@example.org> 1700000000 +0000";
    let data = format!("tree {tree}\nparent {parent}\nauthor {who}\ncommitter {who}\n\n{message}");
    repo.odb().unwrap().write(git2::ObjectType::Commit, data.as_bytes()).unwrap()
}

fn blob(repo: &Repository, data: &[u8]) -> Oid {
    repo.blob(data).unwrap()
}

fn path(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// `git fsck --full` in a store exits 0. Not `--strict`: a refused commit's objects stay in the
/// store (fetched, never checked out), and strict mode turns git's warnings about them (a
/// `..` or a `.git` in a tree) into errors.
fn fsck(store: &Path, what: &str) {
    let out = Command::new("git").args(["fsck", "--full", "--no-progress"]).current_dir(store).output().unwrap();
    assert!(out.status.success(), "{what}: git fsck failed:\n{}", show(&out));
}

fn head(env: &TestEnv) -> String {
    stdout(&env.git(&["rev-parse", "HEAD"])).trim().to_string()
}

fn contains(env: &TestEnv, commit: &str) -> bool {
    Command::new("git")
        .args(["merge-base", "--is-ancestor", commit, "HEAD"])
        .current_dir(store_of(env))
        .status()
        .unwrap()
        .success()
}

/// Every path below `dir` (and the entries of every directory above it) whose name holds
/// `mark`, except in the places dotback may write to: HOME and the store.
fn escaped(env: &TestEnv, mark: &str, skip: &[PathBuf]) -> Vec<String> {
    let allowed = [env.home.clone(), store_of(env)];
    let mut found: Vec<String> = walkdir::WalkDir::new(&env.root)
        .into_iter()
        .filter_entry(|e| !allowed.iter().chain(skip).any(|a| e.path() == a))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(mark))
        .map(|e| e.path().display().to_string())
        .collect();
    for dir in env.root.ancestors().skip(1) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().contains(mark) {
                found.push(e.path().display().to_string());
            }
        }
    }
    found
}

/// The victim: `.zshrc` synced through `origin`, and a second remote `usb`; files over 64 KiB
/// are refused.
fn victim() -> (TestEnv, PathBuf, PathBuf) {
    let a = TestEnv::new();
    a.init();
    let config = a.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{text}max_file_size = \"64K\"\n")).unwrap();
    let origin = bare(&a, "origin.git");
    let usb = bare(&a, "usb.git");
    a.write(".zshrc", "one\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", origin.to_str().unwrap()]);
    a.ok(&["remote", "add", "usb", usb.to_str().unwrap()]);
    a.ok(&["sync"]);
    (a, origin, usb)
}

/// One hostile entry: where it goes, what it is, and a piece of the reason dotback gives.
struct Attack {
    what: &'static str,
    dirs: Vec<Vec<u8>>,
    leaf: Raw,
    reason: &'static str,
}

#[test]
fn a_pushed_commit_that_could_not_be_checked_out_safely_is_refused_and_the_rest_syncs() {
    if !require("git") {
        return;
    }
    let (a, origin, usb) = victim();
    let clone = a.root.join("attacker");
    let out = Command::new("git").arg("clone").arg("-q").arg(&origin).arg(&clone).envs(a.envs()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let repo = Repository::open(&clone).unwrap();
    let hook = blob(&repo, b"#!/bin/sh\ntouch /tmp/pwned-by-hook\n");
    let note = blob(&repo, b"pwned\n");
    let link = blob(&repo, b"../../../../pwned-target");
    let dir_with_note = write_tree(&repo, vec![Raw::new("100644", "pwned-note", note)]);
    let big = blob(&repo, &vec![b'x'; 100 * 1024]);
    let attacks = vec![
        Attack {
            what: "a name over 255 bytes",
            dirs: vec![],
            leaf: Raw::new("100644", format!("dot_pwned{}", "n".repeat(291)), note),
            reason: "300 bytes long",
        },
        Attack { what: "`..`", dirs: vec![], leaf: Raw::new("40000", "..", dir_with_note), reason: "`.` or `..`" },
        Attack {
            what: "`..` deeper down",
            dirs: path(&["dot_config", ".."]),
            leaf: Raw::new("100644", "pwned", note),
            reason: "`.` or `..`",
        },
        Attack {
            what: "a `.git` directory",
            dirs: path(&[".git", "hooks"]),
            leaf: Raw::new("100755", "post-commit-pwned", hook),
            reason: "`.git`",
        },
        Attack {
            what: "`.GIT` in a subdirectory",
            dirs: path(&["dot_config", ".GIT"]),
            leaf: Raw::new("100644", "pwned", note),
            reason: "`.git`",
        },
        Attack {
            what: "`dot_git` (a target named .git)",
            dirs: path(&["dot_local", "share", "chezmoi", "dot_git", "hooks"]),
            leaf: Raw::new("100755", "executable_post-commit-pwned", hook),
            reason: "target would be named `.git`",
        },
        Attack {
            what: "a symlink",
            dirs: vec![],
            leaf: Raw::new("120000", "dot_pwned-link", link),
            reason: "symbolic link",
        },
        Attack {
            what: "a symlink among dotback's own files",
            dirs: path(&[".dotback", "audit"]),
            leaf: Raw::new("120000", "pwned.jsonl", link),
            reason: "symbolic link",
        },
        Attack {
            what: "a gitlink",
            dirs: vec![],
            leaf: Raw::new("160000", "dot_pwned-sub", Oid::from_bytes(&[7; 20]).unwrap()),
            reason: "submodule",
        },
        Attack {
            what: "a backslash",
            dirs: vec![],
            leaf: Raw::new("100644", "dot_pwned\\..\\..\\x", note),
            reason: "`\\`",
        },
        Attack {
            what: "an oversized blob",
            dirs: vec![],
            leaf: Raw::new("100644", "dot_pwned-big", big),
            reason: "max_file_size",
        },
        Attack {
            what: "two entries for one target",
            dirs: vec![],
            leaf: Raw::new("100644", "remove_dot_zshrc", note),
            reason: "both describe the target `.zshrc`",
        },
    ];
    let seen = |env: &TestEnv| stdout(&env.git(&["rev-parse", "refs/dotback/seen/origin"])).trim().to_string();
    let good = remote_head(&origin).unwrap();
    let before_seen = seen(&a);
    for (i, attack) in attacks.into_iter().enumerate() {
        let what = attack.what;
        let tip = repo.find_commit(Oid::from_str(&good).unwrap()).unwrap();
        let tree = insert(&repo, Some(tip.tree_id()), &attack.dirs, attack.leaf);
        let bad = commit(&repo, tree, tip.id(), "nothing to see\n\nDevice: laptop\n").to_string();
        let push = Command::new("git")
            .args(["push", "-q", "--force", "origin", &format!("{bad}:refs/heads/main")])
            .current_dir(&clone)
            .envs(a.envs())
            .output()
            .unwrap();
        assert!(push.status.success(), "{what}: {}", show(&push));

        let token = format!("local edit {i}");
        a.write(".zshrc", &format!("one\n{token}\n"), 0o644);
        let home_before = snapshot(&a.home);
        let (code, err) = a.fails(&["sync"]);
        assert_eq!(code, 6, "{what}: {err}");
        assert!(err.contains(&bad) && err.contains("`origin`"), "{what}: the message names the commit: {err}");
        assert!(err.contains(attack.reason), "{what}: the message says why: {err}");
        assert!(err.contains("must leave the branch") || err.contains("raise `max_file_size`"), "{what}: {err}");
        assert!(!contains(&a, &bad), "{what}: nothing was merged");
        assert_eq!(seen(&a), before_seen, "{what}: the refused commit is not recorded as seen");
        assert_eq!(snapshot(&a.home), home_before, "{what}: HOME did not move");
        let committed = stdout(&a.git(&["show", "HEAD:dot_zshrc"]));
        assert!(committed.contains(&token), "{what}: the local edit was committed");
        assert_eq!(remote_head(&usb).as_deref(), Some(head(&a).as_str()), "{what}: and reached the other remote");
        fsck(&store_of(&a), what);
        assert!(store_changes(&a).is_empty(), "{what}: {}", store_changes(&a));
        let out = escaped(&a, "pwned", &[clone.clone(), origin.clone()]);
        assert!(out.is_empty(), "{what}: written outside HOME and the store: {out:?}");
        let in_home: Vec<_> = walkdir::WalkDir::new(&a.home)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("pwned"))
            .map(|e| e.path().display().to_string())
            .collect();
        assert!(in_home.is_empty(), "{what}: nothing of it reached HOME: {in_home:?}");
    }

    // The dry run refuses the same way, without committing anything.
    let (code, err) = a.fails(&["sync", "--dry-run"]);
    assert_eq!(code, 6, "{err}");
    assert!(stdout(&a.cmd(&["sync", "--dry-run"]).output().unwrap()).contains("has a commit dotback refuses"));

    // Once the commit has left the remote's branch, the remote syncs again.
    let push = Command::new("git")
        .args(["push", "-q", "--force", "origin", &format!("{good}:refs/heads/main")])
        .current_dir(&clone)
        .envs(a.envs())
        .output()
        .unwrap();
    assert!(push.status.success(), "{}", show(&push));
    a.ok(&["sync"]);
    assert_eq!(remote_head(&origin).as_deref(), Some(head(&a).as_str()), "origin has the local commits now");
}

#[test]
fn a_file_over_max_file_size_is_not_added_or_captured_and_the_rest_is() {
    let a = TestEnv::new();
    a.init();
    let config = a.config_home.join("dotback/config.toml");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{text}max_file_size = \"1K\"\n")).unwrap();
    a.write(".big", &"x".repeat(2048), 0o644);
    let before = snapshot(&a.store());
    let (code, err) = a.fails(&["add", ".big"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(".big") && err.contains("2048 bytes") && err.contains("max_file_size"), "{err}");
    assert!(err.contains(&config.display().to_string()), "names the setting's file: {err}");
    assert_eq!(snapshot(&a.store()), before, "nothing was added");

    // A tracked file that grows past the limit is not captured; the other edits are.
    a.write(".grows", "small\n", 0o644);
    a.write(".zshrc", "one\n", 0o644);
    a.ok(&["add", ".grows", ".zshrc"]);
    a.ok(&["commit"]);
    a.write(".grows", &"y".repeat(4096), 0o644);
    a.write(".zshrc", "two\n", 0o644);
    let (code, err) = a.fails(&["commit"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("~/.grows was not captured") && err.contains("max_file_size"), "{err}");
    assert_eq!(stdout(&a.git(&["show", "HEAD:dot_zshrc"])), "two\n", "the rest was committed");
    assert_eq!(stdout(&a.git(&["show", "HEAD:dot_grows"])), "small\n");
}

#[test]
fn two_devices_editing_a_file_with_a_250_byte_name_sync_and_resolve() {
    let (a, b, _) = crate::sync::pair();
    let name = format!(".{}", "l".repeat(249));
    a.write(&name, "base\n", 0o644);
    a.ok(&["add", &name]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.write(&name, "from a\n", 0o644);
    b.write(&name, "from b\n", 0o644);
    a.ok(&["sync"]);
    let out = b.sync_in_conflict();
    assert!(stderr(&out).contains("conflict"), "{}", show(&out));
    assert_eq!(b.read(&name), "from b\n", "this side's version stays live");
    let copies: Vec<String> = fs::read_dir(&b.home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".dotback-conflict-"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(copies[0].len() <= 255 && name.starts_with(&copies[0][..copies[0].find(".dotback").unwrap()]));
    assert_eq!(fs::read_to_string(b.home.join(&copies[0])).unwrap(), "from a\n");
    a.sync_in_conflict();
    // The shortened copy still belongs to its file.
    b.ok(&["resolve", &name, "--theirs"]);
    assert_eq!(b.read(&name), "from a\n");
    assert!(!b.home.join(&copies[0]).exists());
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(a.read(&name), "from a\n");
}

#[test]
fn a_device_name_from_a_commit_never_names_a_path() {
    let (a, origin, _) = victim();
    let clone = a.root.join("attacker");
    let out = Command::new("git").arg("clone").arg("-q").arg(&origin).arg(&clone).envs(a.envs()).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    for (i, device) in ["sub/dir", "x/../..", ".."].into_iter().enumerate() {
        fs::write(clone.join("dot_zshrc"), format!("theirs {i}\n")).unwrap();
        let msg = format!("edit\n\nDevice: {device}\n");
        for args in
            [vec!["add", "dot_zshrc"], vec!["commit", "-q", "-m", &msg], vec!["push", "-q", "origin", "HEAD:main"]]
        {
            let mut all = vec!["-c", "user.name=M", "-c", "user.email=m@x"];
            all.extend(args);
            a.git_in(&clone, &all);
        }
        a.write(".zshrc", &format!("ours {i}\n"), 0o644);
        let out = a.sync_in_conflict();
        assert!(stderr(&out).contains("conflict"), "{device}: {}", show(&out));
        let copies: Vec<String> = fs::read_dir(&a.home)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".zshrc.dotback-conflict-unknown-device-"))
            .collect();
        assert_eq!(copies.len(), 1, "{device}: the copy is beside the file, under a safe label: {copies:?}");
        assert_eq!(fs::read_to_string(a.home.join(&copies[0])).unwrap(), format!("theirs {i}\n"));
        assert!(!a.home.join("sub").exists() && !a.home.join(".zshrc.dotback-conflict-x").exists(), "{device}");
        let status = stdout(&a.ok(&["status"]));
        assert!(status.contains(&copies[0]), "{device}: status sees the conflict: {status}");
        a.ok(&["resolve", ".zshrc", "--ours"]);
        a.ok(&["sync"]);
        a.git_in(&clone, &["pull", "-q", "--ff-only"]);
    }
}

#[test]
fn an_update_of_the_store_that_cannot_be_finished_is_given_up_with_recover_abandon() {
    let a = TestEnv::new();
    a.init();
    a.write(".zshrc", "one\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["commit"]);
    // A commit no file system can check out (made by hand: sync refuses such commits), and a
    // checkout of it that stopped half way, as a failed run leaves it.
    let store = store_of(&a);
    let repo = Repository::open(&store).unwrap();
    let head_id = repo.head().unwrap().target().unwrap();
    let base = repo.find_commit(head_id).unwrap().tree_id();
    let tree = insert(&repo, Some(base), &[], Raw::new("100644", "dot_zshrc", blob(&repo, b"half-written\n")));
    let tree = insert(&repo, Some(tree), &[], Raw::new("100644", "z".repeat(300), blob(&repo, b"x\n")));
    let bad = commit(&repo, tree, head_id, "unwritable\n");
    fs::write(store.join("dot_zshrc"), "half-written\n").unwrap();
    fs::write(store.join(".git/dotback-checkout"), format!("{head_id} {bad}\n")).unwrap();
    let home_before = snapshot(&a.home);

    for cmd in [&["commit"][..], &["sync"], &["apply"]] {
        let (code, err) = a.fails(cmd);
        assert_eq!(code, 1, "{cmd:?}: {err}");
        assert!(err.contains("dotback recover --abandon"), "{cmd:?}: the hint names the way out: {err}");
    }
    let out = a.ok(&["recover", "--abandon"]);
    assert!(stderr(&out).contains("gave up the interrupted update"), "{}", show(&out));
    assert_eq!(fs::read_to_string(store.join("dot_zshrc")).unwrap(), "one\n", "back at the last commit");
    assert!(store_changes(&a).is_empty(), "{}", store_changes(&a));
    assert_eq!(head(&a), head_id.to_string());
    assert_eq!(snapshot(&a.home), home_before);
    fsck(&store, "after recover --abandon");
    a.write(".zshrc", "two\n", 0o644);
    a.ok(&["commit"]);
    assert_eq!(stdout(&a.git(&["show", "HEAD:dot_zshrc"])), "two\n");
    assert!(stderr(&a.ok(&["recover"])).contains("Nothing to recover"));
}

/// What the fuzz test expects of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Made of safe names, modes and sizes: merged and applied.
    Accepted,
    /// One feature dotback must refuse: exit 6, naming the commit.
    Refused,
    /// A random mix: whatever dotback decides, the device keeps working.
    Either,
}

const STEM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn stem(rng: &mut Rng) -> String {
    (0..1 + rng.below(10)).map(|_| STEM[rng.below(STEM.len() as u64) as usize] as char).collect()
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

/// Names refused wherever they are.
fn bad_name(rng: &mut Rng) -> Vec<u8> {
    match rng.below(11) {
        0 => Vec::new(),
        1 => b".".to_vec(),
        2 => b"..".to_vec(),
        3 => pick(rng, &[".git", ".GIT", ".gIt", ".g\u{200c}it", "\u{feff}.git", ".git.", ".git ", "git~1"]).into(),
        4 => format!("a\\{}", stem(rng)).into(),
        5 => format!("{}/..", stem(rng)).into(),
        6 => vec![b'f', 0xff, 0xfe],
        7 => format!("dot_{}", "n".repeat(252 + rng.below(100) as usize)).into(),
        8 => "é".repeat(128 + rng.below(10) as usize).into(),
        9 => b"../..".to_vec(),
        _ => b"\\..\\..".to_vec(),
    }
}

/// Source names the chezmoi codec refuses, or whose target is `.git`.
fn bad_source_name(rng: &mut Rng, dir: bool) -> Vec<u8> {
    let names: &[&str] = if dir {
        &["dot_git", "exact_dot_git", "private_dot_GIT", "dot_", "private_", "exact_private_", "dot_.", "literal_.."]
    } else {
        &[
            "dot_git",
            "dot_Git",
            "literal_.git",
            "dot_",
            "private_",
            "executable_",
            "literal_..",
            "dot_.",
            "encrypted_.age",
            "dot_.tmpl",
        ]
    };
    pick(rng, names).into()
}

/// A random name from the whole alphabet of prefixes, suffixes and oddities.
fn soup(rng: &mut Rng, round: u64) -> Vec<u8> {
    let mut name = String::new();
    for _ in 0..rng.below(4) {
        name.push_str(pick(
            rng,
            &[
                "dot_",
                "private_",
                "readonly_",
                "executable_",
                "empty_",
                "encrypted_",
                "exact_",
                "literal_",
                "symlink_",
                "create_",
                "modify_",
                "remove_",
                "run_",
                "once_",
                "onchange_",
                "before_",
                "external_",
                ".",
                "..",
                "~",
            ],
        ));
    }
    name.push_str(pick(rng, &["", "fz", "g", "git", "Git", "é", " ", "-", "\u{200c}", "\t", "a b", "x"]));
    if rng.below(3) > 0 {
        name.push_str(&format!("fzmk{round}"));
    }
    name.push_str(pick(rng, &["", ".tmpl", ".literal", ".age", ".", "..", "/x", "\\"]));
    if rng.below(8) == 0 {
        name.push_str(&"w".repeat(200 + rng.below(100) as usize));
    }
    name.into_bytes()
}

/// One random entry of round `round`: where it goes, what it is, and what is expected.
fn fuzz_entry(rng: &mut Rng, repo: &Repository, round: u64) -> (Vec<Vec<u8>>, Raw, Expect) {
    let mut dirs: Vec<Vec<u8>> = vec![format!("dot_fz{round}").into_bytes()];
    for _ in 0..rng.below(3) {
        dirs.push(format!("d{}", stem(rng)).into_bytes());
    }
    let mut name = format!("fzmk{round}-{}", stem(rng)).into_bytes();
    if rng.below(6) == 0 {
        name.resize(255 - rng.below(10) as usize, b'l'); // long, but within the limit
    }
    let mut mode = pick(rng, &["100644", "100755", "40000"]).to_string();
    let mut content = format!("content {round} {}\n", stem(rng)).into_bytes();
    let mut expect = Expect::Accepted;
    match rng.below(10) {
        0..=2 => {}
        3..=6 => {
            expect = Expect::Refused;
            match rng.below(6) {
                0 => {
                    let at = rng.below(dirs.len() as u64 + 1) as usize;
                    match dirs.get_mut(at) {
                        Some(d) => *d = bad_name(rng),
                        None => name = bad_name(rng),
                    }
                }
                1 => match rng.below(2) {
                    0 => name = bad_source_name(rng, mode == "40000"),
                    _ => dirs.push(bad_source_name(rng, true)),
                },
                2 => mode = pick(rng, &["120000", "160000", "100664", "040000", "644", "100600", "0100644"]).into(),
                3 => {
                    mode = "100644".into();
                    content = vec![b'z'; 64 * 1024 + 1 + rng.below(20_000) as usize];
                }
                4 => {
                    while dirs.iter().map(|d| d.len() + 1).sum::<usize>() + name.len() <= 1024 {
                        dirs.push(format!("d{}", "e".repeat(200 + rng.below(54) as usize)).into_bytes());
                    }
                }
                _ => name.resize(256 + rng.below(100) as usize, b'm'),
            }
        }
        _ => {
            expect = Expect::Either;
            let depth = rng.below(4) as usize;
            dirs.truncate(1);
            dirs[0] =
                format!("{}fz{round}", pick(rng, &["dot_", "exact_", "private_", ".", "external_", "remove_", ""]))
                    .into_bytes();
            for _ in 0..depth {
                dirs.push(soup(rng, round));
            }
            name = soup(rng, round);
            mode = pick(rng, &["100644", "100755", "40000", "120000", "160000", "100664", "040000"]).into();
            content = match rng.below(4) {
                0 => Vec::new(),
                1 => b"-----BEGIN AGE ENCRYPTED FILE-----\nnot really\n-----END AGE ENCRYPTED FILE-----\n".to_vec(),
                2 => b"../../../../fzmk-escape".to_vec(),
                _ => (0..rng.below(300)).map(|_| rng.below(256) as u8).collect(),
            };
        }
    }
    let id = match mode.trim_start_matches('0') {
        "40000" => write_tree(repo, vec![Raw::new("100644", format!("dot_fzmk{round}-child"), blob(repo, &content))]),
        "160000" => Oid::from_bytes(&[round as u8; 20]).unwrap(),
        _ => blob(repo, &content),
    };
    (dirs, Raw { mode, name, id }, expect)
}

/// The target in HOME an accepted entry of `fuzz_entry` becomes.
fn accepted_target(dirs: &[Vec<u8>], leaf: &Raw, round: u64) -> String {
    let mut parts: Vec<String> = dirs.iter().map(|d| String::from_utf8(d.clone()).unwrap()).collect();
    parts[0] = format!(".fz{round}");
    parts.push(String::from_utf8(leaf.name.clone()).unwrap());
    if leaf.is_dir() {
        parts.push(format!(".fzmk{round}-child"));
    }
    parts.join("/")
}

#[test]
fn random_tree_entries_pushed_one_commit_each_never_break_the_victim() {
    let rounds: u64 = std::env::var("DOTBACK_TREE_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(1000);
    let seed: u64 = std::env::var("DOTBACK_TREE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x7ee_f022);
    let (a, origin, _) = victim();
    a.ok(&["remote", "remove", "usb"]); // one remote is enough here, and halves the pushes
    let store = store_of(&a);
    // The attacker writes its objects into the bare remote and moves its branch, as a push does.
    let remote = Repository::open_bare(&origin).unwrap();
    let mut good = remote.refname_to_id("refs/heads/main").unwrap();
    let allowed = [origin.clone(), a.state_home.clone()];
    let mut rng = Rng(seed | 1);
    let mut tally = [0usize; 3];
    let started = std::time::Instant::now();
    for round in 0..rounds {
        let (dirs, leaf, expect) = fuzz_entry(&mut rng, &remote, round);
        let at = format!(
            "seed {seed} round {round} ({expect:?}, {:?} {:?})",
            leaf.mode,
            String::from_utf8_lossy(&leaf.name)
        );
        let tip = remote.find_commit(good).unwrap();
        let mut tree = insert(&remote, Some(tip.tree_id()), &dirs, leaf.clone());
        if rng.below(20) == 0 {
            // The same commit also edits the file the victim edits: a conflict copy is named after
            // the commit's device.
            tree = insert(&remote, Some(tree), &[], Raw::new("100644", "dot_zshrc", blob(&remote, b"theirs\n")));
        }
        let device = pick(&mut rng, &["laptop", "sub/dir", "x/../..", "..", "", "a\\b", "tab\tx", "unknown-device"]);
        let message =
            if rng.below(4) == 0 { format!("fuzz {round}\n\nDevice: {device}\n") } else { format!("fuzz {round}\n") };
        let bad = commit(&remote, tree, good, &message);
        remote.reference("refs/heads/main", bad, true, "fuzz").unwrap();

        let token = format!("victim edit {round}");
        a.write(".zshrc", &format!("one\n{token}\n"), 0o644);
        let out = a.cmd(&["sync"]).output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        let err = stderr(&out);
        match code {
            // A conflict copy, once made, stays unsettled: every later sync exits 8.
            0 | CONFLICTS => {
                assert_ne!(expect, Expect::Refused, "{at}: accepted:\n{}", show(&out));
                assert!(contains(&a, &bad.to_string()), "{at}: merged");
                if expect == Expect::Accepted {
                    let target = a.home.join(accepted_target(&dirs, &leaf, round));
                    assert!(target.is_file(), "{at}: applied as {}", target.display());
                }
                good = remote.refname_to_id("refs/heads/main").unwrap();
                tally[0] += 1;
            }
            // An entry chezmoi would run or evaluate (a script, a template, …): merged and applied
            // as far as dotback writes it, its code held back; the victim takes it to go on.
            6 if err.contains("is held back") => {
                assert_ne!(expect, Expect::Accepted, "{at}: held back:\n{}", show(&out));
                assert!(contains(&a, &bad.to_string()), "{at}: merged");
                a.ok(&["keys", "accept"]);
                good = remote.refname_to_id("refs/heads/main").unwrap();
                tally[2] += 1;
            }
            6 => {
                assert_ne!(expect, Expect::Accepted, "{at}: refused:\n{}", show(&out));
                // libgit2's fetch itself refuses a tree it cannot parse (an empty name): nothing
                // arrives, and the remote is refused without its commit being named.
                let named = err.contains(&bad.to_string()) && err.contains("has a commit dotback refuses");
                assert!(named || err.contains("failed to parse tree"), "{at}: {err}");
                assert!(!contains(&a, &bad.to_string()), "{at}: nothing merged");
                tally[1] += 1;
            }
            _ => {
                assert_eq!(expect, Expect::Either, "{at}: {}", show(&out));
                eprintln!("{at}: exit {code}:\n{err}");
                tally[2] += 1;
            }
        }
        let committed = stdout(&a.git(&["show", "HEAD:dot_zshrc"]));
        assert!(committed.contains(&token), "{at}: the local edit was committed:\n{}", show(&out));
        if round % 100 == 99 {
            // What git's own auto-gc would do: a thousand fetches leave a thousand packs, and
            // checking them all again after every sync would dominate the test.
            let out = Command::new("git").args(["gc", "-q"]).current_dir(&store).output().unwrap();
            assert!(out.status.success(), "{at}: git gc: {}", show(&out));
        }
        fsck(&store, &at);
        let out = escaped(&a, "fzmk", &allowed);
        assert!(out.is_empty(), "{at}: written outside HOME and dotback's places: {out:?}");
    }
    eprintln!(
        "{rounds} rounds in {:.1} s: {} merged, {} refused, {} other",
        started.elapsed().as_secs_f64(),
        tally[0],
        tally[1],
        tally[2]
    );
    assert!(tally[0] > 0 && tally[1] > 0, "{tally:?}");
}
