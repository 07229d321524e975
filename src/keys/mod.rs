//! Backup and restore of keys that are not plain dotfiles.
//!
//! GPG keys cannot simply be copied: gpg-agent owns the secret keys (`private-keys-v1.d/`,
//! protected with the user's passphrase, in a format that changes between GnuPG versions),
//! and the keyring and trust database are binary databases tied to the installed version.
//! So [`gpg`] drives the real `gpg` binary to export and import them, and the caller stores
//! the export under `.dotback/keys/gpg/` with the secret keys age-encrypted. SSH keys, by
//! contrast, are ordinary files under `~/.ssh` that the secret path rules in
//! [`crate::secrets`] flag for encryption.

pub mod gpg;
mod ops;

pub use ops::{
    GpgExported, KeysError, Opened, Passphrase, Rekeyed, Unlocked, accept, change_recipients, gpg_dir, gpg_export,
    gpg_import, parse_recipient, revert, rotate_recovery, unlock, unlock_with,
};
