//! Proof that the store restores: check and drills (and, as they land, history and archives).

pub mod check;
pub mod drill;
