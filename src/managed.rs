//! The source state: what the store says HOME should contain.
//!
//! Scanning walks the store's work tree once, decodes every name with the chezmoi codec and
//! applies `.chezmoiignore`. Nothing is read but directory listings (and the ignore files), so a
//! scan of a 10,000-file store costs a few readdir calls per directory. Any hostile or ambiguous
//! name fails the whole scan: an operation never starts on a store it only half understood.
//!
//! A templated `.chezmoiignore` is evaluated for the [`Device`]: by chezmoi (`chezmoi ignored`,
//! then a second walk) when it is installed and the work tree is scanned, else by dotback with
//! the device's facts and the store's `.chezmoidata`. The targets it may or may not ignore are
//! [`SourceState::undecided`], listed once in the warnings.
//!
//! The same scan reads a commit's tree from git's objects instead ([`scan_commit`]), so a past
//! or fetched commit can be evaluated and applied without a checkout.

use crate::error::{IoContext, Op, PathError};
use crate::fsutil;
use crate::source::ignore::IgnoreRules;
use crate::source::ignore_template::{self, Facts};
use crate::source::{self, Entry, Kind, NameError, OnDisk};
use crate::store::Store;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, OnceLock};

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
    /// `entries` by target in tree order, where they are not already (scripts come before
    /// the other entries of their directory); `None`: they are.
    order: Option<Vec<u32>>,
    pub ignore: IgnoreRules,
    /// chezmoi features found that are not per-target entries (externals, .chezmoiremove, …).
    pub delegated_files: Vec<String>,
    /// Things the scan could not evaluate and the user should know about.
    pub warnings: Vec<String>,
    /// Targets a `.chezmoiignore` template dotback could not evaluate may ignore: neither
    /// applied nor captured (a directory stands for everything below it).
    pub undecided: Vec<String>,
    /// Every file in the store's work tree (relative to the store, `.git` excluded), when the
    /// source root is the store itself; lets status compare with git's index without a second walk.
    pub files: Option<Vec<String>>,
    /// The manifest's `[[only]]` rules: targets some devices skip (read with the tree, so a
    /// rescan after a merge sees the merged rules).
    pub only: crate::selective::Only,
    /// Where the store was read: its work tree, or a commit.
    pub origin: Origin,
}

/// Where a [`SourceState`] was read from.
pub enum Origin {
    /// The store's work tree ([`scan`]): files are read at [`SourceState::source_path`].
    WorkTree,
    /// A commit's tree ([`scan_commit`]), read from git's objects; the work tree may hold
    /// something else entirely.
    Commit(Commit),
}

/// A commit a [`SourceState`] was read from.
pub struct Commit {
    pub id: git2::Oid,
    /// The source root's path in the commit's tree ("" for the top).
    root: String,
    /// Every file the scan listed: path in the commit's tree -> blob id.
    blobs: HashMap<String, git2::Oid>,
    /// A handle of its own, behind a lock, so evaluation threads can share the state.
    store: Mutex<Store>,
}

impl Commit {
    /// The blob id of a source file (a path relative to the source root): its content hash.
    pub fn blob(&self, source: &str) -> Option<git2::Oid> {
        self.blobs.get(&join(&self.root, source)).copied()
    }

