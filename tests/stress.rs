//! Two threads hammer one breaker through open / half-open cycles with successes, failures,
//! cancelled probes and panicking probes: at most `half_open_max_calls` probes ever run at
//! once, and the breaker never wedges in HalfOpen.

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Permit, State};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const MAX_PROBES: u32 = 2;
const ROUNDS: u64 = 200_000;

fn finish(permit: Permit<'_>, action: u64) {
    match action % 5 {
        0 | 1 => permit.success(),
        2 => permit.failure(),
        3 => drop(permit),
        _ => {
            let _ = catch_unwind(AssertUnwindSafe(move || {
                let _held = permit;
                panic!("probe panicked");
            }));
        }
    }
}

#[test]
fn probes_stay_within_the_limit_and_the_breaker_never_wedges() {
    std::panic::set_hook(Box::new(|_| {}));
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .no_failure_rate()
        .open_timeout(Duration::from_millis(1))
        .max_open_timeout(Duration::from_millis(4))
        .jitter(0.0)
        .half_open_max_calls(MAX_PROBES)
        .success_threshold(3)
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder("stress")
        .config(config)
        .clock(clock.clone())
        .build();
    let probes = AtomicUsize::new(0);
    let max_seen = AtomicUsize::new(0);
    let half_open_admissions = AtomicUsize::new(0);

    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (breaker, clock, probes, max_seen, admissions) =
                (&breaker, &clock, &probes, &max_seen, &half_open_admissions);
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t;
                for _ in 0..ROUNDS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x.is_multiple_of(7) {
                        clock.advance(Duration::from_millis(2));
                    }
                    let Ok(permit) = breaker.try_acquire() else { continue };
                    if permit.state() != State::HalfOpen {
                        finish(permit, x >> 8);
                        continue;
                    }
                    admissions.fetch_add(1, Ordering::Relaxed);
                    let running = probes.fetch_add(1, Ordering::AcqRel) + 1;
                    max_seen.fetch_max(running, Ordering::AcqRel);
                    std::hint::spin_loop();
                    probes.fetch_sub(1, Ordering::AcqRel);
                    finish(permit, x >> 8);
                }
            });
        }
    });
    let _ = std::panic::take_hook();

    assert!(
        half_open_admissions.load(Ordering::Relaxed) > 1_000,
        "the test must exercise half-open"
    );
    assert!(
        max_seen.load(Ordering::Relaxed) <= MAX_PROBES as usize,
        "{} probes at once",
        max_seen.load(Ordering::Relaxed)
    );
    let s = breaker.snapshot();
    if s.state == State::HalfOpen {
        assert_eq!(s.half_open_in_flight, 0, "no permit is held, so no slot may stay taken");
    }
    clock.advance(Duration::from_millis(10));
    for _ in 0..3 {
        breaker
            .try_acquire()
            .expect("the breaker must admit probes again")
            .success();
    }
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn two_threads_count_every_outcome_exactly() {
    let config = BreakerConfig::builder()
        .consecutive_failures(u32::MAX)
        .no_failure_rate()
        .build()
        .unwrap();
    let breaker = CircuitBreaker::new("stress-counts", config);
    std::thread::scope(|s| {
        for t in 0..2 {
            let breaker = &breaker;
            s.spawn(move || {
                for i in 0..50_000u32 {
                    let _ = breaker.call_sync(|| if (i + t) % 3 == 0 { Err(()) } else { Ok(()) });
                }
            });
        }
    });
    let totals = breaker.snapshot().totals;
    assert_eq!(totals.successes + totals.failures, 100_000);
    assert_eq!(totals.failures, 16_667 + 16_666);
}
