//! Reading a breaker (state, snapshot) and steering it by hand.

use super::CircuitBreaker;
use super::stripe::DURATION_BUCKETS;
use super::stripe::{Slot, Total};
use super::word::Word;
use crate::State;
use crate::events::Reason;
use crate::snapshot::{Durations, Snapshot, Totals, WindowStats};
use crate::window::Counts;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A manual transition that cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlError {
    /// The state machine does not go from `from` to `to` by hand.
    Illegal {
        /// The state the breaker is in.
        from: State,
        /// The state asked for.
        to: State,
    },
    /// An open wait that is zero (or already passed) or longer than 24h.
    Wait(Duration),
    /// No breaker of that name is registered.
    Unknown(String),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::Illegal { from, to } => write!(f, "illegal manual transition {from} -> {to}"),
            ControlError::Wait(wait) => write!(f, "open wait {wait:?}: must be positive and at most 24h"),
            ControlError::Unknown(name) => write!(f, "no circuit breaker named `{name}` is registered"),
        }
    }
}

impl std::error::Error for ControlError {}

/// What snapshots explain periods with (cold: written on transitions, read by snapshots);
/// allocated on the first transition, so a breaker that never trips (most keyed breakers)
/// holds none and a snapshot reads the defaults.
#[derive(Debug)]
pub(crate) struct History {
    /// The totals the current Closed or MetricsOnly period started from.
    period_start: Mutex<PeriodStart>,
    /// The numbers that tripped the current Open period.
    tripped: Mutex<Option<Trip>>,
    /// Why the breaker last entered Open, with that Open period's generation.
    open_reason: Mutex<Option<(u64, Reason)>>,
    /// Transitions by `from * 6 + to`, for metrics.
    pub(super) transitions: [std::sync::atomic::AtomicU64; 36],
}

impl Default for History {
    fn default() -> History {
        History {
            period_start: Mutex::default(),
            tripped: Mutex::default(),
            open_reason: Mutex::default(),
            transitions: std::array::from_fn(|_| std::sync::atomic::AtomicU64::new(0)),
        }
    }
}

/// The totals when a Closed or MetricsOnly period started: with no rate trigger no window is
/// kept on the hot path, and snapshots count the period from these.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PeriodStart {
    generation: u64,
    calls: u64,
    failures: u64,
}

/// The window's numbers when a Closed breaker tripped, kept for the Open period it started,
/// with the `minimum_calls` they were judged under (a reconfiguration while Open does not
/// change what tripped it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trip {
    generation: u64,
    counts: Counts,
    minimum_calls: u64,
}

impl CircuitBreaker {
    /// The history, allocated on first use (a transition).
    pub(super) fn history(&self) -> &History {
        self.history.get_or_init(Box::default)
    }

    /// The current state. An Open breaker whose wait has passed becomes HalfOpen here (there is
    /// no timer per breaker: time rules apply lazily, on the next call or read).
    pub fn state(&self) -> State {
        self.settle().state()
    }

    /// Applies the time rules to the current word and returns it.
    pub(super) fn settle(&self) -> Word {
        let mut word = self.load();
        loop {
            match word.state() {
                State::Open => {
                    let now = self.clock.now_nanos();
                    let Some(deadline) = self.stamp_time(word.generation()) else {
                        return word;
                    };
                    if now <= deadline || !self.may_probe.load(Ordering::Acquire) {
                        return word;
                    }
                    let next = word.next(State::HalfOpen);
                    match self.swap_state(word, next, Reason::OpenWaitElapsed, now) {
                        Ok(()) => return next,
                        Err(current) => word = current,
                    }
                }
                State::HalfOpen => match self.reopen_undecided(word) {
                    Some(Some(next)) => return next,
                    Some(None) => word = self.load(),
                    None => return word,
                },
                _ => return word,
            }
        }
    }

    /// Notes the totals a new Closed or MetricsOnly period `next` starts from (cold: on
    /// transitions only).
    pub(super) fn start_period(&self, next: Word) {
        if !matches!(next.state(), State::Closed | State::MetricsOnly) {
            return;
        }
        let (calls, failures) = self.period_totals();
        let start = PeriodStart {
            generation: next.generation(),
            calls,
            failures,
        };
        self.note(&self.history().period_start, next, start);
    }