    /// The content of a source file (a path relative to the source root).
    pub fn read(&self, source: &str) -> io::Result<Vec<u8>> {
        let id = self.blob(source).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.blob(id).map_err(io::Error::other)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Path(#[from] PathError),
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
        self.get_near(target, &mut 0)
    }

    /// [`SourceState::get`] for callers asking in tree order: `hint` is where the previous
    /// lookup ended, and the entry there is tried before a binary search.
    pub fn get_near(&self, target: &str, hint: &mut usize) -> Option<&Managed> {
        let at = |k: usize| self.order.as_ref().map_or(k, |order| order[k] as usize);
        let n = self.entries.len();
        let k = *hint;
        // Of two entries with one target (a script beside a file of its name), the later one,
        // as a map filled in scan order would keep.
        let k = if k < n
            && self.entries[at(k)].target == target
            && (k + 1 == n || self.entries[at(k + 1)].target != target)
        {
            k
        } else {
            let not_after = |i: usize| crate::fsutil::tree_order(&self.entries[i].target, target).is_le();
            let k = match &self.order {
                None => self.entries.partition_point(|m| crate::fsutil::tree_order(&m.target, target).is_le()),
                Some(order) => order.partition_point(|&i| not_after(i as usize)),
            };
            *hint = k;
            k.checked_sub(1)?
        };
        let m = &self.entries[at(k)];
        (m.target == target).then(|| {
            *hint = k + 1;
            m
        })
    }

    /// Absolute path of a managed entry's source file. For a state read from a commit it only
    /// names the file: read it with [`SourceState::read`].
    pub fn source_path(&self, m: &Managed) -> PathBuf {
        self.root.join(&m.source)
    }

    /// The bytes of a managed entry's source file, from wherever the state was read.
    pub fn read(&self, m: &Managed) -> io::Result<Vec<u8>> {
        match &self.origin {
            Origin::WorkTree => fs::read(self.source_path(m)),
            Origin::Commit(c) => c.read(&m.source),
        }
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
    if parent.is_empty() {
        return name.to_string();
    }
    // Built directly: the scan joins two paths per store file.
    let mut out = String::with_capacity(parent.len() + 1 + name.len());
    out.push_str(parent);
    out.push('/');
    out.push_str(name);
    out
}

/// Scans the store at `store`; `only` are the `[[only]]` rules this device trusts. Templates in
/// `.chezmoiignore` are evaluated knowing nothing about the device: see [`scan_for`].
pub fn scan(store: &Path, only: &crate::selective::Only) -> Result<SourceState, ScanError> {
    scan_for(store, only, &Device::default())
}

/// [`scan`] for `device`: templated `.chezmoiignore` files are evaluated with its facts, or,
/// when chezmoi is installed, by asking chezmoi which targets it ignores.
pub fn scan_for(store: &Path, only: &crate::selective::Only, device: &Device) -> Result<SourceState, ScanError> {
    scan_in(&mut WorkTree { store }, store, only, Some(Vec::new()), device)
}

/// This device, as `.chezmoiignore` templates see it. [`Device::default`] knows nothing: every
/// template condition is undecided and chezmoi is not asked.
#[derive(Debug, Default)]
pub struct Device {
    /// HOME and chezmoi's config directory.
    places: Option<(PathBuf, PathBuf)>,
    /// Ask chezmoi about templated ignore files. Its answer renders the store's templates,
    /// which may run programs: only an apply the user asked for does.
    ask_chezmoi: bool,
    /// What the device says about itself, read on first need.
    facts: OnceLock<Facts>,
}

impl Device {
    pub fn of(ctx: &crate::context::Context) -> Device {
        Device {
            places: Some((ctx.paths.home.clone(), ctx.paths.chezmoi_config_dir.clone())),
            ask_chezmoi: false,
            facts: OnceLock::new(),
        }
    }

    /// [`Device::of`], asking chezmoi about templated ignore files when it is installed.
    pub fn asking_chezmoi(ctx: &crate::context::Context) -> Device {
        Device { ask_chezmoi: true, ..Device::of(ctx) }
    }

    /// The device's facts, its chezmoi config's `[data]` included (not yet the store's data).
    fn facts(&self) -> &Facts {
        self.facts.get_or_init(|| match &self.places {
            None => Facts::default(),
            Some((_, config_dir)) => {
                let config = crate::crypt::chezmoi_config::data(config_dir);
                Facts {
                    os: Some(go_os().to_owned()),
                    arch: Some(go_arch().to_owned()),
                    hostname: short_hostname(),
                    username: username(),
                    data_complete: config.is_some(),
                    data: config.unwrap_or_default(),
                }
            }
        })
    }
}

/// Go's name for this OS (`GOOS`), as `.chezmoi.os` gives it.
fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    }
}

/// Go's name for this architecture (`GOARCH`), as `.chezmoi.arch` gives it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        arch => arch,
    }
}

/// The host name up to its first dot, as `.chezmoi.hostname` gives it: chezmoi takes the first
/// name of the `127.0.1.1` line of `/etc/hosts`, else the first line of `/etc/hostname`, and
/// only then the kernel's host name.
fn short_hostname() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let from_hosts = hosts.lines().find_map(|l| {
        let mut words = l.split('#').next().unwrap_or_default().split_whitespace();
        (words.next() == Some("127.0.1.1")).then(|| words.next()).flatten().map(str::to_owned)
    });
    let from_file = || {
        let text = std::fs::read_to_string("/etc/hostname").ok()?;
        text.lines().next().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty())
    };
    let name = from_hosts.or_else(from_file).or_else(|| gethostname::gethostname().into_string().ok())?;
    Some(name.split('.').next().unwrap_or_default().to_owned()).filter(|n| !n.is_empty())
}

