//! The bootstrap step graph: which steps run on this machine, in what order, and why (pure).
//!
//! The built-in steps form a chain ([`Builtin::ALL`]); the manifest's `[[bootstrap.step]]`
//! tables ([`UserStep`]) hook into it with `after` and `before`:
//!
//! ```toml
//! [[bootstrap.step]]
//! name = "rust"
//! run = "rustup default stable"
//! unless = "command -v cargo"
//! after = ["package-managers"]  # or "package-managers"
//! before = ["packages"]
//! os = "linux"              # or ["linux", "macos"]
//! device = ["laptop"]       # or "laptop"
//! timeout = "10m"           # <n>s, <n>m or <n>h
//! ```
//!
//! [`plan`] orders every step topologically, taking among the steps that are ready the one
//! with the smallest name, so the same manifest always gives the same order. A user step always
//! runs after `unlock`: steps come from the store's manifest, which can only be authenticated
//! once the store is unlocked, so nothing a store says runs before that. A step with no `after`
//! goes where its name puts it among the steps ready once `unlock` is done; say where it belongs.
//! A step that does not run here (its `os` or `device`, `--skip`, `--only`) keeps its place in
//! the graph, so leaving it out never reorders the others. The plan that `--dry-run` prints is
//! the plan that runs: each step carries the reasons for its edges.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::selective::OS_NAMES;

/// The built-in steps, in the order they depend on each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    Clone,
    Unlock,
    Ssh,
    Gpg,
    PackageManagers,
    Packages,
    Dotfiles,
    Templates,
    Verify,
}

impl Builtin {
    /// Every built-in step; each runs after the one before it.
    pub const ALL: [Builtin; 9] = [
        Builtin::Clone,
        Builtin::Unlock,
        Builtin::Ssh,
        Builtin::Gpg,
        Builtin::PackageManagers,
        Builtin::Packages,
        Builtin::Dotfiles,
        Builtin::Templates,
        Builtin::Verify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Clone => "clone",
            Builtin::Unlock => "unlock",
            Builtin::Ssh => "ssh",
            Builtin::Gpg => "gpg",
            Builtin::PackageManagers => "package-managers",
            Builtin::Packages => "packages",
            Builtin::Dotfiles => "dotfiles",
            Builtin::Templates => "templates",
            Builtin::Verify => "verify",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `[[bootstrap.step]]`, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawStep")]
pub struct UserStep {
    pub name: String,
    /// A command line, run by `sh -c` in HOME.
    pub run: String,
    /// Steps (user or built-in) this one runs after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Steps (user or built-in) this one runs before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// A command that says the step is already done when it exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless: Option<String>,
    /// The operating systems the step runs on (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Vec<String>>,
    /// The devices the step runs on (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Vec<String>>,
    /// How long the step may take before it is stopped (no limit when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
}

/// `[[bootstrap.step]]` as written, before the checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    run: String,
    #[serde(default)]
    after: Names,
    #[serde(default)]
    before: Names,
    unless: Option<String>,
    os: Option<OsNames>,
    device: Option<Names>,
    timeout: Option<Timeout>,
}

impl TryFrom<RawStep> for UserStep {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<UserStep, String> {
        let step = UserStep {
            name: raw.name,
            run: raw.run,
            after: raw.after.0,
            before: raw.before.0,
            unless: raw.unless,
            os: raw.os.map(|n| n.0),
            device: raw.device.map(|n| n.0),
            timeout: raw.timeout,
        };
        step.check()?;
        Ok(step)
    }
}

impl UserStep {
    /// The checks a step passes on its own (the ones that need the other steps are in
    /// [`check_steps`] and [`plan`]).
    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "[[bootstrap.step]] name `{name}`: a step name is lowercase letters, digits, `-` and `_`"
            ));
        }
        if Builtin::from_name(name).is_some() {
            return Err(format!(
                "[[bootstrap.step]] name `{name}` is a built-in step's; give the step a name of its own"
            ));
        }
        let at = |key: &str| format!("[[bootstrap.step]] `{name}`: `{key}`");
        if self.run.trim().is_empty() {
            return Err(format!("{} is empty; write the command line the step runs", at("run")));
        }
        if self.unless.as_deref().is_some_and(|u| u.trim().is_empty()) {
            return Err(format!(
                "{} is empty; write a command that exits 0 when the step is done, or leave it out",
                at("unless")
            ));
        }
        for (key, list) in [("after", &self.after), ("before", &self.before)] {
            if let Some(bad) = list.iter().find(|n| n.trim().is_empty()) {
                return Err(format!("{} names `{bad}`, which is not a step name", at(key)));
            }
        }
        if let Some(os) = &self.os {
            if os.is_empty() {
                return Err(format!("{} is empty; name \"linux\" or \"macos\", or leave it out", at("os")));
            }
            if let Some(bad) = os.iter().find(|o| !OS_NAMES.contains(&o.as_str())) {
                return Err(format!("{}: unknown OS `{bad}`; use \"linux\" or \"macos\"", at("os")));
            }
        }
        if let Some(device) = &self.device {
            if device.is_empty() {
                return Err(format!("{} is empty; name the devices the step runs on, or leave it out", at("device")));
            }
            if let Some(bad) = device.iter().find(|d| d.trim().is_empty()) {
                return Err(format!("{} names `{bad}`, which is not a device name", at("device")));
            }
        }
        Ok(())
    }
}

