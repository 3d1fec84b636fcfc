//! Attacks on the striped time window (window/time.rs, window/ring.rs) through the public API:
//! inclusive thresholds, `minimum_calls`, outcomes leaving at exactly the window size, tenth
//! buckets, long windows, jumps of the clock, new periods, reconfiguration, many threads (the
//! shared overflow stripe), hot buckets that widen, and snapshots of a never-tripped breaker.

use cb_runtime::{
    BreakerConfig, BreakerConfigBuilder, CircuitBreaker, Clock, ClockSource, ManualClock, Reason, State, Window,
};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const SEC: Duration = Duration::from_secs(1);

/// Failure rate `rate` over a time window of `size`, judged from `minimum` calls; no
/// consecutive trigger, no jitter, a 10 s open wait and one probe to close.
fn rates(size: Duration, minimum: u32, rate: f64) -> BreakerConfigBuilder {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(rate)
        .minimum_calls(minimum)
        .window(Window::Time(size))
        .jitter(0.0)
        .open_timeout(Duration::from_secs(10))
        .half_open_max_calls(1)
        .success_threshold(1)
}

fn breaker(clock: &ManualClock, config: BreakerConfig) -> CircuitBreaker {
    CircuitBreaker::builder("tw")
        .clock(clock.clone())
        .config(config)
        .build()
}

fn ok(b: &CircuitBreaker) {
    b.try_acquire().expect("admitted").success();
}

fn fail(b: &CircuitBreaker) {
    b.try_acquire().expect("admitted").failure();
}

/// A call that takes `took` on the manual clock, successful.
fn timed_ok(b: &CircuitBreaker, clock: &ManualClock, took: Duration) {
    let permit = b.try_acquire().expect("admitted");
    clock.advance(took);
    permit.success();
}

fn window(b: &CircuitBreaker) -> (u64, u64, u64) {
    let w = b.snapshot().window;
    (w.calls, w.failures, w.slow_calls)
}

#[test]
fn the_failure_rate_trips_at_exactly_the_threshold() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 4, 0.5).build().unwrap());
    ok(&b);
    fail(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed, "3 calls, under the minimum of 4");
    fail(&b);
    assert_eq!(b.state(), State::Open, "2 of 4 is 0.5: inclusive");
    assert!(matches!(
        b.snapshot().tripped_by,
        Some(Reason::FailureRate { calls: 4, .. })
    ));
}

#[test]
fn a_success_that_completes_the_minimum_trips_like_the_design_says() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 5, 0.5).build().unwrap());
    for _ in 0..3 {
        fail(&b);
    }
    ok(&b);
    assert_eq!(b.state(), State::Closed);
    ok(&b);
    assert_eq!(
        b.state(),
        State::Open,
        "F,F,F,S,S with minimum 5 and rate 0.5 opens on the last S"
    );
}

#[test]
fn the_same_holds_when_the_outcomes_are_spread_over_buckets() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(10), 5, 0.5).build().unwrap());
    for _ in 0..3 {
        fail(&b);
        clock.advance(SEC);
    }
    ok(&b);
    clock.advance(SEC);
    ok(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn under_the_minimum_nothing_trips_even_at_rate_one() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 20, 0.5).build().unwrap());
    for _ in 0..19 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed);
    let w = b.snapshot().window;
    assert_eq!((w.calls, w.failures, w.failure_rate), (19, 19, None));
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn the_slow_call_rate_trips_at_exactly_the_threshold_and_strictly_longer_is_slow() {
    let clock = ManualClock::new();
    let config = rates(Duration::from_secs(60), 4, 0.5)
        .no_failure_rate()
        .slow_call_rate_threshold(0.5)
        .slow_call_duration(Duration::from_millis(100))
        .build()
        .unwrap();
    let b = breaker(&clock, config);
    timed_ok(&b, &clock, Duration::from_millis(100));
    timed_ok(&b, &clock, Duration::from_millis(101));
    timed_ok(&b, &clock, Duration::from_millis(1));
    assert_eq!(window(&b), (3, 0, 1), "exactly the duration is not slow");
    assert_eq!(b.state(), State::Closed);
    timed_ok(&b, &clock, Duration::from_secs(2));
    assert_eq!(b.state(), State::Open, "2 slow of 4 is 0.5: inclusive");
    assert!(matches!(
        b.snapshot().tripped_by,
        Some(Reason::SlowCallRate { calls: 4, .. })
    ));
    assert_eq!(b.snapshot().totals.slow_calls, 2);
}

