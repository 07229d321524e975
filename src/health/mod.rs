//! Proof that the store restores: drills (and, as they land, check, history and archives).

pub mod drill;
