//! Attacks on the count window whose claim counts an outcome in the compare-and-swap that moves
//! its head (`tag:15 | filled:1 | head:16 | failures:16 | slow:16`, slots `generation:16 | bits`),
//! from outside: generations that wrap the word's 15-bit tag or the slots' 16 bits, many
//! threads on few cores, transitions and reconfigurations racing with writers, thresholds met
//! exactly. The defects these found (each test names the behaviour that now holds) were
//! mended by emptying a rate window when a closed period begins, whatever its tags say (so a
//! tag never trails the breaker by more than the transitions of one period), by counting
//! every slot as empty until the head has gone round once in a period, and by writing over a
//! late write of an older period instead of taking the new outcome back out.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Outcome, State, Window};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::*;

const SLOW: Duration = Duration::from_millis(100);

/// `n` manual resets (each a transition: a new Closed period, "with empty windows").
fn resets(b: &CircuitBreaker, n: u32) {
    for _ in 0..n {
        b.reset();
    }
}

/// 4 failures then 6 successes: a window of 10 at 40 %, Closed under a 50 % threshold.
fn four_failures_in_ten(b: &CircuitBreaker) {
    for _ in 0..4 {
        fail(b);
    }
    for _ in 0..6 {
        ok(b);
    }
    assert_eq!((b.state(), window(b)), (State::Closed, (10, 4, 0)), "40 % < 50 %");
}

fn ok(b: &CircuitBreaker) {
    assert!(run(b, Outcome::Success), "rejected");
}

fn fail(b: &CircuitBreaker) {
    assert!(run(b, Outcome::Failure), "rejected");
}

// --- Generations and the word's 15-bit tag -------------------------------------------------

/// The word keeps 15 bits of the generation and takes a tag up to 1024 ahead of an outcome's
/// for a newer period's. A window whose last outcome is 31 744..=32 767 transitions old looked
/// "newer" to every outcome of the period in force, which the window then dropped: the rate
/// trigger was blind for the whole period (before a closed period's beginning emptied it).
#[test]
fn a_window_last_written_32767_transitions_ago_still_counts_the_new_periods_failures() {
    let (b, _clock) = breaker(failure_rate(Window::Count(10), 0.5, 10));
    ok(&b);
    assert_eq!(window(&b), (1, 0, 0));
    resets(&b, 32_767);
    assert_eq!(window(&b), (0, 0, 0), "a reset empties the window");
    fail_while_closed(&b, 100);
    assert_eq!(
        (b.state(), window(&b)),
        (State::Open, (10, 10, 0)),
        "100 failures in a row, a failure-rate threshold of 50 % over 10 calls"
    );
}

/// The same blindness reached without a hand on the breaker: a backend down long enough for
/// ~16 000 failed probes (Open -> HalfOpen -> Open, two transitions each; with a 30 s open
/// wait, under six days) comes back, the breaker closes, and then the backend fails again.
#[test]
fn a_breaker_that_closes_after_16000_failed_probes_still_trips_on_its_failure_rate() {
    down_back_and_down_again(Window::Count(10), 16_000);
}

/// 16 382 failed probes put the new closed period 32 767 transitions after the window's last
/// outcome: in 15 bits, one transition *behind* the window's tag, as if the window held a
/// period that raced past the new one. Letting go of old windows must not take it for one.
#[test]
fn a_breaker_that_closes_after_16382_failed_probes_still_trips_on_its_failure_rate() {
    down_back_and_down_again(Window::Count(10), 16_382);
}

/// The same for the time window's 16-bit tags: 32 766 failed probes, 65 535 transitions.
#[test]
fn a_time_window_breaker_that_closes_after_32766_failed_probes_still_trips_on_its_failure_rate() {
    down_back_and_down_again(Window::Time(secs(10)), 32_766);
}

