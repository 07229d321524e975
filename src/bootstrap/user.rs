//! Running the manifest's user steps, and remembering which ones this device approved.
//!
//! A user step is code from the store. Before one runs for the first time, or after its `run`
//! or `unless` changed, the user sees its commands and says yes (or passes `--yes`);
//! [`Approvals`] keeps, per step name, a SHA-256 of what was approved, so an unchanged step is
//! not asked about again and a changed one always is.
//!
//! [`run`] runs a step with `sh -c` in HOME, stdin closed and its output appended to a log
//! under the state directory, in a process group of its own: a step that outlives its
//! `timeout` is stopped with everything it started (SIGTERM to the group, SIGKILL after a
//! grace period), so a hung installer cannot leave a child behind.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::plan::{Timeout, UserStep};
use crate::error::{IoContext, Op, PathError};
use crate::events::Sink;

/// How long a timed-out step has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// How many lines of a failed step's output its error shows.
const TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum UserStepError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("{} is not a list of approved steps ({message}); remove it, and bootstrap asks about every step again", path.display())]
    Approvals { path: PathBuf, message: String },
    #[error("cannot start `sh` for step `{step}`")]
    Spawn {
        step: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "step `{step}` did not finish within its timeout of {timeout} and was stopped, with everything it started; its output is in {}",
        log.display()
    )]
    TimedOut { step: String, timeout: Timeout, log: PathBuf },
    #[error("step `{step}` {}; its output is in {}{}", exit_text(*.code, *.signal), log.display(), tail_text(.tail))]
    Failed { step: String, code: Option<i32>, signal: Option<i32>, log: PathBuf, tail: Vec<String> },
}

fn exit_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("failed with exit code {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        (None, None) => "failed".into(),
    }
}

fn tail_text(tail: &[String]) -> String {
    if tail.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = tail.iter().map(|l| format!("\n    {l}")).collect();
    format!(", ending:{}", lines.concat())
}

/// What running a step came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `run` exited 0.
    Ran,
    /// `unless` exited 0, so `run` did not run.
    AlreadyDone,
}

/// Runs `step` in `home`: its `unless` first (exit 0: [`Outcome::AlreadyDone`]), then its
/// `run`, both with their output appended to `log` (created 0600). Its `timeout` covers both.
pub fn run(step: &UserStep, home: &Path, log_path: &Path, sink: &dyn Sink) -> Result<Outcome, UserStepError> {
    if let Some(dir) = log_path.parent() {
        crate::state::ensure_private_dir(dir)?;
    }
    let mut log =
        OpenOptions::new().append(true).create(true).mode(0o600).open(log_path).context(Op::Write, log_path)?;
    let deadline = step.timeout.map(|t| Instant::now() + t.0);
    let timed_out = || UserStepError::TimedOut {
        step: step.name.clone(),
        timeout: step.timeout.expect("only a step with a timeout times out"),
        log: log_path.to_path_buf(),
    };
    let note = |log: &mut File, line: String| writeln!(log, "==> {line}").context(Op::Write, log_path);

    if let Some(unless) = &step.unless {
        note(&mut log, format!("step `{}`: unless: {unless}", step.name))?;
        match shell(step, unless, home, &log, deadline, sink)? {
            None => return Err(timed_out()),
            Some(status) if status.success() => {
                note(&mut log, "`unless` exited 0: already done".into())?;
                return Ok(Outcome::AlreadyDone);
            }
            Some(_) => {}
        }
    }
    note(&mut log, format!("step `{}`: run: {}", step.name, step.run))?;
    let start = log.stream_position().context(Op::Read, log_path)?;
    let status = shell(step, &step.run, home, &log, deadline, sink)?.ok_or_else(timed_out)?;
    if status.success() {
        return Ok(Outcome::Ran);
    }
    Err(UserStepError::Failed {
        step: step.name.clone(),
        code: status.code(),
        signal: status.signal(),
        log: log_path.to_path_buf(),
        tail: tail(log_path, start).context(Op::Read, log_path)?,
    })
}

/// Runs `sh -c command` in a process group of its own; `None` when `deadline` passed first and
/// the group was stopped.
fn shell(
    step: &UserStep,
    command: &str,
    home: &Path,
    log: &File,
    deadline: Option<Instant>,
    sink: &dyn Sink,
) -> Result<Option<ExitStatus>, UserStepError> {
    let spawn = || -> io::Result<std::process::Child> {
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(home)
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?)
            .process_group(0)
            .spawn()
    };
    let mut child = spawn().map_err(|source| UserStepError::Spawn { step: step.name.clone(), source })?;
    let Some(deadline) = deadline else {
        return child.wait().map(Some).map_err(|source| UserStepError::Spawn { step: step.name.clone(), source });
    };
    let group = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let waited =
        |r: io::Result<ExitStatus>| r.map_err(|source| UserStepError::Spawn { step: step.name.clone(), source });
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(r) => return waited(r).map(Some),
        Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the waiting thread always sends"),
        Err(mpsc::RecvTimeoutError::Timeout) => {}
    }
    signal_group(group, libc::SIGTERM);
    if rx.recv_timeout(GRACE).is_err() {
        sink.warn(format!(
            "step `{}` did not stop within {}s of SIGTERM; killing it and everything it started",
            step.name,
            GRACE.as_secs()
        ));
    }
    // Whatever the step started and is still running (also after `sh` itself exited) goes too.
    signal_group(group, libc::SIGKILL);
    Ok(None)
}

fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions. The group is the one the step's `sh`
    // leads; ESRCH (nothing left in it) is the outcome wanted.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// The last lines written to `path` from `start` on (at most the last 64 KiB of them).
fn tail(path: &Path, start: u64) -> io::Result<Vec<String>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let from = start.max(len.saturating_sub(64 << 10));
    f.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(TAIL_LINES)..].iter().map(|l| l.to_string()).collect())
}

/// The steps this device approved: per step name, the SHA-256 of its `run` and `unless`, kept in
/// `<state>/bootstrap-approved.json`.
#[derive(Debug)]
pub struct Approvals {
    path: PathBuf,
    approved: BTreeMap<String, String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalsFile {
    approved: BTreeMap<String, String>,
}

impl Approvals {
    /// Reads the approvals kept in `state_dir` (none when there is no file yet).
    pub fn load(state_dir: &Path) -> Result<Approvals, UserStepError> {
        let path = state_dir.join("bootstrap-approved.json");
        let approved = match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<ApprovalsFile>(&bytes)
                    .map_err(|e| UserStepError::Approvals { path: path.clone(), message: e.to_string() })?
                    .approved
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(PathError::new(Op::Read, &path, e).into()),
        };
        Ok(Approvals { path, approved })
    }

    /// Whether `step` must be shown and confirmed before it runs: never approved here, or its
    /// `run` or `unless` changed since.
    pub fn needs_approval(&self, step: &UserStep) -> bool {
        self.approved.get(&step.name) != Some(&digest(step))
    }

    /// Records `steps` as approved as they are now, and writes the file (atomically, 0600).
    pub fn approve<'a>(&mut self, steps: impl IntoIterator<Item = &'a UserStep>) -> Result<(), UserStepError> {
        for s in steps {
            self.approved.insert(s.name.clone(), digest(s));
        }
        if let Some(dir) = self.path.parent() {
            crate::state::ensure_private_dir(dir)?;
        }
        let file = ApprovalsFile { approved: self.approved.clone() };
        let text = serde_json::to_vec_pretty(&file).expect("approvals serialize");
        crate::fsutil::write_atomic(&self.path, &text, 0o600).context(Op::Write, &self.path)?;
        Ok(())
    }
}

