//! Rate triggers turned off and on again by reconfiguration over a count window (the
//! consecutive-only to count-window move the quiet failure path must follow): a reload keeps
//! counts, and a count window is exactly the last N outcomes.

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
    let off = || {
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .no_slow_call_rate()
            .window(Window::Count(4))
            .minimum_calls(4)
            .build()
            .unwrap()
    };
    let on = || {
        BreakerConfig::builder()
            .consecutive_failures(50)
            .failure_rate_threshold(1.0)
            .no_slow_call_rate()
            .window(Window::Count(4))
            .minimum_calls(4)
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