/// Trips with 10 failures, fails `probes` probes, closes on a successful one, then fails
/// again: it must open on its failure rate (50 % over at least 10 calls).
fn down_back_and_down_again(kind: Window, probes: u32) {
    let (b, clock) = breaker(
        failure_rate(Window::Count(10), 0.5, 10)
            .window(kind)
            .open_timeout(secs(30))
            .backoff_multiplier(1.0)
            .success_threshold(1)
            .half_open_max_calls(1),
    );
    for _ in 0..10 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Open, "tripped by 10 failures in 10");
    for i in 0..probes {
        clock.advance(secs(31));
        assert_eq!(b.state(), State::HalfOpen, "probe {i}");
        fail(&b);
        assert_eq!(b.state(), State::Open, "probe {i} failed");
    }
    clock.advance(secs(31));
    ok(&b);
    assert_eq!(b.state(), State::Closed, "the backend is back");
    fail_while_closed(&b, 100);
    assert_eq!(
        (b.state(), window(&b)),
        (State::Open, (10, 10, 0)),
        "down again after {probes} failed probes: 100 failures in a row, threshold 50 % over 10"
    );
}

/// 32 768 transitions with no outcome in between gave the new period the old period's tag: the
/// window of a reset breaker held the counts of a period long gone, and its slots (of the old
/// generation) read as empty, so those counts never left: one failure tripped a breaker whose
/// minimum of calls is 10.
#[test]
fn a_reset_32768_transitions_after_the_last_outcome_starts_with_an_empty_window() {
    let (b, _clock) = breaker(failure_rate(Window::Count(10), 0.5, 10));
    four_failures_in_ten(&b);
    resets(&b, 32_768);
    let fresh = window(&b);
    fail(&b);
    assert_eq!(
        (fresh, b.state(), window(&b)),
        ((0, 0, 0), State::Closed, (1, 1, 0)),
        "a reset breaker, then one failure: 1 call, below the minimum of 10"
    );
}

/// An aliased period's phantom failures stayed through any number of successes: the slots
/// they were counted from held an older generation, and a success over one took nothing out.
#[test]
fn phantom_failures_of_an_aliased_period_leave_with_the_next_n_successes() {
    let (b, _clock) = breaker(failure_rate(Window::Count(10), 0.5, 10));
    four_failures_in_ten(&b);
    resets(&b, 32_768);
    for _ in 0..50 {
        ok(&b);
    }
    assert_eq!(window(&b), (10, 0, 0), "the last 10 outcomes are successes");
}

/// A full clean window aliased by 32 768 transitions read as full and clean for the new period:
/// its successes took the shortcut that records nothing, and its first failure was judged as
/// 1 in 10 although it was the period's only call.
#[test]
fn a_clean_window_32768_transitions_old_does_not_count_as_the_new_periods_calls() {
    let (b, _clock) = breaker(failure_rate(Window::Count(10), 0.1, 10));
    for _ in 0..10 {
        ok(&b);
    }
    resets(&b, 32_768);
    ok(&b);
    ok(&b);
    let two = window(&b);
    fail(&b);
    assert_eq!(
        (two, b.state()),
        ((2, 0, 0), State::Closed),
        "two successes, then a failure: 3 calls, below the minimum of 10"
    );
}

// --- The slots' 16-bit generation ------------------------------------------------------------

/// A slot untouched for exactly 65 536 transitions holds an outcome of "this" generation in 16
/// bits: the new period took a failure out of its counts that it never put in (a window of 3
/// failures read 2, and with a 100 % threshold the breaker never tripped), before slots
/// counted as empty until the head has gone round once in the period.
#[test]
fn a_slot_left_65536_transitions_ago_does_not_take_a_failure_out_of_the_new_period() {
    let (b, _clock) = breaker(failure_rate(Window::Count(3), 1.0, 3));
    ok(&b);
    ok(&b);
    fail(&b); // slots, head first: S S F
    assert_eq!((b.state(), window(&b)), (State::Closed, (3, 1, 0)));
    // 65 535 short periods, each recording one success (the first slot only), then one more
    // transition: the generation is the first period's again, in 16 bits.
    for _ in 0..65_535 {
        b.reset();
        ok(&b);
    }
    b.reset();
    assert_eq!(window(&b), (0, 0, 0));
    fail_while_closed(&b, 100);
    assert_eq!(
        (b.state(), window(&b)),
        (State::Open, (3, 3, 0)),
        "100 failures in a row, a threshold of 100 % over 3"
    );
}

// --- Coverage: thresholds, reconfiguration, concurrency (expected to hold) -------------------

