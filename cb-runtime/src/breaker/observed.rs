//! What a breaker keeps for dashboards beyond its call counters: time spent in each state,
//! half-open probes admitted, and fallback durations. Written on transitions, probe admissions
//! and timed fallbacks only: nothing here is on the Closed hot path.

use super::CircuitBreaker;
use super::stripe::DURATION_BUCKETS;
use crate::State;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// Buckets (the last one unbounded) and the sum of nanoseconds.
type Histogram = [AtomicU64; DURATION_BUCKETS.len() + 2];

/// The observed figures of one breaker.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// The state since when, and the nanoseconds spent in each state before it.
    times: Mutex<StateTimes>,
    /// Calls admitted in HalfOpen.
    probes: AtomicU64,
    /// Timed fallbacks, allocated on the first.
    fallbacks: OnceLock<Box<Histogram>>,
}

#[derive(Debug, Default)]
struct StateTimes {
    current: Option<State>,
    since: u64,
    spent: [u64; 6],
}

impl Observed {
    /// The breaker starts in `state` at `now`.
    pub(super) fn begin(&self, state: State, now: u64) {
        let mut times = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        times.current = Some(state);
        times.since = now;
    }

    /// The breaker entered `to` at `now`.
    pub(super) fn entered(&self, to: State, now: u64) {
        let mut times = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = times.current {
            times.spent[current as usize] += now.saturating_sub(times.since);
        }
        times.current = Some(to);
        times.since = now;
    }

    /// A call was admitted in HalfOpen.
    #[inline]
    pub(super) fn probe(&self) {
        self.probes.fetch_add(1, Ordering::Relaxed);
    }
}

impl CircuitBreaker {
    /// Time spent in each state so far (indexed by `State as usize`), the current period
    /// included up to now.
    pub(crate) fn time_in_states(&self) -> [Duration; 6] {
        let now = self.clock.now_nanos();
        let times = self
            .history
            .observed
            .times
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut spent = times.spent;
        if let Some(current) = times.current {
            spent[current as usize] += now.saturating_sub(times.since);
        }
        spent.map(Duration::from_nanos)
    }

    /// Calls admitted as half-open probes so far.
    pub(crate) fn probe_attempts(&self) -> u64 {
        self.history.observed.probes.load(Ordering::Relaxed)
    }

    /// When fallback durations are measured (the Prometheus collector is registered): the
    /// precise clock now, to pass to [`fallback_took`](Self::fallback_took).
    #[inline]
    pub(crate) fn fallback_start(&self) -> Option<u64> {
        crate::timing::measuring().then(|| self.clock.precise_nanos())
    }

    /// A fallback started at `start` (from [`fallback_start`](Self::fallback_start)) ended.
    pub(crate) fn fallback_took(&self, start: u64) {
        let nanos = self.clock.precise_nanos().saturating_sub(start);
        let histogram = self
            .history
            .observed
            .fallbacks
            .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        let seconds = nanos as f64 / 1e9;
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(DURATION_BUCKETS.len());
        histogram[bucket].fetch_add(1, Ordering::Relaxed);
        histogram[DURATION_BUCKETS.len() + 1].fetch_add(nanos, Ordering::Relaxed);
    }

    /// The fallback-duration histogram: counts per bucket and the sum in seconds.
    pub(crate) fn fallback_durations(&self) -> crate::Durations {
        let mut counts = vec![0; DURATION_BUCKETS.len() + 1];
        let mut sum = 0;
        if let Some(histogram) = self.history.observed.fallbacks.get() {
            for (count, cell) in counts.iter_mut().zip(histogram.iter()) {
                *count = cell.load(Ordering::Relaxed);
            }
            sum = histogram[DURATION_BUCKETS.len() + 1].load(Ordering::Relaxed);
        }
        crate::Durations {
            bounds: &DURATION_BUCKETS,
            counts,
            sum_seconds: sum as f64 / 1e9,
        }
    }
}
