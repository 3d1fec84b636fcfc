//! `#[circuit_breaker]` on an async free function with a fallback that needs no `Result`.
//!
//! Run: `cargo run --example macro_async_fn`

use cb_runtime::{circuit_breaker, registry};
use std::time::Duration;

/// Trip distance in km; the ML model fails on long trips.
struct Trip {
    km: u32,
}

/// A rough estimate that never fails.
fn distance_eta(trip: &Trip) -> Duration {
    Duration::from_secs(u64::from(trip.km) * 90)
}

/// The ML model, slow and flaky: protected with a timeout, served by `distance_eta`.
#[circuit_breaker(name = "ml-eta", consecutive_failures = 3, open_timeout = "15s", timeout = "50ms", fallback = distance_eta)]
async fn eta(trip: &Trip) -> Duration {
    let think = if trip.km > 100 { 500 } else { 5 };
    tokio::time::sleep(Duration::from_millis(think)).await;
    Duration::from_secs(u64::from(trip.km) * 60)
}

#[tokio::main]
async fn main() {
    for km in [10, 200, 300, 400, 20] {
        let eta = eta(&Trip { km }).await;
        let state = registry().get("ml-eta").map(|b| b.state());
        println!(
            "{km:>4} km -> {:>6}s  (breaker {})",
            eta.as_secs(),
            state.expect("registered on first call")
        );
    }
    let s = registry().snapshot("ml-eta").expect("registered");
    println!(
        "timeouts {}, rejected {}, fallbacks {}",
        s.totals.timeouts, s.totals.rejected, s.totals.fallbacks
    );
}
