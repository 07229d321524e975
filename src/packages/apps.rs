//! Browser extensions, read from the browsers' profiles. Browsers allow no silent install, so a
//! restore lists them with their store links.

use super::{Entry, Failure, Manager};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where each browser keeps its profiles, below HOME (Linux, its snap and flatpak, macOS).
fn roots(m: Manager) -> &'static [&'static str] {
    match m {
        Manager::Firefox => &[
            ".mozilla/firefox",
            "snap/firefox/common/.mozilla/firefox",
            ".var/app/org.mozilla.firefox/.mozilla/firefox",
            "Library/Application Support/Firefox/Profiles",
        ],
        Manager::Chrome => &[".config/google-chrome", "Library/Application Support/Google/Chrome"],
        Manager::Chromium => {
            &[".config/chromium", "snap/chromium/common/chromium", "Library/Application Support/Chromium"]
        }
        _ => &[],
    }
}

/// The files holding each profile's extensions: Firefox's `extensions.json`, Chromium's
/// `Preferences` and `Secure Preferences`.
pub(super) fn profiles(m: Manager, home: &Path) -> Vec<PathBuf> {
    let names: &[&str] =
        if m == Manager::Firefox { &["extensions.json"] } else { &["Preferences", "Secure Preferences"] };
    let mut out = Vec::new();
    for root in roots(m) {
        let Ok(dirs) = std::fs::read_dir(home.join(root)) else { continue };
        let mut dirs: Vec<PathBuf> = dirs.filter_map(|d| Some(d.ok()?.path())).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for d in dirs {
            out.extend(names.iter().map(|n| d.join(n)).filter(|f| f.is_file()));
        }
    }
    out
}

pub(super) fn capture(m: Manager, home: &Path) -> Result<Vec<Entry>, Failure> {
    let mut out = Vec::new();
    for file in profiles(m, home) {
        let fail = |error: String| Failure { command: format!("reading {}", file.display()), error };
        let text = std::fs::read_to_string(&file).map_err(|e| fail(e.to_string()))?;
        out.extend(if m == Manager::Firefox { firefox(&text) } else { chromium(&text) }.map_err(fail)?);
    }
    Ok(out)
}

/// Firefox's `extensions.json`: `{"addons": [{"id", "type", "location", "defaultLocale":
/// {"name"}}]}`. Only extensions the user installed (location `app-profile`), not the system,
/// built-in or temporary ones.
pub(super) fn firefox(json: &str) -> Result<Vec<Entry>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let addons = v.get("addons").and_then(Value::as_array).ok_or("no `addons` array")?;
    Ok(addons
        .iter()
        .filter(|a| a["type"] == "extension" && a["location"] == "app-profile")
        .filter_map(|a| {
            let id = a["id"].as_str()?;
            Some(match a["defaultLocale"]["name"].as_str() {
                Some(name) => Entry::with(id, name),
                None => Entry::new(id),
            })
        })
        .collect())
}

/// Chromium's (and Chrome's) profile preferences: `{"extensions": {"settings": {ID:
/// {"from_webstore": true, "manifest": {"name"}}}}}`. Only those from the web store (not the
/// component or policy ones); a name the manifest localises (`__MSG_…__`) is left out.
pub(super) fn chromium(json: &str) -> Result<Vec<Entry>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let Some(settings) = v["extensions"]["settings"].as_object() else { return Ok(Vec::new()) };
    Ok(settings
        .iter()
        .filter(|(_, s)| s["from_webstore"] == true)
        .map(|(id, s)| match s["manifest"]["name"].as_str() {
            Some(name) if !name.starts_with("__MSG_") => Entry::with(id, name),
            _ => Entry::new(id),
        })
        .collect())
}

/// Where the user installs an extension by hand.
pub(super) fn link(m: Manager, e: &Entry) -> Option<String> {
    match m {
        Manager::Firefox => Some(format!("https://addons.mozilla.org/firefox/addon/{}/", e.name)),
        Manager::Chrome | Manager::Chromium => Some(format!("https://chromewebstore.google.com/detail/{}", e.name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firefox_extensions_json() {
        // Recorded: entries of a real profile's extensions.json (Thinstation's Firefox profile
        // template, trimmed to the fields dotback reads), with a user-installed one added in the
        // same shape.
        let json = r#"{"schemaVersion": 33, "addons": [
  {"id": "formautofill@mozilla.org", "version": "1.0", "type": "extension", "defaultLocale": {"name": "Form Autofill"}, "visible": true, "active": true, "location": "app-system-defaults"},
  {"id": "uBlock0@raymondhill.net", "version": "1.57.2", "type": "extension", "defaultLocale": {"name": "uBlock Origin", "creator": "Raymond Hill"}, "visible": true, "active": true, "location": "app-profile"},
  {"id": "default-theme@mozilla.org", "type": "theme", "defaultLocale": {"name": "System theme — auto"}, "location": "app-builtin"},
  {"id": "fr@dictionaries.addons.mozilla.org", "type": "dictionary", "location": "app-profile"},
  {"id": "screenshots@mozilla.org", "type": "extension", "location": "app-system-addons"},
  {"id": "debug@example.org", "type": "extension", "location": "app-temporary"}
]}"#;
        let e = firefox(json).unwrap();
        assert_eq!(e, [Entry::with("uBlock0@raymondhill.net", "uBlock Origin")]);
        assert_eq!(
            link(Manager::Firefox, &e[0]).unwrap(),
            "https://addons.mozilla.org/firefox/addon/uBlock0@raymondhill.net/"
        );
        assert!(firefox("{}").is_err());
    }

    #[test]
    fn chromium_preferences() {
        // Recorded shape: `extensions.settings` of a Chromium profile's Preferences (keys from
        // chromium's extension_prefs.cc: from_webstore, location, manifest), trimmed.
        let json = r#"{"extensions": {"settings": {
  "cjpalhdlnbpafiamejdnhcphjbkeiagm": {"from_webstore": true, "location": 1, "manifest": {"name": "uBlock Origin", "version": "1.57.2"}},
  "nmmhkkegccagdldgiimedpiccmgmieda": {"from_webstore": false, "location": 10, "manifest": {"name": "Chrome Web Store Payments"}},
  "mhjfbmdgcfjbbpaeojofohoefgiehjai": {"location": 5, "manifest": {"name": "Chrome PDF Viewer"}},
  "aapbdbdomjkkjkaonfhkkikfgjllcleb": {"from_webstore": true, "location": 1, "manifest": {"name": "__MSG_appName__"}}
}}}"#;
        let mut e = chromium(json).unwrap();
        e.sort();
        assert_eq!(
            e,
            [
                Entry::new("aapbdbdomjkkjkaonfhkkikfgjllcleb"),
                Entry::with("cjpalhdlnbpafiamejdnhcphjbkeiagm", "uBlock Origin")
            ]
        );
        assert_eq!(
            link(Manager::Chrome, &e[1]).unwrap(),
            "https://chromewebstore.google.com/detail/cjpalhdlnbpafiamejdnhcphjbkeiagm"
        );
        assert!(chromium(r#"{"profile": {}}"#).unwrap().is_empty(), "a profile with no extensions");
    }
}
