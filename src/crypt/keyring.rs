//! The device's age identity in the OS keyring (DESIGN.md §3).
//!
//! The identity (`AGE-SECRET-KEY-1…`) is kept under service [`SERVICE`], user
//! `identity:<device>`, so background runs (the watcher, timers) never prompt:
//! the Secret Service on Linux and other Unix systems (pure-Rust D-Bus client, the
//! item goes into the default — "login" — collection), the Keychain on macOS, the
//! Credential Manager on Windows. All of it comes from the `keyring` crate's `v1`
//! feature, which picks and initialises the platform's store on first use.
//!
//! A machine without a usable keyring (no D-Bus session, no Secret Service
//! provider, a locked keyring that cannot prompt) gives
//! [`KeyringError::Unavailable`], whose message says how to move the identity to
//! the identity file (or make a new one with the recovery key). Secrets never appear in an error message, `Debug` output or a
//! log line: every error from the keyring crate is turned into a message built
//! here, and the byte buffers some of its errors carry are zeroed and dropped.
//!
//! Note for long-running processes: the keyring crate connects to the store once
//! per process and keeps that connection; if the first attempt fails, every later
//! call in the same process reports the keyring as unavailable.

use ::keyring::Error as KrError;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroize;

/// The keyring service name every dotback item is stored under.
pub const SERVICE: &str = "dotback";

/// What to do when there is no usable keyring for `user`'s identity; part of every
/// [`KeyringError::Unavailable`] message. Setting `identity = "file"` alone would leave the
/// device with no identity at all (the key is in the keyring, not in the file), so the hint
/// says how to move the key first, and what to do when it cannot be read any more.
pub fn fallback_hint(user: &str) -> String {
    format!(
        "to keep the identity in a file instead, copy it there with the keyring unlocked ({COPY_OUT}), \
         then set `identity = \"file\"` in the device config ($XDG_CONFIG_HOME/dotback/config.toml); \
         if the keyring is gone for good, set `identity = \"file\"` and run `dotback keys unlock --recovery` \
         to give this device a new identity",
        COPY_OUT = copy_out(user)
    )
}

/// The command that copies `user`'s item out of the platform's keyring into the identity file.
fn copy_out(user: &str) -> String {
    let file = "$XDG_CONFIG_HOME/dotback/identity.txt";
    if cfg!(target_os = "macos") {
        format!("`umask 077; security find-generic-password -s {SERVICE} -a {user} -w > {file}`")
    } else if cfg!(windows) {
        format!("the Credential Manager shows it as {SERVICE} / {user}; save it to {file}")
    } else {
        format!("`umask 077; secret-tool lookup service {SERVICE} username {user} > {file}`")
    }
}

/// Errors from the OS keyring. The messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// No usable keyring: no D-Bus session bus, no Secret Service provider, or the
    /// keyring is locked and cannot be unlocked without a prompt.
    #[error("no usable OS keyring: {detail}; {}", fallback_hint(user))]
    Unavailable { detail: String, user: String },
    /// The keyring is there but the operation failed.
    #[error("OS keyring error: {detail}")]
    Failed { detail: String },
}

/// The keyring user name for `device`'s identity: `identity:<device>`.
pub fn identity_user(device: &str) -> String {
    format!("identity:{device}")
}

/// Stores `secret` as `device`'s identity, replacing any identity already stored for it.
pub fn store_identity(device: &str, secret: &SecretString) -> Result<(), KeyringError> {
    let user = user_for(device)?;
    if secret.expose_secret().trim().is_empty() {
        return Err(KeyringError::Failed { detail: format!("refusing to store an empty identity for {user}") });
    }
    let entry = open(&user)?;
    match entry.set_password(secret.expose_secret()) {
        Ok(()) => Ok(()),
        // Several items match (made by hand or by another tool): replace them all by one.
        Err(KrError::Ambiguous(duplicates)) => {
            for duplicate in duplicates {
                match duplicate.delete_credential() {
                    Ok(()) | Err(KrError::NoEntry) => {}
                    Err(e) => return Err(classify(e, "remove a duplicate of", &user)),
                }
            }
            entry.set_password(secret.expose_secret()).map_err(|e| classify(e, "store", &user))
        }
        Err(e) => Err(classify(e, "store", &user)),
    }
}