/// The name of the user running dotback, from the password database.
fn username() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live memory of the stated size; the result is read only
    // when getpwuid_r reports success and set `found`.
    let rc = unsafe { libc::getpwuid_r(libc::getuid(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into `buf`, NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str().ok().map(str::to_owned)
}

/// The store's data files (`.chezmoidata.toml` and `.json` in the source root), merged into
/// `facts`'s data, which wins. Data in a form dotback does not read makes the data incomplete.
fn with_store_data(tree: &dyn Tree, root: &Path, facts: &Facts) -> Result<Facts, ScanError> {
    let mut data = toml::Table::new();
    let mut complete = facts.data_complete;
    for (name, parse) in [
        (".chezmoidata.toml", parse_toml_data as fn(&str) -> Option<toml::Table>),
        (".chezmoidata.json", parse_json_data),
    ] {
        if let Some(text) = tree.read(&root.join(name))? {
            match parse(&text) {
                Some(table) => merge(&mut data, table),
                None => complete = false,
            }
        }
    }
    for other in [".chezmoidata.yaml", ".chezmoidata.yml", ".chezmoidata.jsonc", ".chezmoidata"] {
        // A directory fails to read: present too.
        complete &= matches!(tree.read(&root.join(other)), Ok(None));
    }
    merge(&mut data, facts.data.clone());
    Ok(Facts { data, data_complete: complete, ..facts.clone() })
}

fn parse_toml_data(text: &str) -> Option<toml::Table> {
    toml::from_str(text).ok()
}

/// JSON data as chezmoi reads it: every number is a float.
fn parse_json_data(text: &str) -> Option<toml::Table> {
    fn convert(v: serde_json::Value) -> Option<toml::Value> {
        use serde_json::Value as J;
        Some(match v {
            J::Null => return None,
            J::Bool(b) => toml::Value::Boolean(b),
            J::Number(n) => toml::Value::Float(n.as_f64()?),
            J::String(s) => toml::Value::String(s),
            J::Array(items) => toml::Value::Array(items.into_iter().map(convert).collect::<Option<_>>()?),
            J::Object(map) => {
                toml::Value::Table(map.into_iter().map(|(k, v)| Some((k, convert(v)?))).collect::<Option<_>>()?)
            }
        })
    }
    match convert(serde_json::from_str(text).ok()?)? {
        toml::Value::Table(t) => Some(t),
        _ => None,
    }
}

/// Merges `over` into `base`, tables key by key (as chezmoi merges its data).
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Scans the store as it was at `commit`, from git's objects: the work tree is not read.
/// Names, `.chezmoiroot`, `.chezmoiignore` and links are checked as [`scan`] checks them; git's
/// file modes say nothing (as for chezmoi: the names carry the attributes).
pub fn scan_commit(store: &Store, commit: git2::Oid, only: &crate::selective::Only) -> Result<SourceState, ScanError> {
    let top = store.commit_tree(commit).map_err(io::Error::other).context(Op::Read, &store.root)?;
    let mut tree = CommitTree { store, dirs: HashMap::from([(String::new(), Some(top))]), blobs: HashMap::new() };
    let mut state = scan_in(&mut tree, &store.root, only, None, &Device::default())?;
    let root = tree.rel(&state.root);
    let store = Mutex::new(store.reopen().map_err(io::Error::other).context(Op::Read, &store.root)?);
    state.origin = Origin::Commit(Commit { id: commit, root, blobs: tree.blobs, store });
    Ok(state)
}

/// A directory entry's type, as a scan sees it (a socket or a device counts as a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileType {
    File,
    Dir,
    Symlink,
}

impl FileType {
    fn is_dir(self) -> bool {
        self == FileType::Dir
    }
    fn is_symlink(self) -> bool {
        self == FileType::Symlink
    }
}

/// What a scan reads the store through: its work tree ([`scan`]) or a commit's tree
/// ([`scan_commit`]). Paths are absolute, inside the store.
trait Tree {
    /// A directory's entries, sorted by name.
    fn list(&mut self, dir: &Path) -> Result<Vec<(String, FileType)>, ScanError>;
    /// A file's text, reached through no symbolic link; `None` when there is no such file.
    fn read(&self, path: &Path) -> Result<Option<String>, ScanError>;
    /// `rel` names a directory inside the store, reached through no symbolic link.
    fn has_dir(&self, rel: &Path) -> bool;
    /// The store's work tree, which chezmoi reads too.
    fn is_work_tree(&self) -> bool {
        false
    }
}

struct WorkTree<'a> {
    store: &'a Path,
}

