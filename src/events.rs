//! How an operation tells whoever runs it what is happening: progress, news and warnings.
//!
//! Operations never print. The command line implements [`Sink`] with a progress bar on a
//! terminal and plain lines otherwise; the watcher logs; tests collect ([`Collect`]) or
//! ignore ([`Silent`]) what they are told.

use std::sync::Mutex;

/// One thing an operation reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A phase of `total` steps begins ("fetching", "applying", "capturing").
    Start { phase: &'a str, total: u64 },
    /// One step of the current phase is done; `label` names what comes next, if anything.
    Step { label: Option<&'a str> },
    /// The current phase is over.
    Finish,
    /// A sentence for the user: something that happened and is worth knowing.
    News(String),
    /// Something went wrong or needs the user, without stopping the operation.
    Warning(String),
}

/// Receives the events of an operation; shared by the threads an operation may start.
pub trait Sink: Sync {
    fn event(&self, event: Event<'_>);

    fn news(&self, line: String) {
        self.event(Event::News(line));
    }

    fn warn(&self, line: String) {
        self.event(Event::Warning(line));
    }
}

/// A sink that drops everything.
pub struct Silent;

impl Sink for Silent {
    fn event(&self, _: Event<'_>) {}
}

/// A sink that keeps the news and warnings it gets (progress is dropped), for tests and for
/// callers that report them later.
#[derive(Default)]
pub struct Collect {
    lines: Mutex<Vec<Line>>,
}

/// A news or warning line kept by [`Collect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    News(String),
    Warning(String),
}

impl Collect {
    pub fn lines(&self) -> Vec<Line> {
        self.lines.lock().expect("no thread panicked while holding the lines").clone()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter_map(|l| match l {
                Line::Warning(w) => Some(w),
                Line::News(_) => None,
            })
            .collect()
    }
}

impl Sink for Collect {
    fn event(&self, event: Event<'_>) {
        let line = match event {
            Event::News(n) => Line::News(n),
            Event::Warning(w) => Line::Warning(w),
            _ => return,
        };
        self.lines.lock().expect("no thread panicked while holding the lines").push(line);
    }
}

/// A phase that reports its steps and always ends with [`Event::Finish`], also on an early
/// return.
pub struct Phase<'a> {
    sink: &'a dyn Sink,
}

impl<'a> Phase<'a> {
    pub fn start(sink: &'a dyn Sink, phase: &str, total: usize) -> Phase<'a> {
        sink.event(Event::Start { phase, total: total as u64 });
        Phase { sink }
    }

    pub fn step(&self) {
        self.sink.event(Event::Step { label: None });
    }

    /// A step after which `label` is under way.
    pub fn next(&self, label: &str) {
        self.sink.event(Event::Step { label: Some(label) });
    }
}

impl Drop for Phase<'_> {
    fn drop(&mut self) {
        self.sink.event(Event::Finish);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collect_keeps_news_and_warnings_in_order_and_drops_progress() {
        let c = Collect::default();
        {
            let p = Phase::start(&c, "fetching", 2);
            c.news("one".into());
            p.step();
            c.warn("two".into());
        }
        assert_eq!(c.lines(), vec![Line::News("one".into()), Line::Warning("two".into())]);
        assert_eq!(c.warnings(), vec!["two".to_string()]);
    }
}
