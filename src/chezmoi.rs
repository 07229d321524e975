//! The `chezmoi` binary, for the store entries dotback delegates (templates, scripts, …).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `chezmoi` on PATH, if installed.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("chezmoi")).find(|p| p.is_file())
}

/// Runs `chezmoi apply` for exactly `targets` (relative to `home`), or, with none, for every
/// entry of the types `include` names (`chezmoi apply --include`). Returns chezmoi's stderr on
/// failure.
pub fn apply(bin: &Path, home: &Path, store: &Path, include: Option<&str>, targets: &[String]) -> Result<(), String> {
    assert!(include.is_some() || !targets.is_empty(), "never a whole-store apply");
    let out = Command::new(bin)
        .arg("apply")
        .arg("--no-tty")
        .arg("--source")
        .arg(store)
        .arg("--destination")
        .arg(home)
        .args(include.map(|types| format!("--include={types}")))
        .arg("--")
        .args(targets.iter().map(|t| home.join(t)))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

/// `chezmoi status` for `targets` (relative to `home`): each target chezmoi lists, with its
/// two letters (the first says how HOME differs from what chezmoi last wrote there, the second
/// how it differs from what the store makes of it).
pub fn status(bin: &Path, home: &Path, store: &Path, targets: &[String]) -> Result<Vec<(char, char, String)>, String> {
    let out = Command::new(bin)
        .arg("status")
        .arg("--no-tty")
        .arg("--source")
        .arg(store)
        .arg("--destination")
        .arg(home)
        .arg("--")
        .args(targets.iter().map(|t| home.join(t)))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut c = l.chars();
            let (first, second) = (c.next()?, c.next()?);
            let path = l.get(3..)?;
            Some((first, second, path.to_string()))
        })
        .collect())
}

/// The targets `chezmoi ignored` lists (relative to `home`): what chezmoi ignores on this
/// machine, its templates evaluated. A listed directory stands for everything below it.
/// Returns chezmoi's stderr on failure.
pub fn ignored(bin: &Path, home: &Path, store: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(bin)
        .arg("ignored")
        .arg("--no-tty")
        .arg("--source")
        .arg(store)
        .arg("--destination")
        .arg(home)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8(out.stdout).map_err(|_| "chezmoi listed a path that is not UTF-8".to_string())?;
    Ok(text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
}
