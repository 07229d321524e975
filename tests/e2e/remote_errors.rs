//! Remotes dotback cannot use, each told apart with its own message, exit code and hint: a
//! local path that does not exist (an unmounted disk), an empty directory, a work tree, and
//! objects missing from the store itself. Nothing is lost in any of them.

use crate::common::*;
use std::fs;

/// A device with `.zshrc` committed and synced to the bare remote `origin`.
fn synced() -> (TestEnv, std::path::PathBuf) {
    let a = TestEnv::new();
    a.init();
    let remote = bare(&a, "remote.git");
    a.write(".zshrc", "one\n", 0o644);
    a.ok(&["add", ".zshrc"]);
    a.ok(&["remote", "add", "origin", remote.to_str().unwrap()]);
    a.ok(&["sync"]);
    (a, remote)
}

fn head(env: &TestEnv) -> String {
    stdout(&env.git(&["rev-parse", "HEAD"])).trim().to_string()
}

/// The local commit holds the edit: nothing was lost.
fn committed(env: &TestEnv, content: &str) {
    let file = stdout(&env.git(&["show", "HEAD:dot_zshrc"]));
    assert_eq!(file, content, "the edit is committed locally");
    assert_eq!(env.read(".zshrc"), content, "and still live");
}

/// Every message a remote error used to borrow from another case.
fn no_borrowed_words(err: &str) {
    for wrong in ["unsupported URL protocol", "remote has commits", "could not find repository", "credential"] {
        assert!(!err.contains(wrong), "`{wrong}` does not describe this case: {err}");
    }
}

#[test]
fn a_local_remote_that_is_gone_is_unreachable_and_named() {
    let (a, remote) = synced();
    let away = a.root.join("unmounted.git");
    fs::rename(&remote, &away).unwrap();
    a.write(".zshrc", "offline edit\n", 0o644);
    let (code, err) = a.fails(&["sync"]);
    assert_eq!(code, 5, "an unmounted disk is unreachable for now: {err}");
    assert!(err.contains(&format!("{} does not exist", remote.display())) && err.contains("not mounted"), "{err}");
    assert!(err.contains("local commit is safe") && err.contains("sync` again"), "{err}");
    no_borrowed_words(&err);
    committed(&a, "offline edit\n");
    let (code, err) = a.fails(&["push"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("does not exist"), "{err}");

    fs::rename(&away, &remote).unwrap();
    a.ok(&["sync"]);
    assert_eq!(remote_head(&remote), Some(head(&a)), "the commit reaches the disk once it is back");
}

#[test]
fn remote_add_refuses_a_path_it_could_never_push_to() {
    let a = TestEnv::new();
    a.init();
    let remotes = || stdout(&a.git(&["remote"]));

    let missing = a.root.join("usb/dots.git");
    let (code, err) = a.fails(&["remote", "add", "usb", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{} does not exist", missing.display())), "{err}");
    assert!(err.contains(&format!("git init --bare {}", missing.display())), "{err}");

    let empty = a.root.join("empty");
    fs::create_dir(&empty).unwrap();
    let (code, err) = a.fails(&["remote", "add", "usb", empty.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("empty directory") && err.contains(&format!("git init --bare {}", empty.display())), "{err}");

    let work = a.root.join("work");
    a.git_in(&a.root, &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    let (code, err) = a.fails(&["remote", "add", "usb", work.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("work tree") && err.contains("git clone --bare"), "{err}");

    let file = a.root.join("passphrase");
    let (code, err) = a.fails(&["remote", "add", "usb", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a git repository"), "{err}");
    assert_eq!(remotes(), "", "nothing was added");
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0, "the empty directory is left as it was");

    // A bare repository named by a relative path is recorded by its absolute one: sync runs
    // from anywhere.
    let good = bare(&a, "good.git");
    let out = a.cmd(&["remote", "add", "usb", "good.git"]).current_dir(&a.root).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let url = stdout(&a.git(&["remote", "get-url", "usb"]));
    assert_eq!(url.trim(), good.to_str().unwrap());
}

#[test]
fn an_empty_directory_as_remote_is_not_a_repository_yet() {
    let (a, _) = synced();
    let empty = a.root.join("empty");
    fs::create_dir(&empty).unwrap();
    // Set with plain git, which checks nothing.
    a.git(&["remote", "add", "usb", empty.to_str().unwrap()]);
    a.write(".zshrc", "edit\n", 0o644);
    let (code, err) = a.fails(&["sync", "--remote", "usb"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains(&format!("remote `usb`: {} is not a git repository", empty.display())), "{err}");
    assert!(err.contains(&format!("git init --bare {}", empty.display())), "{err}");
    no_borrowed_words(&err);
    committed(&a, "edit\n");
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0, "nothing was written there");

    a.git_in(&a.root, &["init", "-q", "--bare", "-b", "main", empty.to_str().unwrap()]);
    a.ok(&["sync", "--remote", "usb"]);
    assert_eq!(remote_head(&empty), Some(head(&a)), "the hint's command made it a remote");
}

#[test]
fn a_work_tree_as_remote_is_named_and_never_pushed_into() {
    let (a, remote) = synced();
    let work = a.root.join("work");
    a.git_in(&a.root, &["clone", "-q", remote.to_str().unwrap(), work.to_str().unwrap()]);
    a.git(&["remote", "add", "work", work.to_str().unwrap()]);
    a.write(".zshrc", "edit\n", 0o644);
    let before = stdout(&a.git_in(&work, &["rev-parse", "HEAD"]));
    let (code, err) = a.fails(&["sync", "--remote", "work"]);
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains(&format!("remote `work`: {} is a repository with a work tree", work.display()))
            && err.contains("checked-out branch"),
        "{err}"
    );
    assert!(err.contains("git clone --bare") && err.contains("dotback remote remove work"), "{err}");
    no_borrowed_words(&err);
    committed(&a, "edit\n");
    assert_eq!(stdout(&a.git_in(&work, &["rev-parse", "HEAD"])), before, "its branch did not move");
    assert_eq!(fs::read_to_string(work.join("dot_zshrc")).unwrap(), "one\n", "its files are untouched");
}

#[test]
fn objects_missing_from_the_store_are_a_local_problem() {
    let (a, remote) = synced();
    let pushed = remote_head(&remote);
    a.write(".zshrc", "two\n", 0o644);
    a.ok(&["commit"]);
    let before = head(&a);
    // Lose the new blob, as a damaged disk or a partial copy of the store would.
    let blob = stdout(&a.git(&["rev-parse", "HEAD:dot_zshrc"])).trim().to_string();
    let loose = store_of(&a).join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let saved = fs::read(&loose).unwrap();
    fs::remove_file(&loose).unwrap();

    for cmd in ["sync", "push"] {
        let (code, err) = a.fails(&[cmd]);
        assert_eq!(code, 1, "{cmd}: {err}");
        assert!(err.contains(&format!("is missing git object {blob}")), "{cmd}: {err}");
        assert!(err.contains("fsck") && err.contains("nothing was fetched from or pushed to remote `origin`"), "{err}");
        assert!(!err.contains("could not reach") && !err.contains("refused"), "not the remote's fault: {err}");
        no_borrowed_words(&err);
    }
    assert_eq!(head(&a), before, "the commit is still there");
    assert_eq!(remote_head(&remote), pushed, "nothing half-sent");

    fs::write(&loose, saved).unwrap();
    a.ok(&["sync"]);
    assert_eq!(remote_head(&remote), Some(before));
}