    /// What the window of period `word` holds: the sliding window when a rate trigger keeps
    /// one, else the calls of the period so far (from the totals; no cost per call).
    pub(super) fn period_counts(&self, word: Word) -> Counts {
        if self.tunables.mode().rates() {
            return self.window_counts(word);
        }
        let start = self
            .history
            .get()
            .map(|h| *h.period_start.lock().unwrap_or_else(PoisonError::into_inner))
            .unwrap_or_default();
        if start.generation != word.generation() || !matches!(word.state(), State::Closed | State::MetricsOnly) {
            return Counts::default();
        }
        let (calls, failures) = self.period_totals();
        Counts {
            calls: calls.saturating_sub(start.calls),
            failures: failures.saturating_sub(start.failures),
            slow_calls: 0,
        }
    }

    /// Keeps the window's numbers `counts`, judged under `minimum_calls` (of the Closed period
    /// that tripped it into Open period `open`), for snapshots while it is Open; nothing once a
    /// later period began (see [`opened`](Self::opened)).
    pub(super) fn keep_trip(&self, counts: Counts, minimum_calls: u64, open: Word) {
        let trip = Trip {
            generation: open.generation(),
            counts,
            minimum_calls,
        };
        self.note(&self.history().tripped, open, Some(trip));
    }

    /// Notes that Open period `open` started for `reason` (see [`note`](Self::note)).
    pub(super) fn opened(&self, open: Word, reason: Reason) {
        self.note(&self.history().open_reason, open, Some((open.generation(), reason)));
    }

    /// Writes `value` in a note of `period`, while that period is in force (checked under the
    /// note's lock): a transition that comes to this late (its thread paused after its
    /// compare-and-swap) leaves a later period's note as it is. (Generations compared by their
    /// wrapping order instead misjudged a note left 2^34 transitions back, as by a long outage
    /// of probes.)
    fn note<T>(&self, cell: &Mutex<T>, period: Word, value: T) {
        let mut held = cell.lock().unwrap_or_else(PoisonError::into_inner);
        if self.in_force(period) {
            *held = value;
        }
    }

    /// Whether period `word` is the one in force (notes of it may still be written).
    pub(super) fn in_force(&self, word: Word) -> bool {
        self.load().generation() == word.generation()
    }

    /// Why Open period `word` opened.
    fn open_reason(&self, word: Word) -> Option<Reason> {
        if word.state() != State::Open {
            return None;
        }
        let reason = *self
            .history
            .get()?
            .open_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reason.filter(|(g, _)| *g == word.generation()).map(|(_, r)| r)
    }

    /// The numbers that tripped Open period `word`, if it tripped in Closed.
    fn trip_of(&self, word: Word) -> Option<Trip> {
        let trip = *self
            .history
            .get()?
            .tripped
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        trip.filter(|t| t.generation == word.generation())
    }

    /// Counts, rates and timing of this breaker now.
    pub fn snapshot(&self) -> Snapshot {
        let word = self.settle();
        // The reason first: the trip that wrote it kept its numbers before it.
        let tripped_by = self.open_reason(word);
        let trip = self.trip_of(word);
        let window = trip.map_or_else(|| self.period_counts(word), |t| t.counts);
        let minimum_calls = trip.map_or_else(|| self.tunables.rates().minimum_calls(), |t| t.minimum_calls);
        let minimum_calls = u32::try_from(minimum_calls).unwrap_or(u32::MAX);
        let open_for = match word.state() {
            State::Open => self
                .stamp_time(word.generation())
                .map(|deadline| Duration::from_nanos(deadline.saturating_sub(self.clock.now_nanos()))),
            _ => None,
        };
        let consecutive_failures = super::run::length(
            self.consecutive.load(Ordering::Acquire),
            word.generation(),
            self.run_enders(),
        );
        Snapshot {
            name: self.name.clone(),
            state: word.state(),
            totals: Totals {
                successes: self.stripes.sum(Total::Success) + self.stripes.sum(Total::Stale),
                failures: self.stripes.sum(Total::Failure),
                ignored: self.stripes.sum(Total::Ignored),
                rejected: self.stripes.sum(Total::Rejected),
                timeouts: self.stripes.sum(Total::Timeout),
                slow_calls: self.stripes.sum(Total::Slow),
                fallbacks: self.stripes.sum(Total::Fallback),
                fallbacks_by_kind: self.fallback_kind_counts(),
                probes: self.probe_attempts(),
            },
            window: WindowStats::new(window, minimum_calls),
            tripped_by,
            consecutive_failures,
            open_for,
            half_open_in_flight: if word.state() == State::HalfOpen {
                word.in_flight()
            } else {
                0
            },
            reopens: self.reopens.load(Ordering::Acquire),
            transitions: self.transition_counts(),
            durations: {
                let (counts, sum) = self.stripes.durations();
                Durations {
                    bounds: &DURATION_BUCKETS,
                    counts: counts.to_vec(),
                    sum_seconds: sum as f64 / 1e9,
                }
            },
            fallback_durations: self.fallback_durations(),
            fallback_durations_by_kind: self.fallback_durations_by_kind(),
            time_in_state: self.time_in_states(),
        }
    }

