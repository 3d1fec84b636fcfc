//! Failure-rate and slow-call-rate triggers over count and time windows.

mod support;

use cb_runtime::{BreakerConfig, Outcome, State, Window};
use support::*;

fn rate(window: Window, minimum_calls: u32, threshold: f64) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(threshold)
        .window(window)
        .minimum_calls(minimum_calls)
}

#[test]
fn four_failures_keep_it_closed_and_the_fifth_outcome_decides() {
    let (b, _) = breaker(rate(Window::Count(10), 5, 0.5));
    run_n(&b, 4, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "below minimum_calls nothing is judged");
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Open, "4 / 5 = 0.8 >= 0.5");
}

#[test]
fn a_success_that_completes_minimum_calls_can_trip() {
    let (b, _) = breaker(rate(Window::Count(10), 5, 0.5));
    for o in [Outcome::Failure, Outcome::Failure, Outcome::Failure, Outcome::Success] {
        run_n(&b, 1, o);
    }
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 1, Outcome::Success);
    assert_eq!(
        b.state(),
        State::Open,
        "F,F,F,S,S: 3 / 5 = 0.6 >= 0.5 on the last success"
    );
}

#[test]
fn the_threshold_is_inclusive_and_below_it_stays_closed() {
    let (b, _) = breaker(rate(Window::Count(10), 5, 0.4));
    for o in [Outcome::Success, Outcome::Success, Outcome::Success, Outcome::Failure] {
        run_n(&b, 1, o);
    }
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Closed, "1 / 5 = 0.2 < 0.4");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "2 / 6 = 0.33 < 0.4");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "3 / 7 = 0.43 >= 0.4");
}

#[test]
fn a_count_window_slides_instead_of_accumulating() {
    // A cumulative "window" would hold 2 failures in 12 calls (0.17) and stay closed.
    let (b, _) = breaker(rate(Window::Count(4), 4, 0.5));
    run_n(&b, 10, Outcome::Success);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().window.calls, 4);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "the last 4 are S,S,F,F: 0.5");
}

#[test]
fn old_failures_slide_out_of_a_count_window() {
    let (b, _) = breaker(rate(Window::Count(4), 4, 0.75));
    run_n(&b, 2, Outcome::Failure);
    run_n(&b, 4, Outcome::Success);
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures), (4, 0));
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(
        b.state(),
        State::Closed,
        "2 / 4 = 0.5 < 0.75: the first failures have left"
    );
}

#[test]
fn a_lowered_threshold_judges_the_next_outcome_even_one_that_changes_no_count() {
    let (b, _) = breaker(rate(Window::Count(4), 4, 0.75));
    for o in [Outcome::Failure, Outcome::Success, Outcome::Failure, Outcome::Success] {
        run_n(&b, 1, o);
    }
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "a failure over a failure: 2 / 4 = 0.5 < 0.75");
    b.reconfigure(rate(Window::Count(4), 4, 0.5).jitter(0.0).build().unwrap());
    assert_eq!(b.state(), State::Closed, "thresholds apply from the next call");
    run_n(&b, 1, Outcome::Success);
    assert_eq!(
        b.state(),
        State::Open,
        "a success over a success leaves 2 / 4, which the new rules trip on"
    );
}

#[test]
fn minimum_calls_is_capped_at_the_count_window_size() {
    let (b, _) = breaker(rate(Window::Count(3), 20, 0.5));
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Open, "judged at 3 calls, not 20");
}

#[test]
fn ignored_outcomes_count_nowhere_in_a_window() {
    let (b, _) = breaker(rate(Window::Count(10), 2, 0.5));
    run_n(&b, 1, Outcome::Success);
    run_n(&b, 10, Outcome::Ignored);
    assert_eq!(b.snapshot().window.calls, 1);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn outcomes_leave_a_time_window_when_it_has_passed() {
    let (b, clock) = breaker(rate(Window::Time(secs(10)), 4, 0.5));
    run_n(&b, 3, Outcome::Failure);
    clock.advance(secs(10));
    assert_eq!(b.snapshot().window.calls, 0, "failures recorded at 0s are gone at 10s");
    run_n(&b, 2, Outcome::Success);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "1 / 3 calls, below the minimum");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "2 / 4 = 0.5 within the last 10s");
}

#[test]
fn a_time_window_counts_every_call_of_its_duration() {
    let (b, clock) = breaker(rate(Window::Time(secs(60)), 20, 0.5));
    for _ in 0..30 {
        run_n(&b, 1, Outcome::Success);
        clock.advance(secs(1));
    }
    run_n(&b, 29, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "29 / 59 < 0.5");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "30 / 60 = 0.5");
}

