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

/// Sampling is process-wide: the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn sampled_calls_count_with_their_weight_and_unsampled_ones_are_not_timed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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

/// The async path takes the closed fast path on the calls it does not time (`call` asks for a
/// fast permit, then the general acquire): one call in N is still timed, with weight N.
#[test]
fn async_calls_are_sampled_one_in_n_too() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    cb_runtime::measure_durations(true);
    cb_runtime::sample_durations(4);
    let clock = ManualClock::new();
    let b = breaker(&clock);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    std::thread::scope(|s| {
        // A thread of its own: its sample counter starts at zero.
        s.spawn(|| {
            runtime.block_on(async {
                for _ in 0..8 {
                    b.call(async || {
                        clock.advance(Duration::from_millis(20));
                        Ok::<_, ()>(())
                    })
                    .await
                    .unwrap();
                }
            })
        });
    });
    let d = b.snapshot().durations;
    cb_runtime::measure_durations(false);
    assert_eq!(d.count(), 8, "two timed calls of weight 4: {d:?}");
    assert!((d.sum_seconds - 0.16).abs() < 1e-9, "{d:?}");
}
