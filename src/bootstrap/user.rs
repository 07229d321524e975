//! Bootstrap user steps.