/// SHA-256 (hex) of what a step runs: its `run` and `unless`, encoded so that no two different
/// pairs give the same bytes.
pub fn digest(step: &UserStep) -> String {
    let encoded = serde_json::to_vec(&(&step.run, &step.unless)).expect("strings serialize");
    Sha256::digest(&encoded).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Collect;

    fn step(name: &str, run: &str) -> UserStep {
        UserStep {
            name: name.into(),
            run: run.into(),
            after: Vec::new(),
            before: Vec::new(),
            unless: None,
            os: None,
            device: None,
            timeout: None,
        }
    }

    struct Home {
        _dir: tempfile::TempDir,
        home: PathBuf,
        log: PathBuf,
    }

    fn home() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        let log = dir.path().join("state/dotback/bootstrap-logs/step.log");
        Home { _dir: dir, home, log }
    }

    #[test]
    fn a_step_runs_in_home_with_its_output_in_a_private_log() {
        let h = home();
        let s = step("hello", "echo out; echo err >&2; pwd > where; read x || echo no-stdin");
        assert_eq!(run(&s, &h.home, &h.log, &Collect::default()).unwrap(), Outcome::Ran);
        let log = fs::read_to_string(&h.log).unwrap();
        assert!(log.contains("out\n") && log.contains("err\n") && log.contains("no-stdin"), "{log}");
        assert!(log.contains("step `hello`: run: echo out"), "{log}");
        assert_eq!(fs::read_to_string(h.home.join("where")).unwrap().trim(), h.home.to_str().unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&h.log).unwrap().permissions().mode() & 0o777, 0o600);
        // A second run appends.
        run(&s, &h.home, &h.log, &Collect::default()).unwrap();
        assert_eq!(fs::read_to_string(&h.log).unwrap().lines().filter(|l| *l == "no-stdin").count(), 2);
    }

    #[test]
    fn a_failing_step_reports_its_code_its_log_and_the_end_of_its_output() {
        let h = home();
        fs::create_dir_all(h.log.parent().unwrap()).unwrap();
        fs::write(&h.log, "an earlier run's line\n").unwrap();
        let s = step("broken", "for i in $(seq 1 30); do echo line $i; done; echo oops >&2; exit 3");
        let err = run(&s, &h.home, &h.log, &Collect::default()).unwrap_err();
        let UserStepError::Failed { code, tail, log, .. } = &err else { panic!("{err}") };
        assert_eq!(*code, Some(3));
        assert_eq!(log, &h.log);
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.last().map(String::as_str), Some("oops"));
        assert_eq!(tail.first().map(String::as_str), Some("line 12"));
        let text = err.to_string();
        assert!(text.starts_with("step `broken` failed with exit code 3; its output is in "), "{text}");
        assert!(text.contains(h.log.to_str().unwrap()) && text.ends_with("\n    oops"), "{text}");

        let err = run(&step("short", "echo only; exit 1"), &h.home, &h.log, &Collect::default()).unwrap_err();
        let UserStepError::Failed { tail, .. } = &err else { panic!("{err}") };
        assert_eq!(tail, &["only"], "the tail holds this run's output only");

        let err = run(&step("killed", "kill -9 $$"), &h.home, &h.log, &Collect::default()).unwrap_err();
        assert!(err.to_string().contains("was killed by signal 9"), "{err}");
    }

    #[test]
    fn unless_exiting_zero_skips_the_step() {
        let h = home();
        let mut s = step("once", "touch ran; echo x >> count");
        s.unless = Some("test -e ran".into());
        assert_eq!(run(&s, &h.home, &h.log, &Collect::default()).unwrap(), Outcome::Ran);
        assert_eq!(run(&s, &h.home, &h.log, &Collect::default()).unwrap(), Outcome::AlreadyDone);
        assert_eq!(fs::read_to_string(h.home.join("count")).unwrap(), "x\n");
        assert!(fs::read_to_string(&h.log).unwrap().contains("already done"));
    }

    #[test]
    fn a_step_past_its_timeout_is_killed_with_its_children() {
        let h = home();
        let mut s = step("hangs", "sleep 300 & echo $! > child; echo started; wait");
        s.timeout = Some(Timeout(Duration::from_secs(1)));
        let err = run(&s, &h.home, &h.log, &Collect::default()).unwrap_err();
        assert!(matches!(&err, UserStepError::TimedOut { step, .. } if step == "hangs"), "{err}");
        let text = err.to_string();
        assert!(text.contains("`hangs`") && text.contains("timeout of 1s") && text.contains(h.log.to_str().unwrap()));
        assert_gone(&h.home.join("child"));

        // A step that ignores SIGTERM gets SIGKILL after the grace period, and a warning says so.
        let mut s = step("stubborn", "trap '' TERM; sleep 300 & echo $! > child2; wait; wait");
        s.timeout = Some(Timeout(Duration::from_secs(1)));
        let sink = Collect::default();
        assert!(matches!(run(&s, &h.home, &h.log, &sink), Err(UserStepError::TimedOut { .. })));
        assert_gone(&h.home.join("child2"));
        let warnings = sink.warnings();
        assert!(warnings.len() == 1 && warnings[0].contains("`stubborn` did not stop"), "{warnings:?}");

        // `unless` is under the same timeout.
        let mut s = step("hangs-early", "true");
        s.unless = Some("sleep 300".into());
        s.timeout = Some(Timeout(Duration::from_secs(1)));
        assert!(matches!(run(&s, &h.home, &h.log, &Collect::default()), Err(UserStepError::TimedOut { .. })));
    }

    /// Waits (without a time limit on the assertion's outcome) for the process whose pid is in
    /// `pid_file` to be gone or a zombie, and fails when it is still running after 10s.
    fn assert_gone(pid_file: &Path) {
        let pid: u32 = fs::read_to_string(pid_file).unwrap().trim().parse().unwrap();
        let gone = || match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        };
        for _ in 0..200 {
            if gone() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the step's child {pid} is still running");
    }

    #[test]
    fn approvals_ask_first_and_again_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/dotback");
        let mut a = Approvals::load(&state).unwrap();
        let s = step("tools", "make install");
        let other = step("fonts", "fc-cache");
        assert!(a.needs_approval(&s), "a step never seen");
        a.approve([&s]).unwrap();
        assert!(!a.needs_approval(&s));
        assert!(a.needs_approval(&other), "approving one step approves only that one");

        let a = Approvals::load(&state).unwrap();
        assert!(!a.needs_approval(&s), "approvals are kept");
        let path = state.join("bootstrap-approved.json");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let changed_run = UserStep { run: "make install PREFIX=/".into(), ..s.clone() };
        assert!(a.needs_approval(&changed_run), "a changed `run`");
        let changed_unless = UserStep { unless: Some("true".into()), ..s.clone() };
        assert!(a.needs_approval(&changed_unless), "a changed `unless`");
        let moved = UserStep { after: vec!["packages".into()], ..s.clone() };
        assert!(!a.needs_approval(&moved), "only what runs counts");

        fs::write(&path, "{not json").unwrap();
        let err = Approvals::load(&state).unwrap_err().to_string();
        assert!(err.contains("bootstrap-approved.json") && err.contains("remove it"), "{err}");
    }
}
