//! Conflict copies by name: `NAME.dotback-conflict-<device>-<YYYYmmdd-HHMMSS>[-n]`.
//!
//! sync writes the other side's version of a file it cannot merge beside the live one under
//! that name (the store keeps `.age` after it, so an encrypted copy stays an encrypted entry,
//! and its target has the same shape). Nothing else records which files are conflict copies:
//! the name is the record, so it is parsed strictly, from the right, and a device name may hold
//! dashes.

/// What comes between a file's name and the device in a conflict copy's name.
pub const TAG: &str = ".dotback-conflict-";

/// A conflict copy's file name, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyName<'a> {
    /// The name of the file it is a copy of.
    pub original: &'a str,
    /// The device whose version it holds.
    pub device: &'a str,
    /// `YYYYmmdd-HHMMSS`, with `-n` when several copies were made within a second.
    pub stamp: &'a str,
}

/// Parses one path component (a target's file name). `None` when it is not a conflict copy.
pub fn parse(name: &str) -> Option<CopyName<'_>> {
    let at = name.rfind(TAG)?;
    let (original, rest) = (&name[..at], &name[at + TAG.len()..]);
    if original.is_empty() {
        return None;
    }
    let digits = |s: &str, n: Option<usize>| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && n.is_none_or(|n| s.len() == n)
    };
    let parts: Vec<&str> = rest.rsplitn(4, '-').collect();
    // parts[0] is the last dash-separated field.
    let stamp_fields = if parts.len() >= 3 && digits(parts[1], Some(8)) && digits(parts[0], Some(6)) {
        2
    } else if parts.len() >= 4 && digits(parts[2], Some(8)) && digits(parts[1], Some(6)) && digits(parts[0], None) {
        3
    } else {
        return None;
    };
    let stamp_len: usize = parts[..stamp_fields].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
    let device = &rest[..rest.len() - stamp_len - 1];
    if device.is_empty() {
        return None;
    }
    Some(CopyName { original, device, stamp: &rest[rest.len() - stamp_len..] })
}

/// Whether a target path (`/`-separated) is a conflict copy.
pub fn is_copy(target: &str) -> bool {
    parse(target.rsplit('/').next().unwrap_or(target)).is_some()
}

/// What names a conflict copy when the device a commit names is not a valid device name.
pub const UNKNOWN_DEVICE: &str = "unknown-device";

/// The `Device:` line dotback writes into its commit messages. It comes from a commit, so from
/// anyone who can push: a name that is not a valid device name (`sub/dir`, `x/../..`) comes
/// back as [`UNKNOWN_DEVICE`] before it can name anything.
pub fn device_of(message: &str) -> Option<String> {
    let name = message.lines().find_map(|l| l.strip_prefix("Device: ")).map(str::trim).filter(|d| !d.is_empty())?;
    Some(safe_label(name))
}

pub(crate) fn safe_label(name: &str) -> String {
    match crate::crypt::recipients::validate_device_name(name) {
        Ok(()) => name.to_string(),
        Err(_) => UNKNOWN_DEVICE.to_string(),
    }
}

/// Whether text still holds conflict markers (a line starting `<<<<<<<`, `|||||||` or
/// `>>>>>>>` followed by a space or the end of the line). A lone `=======` is not counted:
/// ordinary files (reStructuredText headings) have those.
pub fn has_markers(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        ["<<<<<<<", "|||||||", ">>>>>>>"]
            .iter()
            .any(|m| l.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with(' ')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_names_parse_from_the_right() {
        let c = parse(".zshrc.dotback-conflict-laptop-20261122-101500").unwrap();
        assert_eq!(c, CopyName { original: ".zshrc", device: "laptop", stamp: "20261122-101500" });
        let c = parse("init.lua.dotback-conflict-work-pc-2-20261122-101500-3").unwrap();
        assert_eq!(c, CopyName { original: "init.lua", device: "work-pc-2", stamp: "20261122-101500-3" });
        for not in [
            ".zshrc",
            ".dotback-conflict-laptop-20261122-101500",
            "x.dotback-conflict-20261122-101500",
            "x.dotback-conflict-laptop-2026112-101500",
            "x.dotback-conflict-laptop-20261122-101500-",
            "x.dotback-conflict-laptop",
        ] {
            assert_eq!(parse(not), None, "{not}");
        }
        assert!(is_copy(".config/app/conf.dotback-conflict-d-20261122-101500"));
        assert!(!is_copy(".dotback-conflict-d-20261122-101500/conf"));
    }

    #[test]
    fn a_device_named_by_a_commit_is_a_safe_label() {
        for bad in ["sub/dir", "x/../..", "..", ".", "a\\b", "tab\there", &"d".repeat(65)] {
            assert_eq!(device_of(&format!("m\n\nDevice: {bad}\n")).as_deref(), Some(UNKNOWN_DEVICE), "{bad:?}");
        }
        assert_eq!(device_of("m\n\nDevice: work-pc 2\n").as_deref(), Some("work-pc 2"));
        assert_eq!(safe_label("origin/mirror"), UNKNOWN_DEVICE, "a remote's name is checked as well");
        assert_eq!(safe_label("usb"), "usb");
    }

    #[test]
    fn markers_are_found_only_at_line_starts() {
        assert!(has_markers("a\n<<<<<<< ours\nb\n=======\nc\n>>>>>>> theirs\n"));
        assert!(has_markers("a\r\n>>>>>>>\r\n"));
        assert!(!has_markers("Title\n=======\n\ntext <<<<<<< not a marker\n"));
        assert!(!has_markers("<<<<<<<<<< wider\n"));
    }
}
