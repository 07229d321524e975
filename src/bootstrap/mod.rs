//! `dotback bootstrap`: a machine restored from a remote (see [`flow`]): the step graph
//! ([`plan`]), the store's own steps ([`user`]) and the script for a brand-new machine.

pub mod flow;
pub mod plan;
pub mod user;

pub use flow::*;

/// `templates/bootstrap.sh`: installs dotback on a brand-new machine, then runs the bootstrap.
pub const SCRIPT: &str = include_str!("../../templates/bootstrap.sh");
