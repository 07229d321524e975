//! What dotback leaves to chezmoi (scripts, externals, `.chezmoiremove`, templates with data and
//! shared templates, `create_` and `modify_`): with chezmoi on PATH, `dotback apply` leaves HOME
//! as `chezmoi apply` does, scripts included, run as often as chezmoi runs them.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Each script appends a line to `runs.log` beside HOME, so every run is visible.
fn script(body: &str) -> String {
    format!("#!/bin/sh\nset -e\n{body} >> \"$HOME/../runs.log\"\n")
}

fn put(store: &Path, rel: &str, content: &str) {
    let p = store.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A chezmoi store using every construct dotback delegates, next to plain entries; the
/// externals' sources (a tar.gz archive and a file) are made under `dir`.
fn delegating_store(dir: &Path) -> std::path::PathBuf {
    let ext = dir.join("ext");
    fs::create_dir_all(ext.join("pkg/sub")).unwrap();
    fs::write(ext.join("pkg/a"), "archived a\n").unwrap();
    fs::write(ext.join("pkg/sub/b"), "archived b\n").unwrap();
    fs::set_permissions(ext.join("pkg/a"), fs::Permissions::from_mode(0o755)).unwrap();
    let tar = Command::new("tar").args(["czf", "arch.tar.gz", "pkg"]).current_dir(&ext).output().unwrap();
    assert!(tar.status.success(), "tar failed:\n{}", show(&tar));
    fs::write(ext.join("single"), "fetched file\n").unwrap();

    let store = dir.join("store");
    put(&store, "dot_plain", "plain\n");
    put(&store, "private_dot_dir/file", "inside\n");
    put(&store, "symlink_dot_link", ".plain\n");
    put(&store, "executable_dot_tool", "#!/bin/sh\n");
    put(&store, ".chezmoidata.toml", "name = \"from data\"\n");
    put(&store, ".chezmoitemplates/part", "from a shared template");
    put(&store, "dot_t.tmpl", "{{ .name }}, {{ template \"part\" . }}\n");
    put(&store, "create_dot_created", "created\n");
    put(&store, "create_dot_kept", "never written\n");
    put(&store, "modify_dot_modified", "#!/bin/sh\ngrep -v '^modified$' || true\necho modified\n");
    put(&store, ".chezmoiremove", ".gone\n");
    let url = |name: &str| format!("file://{}", ext.join(name).display());
    put(
        &store,
        ".chezmoiexternal.toml",
        &format!(
            "[\".arch\"]\ntype = \"archive\"\nurl = {:?}\nstripComponents = 1\n[\".single\"]\ntype = \"file\"\nurl = {:?}\n",
            url("arch.tar.gz"),
            url("single")
        ),
    );
    // What the `before` script sees tells whether it ran before anything was written.
    put(
        &store,
        "run_once_before_first.sh",
        &script("echo \"once-before: plain $(test -e \"$HOME/.plain\" && echo present || echo absent)\""),
    );
    put(&store, "run_before_each.sh", &script("echo before-each"));
    put(&store, "run_onchange_changed.sh", &script("echo onchange"));
    put(&store, "run_once_once.sh", &script("echo once"));
    put(&store, "run_every.sh", &script("echo every"));
    put(
        &store,
        "run_after_last.sh",
        &script(
            "echo \"after: $(cat \"$HOME/.plain\" \"$HOME/.t\" \"$HOME/.arch/a\" \"$HOME/.single\" \"$HOME/.created\" | tr '\\n' ' ')\"",
        ),
    );
    put(&store, ".chezmoiscripts/run_once_after_scripts-dir.sh", &script("echo scripts-dir"));
    store
}

/// What HOME holds before either tool applies: a file `.chezmoiremove` removes, one a
/// `create_` entry keeps, one a `modify_` script edits.
fn prepare(env: &TestEnv) {
    env.write(".gone", "to be removed\n", 0o644);
    env.write(".kept", "mine\n", 0o644);
    env.write(".modified", "original\n", 0o644);
}

fn runs(env: &TestEnv) -> String {
    fs::read_to_string(env.root.join("runs.log")).unwrap_or_default()
}

fn count(log: &str, line: &str) -> usize {
    log.lines().filter(|l| *l == line).count()
}

#[test]
fn scripts_externals_and_removals_apply_as_chezmoi_applies_them() {
    let Some(chezmoi) = chezmoi() else { return };
    let origin = TestEnv::new();
    let store = delegating_store(&origin.root);
    let store_arg = store.to_str().unwrap();

    let by_dotback = TestEnv::new().with_chezmoi(&chezmoi);
    let pass = by_dotback.passphrase_file();
    by_dotback.ok(&["init", "--device", "b", "--source", store_arg, "--passphrase-file", pass.to_str().unwrap()]);
    prepare(&by_dotback);
    let status: serde_json::Value = serde_json::from_slice(&by_dotback.ok(&["status", "--json"]).stdout).unwrap();
    let delegated = status["delegated"].as_array().unwrap();
    assert!(delegated.iter().all(|d| d["handled_by"] == "chezmoi"), "{status:#}");
    let kinds: Vec<(String, u64)> = status["delegated_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kind"].as_str().unwrap().to_string(), k["count"].as_u64().unwrap()))
        .collect();
    let want = [
        ("template", 1),
        ("create_ file", 2),
        ("modify_ script", 1),
        ("run_ script", 7),
        ("externals file", 1),
        (".chezmoiremove file", 1),
    ];
    assert_eq!(kinds, want.map(|(k, n)| (k.to_string(), n)));
    let text = stdout(&by_dotback.ok(&["status"]));
    assert!(text.contains("Handled by chezmoi") && text.contains("run_ script (7): "), "{text}");

    by_dotback.ok(&["apply"]);

    let by_chezmoi = TestEnv::new();
    prepare(&by_chezmoi);
    run_chezmoi(
        &by_chezmoi,
        &chezmoi,
        &["apply", "--source", store_arg, "--destination", by_chezmoi.home.to_str().unwrap()],
    );

    let want = snapshot(&by_chezmoi.home);
    assert_eq!(snapshot(&by_dotback.home), want);
    assert_eq!(want[".t"], "file 0644 \"from data, from a shared template\\n\"");
    assert_eq!(want[".kept"], "file 0644 \"mine\\n\"");
    assert_eq!(want[".modified"], "file 0644 \"original\\nmodified\\n\"");
    assert_eq!(want[".arch/a"], "file 0755 \"archived a\\n\"");
    assert_eq!(want[".single"], "file 0644 \"fetched file\\n\"");
    assert!(!want.contains_key(".gone"), "{want:?}");

    let log = runs(&by_chezmoi);
    assert_eq!(runs(&by_dotback), log, "the same scripts ran, in the same order");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "before-each",
            "once-before: plain absent",
            "onchange",
            "every",
            "once",
            "scripts-dir",
            "after: plain from data, from a shared template archived a fetched file created ",
        ]
    );

    // Again, by either tool: only the scripts chezmoi runs every time run again.
    by_dotback.ok(&["apply"]);
    let home_arg = by_dotback.home.to_str().unwrap();
    run_chezmoi(&by_dotback, &chezmoi, &["apply", "--source", store_arg, "--destination", home_arg]);
    let log = runs(&by_dotback);
    for once in ["once-before: plain absent", "onchange", "once", "scripts-dir"] {
        assert_eq!(count(&log, once), 1, "{once} ran once:\n{log}");
    }
    for every in ["before-each", "every"] {
        assert_eq!(count(&log, every), 3, "{every} runs on each apply:\n{log}");
    }
    assert_eq!(snapshot(&by_dotback.home), want, "nothing else changed");
}

