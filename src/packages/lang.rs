//! Language toolchains' managers: cargo, rustup, pip (`--user`), pipx and npm (global).

use super::{Cmd, Entry, Failure, Host, Manager};
use serde_json::Value;
use std::collections::BTreeMap;

/// `cargo install --list`: each installed crate as `NAME vVERSION[ (SOURCE)]:`, its binaries
/// indented below.
pub(super) fn cargo_list(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with(char::is_whitespace) && l.ends_with(':'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// `.crates2.json`: the source of each installed crate, kept when it is not the registry
/// (`git+URL[?branch=…][#commit]` or `path+file:///…`), which `cargo install NAME` would not
/// find. A cargo home where nothing was installed yet may have it empty.
pub(super) fn crates2(json: &str) -> Result<BTreeMap<String, String>, String> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let installs = v.get("installs").and_then(Value::as_object).ok_or("no `installs` object")?;
    let mut out = BTreeMap::new();
    for key in installs.keys() {
        // "NAME VERSION (SOURCE)"
        let mut f = key.splitn(3, ' ');
        let (Some(name), Some(_), Some(source)) = (f.next(), f.next(), f.next()) else { continue };
        let source = source.trim_start_matches('(').trim_end_matches(')');
        if source.starts_with("git+") || source.starts_with("path+") {
            out.insert(name.to_string(), source.to_string());
        }
    }
    Ok(out)
}

pub(super) fn cargo_capture(host: &Host) -> Result<Vec<Entry>, Failure> {
    let names = cargo_list(&host.query("cargo", &["install", "--list"])?);
    let file = host.cargo_home.join(".crates2.json");
    let sources = match std::fs::read_to_string(&file) {
        Ok(text) => crates2(&text).map_err(|e| Failure { command: format!("reading {}", file.display()), error: e })?,
        Err(_) => BTreeMap::new(),
    };
    Ok(names
        .into_iter()
        .map(|n| match sources.get(&n) {
            Some(s) => Entry::with(n, s.clone()),
            None => Entry::new(n),
        })
        .collect())
}

/// `cargo install` of one crate, from its recorded source.
fn cargo_install(e: &Entry) -> Cmd {
    let n = e.name.as_str();
    match e.detail.as_deref() {
        Some(path) if path.starts_with("path+file://") => {
            Cmd::new("cargo", &["install", "--path", &path["path+file://".len()..]])
        }
        Some(git) if git.starts_with("git+") => {
            let url = git["git+".len()..].split('#').next().unwrap_or("");
            let (url, query) = url.split_once('?').unwrap_or((url, ""));
            let mut args = vec!["install", "--git", url];
            for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
                if let Some(flag) = ["branch", "tag", "rev"].into_iter().find(|f| *f == k) {
                    args.push(match flag {
                        "branch" => "--branch",
                        "tag" => "--tag",
                        _ => "--rev",
                    });
                    args.push(v);
                }
            }
            args.push(n);
            Cmd::new("cargo", &args)
        }
        _ => Cmd::new("cargo", &["install", n]),
    }
}

/// `rustup toolchain list`: one toolchain a line, the default one marked (`(default)`, or
/// `(active, default)` in newer rustup).
pub(super) fn rustup_toolchains(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.split_whitespace().next()).filter(|t| *t != "no").map(str::to_string).collect()
}

pub(super) fn rustup_capture(host: &Host) -> Result<Vec<Entry>, Failure> {
    let mut out = Vec::new();
    for tc in rustup_toolchains(&host.query("rustup", &["toolchain", "list"])?) {
        for c in super::system::names(&host.query("rustup", &["component", "list", "--installed", "--toolchain", &tc])?)
        {
            out.push(Entry::new(format!("component:{tc}:{}", c.name)));
        }
        for t in super::system::names(&host.query("rustup", &["target", "list", "--installed", "--toolchain", &tc])?) {
            out.push(Entry::new(format!("target:{tc}:{}", t.name)));
        }
        out.push(Entry::new(format!("toolchain:{tc}")));
    }
    Ok(out)
}

fn rustup_install(e: &Entry) -> Option<Cmd> {
    let mut f = e.name.splitn(3, ':');
    Some(match (f.next()?, f.next()?, f.next()) {
        ("toolchain", tc, None) => Cmd::new("rustup", &["toolchain", "install", tc]),
        ("component", tc, Some(c)) => Cmd::new("rustup", &["component", "add", "--toolchain", tc, c]),
        ("target", tc, Some(t)) => Cmd::new("rustup", &["target", "add", "--toolchain", tc, t]),
        _ => return None,
    })
}

/// `pip list --format=json`: `[{"name": …, "version": …}]`.
pub(super) fn pip(json: &str) -> Result<Vec<Entry>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let list = v.as_array().ok_or("not a JSON array")?;
    Ok(list.iter().filter_map(|p| p.get("name")?.as_str()).map(Entry::new).collect())
}

