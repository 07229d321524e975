//! The store's code: every file chezmoi runs or evaluates when dotback hands it the store.
//!
//! That is every entry dotback does not handle itself (`run_` scripts, templates, `create_`,
//! `modify_` and `remove_` entries, `external_` directories and what they hold) and everything
//! named `.chezmoi…` at any level, with what is below it (`.chezmoiscripts/`,
//! `.chezmoitemplates/`, externals, `.chezmoiremove`, `.chezmoiignore`, `.chezmoidata`,
//! `.chezmoiroot`, the config template). Which files those are follows from their names alone,
//! the same on every device (no `.chezmoiignore` is evaluated to decide it), and the listing
//! names each by its git blob id: a commit's listing costs a walk of its trees, the work tree's
//! a walk of its directories and a read of the code files alone.

use crate::error::{IoContext, Op, PathError};
use crate::managed::join;
use crate::source::{self, OnDisk};
use crate::store::{Store, StoreError};
use std::path::Path;

/// One code file: its path in the store, and the git blob id of its content (of its target,
/// for a symbolic link).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct CodeFile {
    pub path: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link: bool,
}

/// The code files of a tree, sorted by path.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Listing(Vec<CodeFile>);

impl Listing {
    pub fn new(mut files: Vec<CodeFile>) -> Listing {
        files.sort();
        Listing(files)
    }

    pub fn files(&self) -> &[CodeFile] {
        &self.0
    }

    pub fn get(&self, path: &str) -> Option<&CodeFile> {
        self.0.binary_search_by(|f| f.path.as_str().cmp(path)).ok().map(|i| &self.0[i])
    }

    /// The paths whose file differs between the two listings (added, changed or removed).
    pub fn changed(&self, other: &Listing) -> Vec<String> {
        let mut paths: Vec<&str> = self.0.iter().chain(&other.0).map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        paths.into_iter().filter(|p| self.get(p) != other.get(p)).map(str::to_string).collect()
    }
}

/// What a name makes of the path it starts, by chezmoi's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Code, and everything below it.
    Code,
    /// An entry dotback handles itself (for a directory: what is below it is decided by name).
    Plain,
    /// Nothing chezmoi reads (`.git`, `.dotback` and every other name starting with a dot).
    Skipped,
}

fn class(name: &str, dir: bool) -> Class {
    if name.starts_with(".chezmoi") {
        return Class::Code;
    }
    if name.starts_with('.') {
        return Class::Skipped;
    }
    // Every attribute prefix ends with `_` and the template suffix is `.tmpl`: a name with
    // neither is a plain entry, without decoding it (most names in a store).
    if !name.contains('_') && !name.ends_with(".tmpl") {
        return Class::Plain;
    }
    match source::decode(name, if dir { OnDisk::Dir } else { OnDisk::File }) {
        Ok(Some(e)) if e.is_native() => Class::Plain,
        Ok(None) => Class::Skipped,
        // A name the scan refuses fails every operation; until then it counts as code.
        _ => Class::Code,
    }
}

/// The code in the store's work tree: what chezmoi would read there now. Files git ignores and
/// does not track are left out (they are never committed, so no push brings them).
pub fn of_work_tree(store: &Store) -> Result<Listing, PathError> {
    let root = &store.root;
    let mut out = Vec::new();
    walk_dir(store, root, "", false, &mut out)?;
    Ok(Listing::new(out))
}

/// [`of_work_tree`] from `files`, every file in the work tree (paths relative to the store, git's
/// own directory left out) as a scan of its directories listed them: no directory is read
/// again. Symbolic links are not among them (a scan refuses them).
pub fn of_files(store: &Store, files: &[String]) -> Result<Listing, PathError> {
    let mut out = Vec::new();
    // Whether the directory of the previous file holds code (`Some(true)`), is skipped with all
    // below it (`None`), or is plain: consecutive files mostly share it.
    let mut last: Option<(&str, Option<bool>)> = None;
    for path in files {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let in_dir = match last {
            Some((d, c)) if d == dir => c,
            _ => {
                let mut code = Some(false);
                for part in dir.split('/').filter(|p| !p.is_empty()) {
                    code = match class(part, true) {
                        Class::Skipped => None,
                        Class::Code => Some(true),
                        Class::Plain => Some(false),
                    };
                    if code != Some(false) {
                        break;
                    }
                }
                last = Some((dir, code));
                code
            }
        };
        let is_code = match in_dir {
            None => continue,
            Some(true) => true,
            Some(false) => class(name, false) == Class::Code,
        };
        if !is_code || store.ignores(path) {
            continue;
        }
        let full = store.root.join(path);
        let bytes = crate::fsutil::read_beneath(&store.root, &full).context(Op::Read, &full)?;
        out.push(code_file(path.clone(), &bytes, false, &full)?);
    }
    Ok(Listing::new(out))
}

/// The code file at `path` (in the store; `at` on disk) holding `bytes`, named by its blob id.
fn code_file(path: String, bytes: &[u8], link: bool, at: &Path) -> Result<CodeFile, PathError> {
    let id = git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map_err(|e| PathError::new(Op::Read, at, std::io::Error::other(e)))?;
    Ok(CodeFile { path, id: id.to_string(), link })
}