/// The checks that need every step: each passes its own, and no two share a name.
pub fn check_steps(steps: &[UserStep]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for s in steps {
        s.check()?;
        if !seen.insert(s.name.as_str()) {
            return Err(format!("[[bootstrap.step]] name `{}` is used by two steps; give each its own", s.name));
        }
    }
    Ok(())
}

/// `"x"` or `["x", "y"]`.
#[derive(Default)]
struct Names(Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name or a list of names")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    out.push(name);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `os`: names from [`OS_NAMES`], refused where they are written.
struct OsNames(Vec<String>);

impl<'de> Deserialize<'de> for OsNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<OsNames, D::Error> {
        let names = Names::deserialize(d)?.0;
        match names.iter().find(|o| !OS_NAMES.contains(&o.as_str())) {
            Some(bad) => {
                Err(serde::de::Error::custom(format!("unknown OS `{bad}` in `os`; use \"linux\" or \"macos\"")))
            }
            None => Ok(OsNames(names)),
        }
    }
}

/// A step's `timeout`: `"30s"`, `"10m"` or `"2h"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub std::time::Duration);

impl Timeout {
    pub fn parse(text: &str) -> Result<Timeout, String> {
        let bad = || format!("`{text}` is not a timeout; write a whole number followed by s, m or h (such as \"10m\")");
        let unit = match text.chars().last() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        let secs = n.checked_mul(unit).filter(|&s| s > 0).ok_or_else(bad)?;
        Ok(Timeout(std::time::Duration::from_secs(secs)))
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_secs() {
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

impl Serialize for Timeout {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timeout, D::Error> {
        Timeout::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A step of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Builtin(Builtin),
    User(UserStep),
}

impl Step {
    pub fn name(&self) -> &str {
        match self {
            Step::Builtin(b) => b.name(),
            Step::User(u) => &u.name,
        }
    }
}

/// The steps in the order they run, each with why it is there and whether it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Planned>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub step: Step,
    /// The edges that place it. The built-in chain's are shown on the later step only; the ones
    /// a user step declares, on both of their ends.
    pub edges: Vec<Edge>,
    /// Why it does not run here, when it does not.
    pub skipped: Option<Skip>,
}

/// One edge of the graph, seen from the step that carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub order: Order,
    /// The step at the other end.
    pub other: String,
    pub why: Why,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    After,
    Before,
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::After => "after",
            Order::Before => "before",
        })
    }
}

/// Where an edge comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Why {
    /// The order of the built-in steps.
    BuiltinOrder,
    /// A user step's `after` or `before`.
    Declared { by: String, order: Order },
    /// User steps run once the store is unlocked (and its manifest authenticated).
    Unlocked,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} (", self.order, self.other)?;
        match &self.why {
            Why::BuiltinOrder => f.write_str("built-in order)"),
            Why::Declared { by, order } => write!(f, "step `{by}` says {order})"),
            Why::Unlocked => f.write_str("user steps run once the store is unlocked and its manifest authenticated)"),
        }
    }
}