/// `pipx list --json`: `{"venvs": {VENV: {"metadata": {"main_package": {"package": …,
/// "package_or_url": …}}}}}`; the spec is kept when it is not the name (a URL or path).
pub(super) fn pipx(json: &str) -> Result<Vec<Entry>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let venvs = v.get("venvs").and_then(Value::as_object).ok_or("no `venvs` object")?;
    let mut out = Vec::new();
    for venv in venvs.values() {
        let main = &venv["metadata"]["main_package"];
        let Some(name) = main["package"].as_str() else { continue };
        out.push(match main["package_or_url"].as_str() {
            Some(spec) if spec != name => Entry::with(name, spec),
            _ => Entry::new(name),
        });
    }
    Ok(out)
}

/// `npm ls -g --depth=0 --json`: `{"dependencies": {NAME: {"version": …}}}`. npm itself and
/// corepack come with node. A prefix with nothing installed yet is `{"error": {"code":
/// "ENOENT"}}`; a tree npm finds problems in (an extraneous package) exits 1 but lists it.
pub(super) fn npm(json: &str) -> Result<Vec<Entry>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if let Some(e) = v.get("error") {
        return match e["code"].as_str() {
            Some("ENOENT") => Ok(Vec::new()),
            _ => Err(e["summary"].as_str().unwrap_or("npm reported an error").to_string()),
        };
    }
    let Some(deps) = v.get("dependencies") else { return Ok(Vec::new()) };
    let deps = deps.as_object().ok_or("`dependencies` is not an object")?;
    Ok(deps.keys().filter(|n| !matches!(n.as_str(), "npm" | "corepack")).map(Entry::new).collect())
}

pub(super) fn npm_capture(host: &Host) -> Result<Vec<Entry>, Failure> {
    let cmd = Cmd::new("npm", &["ls", "-g", "--depth=0", "--json"]);
    let out = host.output(&cmd)?;
    npm(&String::from_utf8_lossy(&out.stdout)).map_err(|e| Failure {
        command: cmd.shown(),
        error: if out.status.success() {
            format!("its output could not be read: {e}")
        } else {
            super::failed_with(&out)
        },
    })
}

