//! A service exposing its breakers: Prometheus text on `/metrics` and a JSON snapshot of every
//! breaker on `/circuits`, while background traffic flows through a flaky protected call.
//! Point Prometheus at it and import `examples/grafana/circuit_breakers.json` into Grafana.
//!
//! Run: `cargo run --example metrics_service` (then `curl 127.0.0.1:9898/metrics`). It stops
//! on Ctrl-C, or after `CB_EXAMPLE_SECONDS` seconds when that is set.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use cb_runtime::{Rejected, Snapshot, circuit_breaker, registry};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug)]
struct QuoteError;

impl From<Rejected> for QuoteError {
    fn from(_: Rejected) -> Self {
        QuoteError
    }
}

/// Fails for 40 calls out of every 100: the breaker opens, probes, recovers, opens again.
#[circuit_breaker(
    name = "quotes",
    consecutive_failures = 5,
    open_timeout = "2s",
    success_threshold = 2
)]
async fn quote(n: u64) -> Result<u64, QuoteError> {
    tokio::time::sleep(Duration::from_millis(n % 7)).await;
    if n % 100 < 40 { Err(QuoteError) } else { Ok(n) }
}

async fn metrics(State(prometheus): State<Arc<prometheus_client::registry::Registry>>) -> impl IntoResponse {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &prometheus) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn snapshot_json(s: &Snapshot) -> serde_json::Value {
    serde_json::json!({
        "name": s.name.as_str(),
        "state": s.state.as_str(),
        "calls": {
            "success": s.totals.successes,
            "failure": s.totals.failures,
            "ignored": s.totals.ignored,
            "rejected": s.totals.rejected,
            "timeout": s.totals.timeouts,
        },
        "fallbacks": s.totals.fallbacks,
        "window": { "calls": s.window.calls, "failure_rate": s.window.failure_rate, "slow_call_rate": s.window.slow_call_rate },
        "consecutive_failures": s.consecutive_failures,
        "open_for_ms": s.open_for.map(|d| d.as_millis() as u64),
        "reopens": s.reopens,
    })
}

async fn circuits() -> impl IntoResponse {
    axum::Json(registry().snapshots().iter().map(snapshot_json).collect::<Vec<_>>())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register(&mut prometheus);
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/circuits", get(circuits))
        .with_state(Arc::new(prometheus));
    let port = std::env::var("CB_EXAMPLE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(9898u16);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving http://{}/metrics and /circuits", listener.local_addr()?);

    let sent = Arc::new(AtomicU64::new(0));
    let traffic = tokio::spawn({
        let sent = sent.clone();
        async move {
            loop {
                let n = sent.fetch_add(1, Ordering::Relaxed);
                let _ = quote(n).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let stop = async {
        match std::env::var("CB_EXAMPLE_SECONDS").ok().and_then(|s| s.parse().ok()) {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    traffic.abort();
    println!("{} calls sent", sent.load(Ordering::Relaxed));
    Ok(())
}