#[test]
fn an_outcome_leaves_at_exactly_the_window_size() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(10), 2, 0.5).build().unwrap());
    fail(&b);
    clock.advance(Duration::from_secs(10) - Duration::from_nanos(1));
    assert_eq!(window(&b), (1, 1, 0), "1 ns before the window's end");
    clock.advance(Duration::from_nanos(1));
    assert_eq!(window(&b), (0, 0, 0), "gone at exactly 10 s");
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed, "the failure left: 0 of 2");
    assert_eq!(window(&b), (2, 0, 0));
}

#[test]
fn a_failure_still_in_the_window_counts_one_nanosecond_before_it_leaves() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(10), 2, 0.5).build().unwrap());
    fail(&b);
    clock.advance(Duration::from_secs(10) - Duration::from_nanos(1));
    ok(&b);
    assert_eq!(b.state(), State::Open, "1 of 2 at 9.999999999 s");
}

#[test]
fn a_window_shorter_than_ten_seconds_has_tenth_buckets() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_millis(500), 3, 0.5).build().unwrap());
    fail(&b);
    clock.advance(Duration::from_millis(50));
    fail(&b);
    clock.advance(Duration::from_millis(449));
    assert_eq!(window(&b), (2, 2, 0), "499 ms");
    clock.advance(Duration::from_millis(1));
    assert_eq!(window(&b), (1, 1, 0), "the first 50 ms bucket left at 500 ms");
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed, "1 of 3");
    assert_eq!(window(&b), (3, 1, 0));
    clock.advance(Duration::from_millis(500));
    assert_eq!(window(&b), (0, 0, 0));
}

#[test]
fn the_smallest_window_of_ten_milliseconds_works() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_millis(10), 2, 0.5).build().unwrap());
    fail(&b);
    clock.advance(Duration::from_micros(9_999));
    assert_eq!(window(&b), (1, 1, 0));
    clock.advance(Duration::from_micros(1));
    assert_eq!(window(&b), (0, 0, 0));
}

#[test]
fn a_ten_minute_window_keeps_outcomes_for_ten_minutes() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(600), 4, 0.5).build().unwrap());
    fail(&b);
    for _ in 0..599 {
        clock.advance(SEC);
        ok(&b);
    }
    assert_eq!(window(&b), (600, 1, 0));
    clock.advance(SEC);
    assert_eq!(window(&b), (599, 0, 0), "the failure of second 0 left at 600 s");
    clock.advance(Duration::from_secs(300));
    assert_eq!(window(&b), (299, 0, 0));
    fail(&b);
    fail(&b);
    assert_eq!(window(&b), (301, 2, 0));
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn an_hour_long_window_is_refused() {
    let err = BreakerConfig::builder()
        .window(Window::Time(Duration::from_secs(3600)))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("window"), "{err}");
    BreakerConfig::builder()
        .window(Window::Time(Duration::from_secs(600)))
        .build()
        .unwrap();
}

#[test]
fn a_jump_of_hours_empties_the_window_and_counting_resumes() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 3, 0.5).build().unwrap());
    fail(&b);
    ok(&b);
    clock.advance(Duration::from_secs(5 * 3600));
    assert_eq!(window(&b), (0, 0, 0));
    ok(&b);
    ok(&b);
    fail(&b);
    assert_eq!(window(&b), (3, 1, 0));
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open, "2 of 4");
    // A jump of exactly a window's multiple after a bucket boundary.
    clock.advance(Duration::from_secs(3600 * 24 * 365));
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn a_new_closed_period_starts_with_an_empty_window() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 4, 0.5).build().unwrap());
    for _ in 0..4 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_secs(11));
    assert_eq!(b.state(), State::HalfOpen);
    ok(&b);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(window(&b), (0, 0, 0), "the trip's four failures are a past period's");
    // All still within the 60 s of the failures: none of them may count now.
    fail(&b);
    ok(&b);
    ok(&b);
    assert_eq!(window(&b), (3, 1, 0));
    ok(&b);
    assert_eq!(b.state(), State::Closed, "1 of 4");
}

