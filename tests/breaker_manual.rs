//! The manual states: forced open, disabled, metrics-only, and reset.

mod support;

use cb_runtime::{Outcome, State};
use support::*;

#[test]
fn forced_open_rejects_everything_without_a_retry_time_until_reset() {
    let (b, clock) = breaker(consecutive(2));
    b.force_open();
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!((rejected.state, rejected.retry_after), (State::ForcedOpen, None));
    clock.advance(secs(3600));
    assert_eq!(b.state(), State::ForcedOpen, "no timer ends a forced open");
    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert!(run(&b, Outcome::Success));
}

#[test]
fn disabled_admits_everything_and_records_nothing() {
    let (b, _) = breaker(consecutive(2));
    b.disable();
    run_n(&b, 10, Outcome::Failure);
    assert_eq!(b.state(), State::Disabled);
    let totals = b.snapshot().totals;
    assert_eq!((totals.failures, totals.successes), (0, 0));
}

#[test]
fn metrics_only_records_but_never_trips() {
    let (b, _) = breaker(consecutive(2));
    b.metrics_only();
    run_n(&b, 10, Outcome::Failure);
    assert_eq!(b.state(), State::MetricsOnly);
    let s = b.snapshot();
    assert_eq!(s.totals.failures, 10);
    assert_eq!(s.consecutive_failures, 10);
}

#[test]
fn reset_closes_an_open_breaker_with_empty_windows() {
    let (b, _) = breaker(consecutive(3));
    run_n(&b, 2, Outcome::Failure);
    b.reset();
    assert_eq!(b.snapshot().consecutive_failures, 0);
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    trip(&b, 1);
    b.reset();
    assert_eq!(b.state(), State::Closed);
}