    /// Adds this breaker's counters (totals, transitions, durations, time in states) to
    /// `into`: what a family keeps of a breaker that left it, without the reads of state and
    /// window (and the allocations) a [`snapshot`](Self::snapshot) makes.
    pub(crate) fn add_counters_to(&self, into: &mut Snapshot) {
        let t = &mut into.totals;
        self.stripes.for_each(|s| {
            t.successes += s.total(Total::Success) + s.total(Total::Stale);
            t.failures += s.total(Total::Failure);
            t.ignored += s.total(Total::Ignored);
            t.rejected += s.total(Total::Rejected);
            t.timeouts += s.total(Total::Timeout);
            t.slow_calls += s.total(Total::Slow);
            t.fallbacks += s.total(Total::Fallback);
        });
        for (mine, n) in t.fallbacks_by_kind.iter_mut().zip(self.fallback_kind_counts()) {
            *mine += n;
        }
        t.probes += self.probe_attempts();
        if self.history.get().is_some() {
            for (from, to, n) in self.transition_counts() {
                into.absorb_transitions(from, to, n);
            }
        }
        let (counts, sum) = self.stripes.durations();
        for (mine, n) in into.durations.counts.iter_mut().zip(counts) {
            *mine += n;
        }
        into.durations.sum_seconds += sum as f64 / 1e9;
        let by_kind = self.fallback_durations_by_kind();
        if !by_kind.is_empty() {
            into.absorb_fallback_durations(&self.fallback_durations(), &by_kind);
        }
        for (mine, spent) in into.time_in_state.iter_mut().zip(self.time_in_states()) {
            *mine += spent;
        }
    }

    /// Transitions so far, as (from, to, count), counted ones only.
    fn transition_counts(&self) -> Vec<(State, State, u64)> {
        let mut out = Vec::new();
        for from in State::ALL {
            for to in State::ALL {
                let n = self.history.get().map_or(0, |h| {
                    h.transitions[from as usize * 6 + to as usize].load(Ordering::Relaxed)
                });
                if n > 0 {
                    out.push((from, to, n));
                }
            }
        }
        out
    }

    /// Counts one fallback served for a call through this breaker, as a
    /// [`FallbackKind::Function`](crate::fallback::FallbackKind::Function).
    pub fn record_fallback(&self) {
        self.record_fallback_as(crate::fallback::FallbackKind::Function);
    }

    /// Counts one fallback of `kind` served for a call through this breaker (the `type` label
    /// of the fallback metrics) and tells subscribers of everything ([`Event::Fallback`](crate::Event::Fallback)).
    pub fn record_fallback_as(&self, kind: crate::fallback::FallbackKind) {
        let slot = Slot::current();
        self.stripes.get(slot).count(Total::Fallback, slot);
        self.count_fallback_kind(kind);
        if self.events.has_subscribers() {
            self.events.deliver(crate::Event::Fallback {
                name: self.name.clone(),
                kind,
            });
        }
    }

