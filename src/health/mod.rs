//! Proof that what dotback keeps can be restored: [`check`], drills ([`drill`]), the history of
//! the store and point-in-time restore ([`history`], with the times it accepts in [`when`]),
//! encrypted archives ([`archive`]) with their retention ([`retention`]), and the alerts they
//! send ([`alert`]).

pub mod alert;
pub mod archive;
pub mod check;
pub mod drill;
pub mod history;
pub mod retention;
pub mod when;
