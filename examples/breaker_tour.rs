//! A tour of the runtime: a flaky backend trips a breaker, calls are rejected and served from a
//! fallback, a probe finds the backend healthy again and the breaker closes.
//!
//! Run it with `cargo run --example breaker_tour`.

use cb_runtime::{BreakerConfig, CallError, Event, registry};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static BACKEND_UP: AtomicBool = AtomicBool::new(true);

async fn fetch_price(item: u32) -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if BACKEND_UP.load(Ordering::Relaxed) {
        Ok(item * 100)
    } else {
        Err("503 from pricing".into())
    }
}

fn cached_price(cause: CallError<String>) -> Result<u32, String> {
    println!("    fallback served ({cause})");
    Ok(99)
}

#[tokio::main]
async fn main() {
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .open_timeout(Duration::from_millis(300))
        .success_threshold(2)
        .jitter(0.0)
        .build()
        .expect("valid configuration");
    let breaker = registry().breaker("pricing", &config);
    let mut events = registry().subscribe();

    for (phase, up, calls) in [("healthy", true, 3), ("backend down", false, 6), ("recovered", true, 4)] {
        println!("== {phase}");
        BACKEND_UP.store(up, Ordering::Relaxed);
        if phase == "recovered" {
            tokio::time::sleep(Duration::from_millis(350)).await;
        }
        for item in 0..calls {
            let price = breaker
                .call_with_fallback(async || fetch_price(item).await, cached_price)
                .await;
            println!("  call {item}: {price:?} (state {})", breaker.state());
            for event in events.drain() {
                if let Event::Transition { from, to, reason, .. } = event {
                    println!("  >> {from} -> {to}: {reason}");
                }
            }
        }
    }
    let s = breaker.snapshot();
    println!(
        "== summary: {} ok, {} failed, {} rejected, {} fallbacks, state {}",
        s.totals.successes, s.totals.failures, s.totals.rejected, s.totals.fallbacks, s.state
    );
}
