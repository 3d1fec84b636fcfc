//! Attacks on the optimised call path: the closed-success fast path, the count window's
//! like-for-like shortcut and its ring under more writers than slots, stale permits after a
//! transition, and the manual states, with totals compared against the calls actually made.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Outcome, State, Window};
use support::*;

/// A xorshift step: cheap per-thread randomness.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn totals_match_the_calls_made_by_waves_of_more_threads_than_stripes() {
    let (b, _) = breaker(
        BreakerConfig::builder()
            .consecutive_failures(1_000_000)
            .no_failure_rate(),
    );
    const WAVES: u64 = 3;
    const THREADS: u64 = 80;
    const CALLS: u64 = 2_000;
    for wave in 0..WAVES {
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let b = &b;
                s.spawn(move || {
                    for i in 0..CALLS {
                        let permit = b.try_acquire().expect("closed");
                        if (i + t + wave).is_multiple_of(5) {
                            permit.failure();
                        } else {
                            permit.success();
                        }
                    }
                });
            }
        });
    }
    let totals = b.snapshot().totals;
    let calls = WAVES * THREADS * CALLS;
    assert_eq!(totals.successes + totals.failures, calls);
    assert_eq!(totals.failures, calls / 5);
    assert_eq!(b.state(), State::Closed);
}

/// More writers than slots make two writers share a slot of the ring: whatever order their
/// updates of the aggregate land in, once the writers are done the window must hold exactly
/// what its slots hold.
#[test]
fn a_count_window_written_by_more_threads_than_slots_still_counts_its_slots() {
    const SIZE: u32 = 4;
    let (b, _) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .window(Window::Count(SIZE))
            .minimum_calls(SIZE),
    );
    // Recorded and judged, never tripped: whatever the window says, the breaker stays usable.
    b.metrics_only();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let b = &b;
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (t + 1);
                for _ in 0..200_000 {
                    let outcome = if next(&mut x).is_multiple_of(4) {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    };
                    b.try_acquire().expect("metrics only admits").record(outcome);
                }
            });
        }
    });
    run_n(&b, SIZE as usize, Outcome::Success);
    let window = b.snapshot().window;
    assert_eq!(
        (window.calls, window.failures),
        (u64::from(SIZE), 0),
        "the last {SIZE} outcomes were successes"
    );
    run_n(&b, SIZE as usize, Outcome::Failure);
    let window = b.snapshot().window;
    assert_eq!(
        (window.calls, window.failures),
        (u64::from(SIZE), u64::from(SIZE)),
        "the last {SIZE} outcomes were failures"
    );
}

/// A success admitted before a transition (the fast path's case: Closed, untimed) must not
/// end the new period's run of failures.
#[test]
fn a_success_from_the_previous_period_does_not_end_the_new_run() {
    let (b, _) = breaker(consecutive(3));
    let stale = b.try_acquire().expect("closed");
    b.force_open();
    b.reset();
    run_n(&b, 2, Outcome::Failure);
    stale.success();
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "three failures in a row of the new period");
    assert_eq!(
        b.snapshot().totals.successes,
        1,
        "the stale success is still a call made"
    );
}

/// A probe's success recorded after the half-open period ended (another probe closed the
/// breaker) ends no run of failures of the Closed period that followed.
#[test]
fn a_late_probe_success_does_not_end_the_next_periods_run() {
    let (b, _) = breaker(consecutive(3).success_threshold(1).half_open_max_calls(2));
    b.force_open();
    b.transition_to(State::HalfOpen).expect("forced open to half-open");
    let late = b.try_acquire().expect("a probe");
    b.try_acquire().expect("another probe").success();
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 2, Outcome::Failure);
    late.success();
    assert_eq!(
        b.snapshot().consecutive_failures,
        2,
        "the late probe's success ends nothing"
    );
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "three failures in a row of the Closed period");
}

/// A count window full of successes from the previous period must not make a success of the
/// new period look like one the window already holds.
#[test]
fn a_new_period_starts_its_count_window_empty_on_the_fast_path() {
    let (b, _) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(0.5)
            .window(Window::Count(4))
            .minimum_calls(4),
    );
    run_n(&b, 8, Outcome::Success);
    b.force_open();
    b.reset();
    run_n(&b, 2, Outcome::Success);
    assert_eq!(b.snapshot().window.calls, 2, "two calls of the new period");
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "two failures in four calls: 50%");
}