#[test]
fn successes_expiring_raise_the_rate_judged_at_the_next_outcome() {
    let (b, clock) = breaker(rate(Window::Time(secs(10)), 4, 0.5));
    run_n(&b, 6, Outcome::Success);
    clock.advance(secs(5));
    run_n(&b, 3, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "3 / 9");
    clock.advance(secs(5));
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Open, "the 6 successes expired: 3 / 4 = 0.75");
}

fn slow(threshold: f64) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .no_failure_rate()
        .slow_call_rate_threshold(threshold)
        .slow_call_duration(secs(2))
        .window(Window::Count(4))
        .minimum_calls(4)
}

fn timed(b: &cb_runtime::CircuitBreaker, clock: &cb_runtime::ManualClock, took: std::time::Duration, outcome: Outcome) {
    let permit = b.try_acquire().expect("admitted");
    clock.advance(took);
    permit.record(outcome);
}

#[test]
fn slow_calls_trip_the_slow_call_rate_whether_they_succeed_or_fail() {
    let (b, clock) = breaker(slow(0.5));
    timed(&b, &clock, secs(2), Outcome::Success);
    timed(&b, &clock, millis(100), Outcome::Success);
    timed(&b, &clock, secs(3), Outcome::Failure);
    assert_eq!(
        b.snapshot().totals.slow_calls,
        1,
        "exactly slow_call_duration is not slow"
    );
    assert_eq!(b.state(), State::Closed);
    timed(&b, &clock, millis(2001), Outcome::Success);
    assert_eq!(b.state(), State::Open, "2 slow / 4 = 0.5");
    assert_eq!(b.snapshot().totals.slow_calls, 2);
}

#[test]
fn the_slow_call_rate_slides_too() {
    let (b, clock) = breaker(slow(0.75));
    timed(&b, &clock, secs(3), Outcome::Success);
    timed(&b, &clock, secs(3), Outcome::Success);
    for _ in 0..4 {
        timed(&b, &clock, millis(10), Outcome::Success);
    }
    timed(&b, &clock, secs(3), Outcome::Success);
    timed(&b, &clock, secs(3), Outcome::Success);
    assert_eq!(b.state(), State::Closed, "2 slow in the last 4");
    timed(&b, &clock, secs(3), Outcome::Success);
    assert_eq!(b.state(), State::Open, "3 slow in the last 4");
}

/// In a time window, failures after a judgement in the same bucket span skip judging while
/// they cannot reach the rate: the breaker must still trip on exactly the failure that does,
/// for every mix of successes before it, and again after a bucket leaves the window.
#[test]
fn a_time_window_trips_on_exactly_the_failure_that_reaches_the_rate() {
    for threshold in [0.1, 0.5, 0.75, 0.9, 0.99] {
        for successes in [10u64, 37, 100, 1_000] {
            let (b, _) = breaker(rate(Window::Time(std::time::Duration::from_secs(10)), 10, threshold));
            run_n(&b, successes as usize, Outcome::Success);
            let mut failures = 0u64;
            while b.state() == State::Closed {
                let expected_trip = (failures + 1) as f64 / (successes + failures + 1) as f64 >= threshold;
                run_n(&b, 1, Outcome::Failure);
                failures += 1;
                assert_eq!(
                    b.state() == State::Open,
                    expected_trip,
                    "threshold {threshold}, {successes} successes: failure {failures}"
                );
                assert!(failures <= 200_000, "never tripped");
            }
        }
    }
    // Half the window later the successes of the first bucket span leave: the budget granted
    // before must not outlive the span.
    let (b, clock) = breaker(rate(Window::Time(std::time::Duration::from_secs(10)), 10, 0.5));
    run_n(&b, 20, Outcome::Success);
    clock.advance(std::time::Duration::from_secs(5));
    run_n(&b, 9, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "9 / 29");
    clock.advance(std::time::Duration::from_secs(5));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "the 20 successes left: 10 / 10");
}

/// A lowered threshold applies from the next failure even while failures of the same bucket
/// span were skipping judgement on the old threshold's budget.
#[test]
fn a_lowered_threshold_applies_to_the_next_failure_in_a_budgeted_span() {
    let config = |threshold: f64| {
        rate(Window::Time(std::time::Duration::from_secs(10)), 10, threshold)
            .jitter(0.0)
            .build()
            .unwrap()
    };
    let (b, _) = breaker(rate(Window::Time(std::time::Duration::from_secs(10)), 10, 0.9));
    run_n(&b, 100, Outcome::Success);
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "2 / 102 under 0.9");
    b.reconfigure(config(0.02));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "3 / 103 >= 0.02");
}
