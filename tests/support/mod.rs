//! Shared helpers of the behaviour scenarios (each test file includes this with `mod support;`).
#![allow(dead_code)]

pub mod api_error;
pub mod backend;
pub mod calls;
pub mod counting;
pub mod crew;
pub mod env;
pub mod hook_clock;
pub mod jetstream;
pub mod panicky_clock;
pub mod polling;
pub mod queue;
pub mod recorder;
pub mod script_clock;
pub mod tcp_proxy;

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Outcome, State, Window};
use std::time::Duration;

/// A breaker on a manual clock, with jitter off so open waits are exact.
pub fn breaker(config: cb_runtime::BreakerConfigBuilder) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let config: BreakerConfig = config.jitter(0.0).build().expect("valid test config");
    let breaker = CircuitBreaker::builder("scenario")
        .config(config)
        .clock(clock.clone())
        .build();
    (breaker, clock)
}

/// A config with only the consecutive trigger.
pub fn consecutive(n: u32) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder()
        .consecutive_failures(n)
        .no_failure_rate()
        .no_slow_call_rate()
}

/// Runs one call recording `outcome`; whether it was admitted.
pub fn run(breaker: &CircuitBreaker, outcome: Outcome) -> bool {
    match breaker.try_acquire() {
        Ok(permit) => {
            permit.record(outcome);
            true
        }
        Err(_) => false,
    }
}

/// Records `n` outcomes, asserting each was admitted.
pub fn run_n(breaker: &CircuitBreaker, n: usize, outcome: Outcome) {
    for i in 0..n {
        assert!(run(breaker, outcome), "call {i} of {n} ({outcome:?}) was rejected");
    }
}

/// Trips a breaker that opens after `n` consecutive failures.
pub fn trip(breaker: &CircuitBreaker, n: u32) {
    run_n(breaker, n as usize, Outcome::Failure);
    assert_eq!(breaker.state(), State::Open);
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Records failures while `b` is Closed, `at_most` of them.
pub fn fail_while_closed(b: &CircuitBreaker, at_most: usize) {
    for _ in 0..at_most {
        if b.state() != State::Closed {
            return;
        }
        assert!(run(b, Outcome::Failure), "rejected while Closed");
    }
}

/// (calls, failures, slow calls) of the breaker's window, as its snapshot shows it.
pub fn window(b: &CircuitBreaker) -> (u64, u64, u64) {
    let w = b.snapshot().window;
    (w.calls, w.failures, w.slow_calls)
}

/// The failure-rate trigger alone (no consecutive trigger, no slow-call rate) over `kind`.
pub fn failure_rate(kind: Window, threshold: f64, minimum_calls: u32) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(threshold)
        .no_slow_call_rate()
        .window(kind)
        .minimum_calls(minimum_calls)
}

/// A tiny deterministic generator for random walks (no dependency).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number below `n`.
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// `consecutive(1)`, open 10s, `max_calls` half-open slots and max wait `max_wait` (`None`:
/// off): see [`half_open_at_11s`].
pub fn half_open_config(max_calls: u32, max_wait: Option<Duration>) -> cb_runtime::BreakerConfigBuilder {
    let config = consecutive(1).open_timeout(secs(10)).half_open_max_calls(max_calls);
    match max_wait {
        Some(wait) => config.half_open_max_wait(wait),
        None => config.no_half_open_max_wait(),
    }
}

/// Trips a breaker of [`half_open_config`] by one failure at 0s and moves its clock to 11s:
/// the next call is the period's first probe.
pub fn trip_until_11s(b: &CircuitBreaker, clock: &ManualClock) {
    assert!(run(b, Outcome::Failure));
    clock.advance(secs(11));
}

/// A breaker of [`half_open_config`], tripped at 0s, its clock at 11s.
pub fn half_open_at_11s(max_calls: u32, max_wait: Option<Duration>) -> (CircuitBreaker, ManualClock) {
    let (b, clock) = breaker(half_open_config(max_calls, max_wait));
    trip_until_11s(&b, &clock);
    (b, clock)
}

/// Checks the half-open max wait counted from the newest probe's time: `b` is still HalfOpen
/// once `wait` has passed on `clock`, and re-opens 1 ns later for `ProbesUndecided`, having
/// waited `wait` + 1 ns.
pub fn reopens_exactly_after(b: &CircuitBreaker, clock: &ManualClock, wait: Duration) {
    clock.advance(wait);
    let held = b.snapshot();
    assert_eq!(
        (held.state, held.tripped_by),
        (State::HalfOpen, None),
        "the newest probe has run exactly {wait:?}"
    );
    clock.advance(Duration::from_nanos(1));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.tripped_by),
        (
            State::Open,
            Some(cb_runtime::Reason::ProbesUndecided {
                waited: wait + Duration::from_nanos(1)
            })
        ),
        "re-opened 1 ns past the max wait"
    );
}
