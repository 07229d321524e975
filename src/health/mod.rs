//! Proof that the store restores: encrypted archives and their retention.

pub mod archive;
pub mod retention;
