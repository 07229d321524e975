//! The system's managers (apt, dnf, pacman, Homebrew) and the app stores (flatpak, snap): what
//! their listing commands print, and how each installs one package.

use super::{BadList, Cmd, Entry, Failure, Host, Manager, check_name, check_registry_name};
use std::collections::BTreeSet;

/// One name a line (`apt-mark showmanual`, `dnf repoquery --qf=%{name}\n`, `pacman -Qq…`,
/// `code --list-extensions`).
pub(super) fn names(out: &str) -> Vec<Entry> {
    out.lines().map(str::trim).filter(|l| !l.is_empty()).map(Entry::new).collect()
}

/// `dpkg-query -W` with this format: name, architecture, status.
pub(super) const DPKG_FORMAT: &str = "-f=${Package}\t${Architecture}\t${db:Status-Status}\n";

/// The packages dpkg has installed, each by its name and by `name:arch` (how `apt-mark
/// showmanual` names a package of another architecture).
pub(super) fn dpkg_installed(out: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for line in out.lines() {
        let mut f = line.split('\t');
        let (Some(name), Some(arch), Some("installed")) = (f.next(), f.next(), f.next()) else { continue };
        set.insert(name.to_string());
        set.insert(format!("{name}:{arch}"));
    }
    set
}

/// `flatpak list --app --columns=application,origin`: tab-separated, with a title line only on
/// a terminal.
pub(super) fn flatpak(out: &str) -> Vec<Entry> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t').map(str::trim);
            let (app, origin) = (f.next()?, f.next().unwrap_or(""));
            if app.is_empty() || app == "Application ID" {
                return None;
            }
            Some(if origin.is_empty() { Entry::new(app) } else { Entry::with(app, origin) })
        })
        .collect()
}

/// `snap list`: a title line, then name, version, revision, tracking, publisher, notes. Bases,
/// cores and snapd itself come with snap; a classic snap installs with `--classic`.
pub(super) fn snap(out: &str) -> Vec<Entry> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (name, notes) = (*f.first()?, f.get(5).copied().unwrap_or("-"));
            let notes: Vec<&str> = notes.split(',').collect();
            if notes.iter().any(|n| matches!(*n, "base" | "core" | "snapd" | "gadget" | "kernel")) {
                return None;
            }
            Some(if notes.contains(&"classic") { Entry::with(name, "classic") } else { Entry::new(name) })
        })
        .collect()
}

/// A Brewfile's taps, formulae and casks, as `tap:NAME`, `NAME` and `cask:NAME`. The Brewfile
/// is Ruby, and from the store: it is read, never evaluated; each line must start with the kind
/// and the quoted name, and anything after the name is ignored. Other kinds (`mas`, `vscode`…)
/// are left to their own lists.
pub(super) fn brewfile(text: &str) -> Result<Vec<Entry>, BadList> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some((kind, rest)) = line.split_once(char::is_whitespace) else { continue };
        let prefix = match kind {
            "tap" => "tap:",
            "brew" => "",
            "cask" => "cask:",
            _ => continue,
        };
        let bad = |reason: String| BadList { line: i + 1, reason };
        let name = rest
            .trim_start()
            .strip_prefix('"')
            .and_then(|r| r.split_once('"'))
            .map(|(n, _)| n)
            .ok_or_else(|| bad(format!("`{kind}` is not followed by a quoted name")))?;
        let entry = format!("{prefix}{name}");
        check_name(name).and_then(|()| check_registry_name(Manager::Brew, &entry, None)).map_err(bad)?;
        out.push(Entry::new(entry));
    }
    Ok(out)
}

/// Formulae, casks and taps installed now.
pub(super) fn brew_present(host: &Host) -> Result<BTreeSet<String>, Failure> {
    let mut set: BTreeSet<String> =
        names(&host.query("brew", &["list", "--formula", "-1"])?).into_iter().map(|e| e.name).collect();
    set.extend(names(&host.query("brew", &["list", "--cask", "-1"])?).into_iter().map(|e| format!("cask:{}", e.name)));
    set.extend(names(&host.query("brew", &["tap"])?).into_iter().map(|e| format!("tap:{}", e.name)));
    Ok(set)
}

