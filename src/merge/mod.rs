//! Three-way merging (stand-in until the git-checked diff3 module lands).
pub mod text;
