//! Reading a breaker (state, snapshot) and steering it by hand.

use super::CircuitBreaker;
use super::stripe::DURATION_BUCKETS;
use super::stripe::{Slot, Total};
use super::word::{Word, stamp_nanos};
use crate::State;
use crate::events::Reason;
use crate::snapshot::{Durations, Snapshot, Totals, WindowStats};
use std::sync::atomic::Ordering;
use std::time::Duration;

impl CircuitBreaker {
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
                    let Some(deadline) = stamp_nanos(self.stamp.load(Ordering::Acquire), word.generation()) else {
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
                State::HalfOpen => match self.undecided_for(word) {
                    Some(waited) => {
                        let reason = Reason::ProbesUndecided {
                            waited: Duration::from_nanos(waited),
                        };
                        match self.transition(word, State::Open, reason) {
                            Some(next) => return next,
                            None => word = self.load(),
                        }
                    }
                    None => return word,
                },
                _ => return word,
            }
        }
    }

    /// Counts, rates and timing of this breaker now.
    pub fn snapshot(&self) -> Snapshot {
        let word = self.settle();
        let window = self.window_counts(word);
        let open_for = match word.state() {
            State::Open => stamp_nanos(self.stamp.load(Ordering::Acquire), word.generation())
                .map(|deadline| Duration::from_nanos(deadline.saturating_sub(self.clock.now_nanos()))),
            _ => None,
        };
        let consecutive = self.consecutive.load(Ordering::Acquire);
        let consecutive_failures = if (consecutive >> 32) as u32 == word.generation() as u32 {
            consecutive as u32
        } else {
            0
        };
        Snapshot {
            name: self.name,
            state: word.state(),
            totals: Totals {
                successes: self.stripes.sum(Total::Success),
                failures: self.stripes.sum(Total::Failure),
                ignored: self.stripes.sum(Total::Ignored),
                rejected: self.stripes.sum(Total::Rejected),
                timeouts: self.stripes.sum(Total::Timeout),
                slow_calls: self.stripes.sum(Total::Slow),
                fallbacks: self.stripes.sum(Total::Fallback),
            },
            window: WindowStats {
                calls: window.calls,
                failures: window.failures,
                slow_calls: window.slow_calls,
                failure_rate: window.failure_rate(),
                slow_call_rate: window.slow_call_rate(),
            },
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
        }
    }

    /// Transitions so far, as (from, to, count), counted ones only.
    fn transition_counts(&self) -> Vec<(State, State, u64)> {
        let mut out = Vec::new();
        for from in State::ALL {
            for to in State::ALL {
                let n = self.transitions[from as usize * 6 + to as usize].load(Ordering::Relaxed);
                if n > 0 {
                    out.push((from, to, n));
                }
            }
        }
        out
    }

    /// Counts one fallback served for a call through this breaker.
    pub fn record_fallback(&self) {
        let slot = Slot::current();
        self.stripes.get(slot).count(Total::Fallback, slot);
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

    fn force(&self, to: State) {
        let mut word = self.load();
        while self.transition(word, to, Reason::Manual).is_none() {
            word = self.load();
        }
    }
}
