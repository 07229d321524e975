//! Proof that what dotback keeps can be restored: drills ([`drill`]), the history of the store
//! and point-in-time restore ([`history`], with the times it accepts in [`when`]).

pub mod drill;
pub mod history;
pub mod when;
