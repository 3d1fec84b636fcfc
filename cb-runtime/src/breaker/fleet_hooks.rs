//! What a fleet (feature `redis`) needs of a breaker: hold off its probe, adopt another
//! instance's open or closed period, tell its own periods from adopted ones.

use super::CircuitBreaker;
use crate::State;
use crate::events::Reason;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[cfg_attr(not(any(feature = "redis", feature = "nats")), allow(dead_code))]
impl CircuitBreaker {
    /// Lets an Open breaker whose wait has passed probe (`true`, the default) or keeps it open
    /// (`false`): how a fleet lets one instance probe at a time.
    pub(crate) fn set_may_probe(&self, may: bool) {
        self.may_probe.store(may, Ordering::Release);
    }

    /// The time left in the open wait, if Open (zero once it has passed).
    pub(crate) fn open_remaining(&self) -> Option<Duration> {
        let word = self.load();
        (word.state() == State::Open).then(|| {
            let deadline = self.stamp_time(word.generation()).unwrap_or(0);
            Duration::from_nanos(deadline.saturating_sub(self.clock.now_nanos()))
        })
    }

    /// Opens for `wait` because another instance did (manual states are left alone). An Open
    /// breaker takes the new deadline.
    pub(crate) fn adopt_open(&self, wait: Duration, reason: Reason) {
        loop {
            let word = self.load();
            if !matches!(word.state(), State::Closed | State::Open | State::HalfOpen) {
                return;
            }
            let next = word.next(State::Open);
            if self.cas(word, next).is_ok() {
                self.adopted.store(next.generation(), Ordering::Release);
                let now = self.clock.now_nanos();
                self.write_stamp(
                    now.saturating_add(crate::clock::duration_nanos(wait)),
                    next.generation(),
                );
                self.opened(next, reason);
                self.announce(word, next, reason);
                return;
            }
        }
    }

    /// Closes because another instance's probe succeeded (only from Open or HalfOpen).
    pub(crate) fn adopt_closed(&self, reason: Reason) {
        loop {
            let word = self.load();
            if !matches!(word.state(), State::Open | State::HalfOpen) {
                return;
            }
            if let Some(next) = self.transition(word, State::Closed, reason) {
                self.adopted.store(next.generation(), Ordering::Release);
                return;
            }
        }
    }

    /// The current period after the time rules: its state, its generation, and whether it
    /// was adopted from a fleet.
    pub(crate) fn period(&self) -> (State, u64, bool) {
        let word = self.settle();
        (
            word.state(),
            word.generation(),
            self.adopted.load(Ordering::Acquire) == word.generation(),
        )
    }

    /// Trips a Closed breaker because the fleet's outcomes reached a threshold (published by
    /// the fleet like any local trip).
    pub(crate) fn trip_for_fleet(&self, reason: Reason) {
        let word = self.load();
        if word.state() == State::Closed {
            let _ = self.transition(word, State::Open, reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{BreakerConfig, CircuitBreaker, ManualClock, State};
    use std::time::Duration;

    fn tripped() -> (CircuitBreaker, ManualClock) {
        let clock = ManualClock::new();
        let config = BreakerConfig::builder()
            .consecutive_failures(1)
            .open_timeout(Duration::from_secs(30))
            .jitter(0.0)
            .build()
            .unwrap();
        let b = CircuitBreaker::builder("retry-after")
            .config(config)
            .clock(clock.clone())
            .build();
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), State::Open);
        (b, clock)
    }

    #[test]
    fn retry_after_is_never_zero_while_rejected() {
        let (b, clock) = tripped();
        clock.advance(Duration::from_secs(30));
        let rejected = b.try_acquire().unwrap_err();
        assert_eq!(
            rejected.retry_after,
            Some(Duration::from_nanos(1)),
            "at the deadline: still rejected"
        );
    }

    #[test]
    fn retry_after_is_unknown_while_another_instance_probes() {
        let (b, clock) = tripped();
        b.set_may_probe(false);
        clock.advance(Duration::from_secs(31));
        let rejected = b.try_acquire().unwrap_err();
        assert_eq!((rejected.state, rejected.retry_after), (State::Open, None));
        b.set_may_probe(true);
        assert!(b.try_acquire().is_ok(), "the probe is this instance's again");
    }
}
