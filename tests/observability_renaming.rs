//! Switching the span naming (`observe::set_span_names`) while calls are in flight: a call
//! started under one naming keeps it for its whole span tree (children and recorded fields),
//! whatever the naming is when it records its outcome or runs its fallback.

mod support;

use cb_runtime::observe::{self, SpanNames};
use cb_runtime::{BreakerConfig, CircuitBreaker};
use support::recorder::Recorder;
use tracing_subscriber::prelude::*;

#[test]
fn a_call_keeps_the_naming_it_started_with() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    observe::set_span_names(SpanNames::Classic);
    tracing::subscriber::with_default(subscriber, || {
        // Interest cached while another test registered a callsite with no subscriber
        // around (a race in tracing-core) would hide this test's spans: recompute it.
        tracing::callsite::rebuild_interest_cache();
        let b = CircuitBreaker::new("renamed_mid_call", BreakerConfig::default());
        let _ = b.call_sync_with_fallback(
            || {
                observe::set_span_names(SpanNames::OpenTelemetry);
                Err::<u8, _>(())
            },
            |_| Ok(0),
        );
        let _ = b.call_sync_with_fallback(
            || {
                observe::set_span_names(SpanNames::Classic);
                Err::<u8, _>(())
            },
            |_| Ok(0),
        );
    });
    observe::set_span_names(SpanNames::Classic);
    let seen = recorder.0.lock().unwrap();
    let tree: Vec<(&str, Option<&str>)> = seen
        .spans
        .iter()
        .map(|(name, parent, _)| (name.as_str(), parent.as_deref()))
        .collect();
    assert_eq!(
        tree,
        [
            ("primary", Some("circuit_breaker_call")),
            ("fallback", Some("circuit_breaker_call")),
            ("circuit_breaker_call", None),
            ("primary_request", Some("circuit_breaker_check")),
            ("fallback_execution", Some("circuit_breaker_check")),
            ("circuit_breaker_check", None),
        ],
        "{seen:#?}"
    );
    let classic = &seen.spans[2].2;
    assert_eq!(
        classic.get("outcome").map(String::as_str),
        Some("failure"),
        "{classic:?}"
    );
    assert_eq!(classic.get("fallback").map(String::as_str), Some("true"), "{classic:?}");
    let otel = &seen.spans[5].2;
    assert_eq!(
        otel.get("circuit_breaker.outcome").map(String::as_str),
        Some("failure"),
        "{otel:?}"
    );
    assert_eq!(
        otel.get("otel.status_code").map(String::as_str),
        Some("ERROR"),
        "{otel:?}"
    );
    assert_eq!(
        otel.get("circuit_breaker.fallback").map(String::as_str),
        Some("true"),
        "{otel:?}"
    );
}