impl Tree for WorkTree<'_> {
    fn list(&mut self, dir: &Path) -> Result<Vec<(String, FileType)>, ScanError> {
        read_dir_sorted(dir)
    }

    fn read(&self, path: &Path) -> Result<Option<String>, ScanError> {
        match fsutil::read_to_string_beneath(self.store, path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(linked(path, source)),
        }
    }

    fn has_dir(&self, rel: &Path) -> bool {
        fsutil::Beneath::open(self.store, rel, false).is_ok()
    }

    fn is_work_tree(&self) -> bool {
        true
    }
}

/// A commit's tree, listed one directory at a time as the scan walks it.
struct CommitTree<'a> {
    store: &'a Store,
    /// Directories seen so far: path in the tree ("" for the top) -> tree id (`None` for a
    /// submodule, which is an empty directory here as in a fresh clone).
    dirs: HashMap<String, Option<git2::Oid>>,
    /// Files seen so far: path in the tree -> blob id.
    blobs: HashMap<String, git2::Oid>,
}

const GIT_TYPE: u32 = 0o170000;
const GIT_TREE: u32 = 0o040000;
const GIT_LINK: u32 = 0o120000;
const GIT_SUBMODULE: u32 = 0o160000;

impl CommitTree<'_> {
    /// The '/'-separated path in the tree of a path inside the store.
    fn rel(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.store.root).unwrap_or(path);
        rel.components().filter_map(|c| c.as_os_str().to_str()).collect::<Vec<_>>().join("/")
    }

    fn git_err(&self, path: &Path, source: crate::store::StoreError) -> ScanError {
        PathError::new(Op::Read, path, io::Error::other(source)).into()
    }

    /// The object at `rel` (id and git mode), reached through trees only; `None` when there
    /// is none.
    fn resolve(&self, rel: &Path) -> Result<Option<(git2::Oid, u32)>, ScanError> {
        let mut here = (self.dirs[""].expect("the top is a tree"), GIT_TREE);
        let mut at = self.store.root.clone();
        for part in rel.components() {
            let Component::Normal(name) = part else { return Ok(None) };
            match here.1 & GIT_TYPE {
                GIT_TREE => {}
                GIT_LINK => return Err(ScanError::SymlinkInStore { path: at }),
                _ => return Ok(None),
            }
            let items = self.store.tree_items(here.0).map_err(|e| self.git_err(&at, e))?;
            at.push(name);
            match items.into_iter().find(|i| i.name == name.as_bytes()) {
                Some(i) => here = (i.id, i.mode),
                None => return Ok(None),
            }
        }
        Ok(Some(here))
    }
}

impl Tree for CommitTree<'_> {
    fn list(&mut self, dir: &Path) -> Result<Vec<(String, FileType)>, ScanError> {
        let rel = self.rel(dir);
        let id = match self.dirs.get(&rel) {
            Some(id) => *id,
            None => match self.resolve(Path::new(&rel))? {
                Some((id, mode)) if mode & GIT_TYPE == GIT_TREE => Some(id),
                _ => return Err(PathError::new(Op::Read, dir, io::ErrorKind::NotFound.into()).into()),
            },
        };
        let Some(id) = id else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for item in self.store.tree_items(id).map_err(|e| self.git_err(dir, e))? {
            let name = String::from_utf8(item.name)
                .map_err(|e| ScanError::NonUtf8 { path: dir.join(std::ffi::OsStr::from_bytes(e.as_bytes())) })?;
            let path = join(&rel, &name);
            let ft = match item.mode & GIT_TYPE {
                GIT_TREE => {
                    self.dirs.insert(path, Some(item.id));
                    FileType::Dir
                }
                GIT_SUBMODULE => {
                    self.dirs.insert(path, None);
                    FileType::Dir
                }
                GIT_LINK => FileType::Symlink,
                _ => {
                    self.blobs.insert(path, item.id);
                    FileType::File
                }
            };
            out.push((name, ft));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn read(&self, path: &Path) -> Result<Option<String>, ScanError> {
        let Some((id, mode)) = self.resolve(Path::new(&self.rel(path)))? else { return Ok(None) };
        let data = match mode & GIT_TYPE {
            GIT_LINK => return Err(ScanError::SymlinkInStore { path: path.to_path_buf() }),
            GIT_TREE | GIT_SUBMODULE => Err(io::Error::from(io::ErrorKind::IsADirectory)),
            _ => self.store.blob(id).map_err(io::Error::other),
        };
        let text = data.and_then(|d| String::from_utf8(d).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)));
        Ok(Some(text.context(Op::Read, path)?))
    }

    fn has_dir(&self, rel: &Path) -> bool {
        rel.components().all(|c| matches!(c, Component::Normal(_)))
            && matches!(self.resolve(rel), Ok(Some((_, mode))) if mode & GIT_TYPE == GIT_TREE)
    }
}