/// Why a step does not run on this machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// Its `os` does not name this machine's.
    Os { only: Vec<String>, this: String },
    /// Its `device` does not name this device.
    Device { only: Vec<String>, this: String },
    /// `--skip` names it.
    SkipOption,
    /// `--only` names other steps.
    NotInOnly,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Os { only, this } => write!(f, "only on {} (this machine runs {this})", only.join(", ")),
            Skip::Device { only, this } => write!(f, "only on device {} (this is {this})", only.join(", ")),
            Skip::SkipOption => f.write_str("--skip names it"),
            Skip::NotInOnly => f.write_str("--only does not name it"),
        }
    }
}

/// Where an unknown step name was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsedBy {
    After(String),
    Before(String),
    Only,
    Skip,
}

impl fmt::Display for UsedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsedBy::After(s) => write!(f, "step `{s}` says after"),
            UsedBy::Before(s) => write!(f, "step `{s}` says before"),
            UsedBy::Only => f.write_str("--only names"),
            UsedBy::Skip => f.write_str("--skip names"),
        }
    }
}

/// A set of steps that cannot be ordered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Invalid(String),
    #[error("{used_by} `{name}`, which is not a step (the steps are: {})", known.join(", "))]
    Unknown { name: String, used_by: UsedBy, known: Vec<String> },
    #[error(
        "step `{step}` says before `{builtin}`; no user step can run before `clone` or `unlock`, because steps come from the store's manifest, which is only authenticated once the store is unlocked"
    )]
    TooEarly { step: String, builtin: Builtin },
    /// Each step of the cycle must run before the next, and the last before the first.
    #[error("the bootstrap steps form a cycle: {}; remove one of these `after`/`before`", cycle_text(.0))]
    Cycle(Vec<String>),
}

fn cycle_text(cycle: &[String]) -> String {
    let mut names: Vec<&str> = cycle.iter().map(String::as_str).collect();
    names.extend(cycle.first().map(String::as_str));
    names.join(" -> ")
}