#[test]
fn without_chezmoi_apply_writes_its_own_part_and_fails_naming_what_it_skipped() {
    let origin = TestEnv::new();
    let store = delegating_store(&origin.root);
    let env = TestEnv::new();
    let pass = env.passphrase_file();
    env.ok(&[
        "init",
        "--device",
        "b",
        "--source",
        store.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ]);
    prepare(&env);

    let status: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap();
    let delegated = status["delegated"].as_array().unwrap();
    assert_eq!(delegated.len(), 13, "{status:#}");
    assert!(delegated.iter().all(|d| d["handled_by"].is_null()), "{status:#}");
    let text = stdout(&env.ok(&["status"]));
    assert!(text.contains("install chezmoi to apply these"), "{text}");

    let (_, err) = env.fails(&["apply"]);
    assert_eq!(err.matches("need chezmoi").count(), 1, "listed once:\n{err}");
    assert!(
        err.contains(
            "1 template, 2 create_ files, 1 modify_ script, 7 run_ scripts, 1 externals file, 1 .chezmoiremove file"
        ),
        "{err}"
    );
    assert_eq!(env.read(".plain"), "plain\n", "dotback's own part is applied");
    assert_eq!(env.read(".gone"), "to be removed\n");
    assert!(!env.home.join(".t").exists() && runs(&env).is_empty(), "nothing delegated ran");
}

