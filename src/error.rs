//! The one error for a file-system operation that failed on a path, and the `context` helper
//! that attaches the path to an `io::Error`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What was being done to the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Read => "read",
            Op::Write => "write",
        })
    }
}

/// Reading or writing `path` failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}", path.display())]
pub struct PathError {
    pub op: Op,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl PathError {
    pub fn new(op: Op, path: impl AsRef<Path>, source: io::Error) -> PathError {
        PathError { op, path: path.as_ref().to_path_buf(), source }
    }

    /// The underlying error was a symbolic link dotback refused to follow.
    pub fn is_link(&self) -> bool {
        self.source.get_ref().is_some_and(|e| e.is::<crate::fsutil::Refused>())
    }
}

/// Attaches the path (and what was being done) to an I/O result.
pub trait IoContext<T> {
    fn context(self, op: Op, path: impl AsRef<Path>) -> Result<T, PathError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, op: Op, path: impl AsRef<Path>) -> Result<T, PathError> {
        self.map_err(|source| PathError::new(op, path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_the_operation_and_the_path_and_keeps_the_cause() {
        let r: io::Result<()> = Err(io::Error::from(io::ErrorKind::PermissionDenied));
        let e = r.context(Op::Write, "/tmp/x").unwrap_err();
        assert_eq!(e.to_string(), "cannot write /tmp/x");
        assert_eq!(e.source.kind(), io::ErrorKind::PermissionDenied);
        assert!(!e.is_link());
    }
}