/// Orders the built-in steps and `user`'s for a machine running `os` named `device`, with the
/// `--only` and `--skip` names given.
pub fn plan(user: &[UserStep], os: &str, device: &str, only: &[String], skip: &[String]) -> Result<Plan, PlanError> {
    check_steps(user).map_err(PlanError::Invalid)?;
    let mut steps: Vec<Step> = Builtin::ALL.into_iter().map(Step::Builtin).collect();
    steps.extend(user.iter().cloned().map(Step::User));
    let index: BTreeMap<&str, usize> = steps.iter().enumerate().map(|(i, s)| (s.name(), i)).collect();
    let find = |name: &str, used_by: UsedBy| {
        index.get(name).copied().ok_or_else(|| PlanError::Unknown {
            name: name.to_string(),
            used_by,
            known: index.keys().map(|k| k.to_string()).collect(),
        })
    };

    // Edges run from the earlier step to the later one.
    let mut graph = BTreeSet::new();
    let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); steps.len()];
    let mut link = |from: usize, to: usize, show: &[(usize, Why)]| {
        graph.insert((from, to));
        for (at, why) in show {
            let (order, other) = if *at == to { (Order::After, from) } else { (Order::Before, to) };
            edges[*at].push(Edge { order, other: steps[other].name().to_string(), why: why.clone() });
        }
    };
    for (i, _) in Builtin::ALL.iter().enumerate().skip(1) {
        link(i - 1, i, &[(i, Why::BuiltinOrder)]);
    }
    let unlock = Builtin::Unlock as usize;
    for (n, step) in user.iter().enumerate() {
        let me = Builtin::ALL.len() + n;
        let mut placed_after_unlock = false;
        for a in &step.after {
            let other = find(a, UsedBy::After(step.name.clone()))?;
            placed_after_unlock |= other >= unlock;
            let why = Why::Declared { by: step.name.clone(), order: Order::After };
            link(other, me, &[(me, why.clone()), (other, why)]);
        }
        for b in &step.before {
            let other = find(b, UsedBy::Before(step.name.clone()))?;
            if other <= unlock {
                return Err(PlanError::TooEarly { step: step.name.clone(), builtin: Builtin::ALL[other] });
            }
            let why = Why::Declared { by: step.name.clone(), order: Order::Before };
            link(me, other, &[(me, why.clone()), (other, why)]);
        }
        let show: &[(usize, Why)] = if placed_after_unlock { &[] } else { &[(me, Why::Unlocked)] };
        link(unlock, me, show);
    }
    for name in only {
        find(name, UsedBy::Only)?;
    }
    for name in skip {
        find(name, UsedBy::Skip)?;
    }

    // Kahn's algorithm, always taking the ready step with the smallest name.
    let mut waiting = vec![0usize; steps.len()];
    for &(_, to) in &graph {
        waiting[to] += 1;
    }
    let mut ready: BTreeSet<(&str, usize)> =
        (0..steps.len()).filter(|&i| waiting[i] == 0).map(|i| (steps[i].name(), i)).collect();
    let mut order = Vec::with_capacity(steps.len());
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for &(_, to) in graph.range((i, 0)..=(i, usize::MAX)) {
            waiting[to] -= 1;
            if waiting[to] == 0 {
                ready.insert((steps[to].name(), to));
            }
        }
    }
    if order.len() < steps.len() {
        return Err(PlanError::Cycle(find_cycle(&steps, &graph, &waiting)));
    }

    let skipped = |step: &Step| -> Option<Skip> {
        if let Step::User(u) = step {
            if let Some(list) = u.os.as_ref().filter(|l| !l.iter().any(|o| o == os)) {
                return Some(Skip::Os { only: list.clone(), this: os.to_string() });
            }
            if let Some(list) = u.device.as_ref().filter(|l| !l.iter().any(|d| d == device)) {
                return Some(Skip::Device { only: list.clone(), this: device.to_string() });
            }
        }
        if skip.iter().any(|s| s == step.name()) {
            return Some(Skip::SkipOption);
        }
        if !only.is_empty() && !only.iter().any(|s| s == step.name()) {
            return Some(Skip::NotInOnly);
        }
        None
    };
    let steps = order
        .into_iter()
        .map(|i| Planned { skipped: skipped(&steps[i]), step: steps[i].clone(), edges: std::mem::take(&mut edges[i]) })
        .collect();
    Ok(Plan { steps })
}

