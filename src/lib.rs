//! dotback keeps dotfiles, secrets and package lists versioned and in sync across machines.
//!
//! The store is a git repository laid out as a chezmoi source directory. Module map:
//! - [`paths`], [`config`], [`context`]: where things are and what this device is;
//! - [`source`]: the chezmoi source-state codec (pure);
//! - [`managed`]: scanning the store into the targets it manages;
//! - [`store`]: the git repository;
//! - [`state`]: stat cache, lock and backups; [`recover`]: cleaning up after a killed run;
//! - [`eval`]: desired, actual and base for every target; [`apply`]: store -> HOME (plan,
//!   execute); [`capture`]: HOME -> store;
//! - [`sync`]: merging fetched commits; [`resolve`]: settling the conflicts a merge leaves;
//! - [`tree_check`]: refusing a fetched commit that could not be checked out safely;
//! - [`remote`]: adding, removing and listing the store's remotes;
//! - [`init`]: creating or adopting a store; [`chezmoi`]: the chezmoi binary; [`delegate`]:
//!   what dotback leaves to it, and handing that over;
//! - [`selective`]: `[[only]]` rules that limit targets to some devices;
//! - [`trust`]: which recipients and rules this device uses (the control files, authenticated);
//! - [`bootstrap`]: a new machine from one command (the step graph, user steps, the script);
//! - [`packages`]: per-device package lists (capture, diff, restore);
//! - [`service`]: the watcher as a user service (systemd, launchd) and its status file;
//! - [`health`]: proof that the store restores: check, drills, history and point-in-time restore,
//!   encrypted archives and their retention;
//!
//! The command line (`src/cli/`) is a module of the binary, not of this library: it calls
//! the operations here, renders their reports and maps their errors to exit codes.

pub mod apply;
pub mod audit;
pub mod bootstrap;
pub mod capture;
pub mod chezmoi;
pub mod config;
pub mod context;
pub mod crypt;
pub mod delegate;
pub mod diff;
pub mod error;
pub mod eval;
pub mod events;
pub mod fsutil;
pub mod guard;
pub mod health;
pub mod hooks;
pub mod init;
pub mod keys;
pub mod managed;
pub mod merge;
pub mod packages;
pub mod paths;
pub mod push;
pub mod recover;
pub mod remote;
pub mod resolve;
pub mod secrets;
pub mod selective;
pub mod service;
pub mod session;
pub mod source;
pub mod state;
pub mod status;
pub mod store;
pub mod sync;
pub mod testing;
pub mod tls;
pub mod transport;
pub mod tree_check;
pub mod trust;
pub mod vault;
pub mod watch;
