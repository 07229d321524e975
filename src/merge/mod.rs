//! Three-way merging of file contents (pure: no I/O outside tests).
//!
//! [`conflict`] names and recognises the conflict copies sync leaves for what cannot be merged.
//!
//! [`text::merge`] merges the base, ours and theirs versions of a text file line by line;
//! [`text::is_mergeable_text`] decides which files get that treatment (binary files never do:
//! the local version stays live and the other side's is written beside it, DESIGN.md §4).
//!
//! # Why a port of git's merge and not `similar::merge`
//!
//! dotback's store is a git repository, and people resolve and inspect its conflicts with git
//! tools, so a merge must come out as `git merge-file` would make it: the same clean result,
//! and a conflict exactly where git reports one. That is checked against the real
//! `git merge-file` in the tests (`tests.rs`: git's own t6403 cases as a table, and a proptest
//! over small-alphabet triples where edits collide often).
//!
//! A three-way merge is only as deterministic as the two diffs under it: when several shortest
//! edit scripts exist (every repeated line makes that likely), the choice decides which lines
//! count as changed, and so which changes touch and conflict. `similar`'s Myers finds scripts
//! of the same length as git's but breaks those ties differently, and `similar::merge` joins
//! hunks with slightly different rules and does not refine conflicts; on random small-alphabet
//! triples it disagreed with `git merge-file --diff3` on 17 of 300. So this module
//! ports the relevant parts of git's xdiff (`xdiff.rs`: line classes, trimming, discarding
//! of unmatched lines, Myers with git's tie-breaking and cost heuristics, change compaction)
//! and xmerge (`xmerge.rs`: hunk pairing, conflict refinement, non-conflict simplification,
//! marker output including CRLF markers), and keeps git's names so the two can be compared.
//! It depends on no crate.

pub mod conflict;
pub mod text;

#[cfg(test)]
mod tests;
mod xdiff;
mod xmerge;
