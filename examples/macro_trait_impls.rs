//! `#[circuit_breaker]` on methods of trait impls: native `async fn` in traits, and
//! `#[async_trait]` (put `#[async_trait]` on the impl, `#[circuit_breaker]` on the method).
//!
//! Run: `cargo run --example macro_trait_impls`

use async_trait::async_trait;
use cb_runtime::{Rejected, circuit_breaker, registry};

#[derive(Debug)]
struct NotifyError(String);

impl std::fmt::Display for NotifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Rejected> for NotifyError {
    fn from(r: Rejected) -> Self {
        NotifyError(r.to_string())
    }
}

/// Object-safe, so it can be boxed: `#[async_trait]`.
#[async_trait]
trait Notifier: Send + Sync {
    async fn notify(&self, user: u64, text: &str) -> Result<(), NotifyError>;
}

/// Static dispatch: native `async fn` in a trait.
trait Geocoder {
    async fn lookup(&self, address: &str) -> Result<(f64, f64), NotifyError>;
}

struct Sms {
    up: bool,
}

#[async_trait]
impl Notifier for Sms {
    #[circuit_breaker(name = "notifications", consecutive_failures = 2, open_timeout = "60s")]
    async fn notify(&self, user: u64, text: &str) -> Result<(), NotifyError> {
        if !self.up {
            return Err(NotifyError("sms gateway 503".into()));
        }
        println!("  sms to {user}: {text}");
        Ok(())
    }
}

struct Maps;

impl Geocoder for Maps {
    #[circuit_breaker(name = "maps", preset = "lenient")]
    async fn lookup(&self, address: &str) -> Result<(f64, f64), NotifyError> {
        Ok((address.len() as f64, 0.5))
    }
}

#[tokio::main]
async fn main() {
    let notifiers: Vec<Box<dyn Notifier>> = vec![Box::new(Sms { up: true }), Box::new(Sms { up: false })];
    for (i, n) in notifiers.iter().enumerate() {
        for user in 0..2 {
            match n.notify(user, "your ride is here").await {
                Ok(()) => println!("notifier {i}, user {user}: sent"),
                Err(e) => println!("notifier {i}, user {user}: {e}"),
            }
        }
    }
    println!(
        "notifications breaker: {}",
        registry().get("notifications").expect("registered").state()
    );
    println!("geocode: {:?}", Maps.lookup("1 Main St").await);
}