#[test]
fn a_new_period_is_empty_for_every_thread_that_counted_the_old_one() {
    let clock = ManualClock::new();
    let b = Arc::new(breaker(&clock, rates(Duration::from_secs(60), 8, 0.5).build().unwrap()));
    // Four threads each put one failure into their own stripe; the breaker trips.
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (b, barrier) = (b.clone(), barrier.clone());
            std::thread::spawn(move || {
                for _ in 0..2 {
                    if let Ok(p) = b.try_acquire() {
                        p.failure();
                    }
                }
                barrier.wait();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(b.state(), State::Open);
    clock.advance(Duration::from_secs(11));
    ok(&b);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(window(&b), (0, 0, 0));
}

#[test]
fn a_reset_empties_the_window() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 10, 0.5).build().unwrap());
    for _ in 0..5 {
        fail(&b);
    }
    b.reset();
    assert_eq!(window(&b), (0, 0, 0));
    for _ in 0..5 {
        ok(&b);
    }
    for _ in 0..4 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "4 of 9 after the reset, under the minimum");
}

#[test]
fn turning_the_failure_rate_on_at_runtime_starts_a_window() {
    let clock = ManualClock::new();
    let off = rates(Duration::from_secs(60), 4, 0.5)
        .no_failure_rate()
        .build()
        .unwrap();
    let b = breaker(&clock, off.clone());
    for _ in 0..10 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "no trigger on");
    b.reconfigure(
        BreakerConfigBuilder::from(off)
            .failure_rate_threshold(0.5)
            .build()
            .unwrap(),
    );
    ok(&b);
    ok(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed, "1 of 3 windowed calls");
    fail(&b);
    assert_eq!(b.state(), State::Open, "2 of 4");
}

#[test]
fn turning_the_slow_call_rate_on_at_runtime_times_calls_from_then_on() {
    let clock = ManualClock::new();
    let off = rates(Duration::from_secs(60), 2, 0.5)
        .no_failure_rate()
        .slow_call_duration(Duration::from_millis(100))
        .build()
        .unwrap();
    let b = breaker(&clock, off.clone());
    for _ in 0..5 {
        timed_ok(&b, &clock, SEC);
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().totals.slow_calls, 0, "no detection while off");
    b.reconfigure(
        BreakerConfigBuilder::from(off)
            .slow_call_rate_threshold(0.5)
            .build()
            .unwrap(),
    );
    timed_ok(&b, &clock, Duration::from_millis(1));
    timed_ok(&b, &clock, SEC);
    assert_eq!(b.state(), State::Open, "1 slow of 2");
    assert_eq!(b.snapshot().totals.slow_calls, 1);
}

#[test]
fn turning_the_rates_off_and_on_again_keeps_the_window_moving() {
    let clock = ManualClock::new();
    let on = rates(Duration::from_secs(10), 4, 0.5).build().unwrap();
    let b = breaker(&clock, on.clone());
    fail(&b);
    fail(&b);
    ok(&b);
    b.reconfigure(
        BreakerConfigBuilder::from(on.clone())
            .no_failure_rate()
            .build()
            .unwrap(),
    );
    clock.advance(Duration::from_secs(30));
    b.reconfigure(on);
    ok(&b);
    ok(&b);
    ok(&b);
    fail(&b);
    assert_eq!(
        b.state(),
        State::Closed,
        "the two old failures left the window long ago"
    );
    assert_eq!(window(&b), (4, 1, 0));
}

/// DESIGN: "Thresholds apply from the next call" and "Rates are evaluated after every recorded
/// outcome". The time window remembers that it judged the window in this bucket with the
/// minimum of calls and skips judging successes until the bucket ends, assuming the thresholds
/// it judged against; a reconfiguration lowering them must not be skipped.
#[test]
fn a_lowered_threshold_applies_to_the_next_success_in_the_same_bucket() {
    let clock = ManualClock::new();
    let before = rates(Duration::from_secs(60), 4, 0.9).build().unwrap();
    let b = breaker(&clock, before.clone());
    fail(&b);
    fail(&b);
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed, "0.5 under 0.9");
    b.reconfigure(
        BreakerConfigBuilder::from(before)
            .failure_rate_threshold(0.4)
            .build()
            .unwrap(),
    );
    ok(&b);
    assert_eq!(b.state(), State::Open, "2 of 5 is 0.4: at the new threshold");
}

/// A clock that hands one thread its reading, then holds that thread before it returns until
/// released: the reading is older than what the other threads read meanwhile, as happens to a
/// thread descheduled between its clock read and its count. Monotonic: the readings it returns
/// never decrease in the order it takes them.
#[derive(Debug, Default)]
struct HeldClock {
    nanos: AtomicU64,
    holding: AtomicBool,
    release: AtomicBool,
}

