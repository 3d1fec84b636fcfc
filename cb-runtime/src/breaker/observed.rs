//! What a breaker keeps for dashboards beyond its call counters: time spent in each state,
//! half-open probes admitted, and fallback durations. Written on transitions, probe admissions
//! and timed fallbacks only: nothing here is on the Closed hot path.

use super::CircuitBreaker;
use super::stripe::DURATION_BUCKETS;
use crate::State;
use crate::fallback::FallbackKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// Buckets (the last one unbounded) and the sum of nanoseconds.
type Histogram = [AtomicU64; DURATION_BUCKETS.len() + 2];

/// The observed figures of one breaker: 32 bytes until its first transition or fallback (keyed
/// breakers that never trip stay small), then a box with the rest.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// When the breaker was created, by its clock.
    created: AtomicU64,
    /// Calls admitted in HalfOpen.
    probes: AtomicU64,
    /// Time in states and fallback durations, from the first transition or fallback on.
    more: OnceLock<Box<More>>,
}

#[derive(Debug)]
struct More {
    /// `None` until the first transition: the breaker has been in its stored state since it
    /// was created.
    times: Mutex<Option<StateTimes>>,
    /// Timed fallbacks, one histogram per [`FallbackKind`] served (its discriminant), made on
    /// its first timed fallback.
    fallbacks: [OnceLock<Box<Histogram>>; FallbackKind::ALL.len()],
    /// Fallbacks served, by [`FallbackKind`] (its discriminant).
    kinds: [AtomicU64; FallbackKind::ALL.len()],
}

#[derive(Debug)]
struct StateTimes {
    /// The generation of the period `current` started.
    generation: u64,
    current: State,
    since: u64,
    spent: [u64; 6],
}

impl Observed {
    /// The breaker was created at `now`.
    pub(super) fn begin(&self, now: u64) {
        self.created.store(now, Ordering::Relaxed);
    }

    fn more(&self) -> &More {
        self.more.get_or_init(|| {
            Box::new(More {
                times: Mutex::new(None),
                fallbacks: Default::default(),
                kinds: std::array::from_fn(|_| AtomicU64::new(0)),
            })
        })
    }

    /// The breaker went from `from` to `to` at `now`, starting period `generation`.
    ///
    /// Two transitions racing on two threads may get here in the other order: one older than
    /// the period recorded is dropped (its short period is counted in the state before it),
    /// so `current` is always the newest state.
    pub(super) fn entered(&self, from: State, to: State, generation: u64, now: u64) {
        let mut times = self.more().times.lock().unwrap_or_else(PoisonError::into_inner);
        let times = times.get_or_insert_with(|| StateTimes {
            generation: generation.wrapping_sub(1),
            current: from,
            since: self.created.load(Ordering::Relaxed),
            spent: [0; 6],
        });
        if !super::word::generation_after(generation, times.generation) {
            return;
        }
        times.spent[times.current as usize] += now.saturating_sub(times.since);
        times.generation = generation;
        times.current = to;
        times.since = now.max(times.since);
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
        let observed = &self.observed;
        let mut spent = [0; 6];
        let times = observed
            .more
            .get()
            .map(|more| more.times.lock().unwrap_or_else(PoisonError::into_inner));
        match times.as_deref().and_then(Option::as_ref) {
            Some(times) => {
                spent = times.spent;
                spent[times.current as usize] += now.saturating_sub(times.since);
            }
            None => {
                let created = observed.created.load(Ordering::Relaxed);
                spent[self.stored_state() as usize] = now.saturating_sub(created);
            }
        }
        spent.map(Duration::from_nanos)
    }

    /// Calls admitted as half-open probes so far.
    pub(crate) fn probe_attempts(&self) -> u64 {
        self.observed.probes.load(Ordering::Relaxed)
    }

    /// When fallback durations are measured (the Prometheus collector is registered): the
    /// precise clock now, to pass to [`fallback_took`](Self::fallback_took).
    #[inline]
    pub(crate) fn fallback_start(&self) -> Option<u64> {
        crate::timing::measuring().then(|| self.clock.precise_nanos())
    }

