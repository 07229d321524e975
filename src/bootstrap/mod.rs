//! `dotback bootstrap`: restore a machine from a remote (see [`flow`]).

pub mod flow;

pub use flow::*;