thread_local! {
    static HOLD_NEXT_READ: Cell<bool> = const { Cell::new(false) };
}

impl ClockSource for HeldClock {
    fn now_nanos(&self) -> u64 {
        let now = self.nanos.load(Ordering::Acquire);
        if HOLD_NEXT_READ.with(|h| h.replace(false)) {
            self.holding.store(true, Ordering::Release);
            while !self.release.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
        }
        now
    }
}

/// A failure counted with a reading from the previous second, after failures of this second
/// were counted, must not shorten the time the window is judged for: the failures of this
/// second are in the window for ten more seconds, and a success completing the minimum then
/// must be judged (here: F,F,F then S,S with minimum 5 and rate 0.5 opens on the last S).
#[test]
fn a_late_failure_with_an_older_reading_keeps_the_window_judged_as_long_as_the_newer_ones() {
    let source = Arc::new(HeldClock::default());
    source.nanos.store(99_500_000_000, Ordering::Release);
    let b = Arc::new(
        CircuitBreaker::builder("held")
            .clock(Clock::custom(source.clone()))
            .config(rates(Duration::from_secs(10), 5, 0.5).build().unwrap())
            .build(),
    );
    let late = {
        let b = b.clone();
        std::thread::spawn(move || {
            let permit = b.try_acquire().expect("admitted");
            HOLD_NEXT_READ.with(|h| h.set(true));
            permit.failure();
        })
    };
    while !source.holding.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    source.nanos.store(100_000_000_000, Ordering::Release);
    for _ in 0..3 {
        fail(&b);
    }
    source.release.store(true, Ordering::Release);
    late.join().unwrap();
    assert_eq!(window(&b), (4, 4, 0));
    assert_eq!(b.state(), State::Closed, "4 calls, under the minimum of 5");
    // 109 s: the late failure (second 99) left; the three of second 100 are in until 110 s.
    source.nanos.store(109_000_000_000, Ordering::Release);
    assert_eq!(window(&b), (3, 3, 0));
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Open, "3 of 5 failures, judged on the last success");
}

/// Outcomes for `threads` threads, each `per_thread` calls, every seventh a failure and every
/// eleventh ignored, on a breaker that cannot trip (rate 1.0 never reached over the minimum of
/// 1,000 calls, no consecutive trigger).
fn hammer(
    threads: usize,
    per_thread: u64,
    clock: &ManualClock,
    advance_every: u64,
) -> (Arc<CircuitBreaker>, u64, u64, u64) {
    let config = rates(Duration::from_secs(600), 1_000, 1.0).build().unwrap();
    let b = Arc::new(breaker(clock, config));
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (b, barrier, clock) = (b.clone(), barrier.clone(), clock.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (mut s, mut f, mut i) = (0u64, 0u64, 0u64);
                for n in 0..per_thread {
                    let permit = b.try_acquire().expect("never trips");
                    let k = n + t as u64;
                    if k.is_multiple_of(11) {
                        permit.ignored();
                        i += 1;
                    } else if k.is_multiple_of(7) {
                        permit.failure();
                        f += 1;
                    } else {
                        permit.success();
                        s += 1;
                    }
                    if advance_every != 0 && t == 0 && n.is_multiple_of(advance_every) {
                        clock.advance(Duration::from_millis(1));
                    }
                }
                (s, f, i)
            })
        })
        .collect();
    let (mut s, mut f, mut i) = (0, 0, 0);
    for h in handles {
        let (a, b, c) = h.join().unwrap();
        s += a;
        f += b;
        i += c;
    }
    (b, s, f, i)
}

#[test]
fn eighty_threads_count_exactly_in_the_totals_and_the_window() {
    let clock = ManualClock::new();
    let (b, s, f, i) = hammer(80, 5_000, &clock, 0);
    let snap = b.snapshot();
    assert_eq!(snap.state, State::Closed);
    assert_eq!(
        (snap.totals.successes, snap.totals.failures, snap.totals.ignored),
        (s, f, i)
    );
    assert_eq!((snap.window.calls, snap.window.failures), (s + f, f));
}

