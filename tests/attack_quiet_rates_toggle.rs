//! Triggers turned off and on again by reconfiguration. Rate triggers over a count window (the
//! consecutive-only to count-window move the quiet failure path must follow): a reload keeps
//! counts, and a count window is exactly the last N outcomes. The consecutive trigger: a
//! reload that turns it off keeps counting the run, so turning it on again judges the
//! failures in a row as they stand.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Outcome, State, Window};
use support::*;

fn config(rate: f64) -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(100)
        .failure_rate_threshold(rate)
        .no_slow_call_rate()
        .window(Window::Count(4))
        .minimum_calls(4)
        .jitter(0.0)
        .build()
        .unwrap()
}

/// Rates turned off (consecutive trigger alone) and on again by reconfiguration while outcomes
/// go on: once on again, the count window holds the last N outcomes, those recorded while the
/// rates were off included (a reload keeps counts, and the window is "exactly the last N").
#[test]
fn rates_turned_off_and_on_again_keep_the_window_the_last_n() {
    let (b, _clock) = {
        let clock = cb_runtime::ManualClock::new();
        let b = CircuitBreaker::builder("quiet-toggle")
            .config(config(0.75))
            .clock(clock.clone())
            .build();
        (b, clock)
    };
    run_n(&b, 2, Outcome::Failure);
    run_n(&b, 1, Outcome::Success);
    b.reconfigure(
        BreakerConfig::builder()
            .consecutive_failures(100)
            .no_failure_rate()
            .no_slow_call_rate()
            .window(Window::Count(4))
            .build()
            .unwrap(),
    );
    run_n(&b, 4, Outcome::Success);
    b.reconfigure(config(0.75));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(
        b.state(),
        State::Closed,
        "the last four outcomes are S, S, S, F (a rate of 0.25): {:?}",
        b.snapshot().window
    );
}

/// The consecutive trigger turned off and on with the rate trigger on throughout: quiet
/// failures keep writing the window, which stays exactly the last N.
#[test]
fn consecutive_trigger_toggled_keeps_the_window_the_last_n() {
    let (b, _clock) = breaker(failure_rate(Window::Count(4), 1.0, 4).consecutive_failures(50));
    let off = || failure_rate(Window::Count(4), 1.0, 4).build().unwrap();
    let on = || {
        failure_rate(Window::Count(4), 1.0, 4)
            .consecutive_failures(50)
            .build()
            .unwrap()
    };
    run_n(&b, 4, Outcome::Success);
    b.reconfigure(off());
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(window(&b), (4, 2, 0));
    b.reconfigure(on());
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(window(&b), (4, 3, 0));
    assert_eq!(b.state(), State::Closed);
    b.reconfigure(off());
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "four failures of four");
}

/// The consecutive trigger alone, at `limit` or off.
fn run_config(limit: Option<u32>) -> BreakerConfig {
    let builder = match limit {
        Some(limit) => consecutive(limit),
        None => consecutive(1).no_consecutive_failures(),
    };
    builder.jitter(0.0).build().unwrap()
}

/// Failures recorded while a reload had the consecutive trigger off are in the run it judges
/// once on again: F, F (on) F, F (off) and the next failure is the fifth in a row.
#[test]
fn failures_while_the_consecutive_trigger_is_off_count_in_its_run() {
    let (b, _clock) = breaker(consecutive(4));
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(run_config(None));
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "the trigger is off");
    assert_eq!(b.snapshot().consecutive_failures, 4, "the run is still counted");
    b.reconfigure(run_config(Some(4)));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "five failures in a row against a limit of four");
}

/// A success while the trigger is off ends the run as it would with it on.
#[test]
fn a_success_while_the_consecutive_trigger_is_off_ends_its_run() {
    let (b, _clock) = breaker(consecutive(3));
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(run_config(None));
    run_n(&b, 1, Outcome::Failure);
    run_n(&b, 1, Outcome::Success);
    run_n(&b, 1, Outcome::Failure);
    b.reconfigure(run_config(Some(3)));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "two failures since the success");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

/// A breaker built without the trigger counts no run; one turned on by a reload counts from
/// then on.
#[test]
fn a_consecutive_trigger_first_turned_on_by_a_reload_counts_from_the_reload() {
    let (b, _clock) = breaker(consecutive(1).no_consecutive_failures());
    run_n(&b, 3, Outcome::Failure);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    b.reconfigure(run_config(Some(2)));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

/// The same on the general record path (timed calls), from two threads: the run kept while the
/// trigger is off counts every thread's failures.
#[test]
fn timed_failures_of_two_threads_while_the_trigger_is_off_count_in_its_run() {
    let (b, _clock) = breaker(
        consecutive(7)
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(std::time::Duration::from_secs(60)),
    );
    let timed = |b: &CircuitBreaker| {
        let _ = b.call_sync(|| Err::<(), _>("down"));
    };
    timed(&b);
    b.reconfigure(
        consecutive(1)
            .no_consecutive_failures()
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(std::time::Duration::from_secs(60))
            .jitter(0.0)
            .build()
            .unwrap(),
    );
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| (0..3).for_each(|_| timed(&b)));
        }
    });
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 7);
    b.reconfigure(
        consecutive(7)
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(std::time::Duration::from_secs(60))
            .jitter(0.0)
            .build()
            .unwrap(),
    );
    timed(&b);
    assert_eq!(b.state(), State::Open);
}
