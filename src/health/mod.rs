//! Proof that what dotback keeps can be restored: the history of the store and point-in-time
//! restore ([`history`], with the times it accepts in [`when`]).

pub mod history;
pub mod when;
