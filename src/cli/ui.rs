//! The only place that prints: messages, warnings, errors, JSON and progress bars.

use super::CliError;
use anstream::{eprint, eprintln, println};
use anstyle::{AnsiColor, Style};
use dotback::events::{Event, Sink};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Ui {
    stderr_tty: bool,
    /// The bar of the phase an operation reports, if one is under way.
    bar: Mutex<Option<ProgressBar>>,
}

pub const BOLD: Style = Style::new().bold();
pub const RED: Style = AnsiColor::Red.on_default();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const CYAN: Style = AnsiColor::Cyan.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();

impl Ui {
    pub fn new() -> Ui {
        Ui { stderr_tty: std::io::stderr().is_terminal(), bar: Mutex::new(None) }
    }

    /// A line of normal output (stdout). Colors are stripped when stdout is not a terminal.
    pub fn out(&self, line: impl std::fmt::Display) {
        println!("{line}");
    }

    /// A status sentence for the user (stderr, so stdout stays clean for data).
    pub fn info(&self, line: impl std::fmt::Display) {
        eprintln!("{line}");
    }

    pub fn warn(&self, line: impl std::fmt::Display) {
        eprintln!("{YELLOW}warning:{YELLOW:#} {line}");
    }

    pub fn hint(&self, line: impl std::fmt::Display) {
        eprintln!("{CYAN}hint:{CYAN:#} {line}");
    }

    /// An error that does not end the command (another one sets the exit code): its message
    /// as a warning, then its hints.
    pub fn warn_error(&self, e: &CliError) {
        self.warn(&e.message);
        for h in &e.hints {
            self.hint(h);
        }
    }

    /// Asks a yes/no question at the terminal (no by default); without a terminal the answer
    /// is no.
    pub fn confirm(&self, question: &str) -> bool {
        if !std::io::stdin().is_terminal() || !self.stderr_tty {
            return false;
        }
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
    }

    pub fn json<T: serde::Serialize>(&self, value: &T) {
        println!("{}", serde_json::to_string_pretty(value).expect("JSON output serializes"));
    }

    pub fn error(&self, e: &CliError) {
        eprintln!("{RED}error:{RED:#} {}", e.message);
        for cause in &e.causes {
            eprintln!("{BOLD}cause:{BOLD:#} {cause}");
        }
        for hint in &e.hints {
            self.hint(hint);
        }
    }

    /// A progress bar on a terminal (drawn at most 20 times a second, so a short job never shows
    /// one); hidden when stderr is piped.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if !self.stderr_tty {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len.max(1)), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({elapsed})").expect("progress template is valid"),
        );
        bar.set_message(what.to_string());
        bar
    }
}

/// Operations' progress becomes a bar on a terminal (see [`Ui::progress`]); their news and
/// warnings become lines, printed above the bar.
impl Sink for Ui {
    fn event(&self, event: Event<'_>) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Start { phase, total } => {
                if let Some(old) = bar.replace(self.progress(total, phase)) {
                    old.finish_and_clear();
                }
            }
            Event::Step { label } => {
                if let Some(b) = bar.as_ref() {
                    b.inc(1);
                    if let Some(l) = label {
                        b.set_message(l.to_string());
                    }
                }
            }
            Event::Finish => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
            Event::News(line) => match bar.as_ref() {
                Some(b) => b.suspend(|| self.info(line)),
                None => self.info(line),
            },
            Event::Warning(line) => match bar.as_ref() {
                Some(b) => b.suspend(|| self.warn(line)),
                None => self.warn(line),
            },
        }
    }
}

impl Default for Ui {
    fn default() -> Self {
        Ui::new()
    }
}