#[test]
fn a_failure_rate_exactly_at_the_threshold_trips_and_one_below_does_not() {
    for (size, failures) in [(1u32, 1u32), (2, 1), (3, 1), (10, 3), (65_535, 19_661)] {
        let threshold = f64::from(failures) / f64::from(size);
        let (b, _clock) = breaker(failure_rate(Window::Count(size), threshold, size));
        // failures - 1 failures first, then successes: below the threshold once full.
        for _ in 0..failures - 1 {
            fail(&b);
        }
        for _ in 0..size - (failures - 1) {
            ok(&b);
        }
        assert_eq!(b.state(), State::Closed, "size {size}: {} failures", failures - 1);
        // The oldest outcomes are the failures: put successes over them until only successes,
        // then the failures again.
        for _ in 0..size {
            ok(&b);
        }
        assert_eq!(window(&b), (u64::from(size), 0, 0), "size {size}");
        for i in 0..failures {
            assert_eq!(b.state(), State::Closed, "size {size}: after {i} failures");
            fail(&b);
        }
        assert_eq!(b.state(), State::Open, "size {size}: {failures}/{size} = threshold");
    }
}

#[test]
fn a_slow_call_rate_exactly_at_the_threshold_trips() {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .no_failure_rate()
            .slow_call_rate_threshold(0.25)
            .slow_call_duration(SLOW)
            .window(Window::Count(8))
            .minimum_calls(8),
    );
    let slow = |b: &CircuitBreaker| {
        let p = b.try_acquire().expect("admitted");
        clock.advance(SLOW * 2);
        p.record(Outcome::Success);
    };
    for _ in 0..7 {
        ok(&b);
    }
    slow(&b);
    assert_eq!((b.state(), window(&b)), (State::Closed, (8, 0, 1)));
    slow(&b);
    assert_eq!(b.state(), State::Open, "2 slow in 8 = 25 %");
}

/// A lowered threshold is judged by the next outcome even when it changes nothing in the
/// window (a success over a success), and a raised minimum is honoured.
#[test]
fn a_reconfiguration_is_judged_by_the_next_outcome_that_changes_nothing() {
    let (b, _clock) = breaker(failure_rate(Window::Count(10), 0.5, 10));
    for _ in 0..3 {
        fail(&b);
    }
    for _ in 0..7 {
        ok(&b);
    }
    // The window, oldest first: F F F S S S S S S S; the next one replaces a failure: make it
    // replace successes instead by going round once with the same pattern.
    for _ in 0..3 {
        fail(&b);
    }
    for _ in 0..7 {
        ok(&b);
    }
    assert_eq!((b.state(), window(&b)), (State::Closed, (10, 3, 0)));
    b.reconfigure(b.config().to_builder().failure_rate_threshold(0.3).build().unwrap());
    // The next outcome replaces the oldest failure with a failure: nothing changes.
    fail(&b);
    assert_eq!(b.state(), State::Open, "3/10 reaches the new 30 %");
}

/// Many threads on two cores (8 writers plus a thread of transitions), random outcomes, slow
/// ones among them; then one thread records N outcomes: the window must be exactly those.
fn threads_then_one(size: u32, transitions: bool, seed: u64) {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(SLOW)
            .window(Window::Count(size))
            .minimum_calls(size),
    );
    b.metrics_only();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (b, clock) = (&b, &clock);
            s.spawn(move || {
                let mut x = seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                for _ in 0..20_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let Ok(p) = b.try_acquire() else { continue };
                    if x.is_multiple_of(7) {
                        clock.advance(SLOW * 2);
                    }
                    p.record(if x.is_multiple_of(3) {
                        Outcome::Failure
                    } else {
                        Outcome::Success
                    });
                }
            });
        }
        if transitions {
            let b = &b;
            s.spawn(move || {
                for _ in 0..300 {
                    b.metrics_only();
                    std::thread::yield_now();
                }
            });
        }
    });
    let mut last = VecDeque::new();
    let mut x = seed | 1;
    for _ in 0..size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let failure = x.is_multiple_of(3);
        let slow = x.is_multiple_of(5);
        let p = b.try_acquire().expect("admitted");
        if slow {
            clock.advance(SLOW * 2);
        }
        p.record(if failure { Outcome::Failure } else { Outcome::Success });
        last.push_back((failure, slow));
    }
    let failures = last.iter().filter(|c| c.0).count() as u64;
    let slow = last.iter().filter(|c| c.1).count() as u64;
    assert_eq!(
        window(&b),
        (u64::from(size), failures, slow),
        "size {size}, transitions {transitions}, seed {seed:#x}"
    );
}