fn walk_dir(store: &Store, dir: &Path, rel: &str, code: bool, out: &mut Vec<CodeFile>) -> Result<(), PathError> {
    for e in std::fs::read_dir(dir).context(Op::Read, dir)? {
        let e = e.context(Op::Read, dir)?;
        // A name that is not UTF-8 fails the scan; git's own directory is no part of the tree.
        let Ok(name) = e.file_name().into_string() else { continue };
        if name == ".git" {
            continue;
        }
        let ft = e.file_type().context(Op::Read, e.path())?;
        let is_code = code || {
            match class(&name, ft.is_dir()) {
                Class::Skipped => continue,
                c => c == Class::Code,
            }
        };
        if !is_code && !ft.is_dir() {
            continue;
        }
        let path = join(rel, &name);
        if ft.is_dir() {
            walk_dir(store, &e.path(), &path, is_code, out)?;
            continue;
        }
        if store.ignores(&path) {
            continue;
        }
        let (bytes, link) = if ft.is_symlink() {
            let target = std::fs::read_link(e.path()).context(Op::Read, e.path())?;
            (target.into_os_string().into_encoded_bytes(), true)
        } else {
            (crate::fsutil::read_beneath(&store.root, &e.path()).context(Op::Read, e.path())?, false)
        };
        out.push(code_file(path, &bytes, link, &dir.join(&name))?);
    }
    Ok(())
}

const GIT_TYPE: u32 = 0o170000;
const GIT_TREE: u32 = 0o040000;
const GIT_LINK: u32 = 0o120000;
const GIT_SUBMODULE: u32 = 0o160000;

/// The code in a commit's tree.
pub fn of_commit(store: &Store, commit: git2::Oid) -> Result<Listing, StoreError> {
    let mut out = Vec::new();
    walk_tree(store, store.commit_tree(commit)?, "", false, &mut out)?;
    Ok(Listing::new(out))
}

fn walk_tree(store: &Store, tree: git2::Oid, rel: &str, code: bool, out: &mut Vec<CodeFile>) -> Result<(), StoreError> {
    for item in store.tree_items(tree)? {
        let Ok(name) = String::from_utf8(item.name) else { continue };
        let mode = item.mode & GIT_TYPE;
        if mode == GIT_SUBMODULE {
            continue;
        }
        let dir = mode == GIT_TREE;
        let path = join(rel, &name);
        let is_code = code || {
            match class(&name, dir) {
                Class::Skipped => continue,
                c => c == Class::Code,
            }
        };
        if dir {
            walk_tree(store, item.id, &path, is_code, out)?;
        } else if is_code {
            out.push(CodeFile { path, id: item.id.to_string(), link: mode == GIT_LINK });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn code_is_decided_by_name_at_every_level() {
        let cases = [
            ("run_once_x.sh", false, Class::Code),
            (".chezmoiscripts", true, Class::Code),
            (".chezmoiignore", false, Class::Code),
            (".chezmoi.toml.tmpl", false, Class::Code),
            (".chezmoidata", true, Class::Code),
            ("dot_gitconfig.tmpl", false, Class::Code),
            ("modify_dot_m", false, Class::Code),
            ("create_dot_c", false, Class::Code),
            ("remove_dot_r", false, Class::Code),
            ("external_dot_e", true, Class::Code),
            ("symlink_dot_l.tmpl", false, Class::Code),
            ("dot_zshrc", false, Class::Plain),
            ("private_dot_config", true, Class::Plain),
            ("executable_dot_tool", false, Class::Plain),
            ("encrypted_private_dot_netrc.age", false, Class::Plain),
            (".dotback", true, Class::Skipped),
            (".git", true, Class::Skipped),
            (".github", true, Class::Skipped),
            ("file12.conf", false, Class::Plain),
            ("app1", true, Class::Plain),
            ("init.lua.tmpl", false, Class::Code),
            ("tool.tmpl", true, Class::Plain),
        ];
        for (name, dir, want) in cases {
            assert_eq!(class(name, dir), want, "{name}");
        }
    }

    #[test]
    fn the_work_tree_and_its_commit_list_the_same_code() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (store, _) = Store::init(&root).unwrap();
        let put = |rel: &str, data: &str| {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, data).unwrap();
        };
        put("dot_zshrc", "plain\n");
        put("dot_config/nvim/init.lua.tmpl", "{{ .x }}\n");
        put("dot_config/nvim/plain.lua", "x\n");
        put("dot_config/.chezmoiignore", "a\n");
        put(".chezmoiscripts/sub/run_after_z.sh", "#!/bin/sh\n");
        put("external_dot_ext/inside", "y\n");
        put("run_once_x.sh", "#!/bin/sh\n");
        put(".dotback/dotback.toml", "version = 1\n");
        put(".gitignore", "run_local.sh\n");
        put("run_local.sh", "never committed\n");
        let commit = store.commit_all("t", "one").unwrap().unwrap();
        let work = of_work_tree(&store).unwrap();
        let paths: Vec<&str> = work.files().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".chezmoiscripts/sub/run_after_z.sh",
                "dot_config/.chezmoiignore",
                "dot_config/nvim/init.lua.tmpl",
                "external_dot_ext/inside",
                "run_once_x.sh",
            ]
        );
        assert_eq!(of_commit(&store, commit).unwrap(), work);
        let scanned = |root: &Path| {
            let state = crate::managed::scan(root, &Default::default()).unwrap();
            of_files(&store, state.files.as_deref().unwrap()).unwrap()
        };
        assert_eq!(scanned(&root), work, "from the scan's list of files, the same listing");

        put("dot_config/nvim/init.lua.tmpl", "{{ output \"sh\" }}\n");
        fs::remove_file(root.join("run_once_x.sh")).unwrap();
        put("dot_new.tmpl", "n\n");
        assert_eq!(
            of_work_tree(&store).unwrap().changed(&work),
            ["dot_config/nvim/init.lua.tmpl", "dot_new.tmpl", "run_once_x.sh"]
        );
        assert_eq!(scanned(&root), of_work_tree(&store).unwrap());
    }
}
