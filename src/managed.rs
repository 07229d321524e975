//! The source state: what the store says HOME should contain.
//!
//! Scanning walks the store's work tree once, decodes every name with the chezmoi codec and
//! applies `.chezmoiignore`. Nothing is read but directory listings, so a scan of a 10,000-file
//! store costs a few readdir calls per directory. Any hostile or ambiguous name fails the whole
//! scan: an operation never starts on a store it only half understood.

use crate::fsutil;
use crate::source::ignore::IgnoreRules;
use crate::source::{self, Entry, Kind, NameError, OnDisk};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One target the store manages.
#[derive(Clone, Debug)]
pub struct Managed {
    /// Path relative to HOME, '/'-separated.
    pub target: String,
    /// Path relative to the source root, '/'-separated.
    pub source: String,
    pub entry: Entry,
}

impl Managed {
    /// dotback evaluates it itself (as opposed to delegating to chezmoi).
    pub fn is_native(&self) -> bool {
        self.entry.is_native()
    }
}

/// The scanned store.
pub struct SourceState {
    /// The source root: the store, or the directory `.chezmoiroot` names.
    pub root: PathBuf,
    /// Every managed target in tree order: a directory, then its contents sorted by name.
    pub entries: Vec<Managed>,
    index: HashMap<String, usize>,
    pub ignore: IgnoreRules,
    /// chezmoi features found that are not per-target entries (externals, .chezmoiremove, …).
    pub delegated_files: Vec<String>,
    /// Things the scan could not evaluate and the user should know about.
    pub warnings: Vec<String>,
    /// Every file in the store's work tree (relative to the store, `.git` excluded), when the
    /// source root is the store itself; lets status compare with git's index without a second walk.
    pub files: Option<Vec<String>>,
    /// The manifest's `[[only]]` rules: targets some devices skip (read with the tree, so a
    /// rescan after a merge sees the merged rules).
    pub only: crate::selective::Only,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot read {} in the store", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("store entry {} has a name dotback refuses", path.display())]
    BadName {
        path: PathBuf,
        #[source]
        source: NameError,
    },
    #[error("store entry {} has a name that is not valid UTF-8", path.display())]
    NonUtf8 { path: PathBuf },
    #[error(
        "store entry {} is a symbolic link; dotback follows no link inside the store (it keeps links as `symlink_` files)",
        path.display()
    )]
    SymlinkInStore { path: PathBuf },
    #[error("store entries {first} and {second} both describe ~/{target}")]
    Duplicate { target: String, first: String, second: String },
    #[error("{} cannot be used", path.display())]
    Ignore {
        path: PathBuf,
        #[source]
        source: crate::source::IgnoreError,
    },
    #[error(transparent)]
    Manifest(#[from] crate::config::ConfigError),
    #[error(".chezmoiroot in {} names `{root}`, which is not a directory inside the store", store.display())]
    BadRoot { store: PathBuf, root: String },
}

impl SourceState {
    pub fn get(&self, target: &str) -> Option<&Managed> {
        self.index.get(target).map(|&i| &self.entries[i])
    }

    /// Absolute path of a managed entry's source file.
    pub fn source_path(&self, m: &Managed) -> PathBuf {
        self.root.join(&m.source)
    }

    /// Targets directly inside `dir` ("" for HOME).
    pub fn children_of<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a Managed> + 'a {
        self.entries.iter().filter(move |m| parent_of(&m.target) == dir)
    }
}

/// Parent of a '/'-separated relative path ("" at the top).
pub fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

/// Joins '/'-separated relative paths.
pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_string() } else { format!("{parent}/{name}") }
}

/// Scans the store at `store`; `only` are the `[[only]]` rules this device trusts.
pub fn scan(store: &Path, only: &[crate::selective::OnlyRule]) -> Result<SourceState, ScanError> {
    let root = source_root(store)?;
    let warnings = Vec::new();
    let ignore = IgnoreRules::new();
    let mut state = SourceState {
        root: root.clone(),
        entries: Vec::new(),
        index: HashMap::new(),
        ignore,
        delegated_files: Vec::new(),
        warnings,
        files: Some(Vec::new()),
        only: crate::selective::Only::new(only),
    };
    for special in read_dir_sorted(&root)? {
        let (name, _) = special;
        if name.starts_with(".chezmoiexternal") || name.starts_with(".chezmoiremove") {
            state.delegated_files.push(name.clone());
        }
        if name == ".chezmoiscripts" {
            state.delegated_files.push(name.clone());
        }
    }
    walk(&mut state, &root, "", "")?;
    if root != store {
        state.files = None;
    }
    state.index = state.entries.iter().enumerate().map(|(i, m)| (m.target.clone(), i)).collect();
    Ok(state)
}