/// Disabled admits and records nothing; MetricsOnly records and never trips; neither goes
/// through the Closed fast path's bookkeeping.
#[test]
fn manual_states_keep_their_contract_on_the_fast_path() {
    let (b, _) = breaker(consecutive(2));
    b.disable();
    run_n(&b, 5, Outcome::Success);
    run_n(&b, 5, Outcome::Failure);
    let totals = b.snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (0, 0), "Disabled records nothing");
    b.metrics_only();
    run_n(&b, 5, Outcome::Failure);
    run_n(&b, 5, Outcome::Success);
    assert_eq!(b.state(), State::MetricsOnly);
    let totals = b.snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (5, 5), "MetricsOnly records");
}

/// Threads exit and new ones take their stripes while others keep calling: no count lost
/// to two threads writing one stripe.
#[test]
fn threads_that_exit_hand_their_stripes_to_new_ones_without_losing_counts() {
    let b = CircuitBreaker::new("attack-call-path-churn", Default::default());
    const ROUNDS: u64 = 200;
    const CALLS: u64 = 500;
    std::thread::scope(|s| {
        for _ in 0..4 {
            let b = &b;
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    std::thread::scope(|inner| {
                        inner.spawn(|| {
                            for _ in 0..CALLS {
                                b.try_acquire().expect("closed").success();
                            }
                        });
                    });
                }
            });
        }
    });
    assert_eq!(b.snapshot().totals.successes, 4 * ROUNDS * CALLS);
}

/// Outcomes of an old period race the transitions to new ones: none of them may overwrite
/// (or count in) the newer period's window, which never holds more calls than its slots
/// and ends up holding exactly them.
#[test]
fn late_outcomes_of_old_periods_leave_the_count_window_exact() {
    const SIZE: u32 = 4;
    let (b, _) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .window(Window::Count(SIZE))
            .minimum_calls(SIZE),
    );
    b.metrics_only();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..6u64 {
            let (b, stop) = (&b, &stop);
            s.spawn(move || {
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (t + 1);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(permit) = b.try_acquire() {
                        let outcome = if next(&mut x).is_multiple_of(3) {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        };
                        permit.record(outcome);
                    }
                }
            });
        }
        let mut most = 0;
        for _ in 0..20_000 {
            b.force_open();
            b.metrics_only();
            for _ in 0..4 {
                most = most.max(b.snapshot().window.calls);
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(most <= u64::from(SIZE), "a window of {SIZE} held {most} calls");
    });
    for _ in 0..50 {
        b.force_open();
        b.metrics_only();
        run_n(&b, SIZE as usize, Outcome::Success);
        let window = b.snapshot().window;
        assert_eq!((window.calls, window.failures), (u64::from(SIZE), 0));
    }
}

/// A time window counted by more threads than stripes (the 65th and later share one), with
/// late outcomes of old periods racing transitions: the last period's window holds exactly
/// the calls made in it.
#[test]
fn a_time_window_counts_every_call_of_more_threads_than_stripes() {
    let (b, _) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .window(Window::Time(secs(60)))
            .minimum_calls(1_000_000),
    );
    b.metrics_only();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..80u64 {
            let (b, stop) = (&b, &stop);
            s.spawn(move || {
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (t + 1);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(permit) = b.try_acquire() {
                        permit.record(if next(&mut x).is_multiple_of(3) {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        });
                    }
                }
            });
        }
        for _ in 0..2_000 {
            b.force_open();
            b.metrics_only();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    b.force_open();
    b.metrics_only();
    const THREADS: u64 = 80;
    const CALLS: u64 = 300;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let b = &b;
            s.spawn(move || {
                for i in 0..CALLS {
                    let permit = b.try_acquire().expect("metrics only admits");
                    if i.is_multiple_of(3) {
                        permit.failure();
                    } else {
                        permit.success();
                    }
                }
            });
        }
    });
    let window = b.snapshot().window;
    assert_eq!((window.calls, window.failures), (THREADS * CALLS, THREADS * CALLS / 3));
}
