//! Calls racing eviction: no panic, no lost in-flight outcome, never two breakers for one key.

use cb_runtime::{BreakerConfig, ManualClock, Outcome, Registry};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A family small enough that every new key forces a sweep, a clock that makes every key idle,
/// and threads that keep creating keys and calling evict_idle while others call.
fn churn(registry: &Arc<Registry>, clock: &ManualClock, stop: &Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let (registry, clock, stop) = (registry.clone(), clock.clone(), stop.clone());
    std::thread::spawn(move || {
        let config = config();
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            clock.advance(Duration::from_secs(5));
            let _ = registry
                .breaker(&format!("race/churn-{i}"), &config)
                .call_sync(|| Ok::<_, ()>(()));
            registry.evict_idle();
            i += 1;
        }
    })
}

fn config() -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(1_000_000)
        .no_failure_rate()
        .max_keys(4)
        .idle_ttl(Duration::from_secs(1))
        .build()
        .unwrap()
}

#[test]
fn in_flight_outcomes_land_on_the_registered_breaker() {
    let clock = ManualClock::new();
    let registry = Arc::new(Registry::with_clock(clock.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let churner = churn(&registry, &clock, &stop);
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let registry = registry.clone();
            std::thread::spawn(move || {
                let config = config();
                for round in 0..300 {
                    let name = format!("race/w{t}-{round}");
                    let breaker = registry.breaker(&name, &config);
                    let permit = breaker.try_acquire().expect("closed");
                    // The call is in flight while the churn thread evicts everything idle.
                    std::thread::yield_now();
                    let registered = registry.get(&name).expect("a breaker in use is never evicted");
                    assert!(Arc::ptr_eq(&breaker, &registered), "two breakers for {name}");
                    permit.record(Outcome::Failure);
                    drop(registered);
                    assert_eq!(breaker.snapshot().totals.failures, 1);
                    assert!(Arc::ptr_eq(&breaker, &registry.get(&name).unwrap()));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("no panic");
    }
    stop.store(true, Ordering::Relaxed);
    churner.join().expect("no panic");
    assert!(registry.families()[0].evicted > 0, "the churn evicted while calls ran");
}

#[test]
fn threads_sharing_keys_always_share_one_breaker() {
    let clock = ManualClock::new();
    let registry = Arc::new(Registry::with_clock(clock.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let churner = churn(&registry, &clock, &stop);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let registry = registry.clone();
            std::thread::spawn(move || {
                let config = config();
                let mut failures = 0u64;
                for round in 0..2000u32 {
                    let name = format!("race/shared-{}", round % 8);
                    let mine = registry.breaker(&name, &config);
                    let again = registry.breaker(&name, &config);
                    assert!(Arc::ptr_eq(&mine, &again), "two breakers for {name} at once");
                    if mine.call_sync(|| Err::<(), _>("x")).is_err() {
                        failures += 1;
                    }
                }
                failures
            })
        })
        .collect();
    let failures: u64 = workers.into_iter().map(|w| w.join().expect("no panic")).sum();
    stop.store(true, Ordering::Relaxed);
    churner.join().expect("no panic");
    assert_eq!(failures, 8000);
}
