//! Point-in-time views of a breaker, for dashboards, health endpoints and tests.

use crate::State;
use std::time::Duration;

/// A breaker's state and counts at one moment.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The breaker.
    pub name: crate::Name,
    /// Its state.
    pub state: State,
    /// Every call it has seen, by result, since it was created.
    pub totals: Totals,
    /// What its rate window holds now. With no rate trigger on, no sliding window is kept (it
    /// would cost every call a clock read): the calls of the current Closed or MetricsOnly
    /// period instead, from the totals. While Open after tripping in Closed: the numbers that
    /// tripped it (the window itself starts afresh), as Resilience4j keeps them.
    pub window: WindowStats,
    /// Why an Open breaker opened (the reason of the transition into the current Open period).
    pub tripped_by: Option<crate::Reason>,
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
    /// Durations of fallbacks, every one timed while durations are measured.
    pub fallback_durations: Durations,
    /// The same by kind of fallback (the `type` label), for the kinds timed so far.
    pub fallback_durations_by_kind: Vec<(crate::fallback::FallbackKind, Durations)>,
    /// Time spent in each state since the breaker was created, the current period up to now,
    /// indexed by `State as usize` (the order of [`State::ALL`]).
    pub time_in_state: [Duration; 6],
}

/// A histogram of call durations.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
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

    /// No durations, in the call-duration buckets.
    pub(crate) fn empty() -> Durations {
        Durations {
            bounds: &crate::breaker::stripe::DURATION_BUCKETS,
            counts: vec![0; crate::breaker::stripe::DURATION_BUCKETS.len() + 1],
            sum_seconds: 0.0,
        }
    }

    /// Adds `other`'s counts (same buckets).
    pub(crate) fn absorb(&mut self, other: &Durations) {
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self.sum_seconds += other.sum_seconds;
    }
}

/// Calls by result since a breaker was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Fallbacks served by kind, indexed by [`FallbackKind`](crate::fallback::FallbackKind)'s
    /// discriminant (`FallbackKind::Cache as usize`); they sum to `fallbacks`, up to a count
    /// racing with the snapshot.
    pub fallbacks_by_kind: [u64; crate::fallback::FallbackKind::ALL.len()],
    /// Calls admitted as half-open probes.
    pub probes: u64,
}

/// What a breaker's rate window holds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct WindowStats {
    /// Successes plus failures.
    pub calls: u64,
    /// Failures.
    pub failures: u64,
    /// Slow calls.
    pub slow_calls: u64,
    /// Calls the window needs before rates are judged (`minimum_calls` as applied).
    pub minimum_calls: u32,
    /// failures / calls once `calls >= minimum_calls`; `None`: not judged yet.
    pub failure_rate: Option<f64>,
    /// slow calls / calls once `calls >= minimum_calls`; `None`: not judged yet.
    pub slow_call_rate: Option<f64>,
}

impl WindowStats {
    /// The stats of window counts, with rates only from `minimum_calls` on.
    pub(crate) fn new(counts: crate::Counts, minimum_calls: u32) -> WindowStats {
        let judged = counts.calls >= u64::from(minimum_calls.max(1));
        WindowStats {
            calls: counts.calls,
            failures: counts.failures,
            slow_calls: counts.slow_calls,
            minimum_calls,
            failure_rate: counts.failure_rate().filter(|_| judged),
            slow_call_rate: counts.slow_call_rate().filter(|_| judged),
        }
    }
}

impl Snapshot {
    /// An empty aggregate named `name` (a keyed family's sum of its breakers).
    pub(crate) fn empty(name: crate::Name) -> Snapshot {
        Snapshot {
            name,
            state: State::Closed,
            totals: Totals::default(),
            window: WindowStats::default(),
            tripped_by: None,
            consecutive_failures: 0,
            open_for: None,
            half_open_in_flight: 0,
            reopens: 0,
            transitions: Vec::new(),
            durations: Durations::empty(),
            fallback_durations: Durations::empty(),
            fallback_durations_by_kind: Vec::new(),
            time_in_state: [Duration::ZERO; 6],
        }
    }

    /// Adds `other`'s counters (totals, transitions, durations) to this aggregate.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn absorb(&mut self, other: &Snapshot) {
        let (t, o) = (&mut self.totals, &other.totals);
        t.successes += o.successes;
        t.failures += o.failures;
        t.ignored += o.ignored;
        t.rejected += o.rejected;
        t.timeouts += o.timeouts;
        t.slow_calls += o.slow_calls;
        t.fallbacks += o.fallbacks;
        for (mine, theirs) in t.fallbacks_by_kind.iter_mut().zip(o.fallbacks_by_kind) {
            *mine += theirs;
        }
        t.probes += o.probes;
        for &(from, to, n) in &other.transitions {
            self.absorb_transitions(from, to, n);
        }
        self.durations.absorb(&other.durations);
        self.absorb_fallback_durations(&other.fallback_durations, &other.fallback_durations_by_kind);
        for (mine, theirs) in self.time_in_state.iter_mut().zip(other.time_in_state) {
            *mine += theirs;
        }
    }

    /// Adds `n` transitions `from` -> `to`.
    pub(crate) fn absorb_transitions(&mut self, from: crate::State, to: crate::State, n: u64) {
        match self.transitions.iter_mut().find(|(f, t, _)| *f == from && *t == to) {
            Some(entry) => entry.2 += n,
            None => self.transitions.push((from, to, n)),
        }
    }

    /// Adds fallback durations, all kinds together and by kind.
    pub(crate) fn absorb_fallback_durations(
        &mut self,
        all: &Durations,
        by_kind: &[(crate::fallback::FallbackKind, Durations)],
    ) {
        self.fallback_durations.absorb(all);
        for (kind, durations) in by_kind {
            match self.fallback_durations_by_kind.iter_mut().find(|(k, _)| k == kind) {
                Some((_, mine)) => mine.absorb(durations),
                None => self.fallback_durations_by_kind.push((*kind, durations.clone())),
            }
        }
    }
}