#[test]
fn after_eight_threads_one_thread_sees_exactly_its_last_n() {
    for size in [1, 2, 3, 5, 64, 100] {
        for seed in [1u64, 0xDEAD_BEEF] {
            threads_then_one(size, false, seed);
        }
    }
}

#[test]
fn after_eight_threads_and_transitions_one_thread_sees_exactly_its_last_n() {
    for size in [1, 2, 3, 7, 100] {
        for seed in [3u64, 0xC0FF_EE00] {
            threads_then_one(size, true, seed);
        }
    }
}

/// Threshold 100 %, minimum N, all failures from 8 threads over a window of successes: Open
/// after at most N + 7 failures (those in flight), and never before N.
#[test]
fn eight_threads_of_failures_open_a_clean_window_after_n_and_those_in_flight() {
    for size in [1u32, 2, 3, 16, 500] {
        for _round in 0..4 {
            let (b, _clock) = breaker(failure_rate(Window::Count(size), 1.0, size));
            for _ in 0..size {
                ok(&b);
            }
            let admitted = std::sync::atomic::AtomicU64::new(0);
            std::thread::scope(|s| {
                for _ in 0..8 {
                    let (b, admitted) = (&b, &admitted);
                    s.spawn(move || {
                        while let Ok(p) = b.try_acquire() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                            p.record(Outcome::Failure);
                            if admitted.load(Ordering::Relaxed) > 10 * u64::from(size) + 1000 {
                                break;
                            }
                        }
                    });
                }
            });
            let n = admitted.load(Ordering::Relaxed);
            assert_eq!(b.state(), State::Open, "size {size}: {n} failures");
            assert!(
                (u64::from(size)..=u64::from(size) + 7).contains(&n),
                "size {size}: opened after {n} failures"
            );
        }
    }
}

/// Size 1: every outcome replaces the last; a failure over a success trips at once, a success
/// over a failure clears it; a slow success counts as slow, not failed.
#[test]
fn a_window_of_one_is_the_last_outcome() {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(SLOW)
            .window(Window::Count(1))
            .minimum_calls(1),
    );
    b.metrics_only();
    for i in 0..1000u32 {
        let failure = i % 3 == 0;
        let slow = i % 5 == 0;
        let p = b.try_acquire().unwrap();
        if slow {
            clock.advance(SLOW * 2);
        }
        p.record(if failure { Outcome::Failure } else { Outcome::Success });
        assert_eq!(window(&b), (1, u64::from(failure), u64::from(slow)), "outcome {i}");
    }
}

/// Size 65 535: full of failures (every field at its top), then full of slow failures; then
/// successes take them out one by one.
#[test]
fn a_window_of_65535_counts_to_the_top_of_its_fields() {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(SLOW)
            .window(Window::Count(65_535))
            .minimum_calls(65_535),
    );
    b.metrics_only();
    for _ in 0..65_535 {
        fail(&b);
    }
    assert_eq!(window(&b), (65_535, 65_535, 0));
    for _ in 0..65_535 {
        let p = b.try_acquire().unwrap();
        clock.advance(SLOW * 2);
        p.record(Outcome::Failure);
    }
    assert_eq!(window(&b), (65_535, 65_535, 65_535));
    for _ in 0..3 {
        ok(&b);
    }
    assert_eq!(window(&b), (65_535, 65_532, 65_532));
    b.reset();
    assert_eq!(window(&b), (0, 0, 0));
}

// --- Older than the count window's claim: the time window's 16-bit generation -----------------

/// A time window last written 65 535 transitions ago (16 bits: 1 behind) took the window's
/// tag for a newer period's (before a closed period's beginning let such rings go).
#[test]
fn a_time_window_last_written_65535_transitions_ago_still_counts_the_new_periods_failures() {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(0.5)
            .no_slow_call_rate()
            .window(Window::Time(secs(10)))
            .minimum_calls(10),
    );
    ok(&b);
    resets(&b, 65_535);
    for _ in 0..100 {
        if b.state() != State::Closed {
            break;
        }
        clock.advance(millis(1));
        fail(&b);
    }
    assert_eq!(
        b.state(),
        State::Open,
        "100 failures in a row in 100 ms, threshold 50 % over 10"
    );
}