/// The scan itself, through `tree`; `files` starts the list of every store file, or is `None`
/// when none is wanted.
fn scan_in(
    tree: &mut dyn Tree,
    store: &Path,
    only: &crate::selective::Only,
    files: Option<Vec<String>>,
    device: &Device,
) -> Result<SourceState, ScanError> {
    let root = source_root(tree, store)?;
    let warnings = Vec::new();
    let ignore = IgnoreRules::new();
    let mut state = SourceState {
        root: root.clone(),
        entries: Vec::new(),
        order: None,
        ignore,
        delegated_files: Vec::new(),
        warnings,
        undecided: Vec::new(),
        files: files.clone(),
        only: only.clone(),
        origin: Origin::WorkTree,
    };
    for special in tree.list(&root)? {
        let (name, _) = special;
        if name.starts_with(".chezmoiexternal") || name.starts_with(".chezmoiremove") {
            state.delegated_files.push(name.clone());
        }
        if name == ".chezmoiscripts" {
            state.delegated_files.push(name.clone());
        }
    }
    walk(&mut state, tree, &root, "", "", device)?;
    if state.ignore.is_templated() {
        ask_chezmoi(&mut state, tree, store, files, device)?;
    }
    if !state.undecided.is_empty() {
        let n = state.undecided.len();
        let listed: Vec<String> = state.undecided.iter().map(|t| format!("~/{t}")).collect();
        state.warnings.push(format!(
            "{n} target{} depend{} on a .chezmoiignore template dotback cannot evaluate, so {} neither applied nor captured: {}; install chezmoi to apply {}",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            if n == 1 { "it is" } else { "they are" },
            listed.join(", "),
            if n == 1 { "it" } else { "these" },
        ));
    }
    if root != store {
        state.files = None;
    }
    let before = |a: &Managed, b: &Managed| crate::fsutil::tree_order(&a.target, &b.target).is_lt();
    if !state.entries.windows(2).all(|w| before(&w[0], &w[1])) {
        let mut order: Vec<u32> = (0..state.entries.len() as u32).collect();
        order.sort_by(|&a, &b| {
            crate::fsutil::tree_order(&state.entries[a as usize].target, &state.entries[b as usize].target)
        });
        state.order = Some(order);
    }
    Ok(state)
}

/// With chezmoi installed and the store's work tree scanned, walks again with what
/// `chezmoi ignored` lists as the ignore rules. When chezmoi fails, the scan's own evaluation
/// stays, and chezmoi's message is a warning.
fn ask_chezmoi(
    state: &mut SourceState,
    tree: &mut dyn Tree,
    store: &Path,
    files: Option<Vec<String>>,
    device: &Device,
) -> Result<(), ScanError> {
    let Some((home, _)) = &device.places else { return Ok(()) };
    if !tree.is_work_tree() || !device.ask_chezmoi {
        return Ok(());
    }
    let Some(bin) = crate::chezmoi::find() else { return Ok(()) };
    match crate::chezmoi::ignored(&bin, home, store) {
        Ok(listed) => {
            state.entries.clear();
            state.warnings.clear();
            state.undecided.clear();
            state.files = files;
            // chezmoi lists the store's entries it ignores; the patterns still cover what is
            // not in the store yet (a file `add` would take).
            state.ignore = std::mem::take(&mut state.ignore).with_chezmoi(listed);
            let root = state.root.clone();
            walk(state, tree, &root, "", "", device)
        }
        Err(msg) => {
            state.warnings.push(format!(
                "`chezmoi ignored` failed, so dotback evaluated the .chezmoiignore templates itself: {msg}"
            ));
            Ok(())
        }
    }
}

fn source_root(tree: &dyn Tree, store: &Path) -> Result<PathBuf, ScanError> {
    match tree.read(&store.join(".chezmoiroot"))? {
        Some(text) => {
            let rel = text.trim();
            // A real directory inside the store, reached through no link.
            let ok = !rel.is_empty() && tree.has_dir(Path::new(rel));
            if !ok {
                return Err(ScanError::BadRoot { store: store.to_path_buf(), root: rel.to_string() });
            }
            Ok(store.join(rel))
        }
        None => Ok(store.to_path_buf()),
    }
}