    /// Counts one fallback of `kind` served.
    pub(crate) fn count_fallback_kind(&self, kind: FallbackKind) {
        self.observed.more().kinds[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Fallbacks served so far by kind, indexed by [`FallbackKind`]'s discriminant.
    pub(crate) fn fallback_kind_counts(&self) -> [u64; FallbackKind::ALL.len()] {
        let mut out = [0; FallbackKind::ALL.len()];
        if let Some(more) = self.observed.more.get() {
            for (n, cell) in out.iter_mut().zip(&more.kinds) {
                *n = cell.load(Ordering::Relaxed);
            }
        }
        out
    }

    /// The breaker's clock now (coarse), for the ages of cached fallback values.
    #[cfg(feature = "fallback-cache")]
    #[inline]
    pub(crate) fn clock_now(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// A fallback of `kind` started at `start` (from [`fallback_start`](Self::fallback_start))
    /// ended.
    pub(crate) fn fallback_took(&self, start: u64, kind: FallbackKind) {
        let nanos = self.clock.precise_nanos().saturating_sub(start);
        let histogram = self.observed.more().fallbacks[kind as usize]
            .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        let seconds = nanos as f64 / 1e9;
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(DURATION_BUCKETS.len());
        histogram[bucket].fetch_add(1, Ordering::Relaxed);
        histogram[DURATION_BUCKETS.len() + 1].fetch_add(nanos, Ordering::Relaxed);
    }

    /// The fallback-duration histogram of every kind together: counts per bucket and the sum
    /// in seconds.
    pub(crate) fn fallback_durations(&self) -> crate::Durations {
        let mut total = crate::Durations::empty();
        for (_, durations) in self.fallback_durations_by_kind() {
            total.absorb(&durations);
        }
        total
    }

    /// The fallback-duration histograms of the kinds timed so far.
    pub(crate) fn fallback_durations_by_kind(&self) -> Vec<(FallbackKind, crate::Durations)> {
        let Some(more) = self.observed.more.get() else {
            return Vec::new();
        };
        FallbackKind::ALL
            .into_iter()
            .zip(&more.fallbacks)
            .filter_map(|(kind, cell)| {
                let histogram = cell.get()?;
                let counts = histogram[..=DURATION_BUCKETS.len()]
                    .iter()
                    .map(|cell| cell.load(Ordering::Relaxed))
                    .collect();
                let sum = histogram[DURATION_BUCKETS.len() + 1].load(Ordering::Relaxed);
                Some((
                    kind,
                    crate::Durations {
                        bounds: &DURATION_BUCKETS,
                        counts,
                        sum_seconds: sum as f64 / 1e9,
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_of(observed: &Observed) -> (State, [u64; 6]) {
        let times = observed.more().times.lock().unwrap();
        let times = times.as_ref().unwrap();
        (times.current, times.spent)
    }

    #[test]
    fn a_transition_recorded_after_a_newer_one_does_not_rewind_the_state() {
        let observed = Observed::default();
        observed.begin(0);
        // Closed -> Open (generation 1) at 100 and Open -> HalfOpen (generation 2) at 150 race:
        // the newer one takes the lock first.
        observed.entered(State::Open, State::HalfOpen, 2, 150);
        observed.entered(State::Closed, State::Open, 1, 100);
        let (current, spent) = state_of(&observed);
        assert_eq!(current, State::HalfOpen);
        assert_eq!(spent[State::HalfOpen as usize], 0);
        assert_eq!(spent.iter().sum::<u64>(), 150);
        // The next transition continues from HalfOpen.
        observed.entered(State::HalfOpen, State::Closed, 3, 200);
        let (current, spent) = state_of(&observed);
        assert_eq!(current, State::Closed);
        assert_eq!(spent[State::HalfOpen as usize], 50);
    }

    #[test]
    fn generations_compare_across_the_wrap() {
        use super::super::word::generation_after;
        let last = (1u64 << 35) - 1;
        assert!(generation_after(0, last));
        assert!(!generation_after(last, 0));
        assert!(generation_after(5, 4));
        assert!(!generation_after(4, 4));
    }
}