/// A cycle among the steps Kahn's algorithm could not order (each still `waiting` on another
/// of them): walk back from the smallest name through the smallest-named waiting predecessor
/// until a step repeats. Returned in running order, starting at its smallest name.
fn find_cycle(steps: &[Step], graph: &BTreeSet<(usize, usize)>, waiting: &[usize]) -> Vec<String> {
    let stuck = |i: usize| waiting[i] > 0;
    let by_name = |&a: &usize, &b: &usize| steps[a].name().cmp(steps[b].name());
    let start = (0..steps.len()).filter(|&i| stuck(i)).min_by(by_name).expect("a step is stuck");
    let mut path = vec![start];
    loop {
        let last = *path.last().expect("the path is not empty");
        let pred = graph
            .iter()
            .filter(|&&(from, to)| to == last && stuck(from))
            .map(|&(from, _)| from)
            .min_by(by_name)
            .expect("a stuck step waits on another stuck step");
        if let Some(at) = path.iter().position(|&p| p == pred) {
            let mut cycle: Vec<usize> = path.split_off(at);
            cycle.reverse();
            let first = (0..cycle.len()).min_by(|&a, &b| by_name(&cycle[a], &cycle[b])).expect("not empty");
            cycle.rotate_left(first);
            return cycle.into_iter().map(|i| steps[i].name().to_string()).collect();
        }
        path.push(pred);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, after: &[&str], before: &[&str]) -> UserStep {
        UserStep {
            name: name.into(),
            run: format!("echo {name}"),
            after: after.iter().map(|s| s.to_string()).collect(),
            before: before.iter().map(|s| s.to_string()).collect(),
            unless: None,
            os: None,
            device: None,
            timeout: None,
        }
    }

    fn names(p: &Plan) -> Vec<&str> {
        p.steps.iter().map(|s| s.step.name()).collect()
    }

    fn order(user: &[UserStep]) -> Vec<String> {
        let p = plan(user, "linux", "laptop", &[], &[]).unwrap();
        names(&p).into_iter().map(String::from).collect()
    }

    fn reasons(p: &Plan, name: &str) -> Vec<String> {
        p.steps.iter().find(|s| s.step.name() == name).unwrap().edges.iter().map(|e| e.to_string()).collect()
    }

    const BUILTINS: [&str; 9] =
        ["clone", "unlock", "ssh", "gpg", "package-managers", "packages", "dotfiles", "templates", "verify"];

    #[test]
    fn builtins_alone_run_in_their_chain_each_after_the_one_before() {
        let p = plan(&[], "linux", "laptop", &[], &[]).unwrap();
        assert_eq!(names(&p), BUILTINS);
        assert_eq!(reasons(&p, "clone"), Vec::<String>::new());
        assert_eq!(reasons(&p, "templates"), ["after dotfiles (built-in order)"]);
        assert!(p.steps.iter().all(|s| s.skipped.is_none()));
        for b in Builtin::ALL {
            assert_eq!(Builtin::from_name(b.name()), Some(b));
        }
    }

    #[test]
    fn orders_table() {
        // (what the steps say, the steps, the order expected)
        let cases = [
            (
                "a chain of user steps between two built-ins",
                vec![step("c", &["b"], &[]), step("b", &["a"], &[]), step("a", &["package-managers"], &["packages"])],
                "clone unlock ssh gpg package-managers a b c packages dotfiles templates verify",
            ),
            (
                "a diamond: top before left and right, both before bottom, bottom before templates",
                vec![
                    step("bottom", &["left", "right"], &["templates"]),
                    step("right", &["top"], &[]),
                    step("left", &["top"], &[]),
                    step("top", &["packages"], &[]),
                ],
                "clone unlock ssh gpg package-managers packages dotfiles top left right bottom templates verify",
            ),
            (
                "ties are broken by name, built-ins included",
                vec![step("zz", &["ssh"], &[]), step("aa", &["ssh"], &[]), step("gz", &["ssh"], &[])],
                "clone unlock ssh aa gpg gz package-managers packages dotfiles templates verify zz",
            ),
            (
                "a step that says nothing runs after unlock, where its name puts it",
                vec![step("apt-setup", &[], &[])],
                "clone unlock apt-setup ssh gpg package-managers packages dotfiles templates verify",
            ),
            (
                "after clone alone still waits for unlock",
                vec![step("a", &["clone"], &[])],
                "clone unlock a ssh gpg package-managers packages dotfiles templates verify",
            ),
            (
                "between the last two built-ins",
                vec![step("zsh", &["templates"], &["verify"])],
                "clone unlock ssh gpg package-managers packages dotfiles templates zsh verify",
            ),
        ];
        for (what, user, expected) in cases {
            let expected: Vec<&str> = expected.split(' ').collect();
            assert_eq!(order(&user), expected, "{what}");
            // The order does not depend on the order the steps are written in.
            let mut reversed = user.clone();
            reversed.reverse();
            assert_eq!(order(&reversed), expected, "{what}, written the other way round");
        }
    }

    #[test]
    fn each_step_carries_the_reasons_for_its_edges() {
        let user = [step("install-op", &["packages"], &[]), step("foo", &["install-op"], &["templates"])];
        let p = plan(&user, "linux", "laptop", &[], &[]).unwrap();
        assert_eq!(
            reasons(&p, "foo"),
            ["after install-op (step `foo` says after)", "before templates (step `foo` says before)"]
        );
        assert_eq!(
            reasons(&p, "install-op"),
            ["after packages (step `install-op` says after)", "before foo (step `foo` says after)"]
        );
        assert_eq!(reasons(&p, "templates"), ["after dotfiles (built-in order)", "after foo (step `foo` says before)"]);
        assert_eq!(
            reasons(&p, "packages"),
            ["after package-managers (built-in order)", "before install-op (step `install-op` says after)"]
        );
        let p = plan(&[step("lone", &[], &[])], "linux", "laptop", &[], &[]).unwrap();
        assert_eq!(
            reasons(&p, "lone"),
            ["after unlock (user steps run once the store is unlocked and its manifest authenticated)"]
        );
        assert_eq!(reasons(&p, "unlock"), ["after clone (built-in order)"], "the implicit edge is shown once");
    }

    #[test]
    fn a_cycle_is_named_in_running_order() {
        let cases: Vec<(Vec<UserStep>, &str)> = vec![
            (vec![step("a", &["b"], &[]), step("b", &["a"], &[])], "a -> b -> a"),
            (vec![step("a", &["c"], &[]), step("b", &["a"], &[]), step("c", &["b"], &[])], "a -> b -> c -> a"),
            (vec![step("a", &["a"], &[])], "a -> a"),
            (vec![step("x", &["templates"], &["packages"])], "dotfiles -> templates -> x -> packages -> dotfiles"),
            (
                vec![
                    step("late", &["verify"], &[]),
                    step("a", &["b"], &[]),
                    step("b", &["a"], &[]),
                    step("b2", &["b"], &[]),
                ],
                "a -> b -> a",
            ),
        ];
        for (user, cycle) in cases {
            let err = plan(&user, "linux", "laptop", &[], &[]).unwrap_err();
            assert!(matches!(err, PlanError::Cycle(_)), "{err}");
            assert!(err.to_string().contains(&format!("cycle: {cycle};")), "{cycle}: {err}");
        }
    }

    #[test]
    fn an_unknown_name_is_named_with_who_used_it() {
        let user = [step("a", &["pakages"], &[])];
        let err = plan(&user, "linux", "laptop", &[], &[]).unwrap_err();
        assert!(
            matches!(&err, PlanError::Unknown { name, used_by: UsedBy::After(by), .. } if name == "pakages" && by == "a"),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.starts_with("step `a` says after `pakages`, which is not a step"), "{text}");
        assert!(text.contains("package-managers, packages"), "{text}");

        let err = plan(&[step("a", &[], &["nope"])], "linux", "laptop", &[], &[]).unwrap_err();
        assert!(err.to_string().starts_with("step `a` says before `nope`"), "{err}");
        let err = plan(&[], "linux", "laptop", &["dotfile".into()], &[]).unwrap_err();
        assert!(err.to_string().starts_with("--only names `dotfile`, which is not a step"), "{err}");
        let err = plan(&[], "linux", "laptop", &[], &["gpgg".into()]).unwrap_err();
        assert!(err.to_string().starts_with("--skip names `gpgg`"), "{err}");
    }

    #[test]
    fn nothing_runs_before_clone_or_unlock() {
        for b in ["clone", "unlock"] {
            let err = plan(&[step("early", &[], &[b])], "linux", "laptop", &[], &[]).unwrap_err();
            assert!(matches!(&err, PlanError::TooEarly { step, .. } if step == "early"), "{err}");
            assert!(err.to_string().contains(&format!("says before `{b}`")), "{err}");
        }
        assert!(plan(&[step("ok", &[], &["ssh"])], "linux", "laptop", &[], &[]).is_ok());
    }

    #[test]
    fn filters_mark_steps_skipped_and_keep_the_order() {
        let mut mac = step("brew", &["package-managers"], &["packages"]);
        mac.os = Some(vec!["macos".into()]);
        let mut desk = step("monitors", &["brew"], &[]);
        desk.device = Some(vec!["desktop".into(), "tower".into()]);
        let after = step("zz-after", &["monitors"], &[]);
        let user = [mac, desk, after];
        let run = |os: &str, device: &str, only: &[&str], skip: &[&str]| {
            let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
            let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
            plan(&user, os, device, &only, &skip).unwrap()
        };
        let skipped = |p: &Plan| -> Vec<(String, String)> {
            p.steps
                .iter()
                .filter_map(|s| s.skipped.as_ref().map(|k| (s.step.name().to_string(), k.to_string())))
                .collect()
        };
        let all = run("macos", "desktop", &[], &[]);
        assert!(skipped(&all).is_empty());
        type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [&'a str], Vec<(&'a str, &'a str)>);
        let cases: Vec<Case> = vec![
            ("linux", "desktop", &[], &[], vec![("brew", "only on macos (this machine runs linux)")]),
            ("macos", "laptop", &[], &[], vec![("monitors", "only on device desktop, tower (this is laptop)")]),
            (
                "linux",
                "laptop",
                &[],
                &["verify"],
                vec![
                    ("brew", "only on macos (this machine runs linux)"),
                    ("monitors", "only on device desktop, tower (this is laptop)"),
                    ("verify", "--skip names it"),
                ],
            ),
        ];
        for (os, device, only, skip, expected) in cases {
            let p = run(os, device, only, skip);
            assert_eq!(names(&p), names(&all), "{os} {device}: a filtered step keeps its place");
            let expected: Vec<(String, String)> =
                expected.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            assert_eq!(skipped(&p), expected, "{os} {device} {only:?} {skip:?}");
        }
        let p = run("macos", "desktop", &["brew", "dotfiles"], &["dotfiles"]);
        let running: Vec<&str> = p.steps.iter().filter(|s| s.skipped.is_none()).map(|s| s.step.name()).collect();
        assert_eq!(running, ["brew"]);
        assert_eq!(p.steps.iter().find(|s| s.step.name() == "clone").unwrap().skipped, Some(Skip::NotInOnly));
        assert_eq!(names(&p), names(&all));
    }

    #[test]
    fn steps_are_checked_and_errors_name_the_step() {
        let with = |f: &dyn Fn(&mut UserStep)| {
            let mut s = step("ok", &[], &[]);
            f(&mut s);
            check_steps(&[s])
        };
        assert!(with(&|_| {}).is_ok());
        type Edit = dyn Fn(&mut UserStep);
        let cases: Vec<(&Edit, &str)> = vec![
            (&|s| s.name = "".into(), "name ``"),
            (&|s| s.name = "Has Space".into(), "name `Has Space`"),
            (&|s| s.name = "packages".into(), "`packages` is a built-in"),
            (&|s| s.run = " ".into(), "`ok`: `run` is empty"),
            (&|s| s.unless = Some("".into()), "`ok`: `unless` is empty"),
            (&|s| s.after = vec!["".into()], "`ok`: `after` names ``"),
            (&|s| s.os = Some(vec!["windows".into()]), "unknown OS `windows`"),
            (&|s| s.os = Some(vec![]), "`ok`: `os` is empty"),
            (&|s| s.device = Some(vec![]), "`ok`: `device` is empty"),
        ];
        for (f, expected) in cases {
            let err = with(f).unwrap_err();
            assert!(err.contains(expected), "{expected}: {err}");
        }
        let err = check_steps(&[step("twice", &[], &[]), step("twice", &[], &[])]).unwrap_err();
        assert!(err.contains("`twice` is used by two steps"), "{err}");
        let err = plan(&[step("twice", &[], &[]), step("twice", &[], &[])], "linux", "x", &[], &[]).unwrap_err();
        assert!(matches!(err, PlanError::Invalid(_)), "{err}");
    }

    #[test]
    fn timeouts_are_seconds_minutes_or_hours() {
        for (text, secs) in [("30s", 30), ("10m", 600), ("2h", 7200), ("90s", 90)] {
            let t = Timeout::parse(text).unwrap();
            assert_eq!(t.0.as_secs(), secs, "{text}");
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(Timeout::parse("120s").unwrap().to_string(), "2m");
        for bad in ["", "10", "m", "0s", "-1m", "1.5h", "10d", "10 m", "99999999999999999999h"] {
            assert!(Timeout::parse(bad).is_err(), "{bad}");
        }
    }
}
