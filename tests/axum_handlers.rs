//! The ready-made axum handlers served on 127.0.0.1 and read with a real HTTP client:
//! `/circuits`, `/circuits/{name}` with the explanation of every value's source (names with
//! `/` too), `/health` as Resilience4j's indicator, and manual control only when opted in.

use cb_runtime::endpoints::Endpoints;
use cb_runtime::{BreakerConfig, ManualClock, Registry, Setting};
use serde_json::Value;
use std::time::Duration;

/// Serves `endpoints` on a free port of 127.0.0.1; the server stops with the test's runtime.
async fn serve(endpoints: Endpoints) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, endpoints.router::<()>()).await;
    });
    format!("http://{addr}")
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

async fn post(url: &str) -> (u16, String) {
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A registry of its own with `search` (configured in code), `payments` (open after a failure)
/// and the keyed `webhook/billing` (macro-style layers).
fn registry() -> &'static Registry {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .jitter(0.0)
        .build()
        .unwrap();
    registry.breaker("search", &BreakerConfig::default());
    let payments = registry.breaker("payments", &config);
    let _ = payments.call_sync(|| Err::<(), _>("down"));
    registry.breaker_with_layers("webhook/billing", &[Setting::OpenTimeout(Duration::from_secs(7))], &[]);
    registry
}

#[tokio::test]
async fn circuits_list_every_breaker_and_explain_one() {
    let base = serve(Endpoints::new(registry())).await;
    let (code, all) = get(&format!("{base}/circuits")).await;
    assert_eq!(code, 200);
    let names: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["payments", "search", "webhook/billing"]);
    assert_eq!(all[0]["state"], "open");
    assert_eq!(all[0]["totals"]["failures"], 1);
    assert_eq!(all[0]["open_for_ms"], 30_000);

    for path in ["webhook/billing", "webhook%2Fbilling"] {
        let (code, one) = get(&format!("{base}/circuits/{path}")).await;
        assert_eq!(code, 200, "{path}");
        assert_eq!(one["snapshot"]["name"], "webhook/billing");
        assert_eq!(one["snapshot"]["state"], "closed");
        assert_eq!(one["config"]["config"]["open_timeout"], "7s");
        assert_eq!(one["config"]["config"]["window"]["kind"], "time");
        let open_timeout = one["config"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == "open_timeout")
            .unwrap();
        assert_eq!(open_timeout["value"], "7s");
        assert_eq!(open_timeout["source"], "struct-level #[circuit_breaker]");
    }
    let (code, missing) = get(&format!("{base}/circuits/nope")).await;
    assert_eq!(code, 404);
    assert_eq!(missing["error"], "no circuit breaker named `nope` is registered");
    let (code, empty) = get(&format!("{base}/circuits/")).await;
    assert_eq!(code, 404);
    assert_eq!(empty["error"], "expected /circuits/{name}: the name is empty");
}

#[tokio::test]
async fn health_reports_each_circuit_as_resilience4j_does() {
    let registry = registry();
    let base = serve(Endpoints::new(registry)).await;
    let (code, health) = get(&format!("{base}/health")).await;
    assert_eq!(code, 200, "an open circuit does not fail the health check by default");
    assert_eq!(health["status"], "CIRCUIT_OPEN");
    assert_eq!(health["circuits"]["payments"]["status"], "CIRCUIT_OPEN");
    assert_eq!(health["circuits"]["search"]["status"], "UP");
    assert_eq!(health["circuits"]["webhook/billing"]["state"], "closed");

    registry.reset("payments").unwrap();
    let strict = serve(Endpoints::new(registry).health_fails_when_open()).await;
    let (code, health) = get(&format!("{strict}/health")).await;
    assert_eq!((code, health["status"].as_str()), (200, Some("UP")));
    registry.force_open("search").unwrap();
    let (code, health) = get(&format!("{strict}/health")).await;
    assert_eq!((code, health["status"].as_str()), (503, Some("CIRCUIT_OPEN")));
}

#[tokio::test]
async fn manual_control_needs_the_opt_in() {
    let registry = registry();
    let read_only = serve(Endpoints::new(registry)).await;
    let (code, _) = post(&format!("{read_only}/circuits/search/force-open")).await;
    assert_eq!(code, 405, "no control routes without with_manual_control");
    assert_eq!(registry.get("search").unwrap().state().as_str(), "closed");

    let admin = serve(Endpoints::new(registry).with_manual_control()).await;
    let (code, body) = post(&format!("{admin}/circuits/webhook/billing/force-open")).await;
    assert_eq!(code, 200, "{body}");
    let snapshot: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(snapshot["state"], "forced_open");
    assert_eq!(registry.get("webhook/billing").unwrap().state().as_str(), "forced_open");
    let (code, _) = post(&format!("{admin}/circuits/webhook/billing/reset")).await;
    assert_eq!(code, 200);
    assert_eq!(registry.get("webhook/billing").unwrap().state().as_str(), "closed");
    let (code, body) = post(&format!("{admin}/circuits/search/explode")).await;
    assert_eq!(code, 404);
    assert!(body.contains("unknown action `explode`"), "{body}");
    let (code, body) = post(&format!("{admin}/circuits/nope/reset")).await;
    assert_eq!(code, 404);
    assert!(body.contains("no circuit breaker named `nope`"), "{body}");
}
