//! A `CircuitBreakerLayer` call is observed as a `#[circuit_breaker]` call is: the same
//! `circuit_breaker_call` spans (breaker, state, outcome, fallback) with `primary` / `probe` /
//! `fallback` children, and the same Prometheus series, against a real HTTP server on 127.0.0.1.

mod support;

use cb_runtime::tower::{CircuitBreakerLayer, HttpStatus};
use cb_runtime::{BreakerConfig, CallError, ManualClock, Registry, State};
use std::time::Duration;
use support::backend::{Backend, Mode};
use support::recorder::Recorder;
use tower::{Service, ServiceBuilder, ServiceExt};
use tracing_subscriber::prelude::*;

fn call_fields(state: &str, outcome: &str, fallback: &str) -> support::recorder::Fields {
    [
        ("breaker", "layer-observed"),
        ("state", state),
        ("outcome", outcome),
        ("fallback", fallback),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn the_layer_emits_the_spans_and_metrics_of_the_macro_path() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    // Interest cached while another test registered a callsite with no subscriber
    // around (a race in tracing-core) would hide this test's spans: recompute it.
    tracing::callsite::rebuild_interest_cache();
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    let breaker = registry.breaker("layer-observed", &config);
    let backend = Backend::start().await;
    let client = reqwest::Client::new();
    let http = tower::service_fn(move |url: String| {
        let client = client.clone();
        async move {
            let response = client.get(url).send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>(http::Response::builder().status(status).body(()).unwrap())
        }
    });
    let layer = CircuitBreakerLayer::new(breaker)
        .classify(HttpStatus)
        .fallback(|_: CallError<reqwest::Error>| Ok(http::Response::new(())));
    let mut service = ServiceBuilder::new().layer(layer).service(http);
    let url = backend.url();
    let mut call = async || service.ready().await.unwrap().call(url.clone()).await.unwrap().status();

    assert_eq!(call().await, 200);
    backend.set(Mode::Failing);
    assert_eq!(call().await, 500);
    assert_eq!(call().await, 500);
    assert_eq!(call().await, 200, "the fallback answers the rejection");
    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    assert_eq!(call().await, 200);

    let seen = recorder.0.lock().unwrap();
    let calls = seen.call_spans();
    assert_eq!(
        calls,
        [
            call_fields("closed", "success", "false"),
            call_fields("closed", "failure", "false"),
            call_fields("closed", "failure", "false"),
            call_fields("open", "rejected", "true"),
            call_fields("half_open", "success", "false"),
        ]
    );
    let children = seen.child_spans();
    let parent = Some("circuit_breaker_call");
    assert_eq!(
        children,
        [
            ("primary", parent),
            ("primary", parent),
            ("primary", parent),
            ("fallback", parent),
            ("probe", parent)
        ]
    );

    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    for line in [
        "circuit_breaker_state{name=\"layer-observed\"} 0",
        "circuit_breaker_requests_total{name=\"layer-observed\",result=\"success\"} 2",
        "circuit_breaker_requests_total{name=\"layer-observed\",result=\"failure\"} 2",
        "circuit_breaker_requests_total{name=\"layer-observed\",result=\"rejected\"} 1",
        "circuit_breaker_fallback_executions_total{name=\"layer-observed\",type=\"function\"} 1",
        "circuit_breaker_transitions_total{name=\"layer-observed\",from=\"closed\",to=\"open\"} 1",
        "circuit_breaker_transitions_total{name=\"layer-observed\",from=\"half_open\",to=\"closed\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
    assert_eq!(registry.get("layer-observed").unwrap().state(), State::Closed);
}