#[test]
fn eighty_threads_on_a_moving_clock_count_exactly_in_a_ten_minute_window() {
    let clock = ManualClock::new();
    // Thread 0 moves the clock 1 ms every 100 of its calls: 100 s in all, every outcome stays
    // in the 600 s window while buckets move under the other threads.
    let (b, s, f, i) = hammer(80, 10_000, &clock, 100);
    let snap = b.snapshot();
    assert_eq!(
        (snap.totals.successes, snap.totals.failures, snap.totals.ignored),
        (s, f, i)
    );
    assert_eq!((snap.window.calls, snap.window.failures), (s + f, f));
    clock.advance(Duration::from_secs(600));
    assert_eq!(window(&b), (0, 0, 0));
}

#[test]
fn hot_buckets_of_eighty_threads_widen_and_stay_exact() {
    let clock = ManualClock::new();
    // 20,000 calls per thread in one bucket: the shared stripe of the threads beyond 64 (at
    // least 16 of them) widens past 65,535 while it is written under its lock.
    let (b, s, f, _) = hammer(80, 20_000, &clock, 0);
    assert_eq!(window(&b), (s + f, f, 0));
    clock.advance(Duration::from_secs(599));
    assert_eq!(window(&b), (s + f, f, 0));
    clock.advance(SEC);
    assert_eq!(window(&b), (0, 0, 0));
}

/// Seventy threads alternate failures and successes while this one fails until the breaker
/// opens: one transition, every outcome and rejection counted exactly, no deadlock.
#[test]
fn the_breaker_trips_while_seventy_threads_record() {
    let clock = ManualClock::new();
    let config = rates(Duration::from_secs(60), 50, 0.5).build().unwrap();
    let b = Arc::new(breaker(&clock, config));
    let stop = Arc::new(AtomicBool::new(false));
    let others: Vec<_> = (0..70)
        .map(|_| {
            let (b, stop) = (b.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut successes, mut failures, mut rejected) = (0u64, 0u64, 0u64);
                while !stop.load(Ordering::Relaxed) && successes + failures + rejected < 200_000 {
                    match b.try_acquire() {
                        Ok(p) if (successes + failures).is_multiple_of(2) => {
                            p.failure();
                            failures += 1;
                        }
                        Ok(p) => {
                            p.success();
                            successes += 1;
                        }
                        Err(_) => rejected += 1,
                    }
                }
                (successes, failures, rejected)
            })
        })
        .collect();
    let mut failures = 0;
    while b.state() == State::Closed {
        if let Ok(p) = b.try_acquire() {
            p.failure();
            failures += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (mut successes, mut rejected) = (0, 0);
    for h in others {
        let (s, f, r) = h.join().unwrap();
        successes += s;
        failures += f;
        rejected += r;
    }
    let snap = b.snapshot();
    assert_eq!(snap.state, State::Open);
    assert_eq!(snap.totals.successes, successes);
    assert_eq!(snap.totals.failures, failures);
    assert_eq!(snap.totals.rejected, rejected);
    assert_eq!(snap.transitions, vec![(State::Closed, State::Open, 1)]);
}

#[test]
fn a_hot_bucket_past_65535_calls_keeps_exact_counts_through_the_api() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(10), 1, 1.0).build().unwrap());
    for n in 0..65_535u32 {
        if n % 100 == 1 { fail(&b) } else { ok(&b) }
    }
    assert_eq!(window(&b), (65_535, 656, 0), "full narrow bucket");
    ok(&b);
    fail(&b);
    assert_eq!(window(&b), (65_537, 657, 0), "widened");
    clock.advance(SEC);
    for _ in 0..70_000 {
        ok(&b);
    }
    assert_eq!(window(&b), (135_537, 657, 0));
    clock.advance(Duration::from_secs(9));
    assert_eq!(window(&b), (70_000, 0, 0), "the first second's bucket left");
    clock.advance(SEC);
    assert_eq!(window(&b), (0, 0, 0));
}

#[test]
fn a_slow_call_widens_mid_bucket_and_keeps_what_the_bucket_held() {
    let clock = ManualClock::new();
    let config = rates(Duration::from_secs(10), 1, 1.0)
        .slow_call_rate_threshold(1.0)
        .slow_call_duration(Duration::from_millis(100))
        .build()
        .unwrap();
    let b = breaker(&clock, config);
    for n in 0..1_000u32 {
        if n % 10 == 1 { fail(&b) } else { ok(&b) }
    }
    timed_ok(&b, &clock, Duration::from_millis(200));
    assert_eq!(window(&b), (1_001, 100, 1));
    for _ in 0..99 {
        ok(&b);
    }
    assert_eq!(window(&b), (1_100, 100, 1));
    clock.advance(Duration::from_millis(9_800));
    assert_eq!(window(&b), (0, 0, 0), "the bucket of second 0 left at 10 s");
}

