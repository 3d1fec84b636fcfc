//! `#[circuit_breaker]` on a sync free function returning `Result`, without a fallback: a
//! rejection becomes the function's own error through `From<Rejected>`.
//!
//! Run: `cargo run --example macro_sync_fn`

use cb_runtime::{Rejected, circuit_breaker};

#[derive(Debug)]
enum PromoError {
    Unavailable,
    CircuitOpen(Rejected),
}

impl From<Rejected> for PromoError {
    fn from(r: Rejected) -> Self {
        PromoError::CircuitOpen(r)
    }
}

/// Promotions for a rider (the promo service is down for riders 3 to 9).
#[circuit_breaker(name = "promos", consecutive_failures = 5, open_timeout = "30s")]
fn promos(rider: u32) -> Result<Vec<&'static str>, PromoError> {
    if (3..10).contains(&rider) {
        Err(PromoError::Unavailable)
    } else {
        Ok(vec!["10% off"])
    }
}

fn main() {
    for rider in 0..12 {
        match promos(rider) {
            Ok(p) => println!("rider {rider:>2}: {p:?}"),
            Err(PromoError::Unavailable) => println!("rider {rider:>2}: promo service failed"),
            Err(PromoError::CircuitOpen(r)) => println!(
                "rider {rider:>2}: {r} (retry in {:?})",
                r.retry_after.unwrap_or_default()
            ),
        }
    }
}