fn source_root(store: &Path) -> Result<PathBuf, ScanError> {
    let file = store.join(".chezmoiroot");
    match fsutil::read_to_string_beneath(store, &file) {
        Ok(text) => {
            let rel = text.trim();
            // A real directory inside the store, reached through no link.
            let ok = !rel.is_empty() && fsutil::Beneath::open(store, Path::new(rel), false).is_ok();
            if !ok {
                return Err(ScanError::BadRoot { store: store.to_path_buf(), root: rel.to_string() });
            }
            Ok(store.join(rel))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(store.to_path_buf()),
        Err(source) => Err(linked(&file, source)),
    }
}

/// A read that failed because a symbolic link was in the way is [`ScanError::SymlinkInStore`].
fn linked(path: &Path, source: io::Error) -> ScanError {
    match source.get_ref().and_then(|e| e.downcast_ref::<fsutil::Refused>()) {
        Some(fsutil::Refused::Link { path }) => ScanError::SymlinkInStore { path: path.clone() },
        _ => ScanError::Io { path: path.to_path_buf(), source },
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, fs::FileType)>, ScanError> {
    let io_err = |source| ScanError::Io { path: dir.to_path_buf(), source };
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err)? {
        let e = e.map_err(io_err)?;
        let ft = e.file_type().map_err(io_err)?;
        let name = e.file_name().into_string().map_err(|_| ScanError::NonUtf8 { path: e.path() })?;
        out.push((name, ft));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Walks one store directory. Entries come out in tree order (each directory's children sorted
/// by target name, every directory before its contents), so no global sort is needed.
fn walk(state: &mut SourceState, dir: &Path, source_rel: &str, target_rel: &str) -> Result<(), ScanError> {
    let listing = read_dir_sorted(dir)?;
    if let Some((_, ft)) = listing.iter().find(|(name, _)| name == ".chezmoiignore")
        && !ft.is_dir()
    {
        read_ignore_file(state, &dir.join(".chezmoiignore"), target_rel)?;
    }
    // (entry, name in the store, file type, target)
    let mut children: Vec<(Entry, String, fs::FileType, String)> = Vec::new();
    for (name, ft) in listing {
        // Under any name: dotback's own files (.dotback, .chezmoiignore, .git) included.
        if ft.is_symlink() {
            return Err(ScanError::SymlinkInStore { path: dir.join(&name) });
        }
        if name.starts_with('.') {
            // chezmoi ignores these (.git, .dotback, .chezmoi*); git still tracks all but .git.
            if name != ".git" {
                list_files(state, dir, &name, join(source_rel, &name), ft)?;
            }
            continue;
        }
        let on_disk = if ft.is_dir() { OnDisk::Dir } else { OnDisk::File };
        let entry = match source::decode(&name, on_disk) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(source) => return Err(ScanError::BadName { path: dir.join(&name), source }),
        };
        if entry.kind == Kind::Script {
            // Scripts have no target of their own; chezmoi runs them.
            let source = join(source_rel, &name);
            state.entries.push(Managed { target: join(target_rel, &name), source: source.clone(), entry });
            list_files(state, dir, &name, source, ft)?;
            continue;
        }
        let target = join(target_rel, &entry.name);
        if state.ignore.is_ignored(&target) {
            list_files(state, dir, &name, join(source_rel, &name), ft)?;
            continue;
        }
        children.push((entry, name, ft, target));
    }
    children.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    for pair in children.windows(2) {
        if pair[0].0.name == pair[1].0.name {
            return Err(ScanError::Duplicate {
                target: pair[0].3.clone(),
                first: join(source_rel, &pair[0].1),
                second: join(source_rel, &pair[1].1),
            });
        }
    }
    for (entry, name, ft, target) in children {
        let source = join(source_rel, &name);
        if entry.kind == Kind::Dir && entry.is_native() {
            state.entries.push(Managed { target: target.clone(), source: source.clone(), entry });
            walk(state, &dir.join(&name), &source, &target)?;
        } else {
            list_files(state, dir, &name, source.clone(), ft)?;
            state.entries.push(Managed { target, source, entry });
        }
    }
    Ok(())
}

/// Adds a `.chezmoiignore` (patterns relative to `target_dir`). A line chezmoi rejects fails
/// the scan, as it fails chezmoi; template lines are reported and not applied.
fn read_ignore_file(state: &mut SourceState, path: &Path, target_dir: &str) -> Result<(), ScanError> {
    // Never through a link: its target's lines would end up in error messages.
    let text = fsutil::read_to_string_beneath(&state.root, path).map_err(|source| linked(path, source))?;
    let skipped = state
        .ignore
        .add_file(target_dir, &text)
        .map_err(|source| ScanError::Ignore { path: path.to_path_buf(), source })?;
    for line in skipped {
        state.warnings.push(format!(
            "{}: line `{line}` is a template; dotback cannot evaluate it and does not apply it",
            path.display()
        ));
    }
    Ok(())
}

/// Records `dir/name` (and everything below it, for a directory) as work-tree files; `rel`
/// is its path relative to the store.
fn list_files(state: &mut SourceState, dir: &Path, name: &str, rel: String, ft: fs::FileType) -> Result<(), ScanError> {
    if ft.is_symlink() {
        return Err(ScanError::SymlinkInStore { path: dir.join(name) });
    }
    let Some(files) = state.files.as_mut() else { return Ok(()) };
    if !ft.is_dir() {
        files.push(rel);
        return Ok(());
    }
    let path = dir.join(name);
    for (child, ft) in read_dir_sorted(&path)? {
        if child != ".git" {
            list_files(state, &path, &child, join(&rel, &child), ft)?;
        }
    }
    Ok(())
}

/// The target a store path (relative, '/'-separated) describes, if it describes one.
pub fn target_of_source(source: &str) -> Option<String> {
    let parts: Vec<&str> = source.split('/').collect();
    let mut target = String::new();
    for (i, part) in parts.iter().enumerate() {
        let on_disk = if i + 1 < parts.len() { OnDisk::Dir } else { OnDisk::File };
        let e = source::decode(part, on_disk).ok()??;
        target = join(&target, &e.name);
    }
    Some(target)
}