#[test]
fn a_never_tripped_breaker_snapshots_without_history() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 4, 0.5).build().unwrap());
    ok(&b);
    clock.advance(Duration::from_secs(5));
    let snap = b.snapshot();
    assert_eq!(snap.state, State::Closed);
    assert!(snap.transitions.is_empty());
    assert_eq!(snap.tripped_by, None);
    assert_eq!(snap.reopens, 0);
    assert_eq!(snap.open_for, None);
    assert_eq!(snap.time_in_state[State::Closed as usize], Duration::from_secs(5));
    assert_eq!(snap.time_in_state.iter().sum::<Duration>(), Duration::from_secs(5));
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(Duration::from_secs(2));
    let snap = b.snapshot();
    assert_eq!(snap.state, State::Open);
    assert_eq!(snap.transitions, vec![(State::Closed, State::Open, 1)]);
    assert!(matches!(snap.tripped_by, Some(Reason::FailureRate { calls: 4, .. })));
    assert_eq!(snap.open_for, Some(Duration::from_secs(8)));
    assert_eq!(snap.time_in_state[State::Closed as usize], Duration::from_secs(5));
    assert_eq!(snap.time_in_state[State::Open as usize], Duration::from_secs(2));
    assert_eq!(
        (snap.window.calls, snap.window.failures),
        (4, 3),
        "the numbers that tripped it"
    );
}

#[test]
fn a_consecutive_only_breaker_snapshots_its_period_without_history() {
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .no_failure_rate()
        .consecutive_failures(3)
        .build()
        .unwrap();
    let b = breaker(&clock, config);
    ok(&b);
    fail(&b);
    ok(&b);
    let snap = b.snapshot();
    assert_eq!((snap.window.calls, snap.window.failures), (3, 1));
    assert!(snap.transitions.is_empty());
    fail(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().transitions, vec![(State::Closed, State::Open, 1)]);
    b.reset();
    ok(&b);
    let snap = b.snapshot();
    assert_eq!(
        (snap.window.calls, snap.window.failures),
        (1, 0),
        "the new period's only"
    );
}

#[test]
fn metrics_only_counts_in_the_time_window_without_tripping() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_secs(60), 2, 0.5).build().unwrap());
    b.metrics_only();
    for _ in 0..10 {
        fail(&b);
    }
    assert_eq!(b.state(), State::MetricsOnly);
    assert_eq!(window(&b), (10, 10, 0));
    b.reset();
    assert_eq!(window(&b), (0, 0, 0));
    ok(&b);
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

/// DESIGN: a time window counts "outcomes in the last duration, bucketed per second or
/// finer". A window of 10.5 s (`size = "10500ms"` in a file) must not count an outcome 10.9 s
/// old: buckets may end an outcome's stay early, never keep it past the window's size.
#[test]
fn a_window_that_is_not_whole_seconds_keeps_no_outcome_past_its_size() {
    let clock = ManualClock::new();
    let b = breaker(&clock, rates(Duration::from_millis(10_500), 2, 0.5).build().unwrap());
    fail(&b);
    clock.advance(Duration::from_millis(10_500));
    assert_eq!(window(&b), (0, 0, 0), "a failure 10.5 s old in a 10.5 s window");
    clock.advance(Duration::from_millis(400));
    ok(&b);
    ok(&b);
    assert_eq!(
        b.state(),
        State::Closed,
        "the failure of 0 s is not in the window at 10.9 s"
    );
}

/// The same below ten seconds, for a size a tenth of which is no whole number of nanoseconds.
#[test]
fn a_short_window_of_odd_nanoseconds_keeps_no_outcome_past_its_size() {
    let clock = ManualClock::new();
    let size = Duration::from_nanos(9_999_999_999);
    let b = breaker(&clock, rates(size, 2, 0.5).build().unwrap());
    fail(&b);
    clock.advance(size);
    assert_eq!(window(&b), (0, 0, 0));
}