/// A read that failed because a symbolic link was in the way is [`ScanError::SymlinkInStore`].
fn linked(path: &Path, source: io::Error) -> ScanError {
    match source.get_ref().and_then(|e| e.downcast_ref::<fsutil::Refused>()) {
        Some(fsutil::Refused::Link { path }) => ScanError::SymlinkInStore { path: path.clone() },
        _ => PathError::new(Op::Read, path, source).into(),
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, FileType)>, ScanError> {
    let listed = fsutil::list_dir(dir).context(Op::Read, dir)?;
    let mut out = Vec::with_capacity(listed.len());
    for (name, kind) in listed {
        let ft = match kind {
            fsutil::EntryKind::Symlink => FileType::Symlink,
            fsutil::EntryKind::Dir => FileType::Dir,
            fsutil::EntryKind::Other => FileType::File,
        };
        let name = String::from_utf8(name)
            .map_err(|e| ScanError::NonUtf8 { path: dir.join(std::ffi::OsStr::from_bytes(e.as_bytes())) })?;
        out.push((name, ft));
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Walks one store directory. Entries come out in tree order (each directory's children sorted
/// by target name, every directory before its contents), so no global sort is needed.
fn walk(
    state: &mut SourceState,
    tree: &mut dyn Tree,
    dir: &Path,
    source_rel: &str,
    target_rel: &str,
    device: &Device,
) -> Result<(), ScanError> {
    let listing = tree.list(dir)?;
    if let Some((_, ft)) = listing.iter().find(|(name, _)| name == ".chezmoiignore")
        && !ft.is_dir()
    {
        read_ignore_file(state, tree, &dir.join(".chezmoiignore"), target_rel, device)?;
    }
    // (entry, name in the store, file type, target)
    let mut children: Vec<(Entry, String, FileType, String)> = Vec::new();
    for (name, ft) in listing {
        // Under any name: dotback's own files (.dotback, .chezmoiignore, .git) included.
        if ft.is_symlink() {
            return Err(ScanError::SymlinkInStore { path: dir.join(&name) });
        }
        if name.starts_with('.') {
            // chezmoi ignores these (.git, .dotback, .chezmoi*); git still tracks all but .git.
            if name != ".git" {
                list_files(state, tree, dir, &name, join(source_rel, &name), ft)?;
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
            list_files(state, tree, dir, &name, source, ft)?;
            continue;
        }
        let target = join(target_rel, &entry.name);
        if state.ignore.is_ignored(&target) {
            if state.ignore.is_undecided(&target) {
                state.undecided.push(target);
            }
            list_files(state, tree, dir, &name, join(source_rel, &name), ft)?;
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
            walk(state, tree, &dir.join(&name), &source, &target, device)?;
        } else {
            list_files(state, tree, dir, &name, source.clone(), ft)?;
            state.entries.push(Managed { target, source, entry });
        }
    }
    Ok(())
}

/// Adds a `.chezmoiignore` (patterns relative to `target_dir`), its templates evaluated for
/// `device`. A line chezmoi rejects fails the scan, as it fails chezmoi.
fn read_ignore_file(
    state: &mut SourceState,
    tree: &dyn Tree,
    path: &Path,
    target_dir: &str,
    device: &Device,
) -> Result<(), ScanError> {
    // Never through a link: its target's lines would end up in error messages.
    let Some(text) = tree.read(path)? else { return Ok(()) };
    let facts = if ignore_template::is_template(&text) {
        with_store_data(tree, &state.root, device.facts())?
    } else {
        Facts::default()
    };
    state
        .ignore
        .add_file(target_dir, &text, &facts)
        .map_err(|source| ScanError::Ignore { path: path.to_path_buf(), source })
}

/// Records `dir/name` (and everything below it, for a directory) as work-tree files; `rel` is
/// its path relative to the store.
fn list_files(
    state: &mut SourceState,
    tree: &mut dyn Tree,
    dir: &Path,
    name: &str,
    rel: String,
    ft: FileType,
) -> Result<(), ScanError> {
    if ft.is_symlink() {
        return Err(ScanError::SymlinkInStore { path: dir.join(name) });
    }
    let Some(files) = state.files.as_mut() else { return Ok(()) };
    if !ft.is_dir() {
        files.push(rel);
        return Ok(());
    }
    let path = dir.join(name);
    for (child, ft) in tree.list(&path)? {
        if child != ".git" {
            list_files(state, tree, &path, &child, join(&rel, &child), ft)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, data: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, data).unwrap();
    }

    #[test]
    fn every_entry_is_found_by_its_target_scripts_and_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path();
        // A script sorts before the directory's other entries in the scan, not by its name.
        for rel in ["run_zz.sh", "dot_a/b", "dot_a-c", "dot_a/run_once_y.sh", "z", "dot_a/d/e"] {
            write(store, rel, "x\n");
        }
        let state = scan(store, &Default::default()).unwrap();
        assert!(state.order.is_some(), "the scripts put the entries out of tree order");
        for m in &state.entries {
            assert_eq!(state.get(&m.target).map(|f| &f.source), Some(&m.source), "{}", m.target);
        }
        assert!(state.get(".a/none").is_none() && state.get("").is_none() && state.get("zz").is_none());
        // A script and a file of the same target: the file, scanned later, as before.
        write(store, "literal_run_zz.sh", "x\n");
        let state = scan(store, &Default::default()).unwrap();
        assert_eq!(state.get("run_zz.sh").unwrap().source, "literal_run_zz.sh");
        // Asked in tree order with a hint, or out of order with a stale one: the same answers.
        let mut targets: Vec<&str> = state.entries.iter().map(|m| m.target.as_str()).collect();
        targets.sort_by(|a, b| crate::fsutil::tree_order(a, b));
        targets.dedup();
        for pass in [targets.clone(), targets.iter().rev().copied().collect()] {
            let mut hint = 0;
            for t in pass.iter().flat_map(|t| [*t, "dot_a/missing", *t]) {
                let want = state.get(t).map(|m| &m.source);
                assert_eq!(state.get_near(t, &mut hint).map(|m| &m.source), want, "{t}");
            }
        }
        assert_eq!(state.get_near("run_zz.sh", &mut 0).unwrap().source, "literal_run_zz.sh");
        let plain = tempfile::tempdir().unwrap();
        write(plain.path(), "dot_a/b", "x\n");
        write(plain.path(), "dot_a-c", "x\n");
        let state = scan(plain.path(), &Default::default()).unwrap();
        assert!(state.order.is_none(), "already in tree order");
        assert_eq!(state.get(".a-c").unwrap().source, "dot_a-c");
        assert_eq!(state.get(".a/b").unwrap().source, "dot_a/b");
    }

    /// What a scan found, origin aside: entries (target, source, entry), delegated files,
    /// warnings and the source root.
    type Seen = (Vec<(String, String, Entry)>, Vec<String>, Vec<String>, PathBuf);

    fn seen(s: &SourceState) -> Seen {
        let entries = s.entries.iter().map(|m| (m.target.clone(), m.source.clone(), m.entry.clone())).collect();
        (entries, s.delegated_files.clone(), s.warnings.clone(), s.root.clone())
    }

    #[test]
    fn store_data_is_merged_under_the_config_s() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".chezmoidata.toml", "a = 1\nrole = \"store\"\n[dev]\nos = \"linux\"\nhost = \"x\"\n");
        write(root, ".chezmoidata.json", "{\"n\": 2, \"dev\": {\"arch\": \"arm64\"}}");
        let config: toml::Table = toml::from_str("role = \"config\"\n[dev]\nhost = \"y\"\n").unwrap();
        let device = Facts { os: Some("linux".into()), data: config, data_complete: true, ..Facts::default() };
        let facts = with_store_data(&WorkTree { store: root }, root, &device).unwrap();
        let want: toml::Table = toml::from_str(
            "a = 1\nrole = \"config\"\nn = 2.0\n[dev]\nos = \"linux\"\nhost = \"y\"\narch = \"arm64\"\n",
        )
        .unwrap();
        assert_eq!(facts.data, want);
        assert!(facts.data_complete && facts.os.as_deref() == Some("linux"));
        // Data dotback does not read: no key is known.
        write(root, ".chezmoidata.yaml", "a: 2\n");
        assert!(!with_store_data(&WorkTree { store: root }, root, &device).unwrap().data_complete);
        fs::remove_file(root.join(".chezmoidata.yaml")).unwrap();
        write(root, ".chezmoidata/more.toml", "b = 1\n");
        assert!(!with_store_data(&WorkTree { store: root }, root, &device).unwrap().data_complete);
        fs::remove_dir_all(root.join(".chezmoidata")).unwrap();
        write(root, ".chezmoidata.json", "{\"n\": null}");
        assert!(!with_store_data(&WorkTree { store: root }, root, &device).unwrap().data_complete);
    }

    #[test]
    fn a_commit_scans_as_its_clean_work_tree_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (store, _) = Store::init(&root).unwrap();
        for (rel, data) in [
            ("dot_bashrc", "export A=1\n"),
            ("executable_dot_run", "#!/bin/sh\n"),
            ("symlink_dot_link", "target/path\n"),
            ("private_dot_ssh/config", "Host x\n"),
            ("private_dot_ssh/encrypted_private_id.age", "age-encryption.org/v1\n"),
            ("exact_dot_config/app/settings.toml", "a = 1\n"),
            ("exact_dot_config/app/skipped.log", "log\n"),
            ("exact_dot_config/.chezmoiignore", "app/*.log\n{{ if .x }}y{{ end }}\n"),
            ("exact_dot_config/y", "undecided\n"),
            ("ignored.txt", "i\n"),
            (".chezmoiignore", "ignored.txt\n"),
            (".chezmoiexternal.toml", "\n"),
            ("run_once_setup.sh", "#!/bin/sh\n"),
            ("dot_empty", ""),
            (".dotback/dotback.toml", "version = 1\n"),
        ] {
            write(&root, rel, data);
        }
        let head = store.commit_all("t", "one").unwrap().unwrap();
        let only = Default::default();
        let work = scan(&root, &only).unwrap();
        let commit = scan_commit(&store, head, &only).unwrap();
        assert_eq!(seen(&commit), seen(&work));
        let targets: Vec<&str> = work.entries.iter().map(|m| m.target.as_str()).collect();
        assert!(targets.contains(&".ssh/id") && targets.contains(&".link") && !targets.contains(&"ignored.txt"));
        assert!(!targets.contains(&".config/app/skipped.log"), "{targets:?}");
        assert_eq!(work.undecided, [".config/y"]);
        assert_eq!(work.warnings.len(), 1, "the undecided target is reported: {:?}", work.warnings);
        assert!(work.warnings[0].contains("1 target depends") && work.warnings[0].contains("~/.config/y"));
        for t in ["ignored.txt", ".config/app/skipped.log", ".bashrc"] {
            assert_eq!(commit.ignore.is_ignored(t), work.ignore.is_ignored(t), "{t}");
        }
        let Origin::Commit(c) = &commit.origin else { panic!("read from the commit") };
        assert_eq!(c.id, head);
        let bashrc = commit.get(".bashrc").unwrap();
        assert_eq!(commit.read(bashrc).unwrap(), b"export A=1\n");
        assert_eq!(c.blob(&bashrc.source), Some(crate::fsutil::hash_bytes(b"export A=1\n")));
        assert!(work.files.is_some() && commit.files.is_none());
    }

    #[test]
    fn a_commit_is_read_below_its_chezmoiroot_and_not_from_the_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (store, _) = Store::init(&root).unwrap();
        write(&root, ".chezmoiroot", "home\n");
        write(&root, "home/dot_profile", "old\n");
        write(&root, "home/private_dot_gnupg/dot_keep", "k\n");
        let first = store.commit_all("t", "one").unwrap().unwrap();
        assert_eq!(
            seen(&scan_commit(&store, first, &Default::default()).unwrap()),
            seen(&scan(&root, &Default::default()).unwrap())
        );
        fs::remove_file(root.join(".chezmoiroot")).unwrap();
        fs::remove_dir_all(root.join("home/private_dot_gnupg")).unwrap();
        write(&root, "dot_top", "t\n");
        store.commit_all("t", "two").unwrap().unwrap();
        let old = scan_commit(&store, first, &Default::default()).unwrap();
        assert_eq!(old.root, root.join("home"));
        let targets: Vec<&str> = old.entries.iter().map(|m| m.target.as_str()).collect();
        assert_eq!(targets, [".gnupg", ".gnupg/.keep", ".profile"]);
        assert_eq!(old.read(old.get(".profile").unwrap()).unwrap(), b"old\n");
    }

    #[test]
    fn a_commit_holding_a_link_or_a_bad_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let (store, _) = Store::init(&root).unwrap();
        write(&root, "real/dot_x", "x\n");
        std::os::unix::fs::symlink("real", root.join("dot_linked")).unwrap();
        let linked = store.commit_all("t", "link").unwrap().unwrap();
        let err = scan_commit(&store, linked, &Default::default()).err().unwrap();
        assert!(matches!(&err, ScanError::SymlinkInStore { path } if path == &root.join("dot_linked")), "{err:?}");
        fs::remove_file(root.join("dot_linked")).unwrap();
        for bad in ["missing", "real/dot_x", "../store", "dot_linked"] {
            if bad == "dot_linked" {
                std::os::unix::fs::symlink("real", root.join("dot_linked")).unwrap();
            }
            write(&root, ".chezmoiroot", bad);
            let id = store.commit_all("t", bad).unwrap().unwrap();
            let err = scan_commit(&store, id, &Default::default()).err().unwrap();
            assert!(matches!(&err, ScanError::BadRoot { root, .. } if root == bad), "{bad}: {err:?}");
            assert!(matches!(scan(&root, &Default::default()), Err(ScanError::BadRoot { .. })), "{bad}: work tree too");
        }
    }
}