/// Reads `device`'s identity; `Ok(None)` when the keyring holds none.
///
/// Whitespace around the stored value (a trailing newline from `secret-tool store`)
/// is removed.
pub fn load_identity(device: &str) -> Result<Option<SecretString>, KeyringError> {
    let user = user_for(device)?;
    let entry = open(&user)?;
    let bytes = match entry.get_secret() {
        Ok(bytes) => bytes,
        Err(KrError::NoEntry) => return Ok(None),
        Err(e) => return Err(classify(e, "read", &user)),
    };
    let mut text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            e.into_bytes().zeroize();
            return Err(KeyringError::Failed { detail: format!("the keyring item for {user} is not UTF-8 text") });
        }
    };
    // An exact-size copy, then the original buffer (whole capacity) is zeroed.
    let trimmed: Box<str> = Box::from(text.trim());
    text.zeroize();
    if trimmed.is_empty() {
        return Err(KeyringError::Failed { detail: format!("the keyring item for {user} is empty") });
    }
    Ok(Some(SecretString::from(trimmed)))
}

/// Deletes `device`'s identity; `Ok(false)` when there was none.
pub fn delete_identity(device: &str) -> Result<bool, KeyringError> {
    let user = user_for(device)?;
    let entry = open(&user)?;
    match entry.delete_credential() {
        Ok(()) => Ok(true),
        Err(KrError::NoEntry) => Ok(false),
        Err(KrError::Ambiguous(duplicates)) => {
            for duplicate in duplicates {
                match duplicate.delete_credential() {
                    Ok(()) | Err(KrError::NoEntry) => {}
                    Err(e) => return Err(classify(e, "delete", &user)),
                }
            }
            Ok(true)
        }
        Err(e) => Err(classify(e, "delete", &user)),
    }
}

fn user_for(device: &str) -> Result<String, KeyringError> {
    if device.is_empty() || device.chars().any(char::is_control) {
        return Err(KeyringError::Failed { detail: format!("invalid device name {device:?} for a keyring item") });
    }
    Ok(identity_user(device))
}

/// The keyring entry for `user`; initialises the platform store on first use.
fn open(user: &str) -> Result<::keyring::Entry, KeyringError> {
    match ::keyring::Entry::new(SERVICE, user) {
        Ok(entry) => Ok(entry),
        Err(KrError::NoDefaultStore) => {
            let cause = match ::keyring::Entry::store_status() {
                Err(e) => describe(e),
                Ok(()) => "the credential store is not initialised".to_string(),
            };
            Err(KeyringError::Unavailable {
                detail: format!("cannot connect to the {}{}: {cause}", store_name(), CONNECT_HINT),
                user: user.to_string(),
            })
        }
        Err(e) => Err(classify(e, "open", user)),
    }
}

/// What the platform's keyring is called, for messages.
fn store_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "Secret Service"
    }
}

/// What a failed connection usually means on this platform.
const CONNECT_HINT: &str = if cfg!(any(target_os = "macos", windows)) {
    ""
} else {
    " (is there a D-Bus session bus, and a keyring daemon such as gnome-keyring on it?)"
};

/// Another cause of "no storage access" on this platform.
const LOCKED_HINT: &str = if cfg!(any(target_os = "macos", windows)) { "" } else { ", it has no default collection" };

