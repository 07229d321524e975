//! End-to-end tests: the real binary against a fake HOME, real git and the real chezmoi.

mod common;

mod add_forget;
mod apply;
mod apply_partial;
mod bad_input;
mod bootstrap;
mod bootstrap_script;
mod chezmoi_delegation;
mod chezmoi_differential;
mod chezmoi_ignore;
mod cli;
mod commit;
mod concurrent;
mod conflicts;
mod deletions;
mod git_config;
mod identity;
mod init;
mod keys_gpg_keyring;
mod packages;
mod remote_errors;
mod resolve;
mod secrets;
mod selective;
mod status_diff;
mod sync;
mod sync_faults;
mod sync_flow;
mod sync_https;
mod sync_ssh;
mod trust;
mod trust_downgrade;
mod trust_places;
mod trust_symlinks;
mod trust_tree;
