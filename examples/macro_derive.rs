//! `#[derive(CircuitProtected)]`: struct-level defaults for every protected method, and the
//! instance's breaker to inspect. The struct-level attribute goes below the derive.
//!
//! Run: `cargo run --example macro_derive`

use cb_runtime::{CallError, CircuitProtected, Rejected, circuit_breaker};

#[derive(Debug, Clone)]
enum SentinelError {
    Upstream(u16),
    Breaker,
}

impl From<Rejected> for SentinelError {
    fn from(_: Rejected) -> Self {
        SentinelError::Breaker
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sentinel", preset = "aggressive")]
struct SentinelClient {
    healthy: bool,
    cache: Vec<String>,
}

impl SentinelClient {
    /// Signature unchanged: callers do not change a line.
    #[circuit_breaker(fallback = cached_alerts, timeout = "2s")]
    async fn fetch_alerts(&self, since: Option<u64>) -> Result<Vec<String>, SentinelError> {
        if self.healthy {
            Ok(vec![format!("disk 91% since {since:?}")])
        } else {
            Err(SentinelError::Upstream(503))
        }
        .inspect_err(|e| {
            if let SentinelError::Upstream(code) = e {
                println!("  sentinel answered {code}")
            }
        })
    }

    fn cached_alerts(
        &self,
        _since: Option<u64>,
        cause: CallError<SentinelError>,
    ) -> Result<Vec<String>, SentinelError> {
        println!(
            "  serving {} cached alerts ({})",
            self.cache.len(),
            if cause.is_rejected() { "open" } else { "failed" }
        );
        Ok(self.cache.clone())
    }
}

#[tokio::main]
async fn main() {
    let client = SentinelClient {
        healthy: false,
        cache: vec!["disk 88% (cached)".into()],
    };
    for call in 1..=5 {
        let alerts = client.fetch_alerts(Some(1_700_000_000)).await;
        println!(
            "call {call}: {alerts:?} -> breaker `{}` {}",
            client.circuit_breaker_name(),
            client.circuit_state()
        );
    }
    let s = client.circuit_snapshot();
    println!(
        "failures {}, rejected {}, fallbacks {}",
        s.totals.failures, s.totals.rejected, s.totals.fallbacks
    );
}