/// The command installing one entry, for the managers of this file.
pub(super) fn install(m: Manager, e: &Entry) -> Option<Cmd> {
    let n = e.name.as_str();
    Some(match m {
        Manager::Cargo => cargo_install(e),
        Manager::Rustup => return rustup_install(e),
        Manager::Pip => Cmd::new("python3", &["-m", "pip", "install", "--user", n]),
        Manager::Pipx => Cmd::new("pipx", &["install", e.detail.as_deref().unwrap_or(n)]),
        Manager::Npm => Cmd::new("npm", &["install", "-g", n]),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_install_list_and_crates2() {
        // Recorded: `cargo install --list` and `.crates2.json` (cargo 1.95) after installing a
        // crate by path, with a registry and a git crate in the format cargo writes for them.
        let list = "cargo-edit v0.12.2:\n    cargo-add\n    cargo-rm\ndotback-cargo-demo v0.1.0 (/tmp/pks/crate):\n    dotback-cargo-demo\njj-cli v0.20.0 (https://github.com/martinvonz/jj?branch=main#a1b2c3d4):\n    jj\n";
        assert_eq!(cargo_list(list), ["cargo-edit", "dotback-cargo-demo", "jj-cli"]);
        let json = r#"{"installs":{"cargo-edit 0.12.2 (registry+https://github.com/rust-lang/crates.io-index)":{"version_req":null,"bins":["cargo-add","cargo-rm"]},"dotback-cargo-demo 0.1.0 (path+file:///tmp/pks/crate)":{"version_req":null,"bins":["dotback-cargo-demo"],"features":[],"all_features":false,"no_default_features":false,"profile":"release","target":"x86_64-unknown-linux-gnu"},"jj-cli 0.20.0 (git+https://github.com/martinvonz/jj?branch=main#a1b2c3d4)":{"bins":["jj"]}}}"#;
        let sources = crates2(json).unwrap();
        assert_eq!(sources.len(), 2, "registry crates need no source");
        assert_eq!(sources["dotback-cargo-demo"], "path+file:///tmp/pks/crate");
        let shown = |n: &str| cargo_install(&Entry { name: n.into(), detail: sources.get(n).cloned() }).shown();
        assert_eq!(shown("cargo-edit"), "cargo install cargo-edit");
        assert_eq!(shown("dotback-cargo-demo"), "cargo install --path /tmp/pks/crate");
        assert_eq!(shown("jj-cli"), "cargo install --git https://github.com/martinvonz/jj --branch main jj-cli");
        assert!(crates2("[]").is_err());
        assert!(crates2("").unwrap().is_empty(), "as `cargo install --list` leaves it in a new cargo home");
    }

    #[test]
    fn rustup_lists() {
        // Recorded: `rustup toolchain list` (rustup 1.28) on this project's test machine, and
        // the older marker.
        let out = "stable-x86_64-unknown-linux-gnu (active, default)\nnightly-x86_64-unknown-linux-gnu\n1.95.0-x86_64-unknown-linux-gnu\n";
        assert_eq!(
            rustup_toolchains(out),
            ["stable-x86_64-unknown-linux-gnu", "nightly-x86_64-unknown-linux-gnu", "1.95.0-x86_64-unknown-linux-gnu"]
        );
        assert_eq!(rustup_toolchains("stable-aarch64-apple-darwin (default)\n"), ["stable-aarch64-apple-darwin"]);
        assert!(rustup_toolchains("no installed toolchains\n").is_empty());
        let shown = |n: &str| rustup_install(&Entry::new(n)).map(|c| c.shown());
        assert_eq!(shown("toolchain:stable").as_deref(), Some("rustup toolchain install stable"));
        assert_eq!(
            shown("component:stable-x86_64-unknown-linux-gnu:rust-src").as_deref(),
            Some("rustup component add --toolchain stable-x86_64-unknown-linux-gnu rust-src")
        );
        assert_eq!(
            shown("target:stable:wasm32-unknown-unknown").as_deref(),
            Some("rustup target add --toolchain stable wasm32-unknown-unknown")
        );
        assert_eq!(shown("something:else"), None);
    }

    #[test]
    fn pip_list_json() {
        // Recorded: `python3 -m pip list --user --not-required --format=json` (pip 23.0.1) after
        // installing a wheel the e2e test builds.
        assert_eq!(pip(r#"[{"name": "dotback-demo", "version": "0.1.0"}]"#).unwrap(), [Entry::new("dotback-demo")]);
        assert!(pip("[]").unwrap().is_empty());
        assert!(pip("{}").is_err());
        assert_eq!(Manager::Pip.key("Dotback_Demo"), Manager::Pip.key("dotback-demo"));
    }

    #[test]
    fn pipx_list_json() {
        // Recorded format: `pipx list --json` (pipx_spec_version 0.1), as in pyinfra's and
        // yog's tests of it: app paths trimmed.
        let json = r#"{"pipx_spec_version": "0.1", "venvs": {
  "black": {"metadata": {"injected_packages": {}, "main_package": {"app_paths": [{"__Path__": "/home/josh/.local/pipx/venvs/black/bin/black", "__type__": "Path"}], "package": "black", "package_or_url": "black", "package_version": "24.2.0", "pip_args": []}, "pipx_metadata_version": "0.2", "python_version": "Python 3.11.2"}},
  "yog": {"metadata": {"injected_packages": {}, "main_package": {"package": "yog", "package_or_url": "git+https://github.com/jtveron/yog", "package_version": "1.0"}}}
}}"#;
        assert_eq!(
            pipx(json).unwrap(),
            [Entry::new("black"), Entry::with("yog", "git+https://github.com/jtveron/yog")]
        );
        assert!(pipx(r#"{"pipx_spec_version": "0.1", "venvs": {}}"#).unwrap().is_empty());
        assert_eq!(
            install(Manager::Pipx, &Entry::with("yog", "git+https://github.com/jtveron/yog")).unwrap().shown(),
            "pipx install git+https://github.com/jtveron/yog"
        );
    }

    #[test]
    fn npm_ls_json() {
        // Recorded: `npm ls -g --depth=0 --json` (npm 11.19) into a temporary prefix after
        // installing a packed tarball, and with node's own npm and corepack.
        let json = r#"{"name": "lib", "dependencies": {"dotback-npm-demo": {"version": "1.0.0", "overridden": false}, "npm": {"version": "11.19.1"}, "corepack": {"version": "0.34.0"}}}"#;
        assert_eq!(npm(json).unwrap(), [Entry::new("dotback-npm-demo")]);
        assert!(npm(r#"{"name": "lib"}"#).unwrap().is_empty(), "an empty prefix has no dependencies key");
        assert!(npm("nope").is_err());
        // Recorded: the same with a prefix that has no `lib` yet (npm 11.19 exits 254).
        let empty = r#"{"error": {"code": "ENOENT", "summary": "ENOENT: no such file or directory, lstat '/tmp/pks/empty/lib'", "detail": "This is related to npm not being able to find a file."}}"#;
        assert!(npm(empty).unwrap().is_empty());
        assert!(
            npm(r#"{"error": {"code": "EACCES", "summary": "permission denied"}}"#).unwrap_err().contains("permission")
        );
    }
}
