//! Reporting each condition once when it starts and once when it ends, never per sync.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

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

/// One sync's observations: conditions seen failing, and conditions seen working.
#[derive(Default)]
pub(crate) struct Pass {
    failing: BTreeMap<String, String>,
    working: BTreeSet<String>,
}

impl Pass {
    /// Condition `key` holds this sync, described by `message`.
    pub(crate) fn fail(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.failing.entry(key.into()).or_insert_with(|| message.into());
    }

    /// What condition `key` is about worked this sync.
    pub(crate) fn ok(&mut self, key: impl Into<String>) {
        self.working.insert(key.into());
    }
}

/// Turns passes into reports: a condition is reported when it first fails, when it fails
/// differently (another message), and when it is next seen working without failing in the same
/// pass; a condition not looked at stays as it was.
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
        for (key, message) in pass.failing {
            if active.get(&key) != Some(&message) {
                reports.push(message.clone());
                active.insert(key, message);
            }
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
        p.fail("writes", "READONLY");
        assert_eq!(c.apply(p), ["READONLY"], "a different failure is a change");
        assert!(c.apply(failing()).len() == 1);
        let mut p = Pass::default();
        p.ok("writes");
        assert_eq!(c.apply(p), ["resolved: OOM"]);
        assert!(problems.list().is_empty());
    }
}