#[test]
fn a_keyed_breaker_evicted_and_created_again_starts_with_an_empty_window() {
    let clock = ManualClock::new();
    let registry = cb_runtime::Registry::with_clock(clock.clone());
    let config = rates(Duration::from_secs(60), 4, 0.5)
        .idle_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    {
        let b = registry.breaker("tenants/acme", &config);
        fail(&b);
        ok(&b);
        ok(&b);
        assert_eq!(window(&b), (3, 1, 0));
    }
    // Idle means unchanged between two sweeps an idle time apart.
    assert_eq!(registry.evict_idle(), 0);
    clock.advance(Duration::from_secs(2));
    assert_eq!(registry.evict_idle(), 1);
    let b = registry.breaker("tenants/acme", &config);
    let snap = b.snapshot();
    assert_eq!(
        (snap.window.calls, snap.totals.failures, snap.totals.successes),
        (0, 0, 0)
    );
    fail(&b);
    fail(&b);
    ok(&b);
    assert_eq!(window(&b), (3, 2, 0));
    assert_eq!(b.state(), State::Closed, "3 calls: the evicted breaker's 3 are gone");
}

/// A clock that breaks the `ClockSource` contract and jumps back and forth by up to hours.
#[derive(Debug, Default)]
struct Erratic {
    nanos: AtomicU64,
}

impl ClockSource for Erratic {
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Relaxed)
    }
}

/// A clock that goes back (the coarse and the precise monotonic clocks differ by a few
/// milliseconds, and a custom source may be wrong): no panic, no count above what was
/// recorded, and the window is whole again once the clock moves on past it.
#[test]
fn a_clock_jumping_back_and_forth_never_panics_or_overcounts() {
    let source = Arc::new(Erratic::default());
    let b = CircuitBreaker::builder("erratic")
        .clock(Clock::custom(source.clone()))
        .config(rates(Duration::from_secs(10), 1_000_000, 1.0).build().unwrap())
        .build();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let base = 7 * 3600 * 1_000_000_000u64;
    let mut recorded = 0;
    for n in 0..20_000u64 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let jump = match seed % 16 {
            0 => seed % (5 * 3600 * 1_000_000_000),
            1..=3 => seed % 20_000_000_000,
            _ => seed % 5_000_000,
        };
        let now = if seed & (1 << 40) == 0 {
            base.saturating_add(jump)
        } else {
            base.saturating_sub(jump)
        };
        source.nanos.store(now, Ordering::Relaxed);
        if n.is_multiple_of(5) {
            fail(&b)
        } else {
            ok(&b)
        }
        recorded += 1;
        let (calls, failures, _) = window(&b);
        assert!(
            calls <= recorded && failures <= calls,
            "{calls} calls, {failures} failures"
        );
    }
    assert_eq!(b.state(), State::Closed);
    source.nanos.store(base + 6 * 3600 * 1_000_000_000, Ordering::Relaxed);
    assert_eq!(window(&b), (0, 0, 0));
    ok(&b);
    fail(&b);
    assert_eq!(window(&b), (2, 1, 0));
}

/// Snapshots taken while eight threads record and the clock moves a bucket every few hundred
/// calls never show more calls than were recorded (plus one in flight per thread), nor more
/// failures than calls; after the join the window holds exactly the last ten seconds.
#[test]
fn snapshots_racing_writers_on_a_moving_clock_never_overcount() {
    let clock = ManualClock::new();
    let b = Arc::new(breaker(
        &clock,
        rates(Duration::from_secs(10), 1_000_000, 1.0).build().unwrap(),
    ));
    let recorded = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..8u64)
        .map(|t| {
            let (b, clock, recorded) = (b.clone(), clock.clone(), recorded.clone());
            std::thread::spawn(move || {
                for n in 0..20_000u64 {
                    if (n + t).is_multiple_of(3) {
                        fail(&b)
                    } else {
                        ok(&b)
                    }
                    recorded.fetch_add(1, Ordering::Release);
                    if t == 0 && n.is_multiple_of(300) {
                        clock.advance(Duration::from_millis(250));
                    }
                }
            })
        })
        .collect();
    while writers.iter().any(|w| !w.is_finished()) {
        let w = b.snapshot().window;
        let most = recorded.load(Ordering::Acquire) + 8;
        assert!(
            w.calls <= most && w.failures <= w.calls,
            "{w:?} with {most} recorded at most"
        );
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(b.snapshot().totals.successes + b.snapshot().totals.failures, 160_000);
    clock.advance(Duration::from_secs(10));
    assert_eq!(window(&b), (0, 0, 0));
}
