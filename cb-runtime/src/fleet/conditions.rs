//! Reporting each condition once when it starts and once when it ends, never per sync.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// At most 40 characters of a value read from the backend, for a report.
pub(crate) fn shown(value: &str) -> String {
    match value.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &value[..at]),
        None => value.to_owned(),
    }
}

/// The conditions in force, shared with [`Fleet::problems`](super::Fleet::problems).
#[derive(Clone, Default)]
pub(crate) struct Problems(Arc<Mutex<BTreeMap<String, String>>>);

impl fmt::Debug for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list()).finish()
    }
}

impl Problems {
    /// The messages of the conditions in force.
    pub(crate) fn list(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

/// One sync's observations: conditions seen failing (with whether a new message is news),
/// and conditions seen working.
#[derive(Default)]
pub(crate) struct Pass {
    failing: BTreeMap<String, (String, bool)>,
    working: BTreeSet<String>,
}

impl Pass {
    /// Condition `key` holds this sync, described by `message`; while it lasts it is reported
    /// once, whatever the message (a connection refused, then a broken pipe: still down).
    pub(crate) fn fail(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.failing
            .entry(key.into())
            .or_insert_with(|| (message.into(), false));
    }

    /// Condition `key` holds this sync about a value read from Redis: another message means
    /// another value, reported again.
    pub(crate) fn fail_value(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.failing.entry(key.into()).or_insert_with(|| (message.into(), true));
    }

    /// What condition `key` is about worked this sync.
    pub(crate) fn ok(&mut self, key: impl Into<String>) {
        self.working.insert(key.into());
    }
}

/// Turns passes into reports: a condition is reported when it first fails, when a value
/// condition fails with another value, and when it is next seen working without failing in the
/// same pass; a condition not looked at stays as it was.
pub(crate) struct Conditions {
    problems: Problems,
}

impl Conditions {
    pub(crate) fn new(problems: Problems) -> Conditions {
        Conditions { problems }
    }

    /// Applies `pass`; returns the reports to make.
    pub(crate) fn apply(&mut self, pass: Pass) -> Vec<String> {
        let mut active = self.problems.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut reports = Vec::new();
        for key in &pass.working {
            if !pass.failing.contains_key(key)
                && let Some(was) = active.remove(key)
            {
                reports.push(format!("resolved: {was}"));
            }
        }
        for (key, (message, news)) in pass.failing {
            match active.get(&key) {
                None => reports.push(message.clone()),
                Some(was) if news && *was != message => reports.push(message.clone()),
                Some(_) => continue,
            }
            active.insert(key, message);
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_is_reported_once_until_it_resolves() {
        let problems = Problems::default();
        let mut c = Conditions::new(problems.clone());
        let failing = || {
            let mut p = Pass::default();
            p.fail("writes", "OOM");
            p.ok("writes");
            p
        };
        assert_eq!(c.apply(failing()), ["OOM"]);
        for _ in 0..100 {
            assert!(c.apply(failing()).is_empty());
            assert!(c.apply(Pass::default()).is_empty(), "not looked at: unchanged");
        }
        assert_eq!(problems.list(), ["OOM"]);
        let mut p = Pass::default();
        p.fail("writes", "broken pipe");
        assert!(c.apply(p).is_empty(), "another message, same condition");
        let mut value = |v: &str| {
            let mut p = Pass::default();
            p.fail_value("malformed", v);
            c.apply(p)
        };
        assert_eq!(value("a"), ["a"]);
        assert!(value("a").is_empty());
        assert_eq!(value("b"), ["b"], "another value is news");
        assert_eq!(problems.list(), ["b", "OOM"], "ordered by condition: malformed, writes");
        let mut p = Pass::default();
        p.ok("writes");
        assert_eq!(c.apply(p), ["resolved: OOM"]);
        assert_eq!(problems.list(), ["b"]);
    }
}