#[test]
fn sync_hands_a_merged_script_and_template_to_chezmoi() {
    let Some(chezmoi) = chezmoi() else { return };
    let (a, remote) = synced_with_zshrc("export A=1\n");
    let b = device_from(&remote, "b").with_chezmoi(&chezmoi);
    // A recipient of the store key: it checks the seal a puts on its new code.
    a.admit(&b, "b");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    b.ok(&["apply"]);
    put(&a.store(), "run_once_hello.sh", &script("echo hello"));
    put(&a.store(), "dot_greeting.tmpl", "{{ \"hi\" | upper }}\n");
    a.ok(&["commit"]);
    a.ok(&["sync"]);
    assert!(runs(&a).is_empty(), "the device that added the script ran nothing");

    let out = b.ok(&["sync"]);
    assert_eq!(runs(&b), "hello\n", "{}", show(&out));
    assert_eq!(b.read(".greeting"), "HI\n");
    assert_eq!(b.read(".zshrc"), "export A=1\n");
    b.ok(&["apply"]);
    assert_eq!(runs(&b), "hello\n", "a run_once_ script runs once");

    // Without chezmoi, a sync that applies says what it skipped, and still ends well: the
    // device syncs what dotback handles itself.
    let c = device_from(&remote, "c");
    let (_, err) = c.fails(&["apply"]);
    assert!(err.contains("2 entries need chezmoi"), "{err}");
    a.write(".zshrc", "export A=2\n", 0o644);
    a.ok(&["sync"]);
    let out = c.cmd(&["sync"]).output().unwrap();
    assert_eq!(c.read(".zshrc"), "export A=2\n", "{}", show(&out));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("2 entries need chezmoi") && err.contains("1 template, 1 run_ script"), "{err}");
    assert!(runs(&c).is_empty() && !c.home.join(".greeting").exists());
}

#[test]
fn a_templated_target_edited_in_home_is_left_reported_and_never_captured() {
    let Some(chezmoi) = chezmoi() else { return };
    let env = TestEnv::new().with_chezmoi(&chezmoi);
    env.init();
    put(&env.store(), "dot_gitconfig.tmpl", "[user]\n  name = {{ \"me\" | upper }}\n");
    put(&env.store(), "dot_other.tmpl", "v1\n");
    env.ok(&["commit"]);
    env.ok(&["apply"]);
    assert_eq!(env.read(".gitconfig"), "[user]\n  name = ME\n");

    // Edited in HOME, while the other template changed in the store.
    env.write(".gitconfig", "[user]\n  name = edited by hand\n", 0o644);
    put(&env.store(), "dot_other.tmpl", "v2\n");
    env.ok(&["commit"]);
    let out = env.ok(&["apply"]);
    let err = stderr(&out);
    assert!(
        err.contains("left ~/.gitconfig alone: it is edited in HOME, and its source is a template")
            && err.contains("chezmoi merge ~/.gitconfig"),
        "{}",
        show(&out)
    );
    assert_eq!(env.read(".other"), "v2\n", "the rest is applied: one edited template stops nothing");
    assert_eq!(env.read(".gitconfig"), "[user]\n  name = edited by hand\n", "the edit is kept");
    assert_eq!(
        fs::read_to_string(env.store().join("dot_gitconfig.tmpl")).unwrap(),
        "[user]\n  name = {{ \"me\" | upper }}\n",
        "and the template is never rewritten from HOME"
    );
}

#[test]
fn looking_at_the_store_runs_none_of_its_code() {
    let Some(chezmoi) = chezmoi() else { return };
    let env = TestEnv::new().with_chezmoi(&chezmoi);
    env.init();
    let marker = env.root.join("ran");
    let run = |what: &str| format!("{{{{ output \"sh\" \"-c\" \"echo {what} >> {}\" }}}}", marker.display());
    put(&env.store(), ".chezmoiignore", &format!("{}\n.work/key\n", run("ignore")));
    put(&env.store(), "dot_t.tmpl", &format!("{}\n", run("template")));
    put(&env.store(), "modify_dot_m", &format!("#!/bin/sh\necho modify >> {}\ncat\n", marker.display()));
    env.ok(&["commit"]);
    for cmd in [&["status"][..], &["status", "--json"], &["diff"], &["apply", "--dry-run"], &["commit"]] {
        env.cmd(cmd).output().unwrap();
        assert!(!marker.exists(), "`dotback {cmd:?}` ran code from the store: {:?}", fs::read_to_string(&marker));
    }
    // What the ignore file decides stays out of the store, though `add` does not ask chezmoi
    // (the template line leaves the rest undecided, so nothing below it is taken either).
    env.write(".work/key", "work-only\n", 0o600);
    env.write(".work/notes", "notes\n", 0o644);
    env.cmd(&["add", ".work"]).output().unwrap();
    assert!(!env.store().join("dot_work/private_key").exists(), "the ignored key is not added");
    env.ok(&["commit"]);
    env.ok(&["apply"]);
    assert!(!env.store().join("dot_work/private_key").exists(), "nor after chezmoi decided the ignore file");
    assert!(marker.exists(), "the user's apply renders the templates");
}
