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

#[test]
fn metrics_only_records_every_outcome_in_the_window_whatever_the_triggers() {
    let (b, _) = breaker(
        consecutive(2)
            .failure_rate_threshold(0.5)
            .window(cb_runtime::Window::Count(10))
            .minimum_calls(4),
    );
    b.metrics_only();
    run_n(&b, 3, Outcome::Failure);
    run_n(&b, 1, Outcome::Success);
    let w = b.snapshot().window;
    assert_eq!(
        (w.calls, w.failures),
        (4, 3),
        "the consecutive trigger does not drop outcomes"
    );
    assert_eq!(w.failure_rate, Some(0.75));
    assert_eq!(b.state(), State::MetricsOnly);
}

#[test]
fn open_for_a_duration_then_probes_exactly_after_it() {
    let (b, clock) = breaker(consecutive(2).success_threshold(1));
    b.open_for(secs(90)).unwrap();
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!((rejected.state, rejected.retry_after), (State::Open, Some(secs(90))));
    assert_eq!(b.snapshot().tripped_by, Some(cb_runtime::Reason::Manual));
    clock.advance(secs(90));
    assert_eq!(b.state(), State::Open, "strictly after the wait");
    clock.advance(std::time::Duration::from_nanos(1));
    assert_eq!(b.state(), State::HalfOpen);
    assert!(run(&b, Outcome::Success));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn open_until_an_instant_and_bad_waits_are_errors() {
    let (b, _) = breaker(consecutive(2));
    let until = std::time::Instant::now() + secs(600);
    b.open_until(until).unwrap();
    let left = b.snapshot().open_for.unwrap();
    assert!(left > secs(590) && left <= secs(600), "{left:?}");
    b.reset();
    use cb_runtime::ControlError;
    assert_eq!(b.open_for(secs(0)), Err(ControlError::Wait(secs(0))));
    assert_eq!(b.open_for(secs(25 * 3600)), Err(ControlError::Wait(secs(25 * 3600))));
    assert!(
        b.open_until(std::time::Instant::now()).is_err(),
        "an instant that has passed"
    );
    assert_eq!(b.state(), State::Closed, "an error changes nothing");
}

#[test]
fn illegal_manual_transitions_are_errors_and_change_nothing() {
    use cb_runtime::ControlError;
    let (b, _) = breaker(consecutive(2));
    let illegal = |from, to| Err(ControlError::Illegal { from, to });
    assert_eq!(
        b.transition_to(State::HalfOpen),
        illegal(State::Closed, State::HalfOpen)
    );
    assert_eq!(b.transition_to(State::Open), illegal(State::Closed, State::Open));
    assert_eq!(b.state(), State::Closed);
    b.transition_to(State::Disabled).unwrap();
    assert_eq!(
        b.transition_to(State::HalfOpen),
        illegal(State::Disabled, State::HalfOpen)
    );
    b.transition_to(State::ForcedOpen).unwrap();
    b.transition_to(State::HalfOpen).unwrap();
    assert_eq!(b.state(), State::HalfOpen, "probe now, from forced open");
    b.transition_to(State::Closed).unwrap();
    let r = cb_runtime::Registry::new();
    r.breaker("ops", &cb_runtime::BreakerConfig::default());
    assert_eq!(
        r.transition_to("ops", State::HalfOpen),
        illegal(State::Closed, State::HalfOpen)
    );
    assert_eq!(
        r.transition_to("nope", State::Closed),
        Err(ControlError::Unknown("nope".into()))
    );
    r.open_for("ops", secs(5)).unwrap();
    assert_eq!(r.snapshot("ops").unwrap().state, State::Open);
}

#[test]
fn a_breaker_can_start_in_a_manual_state() {
    use cb_runtime::{CircuitBreaker, ControlError};
    let b = CircuitBreaker::builder("starts-disabled")
        .initial_state(State::MetricsOnly)
        .unwrap()
        .build();
    assert_eq!(b.state(), State::MetricsOnly);
    run_n(&b, 10, Outcome::Failure);
    assert_eq!(b.state(), State::MetricsOnly);
    assert_eq!(b.snapshot().totals.failures, 10);
    for state in [State::Open, State::HalfOpen] {
        assert_eq!(
            CircuitBreaker::builder("x").initial_state(state).err(),
            Some(ControlError::Illegal {
                from: State::Closed,
                to: state
            })
        );
    }
}