    /// Rejects every call until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.force(State::ForcedOpen);
    }

    /// Admits every call and records nothing until [`reset`](Self::reset).
    pub fn disable(&self) {
        self.force(State::Disabled);
    }

    /// Admits and records every call but never trips, until [`reset`](Self::reset).
    pub fn metrics_only(&self) {
        self.force(State::MetricsOnly);
    }

    /// Closed, with empty windows, no run of failures and the backoff reset.
    pub fn reset(&self) {
        self.force(State::Closed);
    }

    /// Opens for `wait` whatever the state, then probes as after any open wait (HalfOpen
    /// strictly after it). The wait must be positive and at most 24h.
    ///
    /// ```
    /// use cb_runtime::{CircuitBreaker, ManualClock, State};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let breaker = CircuitBreaker::builder("maintenance").clock(clock.clone()).build();
    /// breaker.open_for(Duration::from_secs(60)).unwrap();
    /// clock.advance(Duration::from_secs(61));
    /// assert_eq!(breaker.state(), State::HalfOpen);
    /// ```
    pub fn open_for(&self, wait: Duration) -> Result<(), ControlError> {
        self.open_for_because(wait, Reason::Manual, |_| true).map(|_| ())
    }

    /// Opens for `wait` with `reason` if the state at the moment of the switch is one `allow`
    /// accepts (checked in the same compare-and-swap, so an operator's state set meanwhile is
    /// never overridden); `Ok(false)` when it was not. A manual open resets the backoff count;
    /// any other reason keeps it.
    pub(crate) fn open_for_because(
        &self,
        wait: Duration,
        reason: Reason,
        allow: impl Fn(State) -> bool,
    ) -> Result<bool, ControlError> {
        if wait.is_zero() || wait > crate::config::MAX_DURATION {
            return Err(ControlError::Wait(wait));
        }
        let nanos = crate::clock::duration_nanos(wait);
        loop {
            let word = self.load();
            if !allow(word.state()) {
                return Ok(false);
            }
            let next = word.next(State::Open);
            if self.cas(word, next).is_ok() {
                if reason == Reason::Manual {
                    self.reopens.store(0, Ordering::Release);
                }
                self.write_stamp(self.clock.now_nanos().saturating_add(nanos), next.generation());
                self.opened(next, reason);
                self.announce(word, next, reason);
                return Ok(true);
            }
        }
    }

    /// Opens until `until` (see [`open_for`](Self::open_for)); an instant that has passed is an
    /// error. The wait is measured now and then runs on the breaker's clock.
    pub fn open_until(&self, until: Instant) -> Result<(), ControlError> {
        self.open_for(until.saturating_duration_since(Instant::now()))
    }

    /// Moves to `to` by hand: `Closed` (reset), `ForcedOpen`, `Disabled` and `MetricsOnly` from
    /// any state; `HalfOpen` (probe now) only from `Open` or `ForcedOpen`; `Open` needs a wait
    /// ([`open_for`](Self::open_for)). An illegal transition is an error and changes nothing.
    ///
    /// ```
    /// use cb_runtime::{CircuitBreaker, ControlError, State};
    ///
    /// let breaker = CircuitBreaker::builder("manual").build();
    /// assert_eq!(
    ///     breaker.transition_to(State::HalfOpen),
    ///     Err(ControlError::Illegal { from: State::Closed, to: State::HalfOpen })
    /// );
    /// breaker.transition_to(State::ForcedOpen).unwrap();
    /// breaker.transition_to(State::HalfOpen).unwrap();
    /// ```
    pub fn transition_to(&self, to: State) -> Result<(), ControlError> {
        loop {
            let word = self.load();
            let from = word.state();
            let legal = match to {
                State::Closed | State::ForcedOpen | State::Disabled | State::MetricsOnly => true,
                State::HalfOpen => matches!(from, State::Open | State::ForcedOpen),
                State::Open => false,
            };
            if !legal {
                return Err(ControlError::Illegal { from, to });
            }
            if self.transition(word, to, Reason::Manual).is_some() {
                return Ok(());
            }
        }
    }

    fn force(&self, to: State) {
        let mut word = self.load();
        while self.transition(word, to, Reason::Manual).is_none() {
            word = self.load();
        }
    }
}