/// The command installing one entry, for the managers of this file.
pub(super) fn install(m: Manager, host: &Host, e: &Entry) -> Option<Cmd> {
    let n = e.name.as_str();
    Some(match m {
        Manager::Apt => Cmd::new("apt-get", &["install", "-y", "-q", n]).sudo(host),
        Manager::Dnf => Cmd::new("dnf", &["install", "-y", n]).sudo(host),
        Manager::Pacman => Cmd::new("pacman", &["-S", "--needed", "--noconfirm", n]).sudo(host),
        Manager::Brew => match n.split_once(':') {
            Some(("tap", t)) => Cmd::new("brew", &["tap", t]),
            Some(("cask", c)) => Cmd::new("brew", &["install", "--cask", c]),
            _ => Cmd::new("brew", &["install", n]),
        },
        Manager::Flatpak => match &e.detail {
            Some(origin) => Cmd::new("flatpak", &["install", "-y", "--noninteractive", origin, n]),
            None => Cmd::new("flatpak", &["install", "-y", "--noninteractive", n]),
        },
        Manager::Snap if e.detail.as_deref() == Some("classic") => {
            Cmd::new("snap", &["install", "--classic", n]).sudo(host)
        }
        Manager::Snap => Cmd::new("snap", &["install", n]).sudo(host),
        _ => return None,
    })
}

