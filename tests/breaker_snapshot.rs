//! Snapshots say what they mean: rates are "not judged yet" below `minimum_calls`, the
//! window's counts show whichever triggers are on, an Open breaker keeps the numbers that
//! tripped it, and open deadlines are exact.

mod support;

use cb_runtime::{BreakerConfig, Outcome, Reason, State, Window};
use std::time::Duration;
use support::*;

#[test]
fn rates_below_minimum_calls_are_not_judged_yet() {
    let (b, _) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(0.5)
            .window(Window::Count(20))
            .minimum_calls(5),
    );
    run_n(&b, 2, Outcome::Failure);
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures, w.minimum_calls), (2, 2, 5));
    assert_eq!(w.failure_rate, None, "2 calls of the 5 needed: not a 100% failure rate");
    run_n(&b, 3, Outcome::Success);
    let w = b.snapshot().window;
    assert_eq!(w.failure_rate, Some(0.4));
    assert_eq!(w.slow_call_rate, Some(0.0));
}

#[test]
fn window_counts_are_visible_with_only_the_consecutive_trigger() {
    for window in [Window::Count(50), Window::Time(Duration::from_secs(60))] {
        let (b, _) = breaker(consecutive(5).window(window).minimum_calls(1));
        run_n(&b, 3, Outcome::Success);
        run_n(&b, 2, Outcome::Failure);
        let w = b.snapshot().window;
        assert_eq!((w.calls, w.failures), (5, 2), "{window:?}");
        assert_eq!(w.failure_rate, Some(0.4));
        b.reset();
        run_n(&b, 1, Outcome::Failure);
        let w = b.snapshot().window;
        assert_eq!((w.calls, w.failures), (1, 1), "counted from the period's start");
        b.metrics_only();
        run_n(&b, 7, Outcome::Failure);
        assert_eq!(b.snapshot().window.calls, 7, "MetricsOnly counts every outcome");
    }
}

#[test]
fn an_open_breaker_keeps_the_numbers_that_tripped_it() {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(0.5)
            .window(Window::Time(Duration::from_secs(60)))
            .minimum_calls(4)
            .open_timeout(Duration::from_secs(30)),
    );
    run_n(&b, 2, Outcome::Success);
    run_n(&b, 2, Outcome::Failure);
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(
        (s.window.calls, s.window.failures, s.window.failure_rate),
        (4, 2, Some(0.5))
    );
    assert!(
        matches!(s.tripped_by, Some(Reason::FailureRate { calls: 4, .. })),
        "{:?}",
        s.tripped_by
    );
    clock.advance(Duration::from_secs(31));
    let s = b.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!((s.window.calls, s.tripped_by), (0, None), "probing starts afresh");
}

#[test]
fn open_deadlines_are_exact_to_the_nanosecond() {
    let (b, clock) = breaker(consecutive(1).open_timeout(Duration::from_secs(30)));
    clock.advance(Duration::from_nanos(1_234_567));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_secs(30));
    assert_eq!(b.state(), State::Open, "at the deadline: still open");
    assert_eq!(b.snapshot().open_for, Some(Duration::ZERO));
    clock.advance(Duration::from_nanos(1));
    assert_eq!(b.state(), State::HalfOpen, "1ns after it, not up to 1ms later");
}
