//! git hooks dotback installs into the store (`hooks/` in the repository holds their text).

use crate::error::{IoContext, Op, PathError};
use crate::fsutil::Beneath;
use std::io;
use std::path::{Path, PathBuf};

/// The hooks dotback ships: name and text (`@DOTBACK@` stands for dotback's own path).
pub const HOOKS: &[(&str, &str)] = &[
    ("pre-commit", include_str!("../hooks/pre-commit")),
    ("post-commit", include_str!("../hooks/post-commit")),
    ("post-merge", include_str!("../hooks/post-merge")),
];

/// The words every dotback hook carries (`dotback NAME hook`), so an update can tell its own
/// hooks from the user's.
fn marker(name: &str) -> String {
    format!("dotback {name} hook")
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{} already exists and was not written by dotback", path.display())]
    Foreign { path: PathBuf },
    #[error(transparent)]
    Write(#[from] PathError),
}

/// Installs (or updates) every hook into `git_dir/hooks`; returns the paths written. A hook the
/// user wrote is left alone unless `force`, and then it is kept as `NAME.before-dotback`.
/// No symbolic link below `git_dir` is followed: a linked hook counts as the user's.
pub fn install(git_dir: &Path, dotback: &Path, force: bool) -> Result<Vec<PathBuf>, HookError> {
    let path = git_dir.join("hooks");
    let dir = Beneath::open(git_dir, Path::new("hooks"), true).context(Op::Write, &path)?;
    let mut written = Vec::new();
    for (name, text) in HOOKS {
        let path = git_dir.join("hooks").join(name);
        let ours = match dir.read(name.as_ref()) {
            Ok(existing) => String::from_utf8_lossy(&existing).contains(&marker(name)),
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        if !ours {
            if !force {
                return Err(HookError::Foreign { path });
            }
            let keep = format!("{name}.before-dotback");
            dir.rename(name.as_ref(), keep.as_ref()).context(Op::Write, path.with_file_name(keep))?;
        }
        let body = text.replace("\"@DOTBACK@\"", &shell_quote(&dotback.to_string_lossy()));
        dir.write_atomic(name.as_ref(), body.as_bytes(), 0o755).context(Op::Write, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// `text` as one word for sh, whatever it holds (quotes, `$`, backticks).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_binary_path_is_one_shell_word() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("it's $(touch pwned) `x` \"q\"");
        fs::create_dir(dir.path().join(".git")).unwrap();
        let paths = install(&dir.path().join(".git"), &odd, false).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("eval \"$(grep '^dotback=' {})\"; printf %s \"$dotback\"", paths[0].display()))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), odd.to_string_lossy());
        assert!(!dir.path().join("pwned").exists());
    }

    #[test]
    fn installs_executable_hooks_and_respects_foreign_ones() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        fs::create_dir(&git).unwrap();
        let paths = install(&git, Path::new("/opt/dotback"), false).unwrap();
        let text = fs::read_to_string(&paths[0]).unwrap();
        assert!(text.contains("dotback='/opt/dotback'") && text.contains("guard --staged"), "{text}");
        assert_eq!(fs::metadata(&paths[0]).unwrap().permissions().mode() & 0o777, 0o755);
        install(&git, Path::new("/opt/dotback2"), false).unwrap(); // updating our own hook is fine
        fs::write(&paths[0], "#!/bin/sh\nmy own\n").unwrap();
        assert!(matches!(install(&git, Path::new("/x"), false), Err(HookError::Foreign { .. })));
        install(&git, Path::new("/x"), true).unwrap();
        assert!(fs::read_to_string(git.join("hooks/pre-commit.before-dotback")).unwrap().contains("my own"));
    }

    #[test]
    fn a_linked_hook_or_hooks_directory_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let (git, outside) = (dir.path().join(".git"), dir.path().join("outside"));
        fs::create_dir_all(git.join("hooks")).unwrap();
        fs::write(&outside, "#!/bin/sh\nthe user's script, with dotback pre-commit hook in its text\n").unwrap();
        std::os::unix::fs::symlink(&outside, git.join("hooks/pre-commit")).unwrap();
        assert!(matches!(install(&git, Path::new("/x"), false), Err(HookError::Foreign { .. })));
        install(&git, Path::new("/x"), true).unwrap();
        assert!(fs::symlink_metadata(git.join("hooks/pre-commit.before-dotback")).unwrap().is_symlink());
        assert!(fs::read_to_string(git.join("hooks/pre-commit")).unwrap().contains("guard --staged"));
        fs::remove_dir_all(git.join("hooks")).unwrap();
        fs::create_dir(dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), git.join("hooks")).unwrap();
        let e = install(&git, Path::new("/x"), true).unwrap_err();
        assert!(std::error::Error::source(&e).unwrap().to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_dir(dir.path().join("elsewhere")).unwrap().count(), 0);
        assert!(fs::read_to_string(&outside).unwrap().contains("the user's script"));
    }
}
