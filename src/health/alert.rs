//! `alert_command`: what `check --alert`, `drill --alert` and the watcher run when they find an
//! error-level problem. The command runs with `sh -c`, an [`Alert`] as JSON on its stdin. It is
//! given as an unnamed temporary file (it holds no secret: findings name paths, never
//! contents), so a command that does not read it cannot break a pipe under dotback.

use super::check::{Finding, Severity};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What an alert command reads on its stdin.
#[derive(Clone, Debug, Serialize)]
pub struct Alert<'a> {
    /// `check`, `drill` or `watch`.
    pub source: &'static str,
    pub device: &'a str,
    /// When it was raised (RFC 3339, UTC).
    pub time: String,
    /// The worst severity among the findings.
    pub worst: Severity,
    pub findings: &'a [Finding],
}

impl<'a> Alert<'a> {
    pub fn new(source: &'static str, device: &'a str, findings: &'a [Finding]) -> Alert<'a> {
        let worst = findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Ok);
        Alert { source, device, time: crate::state::rfc3339_now(), worst, findings }
    }
}

/// How long an alert command may take before it is stopped (a watcher waits for it).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `command` with `alert` on its stdin; `Err` says why it failed, in words. A command
/// still running after [`TIMEOUT`] is killed.
pub fn send(command: &str, alert: &Alert) -> Result<(), String> {
    use std::io::{Seek, Write};
    let json = serde_json::to_vec(alert).map_err(|e| e.to_string())?;
    let mut input = tempfile::tempfile().map_err(|e| format!("no temporary file for its input: {e}"))?;
    input.write_all(&json).and_then(|()| input.rewind()).map_err(|e| format!("its input could not be written: {e}"))?;
    let mut child = std::process::Command::new("sh")
        .args(["-c", command])
        .stdin(input)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("`sh` could not be started: {e}"))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(|e| format!("`{command}` could not be waited for: {e}"))? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{command}` was still running after {} s, and was stopped", TIMEOUT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    if status.success() { Ok(()) } else { Err(format!("`{command}` exited with {status}")) }
}

/// The finding that says errors were found with `--alert` but no `alert_command` is set.
pub fn unset() -> Finding {
    Finding::warning("alert", "the errors found alerted no one: the device config has no `alert_command`")
        .hint("set `alert_command` in the device config (the README shows one that pings a URL)")
}

/// The finding that says the alert command failed (it never hides what it was to report).
pub fn failed(why: &str) -> Finding {
    Finding::warning("alert", format!("the alert command failed: {why}"))
        .hint("`alert_command` in the device config runs with `sh -c`, the findings as JSON on its stdin")
}
