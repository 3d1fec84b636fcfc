//! Sliding windows for the rate triggers and the rule that judges them.

pub(crate) mod count;
pub(crate) mod ring;
pub(crate) mod time;

use crate::events::Reason;

/// One recorded outcome as a window sees it (ignored outcomes never reach a window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) failure: bool,
    pub(crate) slow: bool,
}

impl Sample {
    pub(crate) fn is_clean(self) -> bool {
        !self.failure && !self.slow
    }
}

/// What a window holds: calls recorded (successes and failures), failures, slow calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Successes plus failures in the window.
    pub calls: u64,
    /// Failures in the window.
    pub failures: u64,
    /// Slow calls (successful or not) in the window.
    pub slow_calls: u64,
}

impl Counts {
    /// failures / calls, if any call is in the window.
    pub fn failure_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.failures as f64 / self.calls as f64)
    }

    /// slow calls / calls, if any call is in the window.
    pub fn slow_call_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.slow_calls as f64 / self.calls as f64)
    }
}

/// The rate rules of a configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateRule {
    failure_rate: Option<f64>,
    slow_call_rate: Option<f64>,
    minimum_calls: u64,
}

impl RateRule {
    pub(crate) fn from_parts(failure_rate: Option<f64>, slow_call_rate: Option<f64>, minimum_calls: u64) -> RateRule {
        RateRule {
            failure_rate,
            slow_call_rate,
            minimum_calls,
        }
    }

    pub(crate) fn minimum_calls(&self) -> u64 {
        self.minimum_calls
    }

    /// The reason to open, if the window's counts reach a threshold (inclusive).
    pub(crate) fn judge(&self, c: Counts) -> Option<Reason> {
        if c.calls < self.minimum_calls || c.calls == 0 {
            return None;
        }
        let calls = c.calls as f64;
        if let Some(threshold) = self.failure_rate {
            let rate = c.failures as f64 / calls;
            if rate >= threshold {
                return Some(Reason::FailureRate {
                    rate,
                    threshold,
                    calls: c.calls,
                });
            }
        }
        if let Some(threshold) = self.slow_call_rate {
            let rate = c.slow_calls as f64 / calls;
            if rate >= threshold {
                return Some(Reason::SlowCallRate {
                    rate,
                    threshold,
                    calls: c.calls,
                });
            }
        }
        None
    }
}

/// Whether what a window holds of period `theirs` is a newer period's than `mine`, so that a
/// late outcome of `mine` must leave it alone. A late outcome is late by a few transitions; a
/// tag more than [`NEWER_BY_AT_MOST`] ahead is one left untouched for tens of thousands of
/// transitions whose 16 bits wrapped past `mine`: it is stale, and written over.
pub(crate) fn held_by_newer(mine: u16, theirs: u16) -> bool {
    theirs != mine && theirs.wrapping_sub(mine) <= NEWER_BY_AT_MOST
}

/// How many transitions ahead of an outcome's period a window's tag may be and still be a
/// newer period (see [`held_by_newer`]).
const NEWER_BY_AT_MOST: u16 = 1024;