/// Turns a keyring crate error into ours, without ever formatting secret data.
fn classify(err: KrError, action: &str, user: &str) -> KeyringError {
    let what = format!("{action} {user} in the {}", store_name());
    match err {
        KrError::NoStorageAccess(_) | KrError::NoDefaultStore => KeyringError::Unavailable {
            detail: format!(
                "cannot {what}: the keyring is locked and cannot prompt here{LOCKED_HINT}, \
                 or it refused access ({})",
                describe(&err)
            ),
            user: user.to_string(),
        },
        KrError::Ambiguous(ref items) => KeyringError::Failed {
            detail: format!(
                "cannot {what}: {} items match service {SERVICE:?} user {user:?}; storing \
                 the identity again replaces them by one, or remove the extra ones with the \
                 keyring's own tool",
                items.len()
            ),
        },
        KrError::BadEncoding(mut bytes) => {
            bytes.zeroize();
            KeyringError::Failed { detail: format!("cannot {what}: the stored value is not UTF-8 text") }
        }
        KrError::BadDataFormat(mut bytes, _) => {
            bytes.zeroize();
            KeyringError::Failed { detail: format!("cannot {what}: the stored value is malformed") }
        }
        other => KeyringError::Failed { detail: format!("cannot {what}: {}", describe(&other)) },
    }
}

