//! Point-in-time views of a breaker, for dashboards, health endpoints and tests.

use crate::State;
use std::time::Duration;

/// A breaker's state and counts at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The breaker.
    pub name: &'static str,
    /// Its state.
    pub state: State,
    /// Every call it has seen, by result, since it was created.
    pub totals: Totals,
    /// What its rate window holds now.
    pub window: WindowStats,
    /// The current run of failures (Closed).
    pub consecutive_failures: u32,
    /// How long until an Open breaker lets a probe through.
    pub open_for: Option<Duration>,
    /// Probes running now (HalfOpen).
    pub half_open_in_flight: u32,
    /// Consecutive re-opens, which grow the open wait.
    pub reopens: u32,
    /// Transitions so far: (from, to, how many), manual ones included.
    pub transitions: Vec<(State, State, u64)>,
    /// Durations of timed calls (see [`measure_durations`](crate::measure_durations)).
    pub durations: Durations,
}

/// A histogram of call durations.
#[derive(Clone, Debug, PartialEq)]
pub struct Durations {
    /// Upper bounds of the buckets, in seconds; one more bucket takes every longer call.
    pub bounds: &'static [f64],
    /// Calls per bucket (not cumulative): `bounds.len() + 1` entries.
    pub counts: Vec<u64>,
    /// Sum of all durations, in seconds.
    pub sum_seconds: f64,
}

impl Durations {
    /// Timed calls.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Calls by result since a breaker was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Successes.
    pub successes: u64,
    /// Failures (timeouts apart).
    pub failures: u64,
    /// Outcomes classified out.
    pub ignored: u64,
    /// Calls refused.
    pub rejected: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls slower than `slow_call_duration` (counted only with slow-call detection on).
    pub slow_calls: u64,
    /// Fallbacks served.
    pub fallbacks: u64,
}

/// What a breaker's rate window holds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowStats {
    /// Successes plus failures.
    pub calls: u64,
    /// Failures.
    pub failures: u64,
    /// Slow calls.
    pub slow_calls: u64,
    /// failures / calls, if any.
    pub failure_rate: Option<f64>,
    /// slow calls / calls, if any.
    pub slow_call_rate: Option<f64>,
}
