//! Sliding windows for the rate triggers and the rule that judges them.

pub(crate) mod count;
pub(crate) mod ring;
pub(crate) mod time;

use crate::events::Reason;
use std::sync::atomic::{AtomicU64, Ordering};

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
#[derive(Clone, Copy, Debug, PartialEq)]
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

    /// How many more outcomes that fail and are slow the window `c` (with at least the minimum
    /// of calls) can take, with any number of successes, before a threshold is reached: rates
    /// only rise by such outcomes, so up to this many need no judgement while nothing leaves
    /// the window. 0 when the next one may reach a threshold; at most `cap`.
    pub(crate) fn headroom(&self, c: Counts, cap: u64) -> u64 {
        let bound = |rate: Option<f64>, have: u64| match rate {
            // (have + k) / (calls + k) < r  <=>  k < (r * calls - have) / (1 - r)
            Some(r) if r < 1.0 => ((r * c.calls as f64 - have as f64) / (1.0 - r)).clamp(0.0, cap as f64) as u64,
            // A rate of 1 is reached by bad outcomes only once every good one has left the
            // window; a threshold above 1, never.
            _ => cap,
        };
        let worse = |k: u64| Counts {
            calls: c.calls + k,
            failures: c.failures + k,
            slow_calls: c.slow_calls + k,
        };
        let mut k = bound(self.failure_rate, c.failures).min(bound(self.slow_call_rate, c.slow_calls));
        // The bound is exact but for rounding (and a threshold is inclusive): step below it.
        for _ in 0..4 {
            if k == 0 || self.judge(worse(k)).is_none() {
                return k;
            }
            k -= 1;
        }
        0
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

/// Moves a window's `begun` marker on to period `generation` if that comes after the one it
/// holds; whether it did (a late beginning of an older period gives way). Generations wrap
/// (35 bits: after about 34 billion transitions), so this compares them as the state word
/// does, not by size.
pub(crate) fn begin_period(begun: &AtomicU64, generation: u64) -> bool {
    begun
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            crate::breaker::word::generation_after(generation, held).then_some(generation)
        })
        .is_ok()
}

/// Stores `to` in `cell` unless what it holds is to be kept, or `go_on` says to stop (a
/// newer period began): how a window lets go of an older period's word at a beginning.
pub(crate) fn let_go(cell: &AtomicU64, to: u64, keep: impl Fn(u64) -> bool, go_on: impl Fn() -> bool) {
    let mut held = cell.load(Ordering::Acquire);
    while !keep(held) && go_on() {
        match cell.compare_exchange_weak(held, to, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => held = now,
        }
    }
}

/// How many transitions ahead of an outcome's period a window's tag may be and still be a
/// newer period (see [`held_by_newer`]).
pub(crate) const NEWER_BY_AT_MOST: u16 = 1024;

/// Counts from their three numbers (for the windows' tests).
#[cfg(test)]
pub(crate) fn counts(calls: u64, failures: u64, slow_calls: u64) -> Counts {
    Counts {
        calls,
        failures,
        slow_calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window's beginnings follow the breaker's generations through their wrap (35 bits):
    /// the beginning after the last generation is a later period's, not an older one's
    /// (`fetch_max` took it for one, and no window let go of anything again).
    #[test]
    fn beginnings_follow_generations_through_their_wrap() {
        let last = (1u64 << 35) - 1;
        let begun = AtomicU64::new(last - 1);
        assert!(begin_period(&begun, last));
        assert!(!begin_period(&begun, last - 1), "a late beginning of an older period");
        assert!(begin_period(&begun, 0), "the generation after the last");
        assert!(!begin_period(&begun, last), "now older");
        assert!(begin_period(&begun, 1));
        assert!(!begin_period(&begun, 1), "begun already");
    }

    /// The headroom is exactly the number of bad outcomes after which one more reaches a
    /// threshold: never one too many (a missed trip), at most rounding too few.
    #[test]
    fn headroom_is_the_last_count_of_bad_outcomes_that_trips_nothing() {
        let rules = [
            RateRule::from_parts(Some(0.5), None, 10),
            RateRule::from_parts(Some(0.9), None, 20),
            RateRule::from_parts(Some(0.1), Some(0.3), 5),
            RateRule::from_parts(None, Some(0.25), 1),
            RateRule::from_parts(Some(1.0), None, 4),
            RateRule::from_parts(Some(0.333), Some(0.999), 3),
        ];
        for rule in rules {
            for calls in [1u64, 5, 10, 20, 21, 99, 100, 1_000, 60_000] {
                for failures in [0, 1, calls / 10, calls / 3, calls / 2, calls - 1, calls] {
                    let c = counts(calls, failures, failures / 2);
                    if calls < rule.minimum_calls() || rule.judge(c).is_some() {
                        continue;
                    }
                    let k = rule.headroom(c, 0xFFFF);
                    let worse = |k: u64| counts(calls + k, failures + k, failures / 2 + k);
                    assert!(rule.judge(worse(k)).is_none(), "{rule:?} {c:?}: {k} trips");
                    if k < 0xFFFF {
                        assert!(
                            rule.judge(worse(k + 1)).is_some(),
                            "{rule:?} {c:?}: {} does not trip",
                            k + 1
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_rate_of_one_is_never_reached_while_a_success_is_in_the_window() {
        let rule = RateRule::from_parts(Some(1.0), None, 1);
        assert_eq!(rule.headroom(counts(10, 9, 0), 500), 500);
        assert_eq!(rule.headroom(counts(10, 10, 0), 500), 0);
    }
}