/// A message for a keyring crate error that never includes secret data.
fn describe(err: &KrError) -> String {
    match err {
        KrError::PlatformFailure(e) => format!("platform failure: {e}"),
        KrError::NoStorageAccess(e) => e.to_string(),
        KrError::NoEntry => "no such item".to_string(),
        KrError::BadEncoding(_) => "the stored value is not UTF-8 text".to_string(),
        KrError::BadDataFormat(_, _) => "the stored value is malformed".to_string(),
        KrError::Ambiguous(items) => format!("{} items match", items.len()),
        KrError::NoDefaultStore => "no credential store".to_string(),
        // The remaining variants (Invalid, TooLong, BadStoreFormat, NotSupportedByStore,
        // and any added later) carry only names, limits and reasons.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{SystemTime, UNIX_EPOCH};

    const CHILD_ENV: &str = "DOTBACK_KEYRING_TEST_CHILD";

    /// A device name no other test run uses, so a real keyring is never clobbered.
    fn unique_device(tag: &str) -> String {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
        format!("test-{tag}-{}-{nanos}", std::process::id())
    }

    /// Whether a Secret Service (or the platform keyring) is usable. Without one: with
    /// CI=true this panics (CI must run the tests under tests/tools/with-keyring),
    /// otherwise it prints SKIPPED and the test returns early.
    fn keyring_or_skip(test: &str) -> bool {
        let reason = if cfg!(all(unix, not(target_os = "macos")))
            && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty())
        {
            Some("DBUS_SESSION_BUS_ADDRESS is not set".to_string())
        } else {
            // Store and delete a probe item: reading alone also works without a collection.
            let probe = unique_device("probe");
            let stored = store_identity(&probe, &SecretString::from("AGE-SECRET-KEY-1PROBE"));
            match stored.and_then(|()| delete_identity(&probe)) {
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            }
        };
        let Some(reason) = reason else { return true };
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "{test}: no Secret Service to test against ({reason}); \
                 run under tests/tools/with-keyring, e.g. `tests/tools/with-keyring cargo test`"
            );
        }
        eprintln!("SKIPPED {test}: no Secret Service ({reason}); run under tests/tools/with-keyring");
        false
    }

    /// The secret as `secret-tool` sees it, when that tool is installed (cross-check from
    /// outside the keyring crate that the item really is in the Secret Service).
    fn secret_tool_lookup(device: &str) -> Option<String> {
        if !cfg!(all(unix, not(target_os = "macos"))) {
            return None;
        }
        let out = Command::new("secret-tool")
            .args(["lookup", "service", SERVICE, "username", &identity_user(device)])
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[test]
    fn store_load_delete_round_trip() {
        if !keyring_or_skip("store_load_delete_round_trip") {
            return;
        }
        let device = unique_device("roundtrip");
        let first = SecretString::from("AGE-SECRET-KEY-1TESTFIRSTVALUE0000000000000000000000000000");
        let second = SecretString::from("AGE-SECRET-KEY-1TESTSECONDVALUE000000000000000000000000000");

        store_identity(&device, &first).unwrap();
        let loaded = load_identity(&device).unwrap().expect("stored identity");
        assert_eq!(loaded.expose_secret(), first.expose_secret());
        if let Some(outside) = secret_tool_lookup(&device) {
            assert_eq!(outside.trim(), first.expose_secret(), "secret-tool sees the item");
            eprintln!("cross-checked with secret-tool");
        }

        // Storing again replaces the value (one item, not two).
        store_identity(&device, &second).unwrap();
        let loaded = load_identity(&device).unwrap().expect("replaced identity");
        assert_eq!(loaded.expose_secret(), second.expose_secret());

        assert!(delete_identity(&device).unwrap(), "delete finds the item");
        assert!(load_identity(&device).unwrap().is_none(), "gone after delete");
        assert!(!delete_identity(&device).unwrap(), "second delete finds nothing");
        if let Some(outside) = secret_tool_lookup(&device) {
            assert_eq!(outside, "", "secret-tool no longer sees the item");
        }
    }

    #[test]
    fn load_missing_entry_is_none() {
        if !keyring_or_skip("load_missing_entry_is_none") {
            return;
        }
        let device = unique_device("missing");
        assert!(load_identity(&device).unwrap().is_none());
        assert!(!delete_identity(&device).unwrap());
    }

    #[test]
    fn surrounding_whitespace_is_trimmed_on_load() {
        if !keyring_or_skip("surrounding_whitespace_is_trimmed_on_load") {
            return;
        }
        let device = unique_device("trim");
        let padded = SecretString::from("AGE-SECRET-KEY-1TESTPADDED\n");
        store_identity(&device, &padded).unwrap();
        let loaded = load_identity(&device).unwrap().expect("stored identity");
        assert_eq!(loaded.expose_secret(), "AGE-SECRET-KEY-1TESTPADDED");
        assert!(delete_identity(&device).unwrap());
    }

    /// Stores an item by hand with `secret-tool`, with an extra attribute so that several
    /// items can match the same service and user. False when secret-tool is missing.
    fn secret_tool_store(device: &str, extra: &str, value: &str) -> bool {
        use std::io::Write;
        let user = identity_user(device);
        let child = Command::new("secret-tool")
            .args(["store", "--label=test", "service", SERVICE, "username", &user])
            .args(["extra", extra])
            .stdin(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else { return false };
        child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "secret-tool store failed");
        true
    }

    #[test]
    fn duplicate_items_are_reported_replaced_and_deleted() {
        if !keyring_or_skip("duplicate_items_are_reported_replaced_and_deleted") {
            return;
        }
        let device = unique_device("dup");
        if !secret_tool_store(&device, "1", "AGE-SECRET-KEY-1DUPONE") {
            eprintln!("SKIPPED duplicate_items_are_reported_replaced_and_deleted: no secret-tool");
            return;
        }
        // One foreign item (with an extra attribute) is found and read.
        let loaded = load_identity(&device).unwrap().expect("item made by secret-tool");
        assert_eq!(loaded.expose_secret(), "AGE-SECRET-KEY-1DUPONE");

        // Two matching items: reading is refused without leaking either value ...
        assert!(secret_tool_store(&device, "2", "AGE-SECRET-KEY-1DUPTWO"));
        let err = load_identity(&device).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, KeyringError::Failed { .. }), "{text}");
        assert!(text.contains("2 items match"), "{text}");
        assert!(!text.contains("DUPONE") && !text.contains("DUPTWO"), "{text}");

        // ... storing replaces both by one item ...
        let new = SecretString::from("AGE-SECRET-KEY-1DUPNEW");
        store_identity(&device, &new).unwrap();
        let loaded = load_identity(&device).unwrap().expect("replaced identity");
        assert_eq!(loaded.expose_secret(), "AGE-SECRET-KEY-1DUPNEW");

        // ... and deleting removes every matching item.
        assert!(secret_tool_store(&device, "3", "AGE-SECRET-KEY-1DUPTHREE"));
        assert!(delete_identity(&device).unwrap());
        assert!(load_identity(&device).unwrap().is_none());
    }

    #[test]
    fn bad_device_names_and_empty_secrets_are_refused() {
        // Checked before the keyring is touched: runs everywhere.
        let secret = SecretString::from("AGE-SECRET-KEY-1X");
        for device in ["", "a\nb"] {
            let err = store_identity(device, &secret).unwrap_err();
            assert!(matches!(err, KeyringError::Failed { .. }), "{err}");
        }
        let err = store_identity("laptop", &SecretString::from(" \n")).unwrap_err();
        assert!(matches!(err, KeyringError::Failed { .. }), "{err}");
    }

    #[test]
    fn messages_never_contain_secret_data() {
        let secret = b"AGE-SECRET-KEY-1LEAKLEAKLEAK\xff".to_vec();
        for err in [KrError::BadEncoding(secret.clone()), KrError::BadDataFormat(secret.clone(), "bad".into())] {
            let ours = classify(err, "read", "identity:laptop");
            for text in [ours.to_string(), format!("{ours:?}")] {
                assert!(!text.contains("LEAK"), "secret in message: {text}");
                assert!(text.contains("identity:laptop"), "{text}");
            }
        }
    }

    #[test]
    fn unavailable_message_names_the_file_fallback() {
        let err = classify(KrError::NoStorageAccess("SS error: prompt dismissed".into()), "read", "identity:laptop");
        assert!(matches!(err, KeyringError::Unavailable { .. }));
        let text = err.to_string();
        assert!(text.contains("no usable OS keyring"), "{text}");
        assert!(text.contains("identity = \"file\""), "{text}");
        assert!(text.contains("prompt dismissed"), "{text}");
        // Switching to the file alone finds no key there: the hint moves it first.
        assert!(text.contains("identity:laptop > $XDG_CONFIG_HOME/dotback/identity.txt"), "{text}");
        assert!(text.contains("keys unlock --recovery"), "{text}");
    }

    /// Without a D-Bus session bus the keyring is Unavailable, and the message says how
    /// to fall back. The keyring crate sets its store up once per process, so the check
    /// runs in a child process (this test binary again) whose bus address points at a
    /// socket that does not exist.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn unavailable_without_session_bus() {
        let module = module_path!();
        let test = format!(
            "{}::child_unavailable_without_session_bus",
            module.split_once("::").map_or(module, |(_, rest)| rest)
        );
        let out = Command::new(std::env::current_exe().unwrap())
            .args([test.as_str(), "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, "1")
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/dotback-test/bus")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stdout.contains("1 passed"), "child test {test} failed:\n{stdout}\n{stderr}");
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    #[ignore = "run in a child process by unavailable_without_session_bus"]
    fn child_unavailable_without_session_bus() {
        assert_eq!(
            std::env::var(CHILD_ENV).as_deref(),
            Ok("1"),
            "only meaningful when started by unavailable_without_session_bus"
        );
        let device = unique_device("nobus");
        let secret = SecretString::from("AGE-SECRET-KEY-1NOBUSSECRET");
        let results = [
            load_identity(&device).map(|_| ()),
            store_identity(&device, &secret),
            delete_identity(&device).map(|_| ()),
        ];
        for result in results {
            let err = result.expect_err("no session bus, yet the keyring answered");
            let text = err.to_string();
            eprintln!("{text}");
            assert!(matches!(err, KeyringError::Unavailable { .. }), "{text}");
            assert!(text.contains("identity = \"file\""), "{text}");
            assert!(!text.contains("NOBUSSECRET"), "{text}");
        }
    }
}
