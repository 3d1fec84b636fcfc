//! The ride service of ADR-0009: one breaker per external dependency, each with its own
//! thresholds, and a static fallback so a degraded dependency never blocks a booking.
//!
//! | dependency | consecutive failures | open wait | fallback |
//! |---|---|---|---|
//! | promos | 5 | 30s | no promotion |
//! | ML-ETA | 3 | 15s | distance-based estimate |
//! | notifications | 10 | 60s | queue for later |
//! | payments | 3 | 30s | hold the booking for a manual charge |
//!
//! Run: `cargo run --example ride_service`

use cb_runtime::{circuit_breaker, registry};
use std::sync::atomic::{AtomicBool, Ordering};

static ML_DOWN: AtomicBool = AtomicBool::new(false);
static PAYMENTS_DOWN: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, PartialEq)]
enum Charge {
    Captured(u64),
    HeldForManualCharge,
}

#[circuit_breaker(name = "promos", consecutive_failures = 5, open_timeout = "30s", fallback = no_promo)]
async fn promo(rider: u32) -> Option<u32> {
    rider.is_multiple_of(3).then_some(10)
}

fn no_promo(_rider: u32) -> Option<u32> {
    None
}

/// Minutes to pickup, from the ML model (down while `ML_DOWN` is set).
#[circuit_breaker(name = "ml-eta", consecutive_failures = 3, open_timeout = "15s", timeout = "200ms", fallback = distance_eta)]
async fn eta(km: u32) -> Result<u32, String> {
    if ML_DOWN.load(Ordering::Relaxed) {
        Err("ml-eta: 503".into())
    } else {
        Ok(km * 2)
    }
}

fn distance_eta(km: u32) -> Result<u32, String> {
    Ok(km * 3)
}

#[circuit_breaker(name = "notifications", consecutive_failures = 10, open_timeout = "60s", fallback = queue_notification)]
async fn notify(rider: u32, text: &str) -> Result<&'static str, String> {
    let _ = (rider, text);
    Ok("sent")
}

fn queue_notification(_rider: u32, _text: &str) -> Result<&'static str, String> {
    Ok("queued for later")
}

#[circuit_breaker(name = "payments", consecutive_failures = 3, open_timeout = "30s", fallback = hold_booking)]
async fn charge(rider: u32, cents: u64) -> Result<Charge, String> {
    let _ = rider;
    if PAYMENTS_DOWN.load(Ordering::Relaxed) {
        Err("stripe: 502".into())
    } else {
        Ok(Charge::Captured(cents))
    }
}

fn hold_booking(_rider: u32, _cents: u64) -> Result<Charge, String> {
    Ok(Charge::HeldForManualCharge)
}

async fn book(rider: u32, km: u32) -> String {
    let promo = promo(rider).await;
    let eta = eta(km).await.unwrap_or_default();
    let cents = u64::from(km) * 150 - u64::from(promo.unwrap_or(0)) * 10;
    let charge = charge(rider, cents).await;
    let note = notify(rider, "your driver is on the way").await.unwrap_or("failed");
    format!("rider {rider:>2}: eta {eta:>2} min, promo {promo:?}, charge {charge:?}, notification {note}")
}

#[tokio::main]
async fn main() {
    for rider in 0..4 {
        println!("{}", book(rider, 5).await);
    }
    println!("-- the ML model and the payment provider go down");
    ML_DOWN.store(true, Ordering::Relaxed);
    PAYMENTS_DOWN.store(true, Ordering::Relaxed);
    for rider in 4..10 {
        println!("{}", book(rider, 5).await);
    }
    println!("-- every booking went through; the breakers:");
    for s in registry().snapshots() {
        let c = registry().get(&s.name).map(|b| b.config()).unwrap_or_default();
        let limits = format!(
            "{} consecutive failures, open {:?}",
            c.consecutive_failures.unwrap_or(0),
            c.open_timeout
        );
        println!(
            "  {:<14} {:<7} failures {:>2}, rejected {:>2}, fallbacks {:>2}   ({limits})",
            s.name,
            s.state.to_string(),
            s.totals.failures,
            s.totals.rejected,
            s.totals.fallbacks
        );
    }
}
