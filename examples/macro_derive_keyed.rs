//! Per-backend isolation: a `#[circuit_breaker(key)]` field gives each instance its own
//! breaker, `name/key`, created on first use.
//!
//! Run: `cargo run --example macro_derive_keyed`

use cb_runtime::{CircuitProtected, Rejected, circuit_breaker, registry};

#[derive(Debug)]
enum DeliveryError {
    Backend(u16),
    Open,
}

impl From<Rejected> for DeliveryError {
    fn from(_: Rejected) -> Self {
        DeliveryError::Open
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "webhook", consecutive_failures = 3, open_timeout = "30s")]
struct WebhookClient {
    #[circuit_breaker(key)]
    session_type_id: String,
    status: u16,
}

impl WebhookClient {
    #[circuit_breaker]
    async fn deliver(&self, event: &str) -> Result<(), DeliveryError> {
        match self.status {
            200 => Ok(()),
            code => Err(DeliveryError::Backend(code)),
        }
        .map(|()| println!("  {} <- {event}", self.session_type_id))
    }
}

#[tokio::main]
async fn main() {
    let backends = [
        WebhookClient {
            session_type_id: "billing".into(),
            status: 500,
        },
        WebhookClient {
            session_type_id: "support-chat".into(),
            status: 200,
        },
    ];
    for round in 1..=4 {
        for backend in &backends {
            if let Err(e) = backend.deliver(&format!("message #{round}")).await {
                match e {
                    DeliveryError::Backend(code) => println!("  {} failed: HTTP {code}", backend.session_type_id),
                    DeliveryError::Open => println!("  {} skipped: its breaker is open", backend.session_type_id),
                }
            }
        }
    }
    for s in registry().list("webhook/*") {
        println!(
            "{:<22} {:<7} failures {} rejected {}",
            s.name,
            s.state.to_string(),
            s.totals.failures,
            s.totals.rejected
        );
    }
}
