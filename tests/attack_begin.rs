//! Attacks on e796e2f (windows begin at every transition, a full-generation `begun` marker,
//! trip counts read before the transition), from outside.
//!
//! Defect (failing test): `TimeWindow::begin` lets go of the rings and the dirty mark of older
//! periods, but not of the judgement mark (`judged`) and the failure budget (`budget`), which
//! carry only 16 bits of generation. A judgement in period g grants a budget of failures that
//! may skip judgement; after exactly 65,536 transitions in the same bucket span (manual clock
//! here; a second of real time), period g + 65,536 has the same 16-bit tag: its failures take
//! from the old period's budget and are never judged. The breaker silently stops tripping.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Outcome, State, Window};
use support::*;

/// (calls, failures, slow calls) of the window.
fn window(b: &CircuitBreaker) -> (u64, u64, u64) {
    let w = b.snapshot().window;
    (w.calls, w.failures, w.slow_calls)
}

fn failure_rate(kind: Window, threshold: f64, minimum_calls: u32) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(threshold)
        .no_slow_call_rate()
        .window(kind)
        .minimum_calls(minimum_calls)
}

/// 200 successes and a failure (judged with 201 calls: a budget of ~198 failures that may
/// skip judgement in this bucket span), `transitions - 1` disables, a reset, then failures:
/// the 10th must trip (100 % of the minimum of 10).
fn judged_then_away(transitions: u32) -> (State, (u64, u64, u64), u64) {
    let (b, _clock) = breaker(failure_rate(Window::Time(secs(60)), 0.5, 10));
    run_n(&b, 200, Outcome::Success);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "1 failure in 201");
    for _ in 0..transitions - 1 {
        b.disable();
    }
    b.reset();
    assert_eq!(window(&b), (0, 0, 0), "a reset starts an empty window");
    let mut failures = 0;
    while b.state() == State::Closed && failures < 60 {
        assert!(run(&b, Outcome::Failure), "rejected while Closed");
        failures += 1;
    }
    (b.state(), window(&b), failures)
}

#[test]
fn a_reset_65536_transitions_after_a_judgement_trips_at_the_minimum_of_calls() {
    assert_eq!(
        judged_then_away(65_536),
        (State::Open, (10, 10, 0), 10),
        "(state, window, failures recorded) after a reset 65,536 transitions after a judgement"
    );
}

/// The same, one transition fewer: trips at the 10th failure (the control).
#[test]
fn a_reset_65535_transitions_after_a_judgement_trips_at_the_minimum_of_calls() {
    assert_eq!(judged_then_away(65_535), (State::Open, (10, 10, 0), 10));
}

/// 6 successes and 5 failures (judged with the minimum of calls: the mark `judged` of this
/// bucket span), `transitions - 1` disables, a reset, then 9 failures and a success: the
/// success brings the window to the minimum of 10 at 90 % failures and must trip it.
fn marked_then_away(transitions: u32) -> (State, (u64, u64, u64)) {
    let (b, _clock) = breaker(failure_rate(Window::Time(secs(60)), 0.5, 10));
    run_n(&b, 6, Outcome::Success);
    run_n(&b, 5, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "5 failures in 11");
    for _ in 0..transitions - 1 {
        b.disable();
    }
    b.reset();
    run_n(&b, 9, Outcome::Failure);
    assert_eq!((b.state(), window(&b)), (State::Closed, (9, 9, 0)), "under the minimum");
    run_n(&b, 1, Outcome::Success);
    (b.state(), window(&b))
}

#[test]
fn a_success_reaching_the_minimum_65536_transitions_after_a_judgement_trips() {
    assert_eq!(
        marked_then_away(65_536),
        (State::Open, (10, 9, 0)),
        "(state, window) after 9 failures and a success, 65,536 transitions after a judgement"
    );
}

/// The same, one transition fewer (the control).
#[test]
fn a_success_reaching_the_minimum_65535_transitions_after_a_judgement_trips() {
    assert_eq!(marked_then_away(65_535), (State::Open, (10, 9, 0)));
}