/// The command installing a manager with the system's own (`None` when no system manager is
/// here, or it has no package for it).
pub(super) fn install_manager(system: Manager, host: &Host, wanted: Manager) -> Option<Cmd> {
    let package = match (system, wanted) {
        (_, Manager::Rustup | Manager::Pipx | Manager::Flatpak) => wanted.name(),
        (Manager::Brew, Manager::Npm) => "node",
        (_, Manager::Npm) => "npm",
        (Manager::Apt | Manager::Dnf, Manager::Pip) => "python3-pip",
        (Manager::Pacman, Manager::Pip) => "python-pip",
        (Manager::Apt | Manager::Dnf | Manager::Pacman, Manager::Snap) => "snapd",
        _ => return None,
    };
    install(system, host, &Entry::new(package))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_mark_showmanual() {
        // Recorded: `apt-mark showmanual` on this project's Debian 12 test machine (its head),
        // and a package of a foreign architecture as apt-mark names it.
        let out = "age\napt-transport-https\nbc\nbuild-essential\nca-certificates\ncoreutils\nlibc6:i386\n";
        let e = names(out);
        assert_eq!(e.len(), 7);
        assert_eq!(e[0], Entry::new("age"));
        assert_eq!(e[6], Entry::new("libc6:i386"));
    }

    #[test]
    fn dpkg_query_installed() {
        // Recorded: `dpkg-query -W` with DPKG_FORMAT on the same machine; a removed package
        // whose configuration stays reports `config-files`.
        let out =
            "adduser\tall\tinstalled\nage\tamd64\tinstalled\nold-tool\tamd64\tconfig-files\nlibc6\ti386\tinstalled\n";
        let set = dpkg_installed(out);
        for n in ["adduser", "age", "age:amd64", "libc6:i386"] {
            assert!(set.contains(n), "{n}");
        }
        assert!(!set.contains("old-tool"));
    }

    #[test]
    fn flatpak_list() {
        // Recorded format: `flatpak list --app --columns=application,origin` (tab-separated; the
        // title line is printed on a terminal only).
        let out =
            "Application ID\tOrigin\norg.mozilla.firefox\tflathub\norg.gnome.Builder\tgnome-nightly\nlocal.App\t\n";
        assert_eq!(
            flatpak(out),
            vec![
                Entry::with("org.mozilla.firefox", "flathub"),
                Entry::with("org.gnome.Builder", "gnome-nightly"),
                Entry::new("local.App")
            ]
        );
    }

    #[test]
    fn snap_list() {
        // Recorded: the `snap list` example of snapcraft.io/docs/revisions, with the base, core
        // and snapd rows every snap system has (notes `base`, `core`, `snapd`).
        let out = "Name         Version  Rev    Tracking       Publisher             Notes
alacritty    0.8.0    46     latest/stable  snapcrafters✪         classic
blender      3.5.0    3486   latest/stable  blenderfoundation✓    classic
chromium     112.0    2424   latest/stable  canonical✓            -
core22       20230531 750    latest/stable  canonical✓            base
core         16-2.59  15511  latest/stable  canonical✓            core
snapd        2.59.4   19361  latest/stable  canonical✓            snapd
ffmpeg       4.3.1    1286   latest/stable  snapcrafters✪         disabled,classic
";
        assert_eq!(
            snap(out),
            vec![
                Entry::with("alacritty", "classic"),
                Entry::with("blender", "classic"),
                Entry::new("chromium"),
                Entry::with("ffmpeg", "classic"),
            ]
        );
    }

    #[test]
    fn brewfiles_are_read_never_run() {
        // Recorded format: what `brew bundle dump` writes (Homebrew/homebrew-bundle's README).
        let text = r#"tap "homebrew/bundle"
tap "homebrew/cask"
brew "git"
brew "mysql@5.6", restart_service: true, link: true, conflicts_with: ["mysql"]
brew "denji/nginx/nginx-full", args: ["with-rmtp-module"]
cask "firefox", args: { appdir: "~/my-apps/Applications" }
mas "Xcode", id: 497799835
vscode "GitHub.codespaces"
"#;
        let names: Vec<String> = brewfile(text).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            ["tap:homebrew/bundle", "tap:homebrew/cask", "git", "mysql@5.6", "denji/nginx/nginx-full", "cask:firefox"]
        );
        // Ruby in the file stays text: only the quoted name is taken, and it is checked.
        assert_eq!(brewfile("brew \"git\"; system(\"rm -rf ~\")\n").unwrap(), vec![Entry::new("git")]);
        assert_eq!(brewfile("brew \"--force\"\n").unwrap_err().line, 1);
        assert_eq!(brewfile("tap\nbrew `id`\n").unwrap_err().line, 2);
        assert_eq!(Manager::Brew.key("denji/nginx/nginx-full"), "nginx-full");
    }

    #[test]
    fn install_commands_are_argv() {
        let host = Host { home: "/h".into(), path: Vec::new(), cargo_home: "/h/.cargo".into(), root: false };
        let shown = |m, e: &Entry| install(m, &host, e).unwrap().shown();
        assert_eq!(shown(Manager::Apt, &Entry::new("ripgrep")), "sudo apt-get install -y -q ripgrep");
        assert_eq!(shown(Manager::Brew, &Entry::new("cask:firefox")), "brew install --cask firefox");
        assert_eq!(shown(Manager::Brew, &Entry::new("tap:homebrew/cask")), "brew tap homebrew/cask");
        assert_eq!(shown(Manager::Snap, &Entry::with("code", "classic")), "sudo snap install --classic code");
        assert_eq!(
            shown(Manager::Flatpak, &Entry::with("org.mozilla.firefox", "flathub")),
            "flatpak install -y --noninteractive flathub org.mozilla.firefox"
        );
        let root = Host { root: true, ..host };
        assert_eq!(install(Manager::Dnf, &root, &Entry::new("git")).unwrap().shown(), "dnf install -y git");
        assert_eq!(
            install_manager(Manager::Apt, &root, Manager::Pip).unwrap().shown(),
            "apt-get install -y -q python3-pip"
        );
        assert_eq!(install_manager(Manager::Brew, &root, Manager::Npm).unwrap().shown(), "brew install node");
        assert!(install_manager(Manager::Apt, &root, Manager::Code).is_none());
    }
}
