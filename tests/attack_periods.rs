//! Attacks on the beginning of a closed (or metrics-only) period (`start_period` ->
//! `CountWindow::begin` / `TimeWindow::begin`), from outside: transitions that never pass
//! through a closed period (failed probes, an operator's `open_for`, `disable`, `force_open`)
//! until the generation wraps the windows' tags exactly; transitions racing with writers.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Outcome, State, Window};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::*;

/// (calls, failures, slow calls) of the window.
fn window(b: &CircuitBreaker) -> (u64, u64, u64) {
    let w = b.snapshot().window;
    (w.calls, w.failures, w.slow_calls)
}

/// The failure-rate trigger alone over `kind`.
fn failure_rate(kind: Window, threshold: f64, minimum_calls: u32) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(threshold)
        .no_slow_call_rate()
        .window(kind)
        .minimum_calls(minimum_calls)
}

fn ok(b: &CircuitBreaker) {
    assert!(run(b, Outcome::Success), "rejected");
}

fn fail(b: &CircuitBreaker) {
    assert!(run(b, Outcome::Failure), "rejected");
}

// --- Generations that wrap the tags without a closed period in between -----------------------

/// A count window (15-bit tag) holding 4 failures in 10, then `transitions - 1` transitions
/// that are not closed periods (`away`), then a reset: the new period must start empty, and
/// its first failure is 1 call, under the minimum of 10.
fn away_then_reset(kind: Window, transitions: u32, away: impl Fn(&CircuitBreaker)) {
    let (b, _clock) = breaker(failure_rate(kind, 0.5, 10));
    for _ in 0..4 {
        fail(&b);
    }
    for _ in 0..6 {
        ok(&b);
    }
    assert_eq!((b.state(), window(&b)), (State::Closed, (10, 4, 0)), "40 % < 50 %");
    for _ in 0..transitions - 1 {
        away(&b);
    }
    b.reset();
    let fresh = window(&b);
    fail(&b);
    assert_eq!(
        (fresh, b.state(), window(&b)),
        ((0, 0, 0), State::Closed, (1, 1, 0)),
        "a reset {transitions} transitions after the last outcome, then one failure"
    );
}

/// `begin` compares the word's 15-bit tag with the new period's only: 32 768 transitions
/// with no closed period between give the new period the old window's tag, and `begin`
/// leaves the old counts in place (whose slots, of another 16-bit generation, never take
/// them out again).
#[test]
fn a_reset_after_32767_disables_starts_with_an_empty_count_window() {
    away_then_reset(Window::Count(10), 32_768, |b| b.disable());
}

#[test]
fn a_reset_after_32767_forced_opens_starts_with_an_empty_count_window() {
    away_then_reset(Window::Count(10), 32_768, |b| b.force_open());
}

/// The time window's 16-bit ring tags, 65 536 transitions (within the window's 10 s).
#[test]
fn a_reset_after_65535_disables_starts_with_an_empty_time_window() {
    away_then_reset(Window::Time(secs(10)), 65_536, |b| b.disable());
}

/// Without a hand on the breaker but one maintenance extension: tripped by 10 failures in 10,
/// the open wait extended once by an operator (`open_for` while Open: one more transition),
/// then 16 382 failed probes (two transitions each) and a successful one: the new closed
/// period is 32 768 transitions after the window's last outcome. A success then a failure
/// must not trip (2 calls, minimum 10), and the window must be those two calls.
#[test]
fn a_breaker_that_closes_32768_transitions_after_its_trip_starts_with_an_empty_count_window() {
    closes_after_probes(Window::Count(10), 16_382, secs(30));
}

/// The same for the time window: 32 766 failed probes, 65 536 transitions, with a short open
/// wait (10 ms) so that the old failures are still inside a 10-minute window.
#[test]
fn a_breaker_that_closes_65536_transitions_after_its_trip_starts_with_an_empty_time_window() {
    closes_after_probes(Window::Time(secs(600)), 32_766, millis(10));
}

fn closes_after_probes(kind: Window, probes: u32, wait: std::time::Duration) {
    let (b, clock) = breaker(
        failure_rate(kind, 0.5, 10)
            .open_timeout(wait)
            .backoff_multiplier(1.0)
            .success_threshold(1)
            .half_open_max_calls(1),
    );
    for _ in 0..10 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Open, "tripped by 10 failures in 10");
    b.open_for(wait).unwrap();
    let step = wait + millis(1);
    for i in 0..probes {
        clock.advance(step);
        assert_eq!(b.state(), State::HalfOpen, "probe {i}");
        fail(&b);
        assert_eq!(b.state(), State::Open, "probe {i} failed");
    }
    clock.advance(step);
    ok(&b);
    assert_eq!(b.state(), State::Closed, "the backend is back");
    let fresh = window(&b);
    ok(&b);
    let after_success = (b.state(), window(&b));
    let admitted = run(&b, Outcome::Failure);
    assert_eq!(
        (fresh, after_success, admitted, b.state(), window(&b)),
        ((0, 0, 0), (State::Closed, (1, 0, 0)), true, State::Closed, (2, 1, 0)),
        "closed after {probes} failed probes and an extension, then a success and a failure"
    );
}
