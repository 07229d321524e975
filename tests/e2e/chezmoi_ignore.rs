//! A templated `.chezmoiignore`: dotback ignores what chezmoi ignores, asking chezmoi when it is
//! installed and evaluating the conditions itself when it is not; what it cannot evaluate is
//! left alone and listed once.

use crate::common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

const SUMMARY: &str = "on a .chezmoiignore template dotback cannot evaluate";

/// A device with a store holding `files` (store name, content) and nothing applied yet; chezmoi
/// on PATH when `with` is given.
fn device_with(files: &[(&str, &str)], with: Option<&Path>) -> TestEnv {
    let env = TestEnv::new();
    let env = match with {
        Some(bin) => env.with_chezmoi(bin),
        None => env,
    };
    env.init();
    for (name, content) in files {
        let path = env.store().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    env
}

/// `chezmoi apply` of `store` into a fresh HOME, with `config` as chezmoi's config.
fn chezmoi_applied(chezmoi: &Path, store: &Path, config: &str) -> TestEnv {
    let env = TestEnv::new();
    write_chezmoi_config(&env, config);
    let args = ["apply", "--source", store.to_str().unwrap(), "--destination", env.home.to_str().unwrap()];
    run_chezmoi(&env, chezmoi, &args);
    env
}

fn write_chezmoi_config(env: &TestEnv, config: &str) {
    fs::create_dir_all(env.config_home.join("chezmoi")).unwrap();
    fs::write(env.config_home.join("chezmoi/chezmoi.toml"), config).unwrap();
}

/// chezmoi's `.chezmoi.hostname` and `.chezmoi.username` on this machine.
fn host_and_user(chezmoi: &Path) -> (String, String) {
    let env = TestEnv::new();
    let out = run_chezmoi(&env, chezmoi, &["execute-template", "{{ .chezmoi.hostname }}|{{ .chezmoi.username }}"]);
    let text = stdout(&out);
    let (host, user) = text.trim().split_once('|').unwrap();
    (host.to_owned(), user.to_owned())
}

#[test]
fn templated_ignore_gives_chezmoi_s_home_with_and_without_chezmoi() {
    let Some(chezmoi) = chezmoi() else { return };
    let (host, user) = host_and_user(&chezmoi);
    let ignore = format!(
        "{{{{ if eq .chezmoi.os \"windows\" }}}}\n.foo\n{{{{ end }}}}\n\
         {{{{ if ne .chezmoi.os \"linux\" }}}}\n.bar\n{{{{ end }}}}\n\
         {{{{- if eq .chezmoi.hostname \"{host}\" }}}}\n.host\n{{{{- else }}}}\n.nothost\n{{{{- end }}}}\n\
         {{{{ if and .work (not (eq .role \"personal\")) -}}}}\n.work\n{{{{ end -}}}}\n\
         {{{{ if eq .chezmoi.username \"nobody\" \"{user}\" }}}}.config/nvim{{{{ end }}}}\n\
         {{{{ if eq .chezmoi.arch \"amd64\" \"arm64\" }}}}{{{{ else }}}}.foo{{{{ end }}}}\n"
    );
    // The store's data, and the config's `[data]`, which wins.
    let files = [
        ("dot_foo", "foo\n"),
        ("dot_bar", "bar\n"),
        ("dot_host", "host\n"),
        ("dot_nothost", "not host\n"),
        ("dot_work", "work\n"),
        ("dot_config/nvim/init.lua", "nvim\n"),
        ("dot_config/other", "other\n"),
        (".chezmoidata.toml", "work = false\nrole = \"personal\"\n"),
        (".chezmoiignore", ignore.as_str()),
    ];
    let config = "[data]\nwork = true\nrole = \"laptop\"\n";
    let mut homes = Vec::new();
    for with in [Some(chezmoi.as_path()), None] {
        let env = device_with(&files, with);
        write_chezmoi_config(&env, config);
        let out = env.ok(&["apply"]);
        assert!(!stderr(&out).contains(SUMMARY), "{}", show(&out));
        let status = env.ok(&["status"]);
        assert!(!stderr(&status).contains(SUMMARY), "{}", show(&status));
        homes.push(env);
    }
    let by_chezmoi = chezmoi_applied(&chezmoi, &homes[0].store(), config);
    let want = snapshot(&by_chezmoi.home);
    for (env, with) in homes.iter().zip(["on", "off"]) {
        assert_eq!(snapshot(&env.home), want, "chezmoi {with} PATH");
    }
    // The example: both files on Linux.
    for name in [".foo", ".bar", ".nothost", ".config/other"] {
        assert!(by_chezmoi.home.join(name).is_file(), "{name}: {want:?}");
    }
    for name in [".host", ".work", ".config/nvim"] {
        assert!(!by_chezmoi.home.join(name).exists(), "{name}: {want:?}");
    }
}

#[test]
fn what_dotback_cannot_evaluate_is_left_alone_and_listed_once() {
    let Some(chezmoi) = chezmoi() else { return };
    let ignore = "\
{{ if lookPath \"sh\" }}
.tool
{{ end }}
{{ range list \"a\" }}.ranged{{ end }}
{{ if eq .chezmoi.os \"linux\" }}.linux-only{{ end }}
";
    let files = [
        ("dot_tool", "tool\n"),
        ("dot_ranged", "ranged\n"),
        ("dot_linux-only", "linux\n"),
        ("dot_plain", "plain\n"),
        (".chezmoiignore", ignore),
    ];
    let by_chezmoi = chezmoi_applied(&chezmoi, &device_with(&files, None).store(), "");
    assert_eq!(snapshot(&by_chezmoi.home).keys().collect::<Vec<_>>(), [".plain"]);

    // chezmoi on PATH: dotback asks it, and decides everything.
    let with = device_with(&files, Some(&chezmoi));
    let out = with.ok(&["apply"]);
    assert!(!stderr(&out).contains(SUMMARY), "{}", show(&out));
    assert_eq!(snapshot(&with.home), snapshot(&by_chezmoi.home));

    // Without chezmoi: the undecided targets are not applied, and listed once per command.
    let without = device_with(&files, None);
    let listed = |text: &str| {
        assert_eq!(text.matches(SUMMARY).count(), 1, "{text}");
        assert!(text.contains("2 targets depend") && text.contains("install chezmoi"), "{text}");
        assert!(text.contains("~/.ranged") && text.contains("~/.tool") && !text.contains("~/.linux-only"), "{text}");
    };
    listed(&stderr(&without.ok(&["status"])));
    let (code, err) = without.fails(&["apply"]);
    assert_eq!(code, 1, "an apply that left targets undecided is not a success: {err}");
    listed(&err);
    assert!(err.contains("2 targets were not applied: only chezmoi can tell"), "{err}");
    assert_eq!(snapshot(&without.home).keys().collect::<Vec<_>>(), [".plain"]);
    let v: serde_json::Value = serde_json::from_slice(&without.ok(&["status", "--json"]).stdout).unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v}");
    listed(warnings[0].as_str().unwrap());

    // Nor captured: a file at an undecided target stays out of the store.
    without.write(".tool", "edited in HOME\n", 0o644);
    without.ok(&["commit"]);
    assert_eq!(fs::read_to_string(without.store().join("dot_tool")).unwrap(), "tool\n");
}

/// Random ignore files within the evaluated subset, over random data standing for the OS and
/// host: dotback (chezmoi off PATH) ignores exactly what `chezmoi ignored` lists.
#[test]
fn ignore_evaluation_matches_chezmoi_on_random_templates() {
    let Some(chezmoi) = chezmoi() else { return };
    let (host, _) = host_and_user(&chezmoi);
    let names: Vec<String> = (0..6).map(|i| format!(".t{i}")).collect();
    let files: Vec<(String, String)> = names.iter().map(|n| (format!("dot_{}", &n[1..]), format!("{n}\n"))).collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let env = device_with(&files, None);
    let store = env.store();
    let mut rng = Rng(0x5eed_1a7e_u64);
    for case in 0..50 {
        let os = ["linux", "darwin", "windows"][rng.below(3) as usize];
        let dev_host = [host.as_str(), "h1", "h2"][rng.below(3) as usize];
        let flag = rng.below(2) == 1;
        let config = format!("[data.dev]\nos = \"{os}\"\nhost = \"{dev_host}\"\nflag = {flag}\n");
        write_chezmoi_config(&env, &config);
        let ignore = Template { rng: &mut rng, host: &host }.file();
        fs::write(store.join(".chezmoiignore"), &ignore).unwrap();

        let listed = stdout(&run_chezmoi(
            &env,
            &chezmoi,
            &["ignored", "--source", store.to_str().unwrap(), "--destination", env.home.to_str().unwrap()],
        ));
        let want: BTreeSet<&str> = listed.lines().collect();
        let v: serde_json::Value = serde_json::from_slice(&env.ok(&["status", "--json"]).stdout).unwrap();
        assert_eq!(v["warnings"], serde_json::json!([]), "case {case}:\n{ignore}\n{config}");
        let managed: BTreeSet<&str> =
            v["targets"].as_array().unwrap().iter().map(|t| t["path"].as_str().unwrap()).collect();
        let got: BTreeSet<&str> = names.iter().map(String::as_str).filter(|n| !managed.contains(n)).collect();
        assert_eq!(got, want, "case {case}:\n{ignore}\n{config}");
    }
}

/// Generates `.chezmoiignore` text from the evaluated subset.
struct Template<'a> {
    rng: &'a mut Rng,
    host: &'a str,
}

impl Template<'_> {
    fn pick<'s>(&mut self, options: &[&'s str]) -> &'s str {
        options[self.rng.below(options.len() as u64) as usize]
    }

    fn file(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(4) {
            self.item(&mut out, 0);
        }
        out
    }

    fn item(&mut self, out: &mut String, depth: usize) {
        if depth >= 2 || self.rng.below(3) == 0 {
            let pattern = self.pick(&[".t0", ".t1", ".t2", ".t3", ".t4", ".t5", "!.t1", "!.t3", ".t[0-2]", "*"]);
            out.push_str(pattern);
            out.push('\n');
            return;
        }
        let branches = 1 + self.rng.below(3);
        for i in 0..branches {
            let cond = self.cond(0);
            let open = if i == 0 { "if" } else { "else if" };
            out.push_str(&format!("{}{open} {cond}{}\n", self.open(), self.close()));
            self.item(out, depth + 1);
        }
        if self.rng.below(2) == 0 {
            out.push_str(&format!("{}else{}\n", self.open(), self.close()));
            self.item(out, depth + 1);
        }
        out.push_str(&format!("{}end{}\n", self.open(), self.close()));
    }

    fn open(&mut self) -> &'static str {
        self.pick(&["{{ ", "{{ ", "{{- "])
    }

    fn close(&mut self) -> &'static str {
        self.pick(&[" }}", " }}", " -}}"])
    }

    fn cond(&mut self, depth: usize) -> String {
        let choice = if depth >= 2 { self.rng.below(4) } else { self.rng.below(8) };
        match choice {
            0 => format!("eq .chezmoi.os {:?}", self.pick(&["linux", "darwin"])),
            1 => format!("ne .dev.os {:?}", self.pick(&["linux", "darwin", "windows"])),
            2 => {
                let host = self.host.to_owned();
                let value = self.pick(&[host.as_str(), "h1", "h2"]).to_owned();
                format!("eq {} {value:?}", self.pick(&[".chezmoi.hostname", ".dev.host"]))
            }
            3 => self.pick(&[".dev.flag", "eq .dev.os .chezmoi.os", "eq .dev.host \"h1\" \"h2\""]).to_owned(),
            4 => format!("not ({})", self.cond(depth + 1)),
            5 => format!("and ({}) ({})", self.cond(depth + 1), self.cond(depth + 1)),
            6 => format!("or ({}) ({})", self.cond(depth + 1), self.cond(depth + 1)),
            _ => format!("or ({}) ({}) ({})", self.cond(depth + 1), self.cond(depth + 1), self.cond(depth + 1)),
        }
    }
}
