//! The duration histogram times one call in N per thread and counts it N times: counts and
//! sums stay estimates of every call's, at a fraction of the clock reads. (Its own test binary:
//! sampling is process-wide.)

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock};
use std::time::Duration;

fn breaker(clock: &ManualClock) -> CircuitBreaker {
    let config = BreakerConfig::builder().consecutive_failures(100).build().unwrap();
    CircuitBreaker::builder("sampled")
        .config(config)
        .clock(clock.clone())
        .build()
}

fn calls(b: &CircuitBreaker, clock: &ManualClock, n: usize, took: Duration) {
    for _ in 0..n {
        let permit = b.try_acquire().unwrap();
        clock.advance(took);
        permit.success();
    }
}

#[test]
fn sampled_calls_count_with_their_weight_and_unsampled_ones_are_not_timed() {
    cb_runtime::measure_durations(true);

    cb_runtime::sample_durations(4);
    let clock = ManualClock::new();
    let b = breaker(&clock);
    calls(&b, &clock, 8, Duration::from_millis(20));
    let d = b.snapshot().durations;
    assert_eq!(d.count(), 8, "two timed calls of weight 4: {d:?}");
    assert_eq!(d.counts[2], 8, "both in the 25 ms bucket: {d:?}");
    assert!((d.sum_seconds - 0.16).abs() < 1e-9, "{d:?}");

    cb_runtime::sample_durations(1);
    let clock = ManualClock::new();
    let b = breaker(&clock);
    calls(&b, &clock, 3, Duration::from_millis(3));
    let d = b.snapshot().durations;
    assert_eq!((d.count(), d.counts[0]), (3, 3), "every call timed: {d:?}");

    cb_runtime::measure_durations(false);
    let clock = ManualClock::new();
    let b = breaker(&clock);
    calls(&b, &clock, 40, Duration::from_millis(3));
    assert_eq!(b.snapshot().durations.count(), 0, "timing off");
}
