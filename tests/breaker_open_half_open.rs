//! Open waits with backoff, half-open probes, and the rules that close or re-open.

mod support;

use cb_runtime::{Outcome, State};
use support::*;

fn config() -> cb_runtime::BreakerConfigBuilder {
    consecutive(2)
        .open_timeout(secs(30))
        .backoff_multiplier(2.0)
        .max_open_timeout(secs(100))
        .half_open_max_calls(2)
        .success_threshold(3)
}

#[test]
fn open_rejects_with_retry_after_until_strictly_after_the_wait() {
    let (b, clock) = breaker(config());
    trip(&b, 2);
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!((rejected.state, rejected.retry_after), (State::Open, Some(secs(30))));
    assert_eq!(rejected.name, "scenario");
    clock.advance(secs(30));
    assert!(b.try_acquire().is_err(), "at exactly the open wait it is still open");
    assert_eq!(b.snapshot().open_for, Some(secs(0)));
    clock.advance(millis(1));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().totals.rejected, 2);
}

#[test]
fn half_open_admits_at_most_half_open_max_calls_probes() {
    let (b, clock) = breaker(config());
    trip(&b, 2);
    clock.advance(secs(31));
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    assert_eq!((p1.state(), p2.state()), (State::HalfOpen, State::HalfOpen));
    let third = b.try_acquire().unwrap_err();
    assert_eq!((third.state, third.retry_after), (State::HalfOpen, None));
    p1.success();
    let p3 = b.try_acquire().expect("a finished probe frees its slot");
    p2.success();
    p3.success();
    assert_eq!(b.state(), State::Closed, "success_threshold = 3 probes succeeded");
}

#[test]
fn any_probe_failure_reopens_with_a_growing_wait_capped_at_the_maximum() {
    let (b, clock) = breaker(config());
    trip(&b, 2);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let wait = b.try_acquire().unwrap_err().retry_after.unwrap();
        waits.push(wait.as_secs());
        clock.advance(wait + millis(1));
        let probe = b.try_acquire().unwrap();
        probe.failure();
        assert_eq!(b.state(), State::Open);
    }
    assert_eq!(waits, [30, 60, 100, 100]);
    assert_eq!(b.snapshot().reopens, 4);
}

#[test]
fn closing_resets_the_backoff_and_the_windows() {
    let (b, clock) = breaker(config());
    trip(&b, 2);
    clock.advance(secs(31));
    b.try_acquire().unwrap().failure();
    clock.advance(secs(61));
    run_n(&b, 3, Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 0);
    trip(&b, 2);
    assert_eq!(b.try_acquire().unwrap_err().retry_after, Some(secs(30)));
}

#[test]
fn one_success_short_of_the_threshold_stays_half_open() {
    let (b, clock) = breaker(config());
    trip(&b, 2);
    clock.advance(secs(31));
    run_n(&b, 2, Outcome::Success);
    assert_eq!(b.state(), State::HalfOpen);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "a failure after some successes re-opens");
}

#[test]
fn a_cancelled_probe_counts_nothing_and_frees_its_slot() {
    let (b, clock) = breaker(config().half_open_max_calls(1));
    trip(&b, 2);
    clock.advance(secs(31));
    let probe = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err());
    drop(probe);
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().half_open_in_flight, 0);
    let totals = b.snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (0, 2));
    b.try_acquire().expect("the slot is free again").success();
}

#[test]
fn an_ignored_probe_hands_its_slot_back() {
    let (b, clock) = breaker(config().half_open_max_calls(1));
    trip(&b, 2);
    clock.advance(secs(31));
    b.try_acquire().unwrap().ignored();
    assert_eq!(b.state(), State::HalfOpen);
    assert!(b.try_acquire().is_ok());
}

#[test]
fn a_panicking_probe_counts_as_a_failure_and_keeps_unwinding() {
    let (b, clock) = breaker(config());
    trip(&b, 2);
    clock.advance(secs(31));
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _probe = b.try_acquire().unwrap();
        panic!("backend client bug");
    }));
    assert!(unwound.is_err(), "the panic reached the caller");
    assert_eq!(b.state(), State::Open, "the panic was the probe's failure");
    assert_eq!(b.snapshot().reopens, 1);
}

#[test]
fn probes_undecided_past_half_open_max_wait_reopen_it() {
    let (b, clock) = breaker(config().half_open_max_calls(1).half_open_max_wait(secs(10)));
    trip(&b, 2);
    clock.advance(secs(31));
    let stuck = b.try_acquire().unwrap();
    clock.advance(secs(10));
    assert_eq!(
        b.try_acquire().unwrap_err().state,
        State::HalfOpen,
        "10s is not past the wait"
    );
    clock.advance(millis(1));
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!(rejected.state, State::Open);
    assert_eq!(rejected.retry_after, Some(secs(60)), "a re-open, so the wait doubled");
    stuck.success();
    assert_eq!(b.state(), State::Open, "the late probe belongs to a finished period");
}

#[test]
fn without_half_open_max_wait_a_stuck_probe_holds_its_slot() {
    let (b, clock) = breaker(config().half_open_max_calls(1));
    trip(&b, 2);
    clock.advance(secs(31));
    let stuck = b.try_acquire().unwrap();
    clock.advance(secs(3600));
    assert_eq!(b.state(), State::HalfOpen);
    stuck.success();
    assert!(b.try_acquire().is_ok());
}

#[test]
fn outcomes_of_an_earlier_period_are_not_counted_in_the_next() {
    let (b, clock) = breaker(consecutive(2).open_timeout(secs(30)).success_threshold(1));
    let late = b.try_acquire().unwrap();
    trip(&b, 2);
    clock.advance(secs(31));
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    late.failure();
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(
        b.state(),
        State::Closed,
        "the late failure was admitted before the trip"
    );
    assert_eq!(b.snapshot().consecutive_failures, 1);
}

#[test]
fn jitter_spreads_the_open_wait() {
    let clock = cb_runtime::ManualClock::new();
    let config = consecutive(1).open_timeout(secs(100)).jitter(0.5).build().unwrap();
    let waits: Vec<u64> = (0..20)
        .map(|_| {
            let b = cb_runtime::CircuitBreaker::builder("jitter")
                .config(config.clone())
                .clock(clock.clone())
                .build();
            run_n(&b, 1, Outcome::Failure);
            b.try_acquire().unwrap_err().retry_after.unwrap().as_secs()
        })
        .collect();
    assert!(waits.iter().all(|w| (50..=150).contains(w)), "{waits:?}");
    assert!(waits.iter().any(|w| *w != waits[0]), "{waits:?}");
}
