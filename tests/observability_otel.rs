//! A real OpenTelemetry pipeline: cb's spans, with the span names of OpenTelemetry
//! specifications (`SpanNames::OpenTelemetry`), through `tracing-opentelemetry` into the SDK's
//! in-memory exporter; the exported span tree, attributes, statuses and events asserted for a
//! closed success, a failure with fallback, a rejection with fallback and a half-open probe,
//! from the API and from the macro.

use cb_runtime::observe::{self, SpanNames};
use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Rejected, circuit_breaker};
use opentelemetry::trace::{Status, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::field::Empty;
use tracing_subscriber::prelude::*;

/// Runs `scenario` under an OpenTelemetry pipeline and returns the exported spans.
fn exported(scenario: impl FnOnce()) -> Vec<SpanData> {
    observe::set_span_names(SpanNames::OpenTelemetry);
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("cb-test"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        // Interest cached while another test registered a callsite with no subscriber around
        // (a race in tracing-core) would hide this test's spans: recompute it.
        tracing::callsite::rebuild_interest_cache();
        scenario()
    });
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

/// One exported span, readably: name, parent's name, attributes, whether its status is an
/// error, and its events (name and attributes).
#[derive(Debug)]
struct Node {
    name: String,
    parent: Option<String>,
    attributes: BTreeMap<String, String>,
    error: bool,
    events: Vec<(String, BTreeMap<String, String>)>,
}

fn tree(spans: &[SpanData]) -> Vec<Node> {
    let name_of = |id| {
        spans
            .iter()
            .find(|s| s.span_context.span_id() == id)
            .map(|s| s.name.to_string())
    };
    let attributes = |kvs: &[opentelemetry::KeyValue]| {
        kvs.iter()
            .filter(|kv| !kv.key.as_str().starts_with("code.") && !kv.key.as_str().starts_with("thread."))
            .filter(|kv| !matches!(kv.key.as_str(), "target" | "level" | "busy_ns" | "idle_ns"))
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut nodes: Vec<Node> = spans
        .iter()
        .map(|s| Node {
            name: s.name.to_string(),
            parent: name_of(s.parent_span_id),
            attributes: attributes(&s.attributes),
            error: matches!(s.status, Status::Error { .. }),
            events: s
                .events
                .iter()
                .map(|e| (e.name.to_string(), attributes(&e.attributes)))
                .collect(),
        })
        .collect();
    // Spans export as they end (children first); order them by start for reading.
    let starts: Vec<_> = spans.iter().map(|s| s.start_time).collect();
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| starts[i]);
    let mut sorted = Vec::new();
    for i in order {
        sorted.push(std::mem::replace(
            &mut nodes[i],
            Node {
                name: String::new(),
                parent: None,
                attributes: BTreeMap::new(),
                error: false,
                events: Vec::new(),
            },
        ));
    }
    sorted
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn check(node: &Node, name: &str, parent: Option<&str>) {
    assert_eq!(
        (node.name.as_str(), node.parent.as_deref()),
        (name, parent),
        "{node:#?}"
    );
}

#[test]
fn api_calls_export_the_specified_span_tree() {
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .jitter(0.0)
        .success_threshold(1)
        .open_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder("inference")
        .config(config)
        .clock(clock.clone())
        .build();
    let spans = exported(|| {
        let caller = tracing::info_span!("dixie.finn.inference", circuit_breaker.state = Empty);
        caller.in_scope(|| {
            // closed success
            assert_eq!(breaker.call_sync(|| Ok::<_, ()>(1)).unwrap(), 1);
        });
        // failure with fallback: the breaker trips
        let _ = breaker.call_sync_with_fallback(|| Err::<u8, _>("down"), |_| Ok(0));
        // rejection with fallback
        let _ = breaker.call_sync_with_fallback(|| Ok::<u8, &str>(1), |_| Ok(0));
        clock.advance(Duration::from_secs(11));
        // half-open probe
        let _ = breaker.call_sync(|| Ok::<_, ()>(1));
    });
    let nodes = tree(&spans);
    let names: Vec<_> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dixie.finn.inference",
            "circuit_breaker_check",
            "primary_request",
            "circuit_breaker_check",
            "primary_request",
            "fallback_execution",
            "circuit_breaker_check",
            "fallback_execution",
            "circuit_breaker_check",
            "probe_attempt",
        ]
    );

    // The caller's span carries the breaker's state.
    assert_eq!(nodes[0].attributes["circuit_breaker.state"], "closed");

    let check_span = |n: &Node, state: &str, outcome: &str, fallback: &str| {
        let mut want = map(&[
            ("circuit_breaker.name", "inference"),
            ("circuit_breaker.state", state),
            ("circuit_breaker.outcome", outcome),
            ("circuit_breaker.fallback", fallback),
        ]);
        if outcome != "success" {
            want.insert("error.type".into(), outcome.into());
        }
        assert_eq!(n.attributes, want, "{n:#?}");
    };
    // closed success
    check(&nodes[1], "circuit_breaker_check", Some("dixie.finn.inference"));
    check_span(&nodes[1], "closed", "success", "false");
    assert!(!nodes[1].error);
    check(&nodes[2], "primary_request", Some("circuit_breaker_check"));

    // failure with fallback: error status, the threshold breach and the transition as events,
    // the fallback's log event in its span
    check_span(&nodes[3], "closed", "failure", "true");
    assert!(nodes[3].error, "otel.status_code = ERROR on a failure");
    let events: BTreeMap<_, _> = nodes[3].events.iter().cloned().collect();
    let breach = events
        .iter()
        .find(|(_, f)| f.contains_key("failure_count"))
        .expect("a threshold breach event")
        .1;
    assert_eq!(
        (breach["failure_count"].as_str(), breach["threshold"].as_str()),
        ("1", "1")
    );
    let transition = events
        .iter()
        .find(|(_, f)| f.contains_key("from_state"))
        .expect("a transition event")
        .1;
    assert_eq!(
        (
            transition["from_state"].as_str(),
            transition["to_state"].as_str(),
            transition["reason"].as_str()
        ),
        ("closed", "open", "1 consecutive failure")
    );
    check(&nodes[4], "primary_request", Some("circuit_breaker_check"));
    check(&nodes[5], "fallback_execution", Some("circuit_breaker_check"));
    let (message, fallback) = &nodes[5].events[0];
    assert_eq!(message, "fallback served");
    assert_eq!(
        (fallback["service_name"].as_str(), fallback["reason"].as_str()),
        ("inference", "failure")
    );
    assert!(fallback["data_source"].contains("{{closure}}"), "{fallback:?}");

    // rejection with fallback: no primary span
    check_span(&nodes[6], "open", "rejected", "true");
    check(&nodes[7], "fallback_execution", Some("circuit_breaker_check"));
    assert_eq!(nodes[7].events[0].1["reason"], "rejected");

    // half-open probe: the probe closes the breaker
    check_span(&nodes[8], "half_open", "success", "false");
    check(&nodes[9], "probe_attempt", Some("circuit_breaker_check"));
    let closing = nodes[8]
        .events
        .iter()
        .find(|(_, f)| f.get("to_state").map(String::as_str) == Some("closed"));
    assert!(closing.is_some(), "{:#?}", nodes[8]);
}

#[derive(Debug)]
struct Down;
impl From<Rejected> for Down {
    fn from(_: Rejected) -> Self {
        Down
    }
}

async fn cached() -> Result<u8, Down> {
    Ok(0)
}

#[circuit_breaker(name = "otel-macro", consecutive_failures = 1, fallback = cached)]
async fn flaky() -> Result<u8, Down> {
    Err(Down)
}

#[test]
fn macro_calls_export_the_same_tree() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let spans = exported(|| {
        runtime.block_on(async {
            assert_eq!(flaky().await.unwrap(), 0);
            assert_eq!(flaky().await.unwrap(), 0);
        })
    });
    let nodes = tree(&spans);
    let shape: Vec<_> = nodes.iter().map(|n| (n.name.as_str(), n.parent.as_deref())).collect();
    let parent = Some("circuit_breaker_check");
    assert_eq!(
        shape,
        [
            ("circuit_breaker_check", None),
            ("primary_request", parent),
            ("fallback_execution", parent),
            ("circuit_breaker_check", None),
            ("fallback_execution", parent),
        ]
    );
    assert_eq!(nodes[0].attributes["circuit_breaker.outcome"], "failure");
    assert_eq!(nodes[3].attributes["error.type"], "rejected");
    let reasons: Vec<_> = [&nodes[2], &nodes[4]]
        .iter()
        .map(|n| {
            let fields = &n.events[0].1;
            (
                fields["service_name"].clone(),
                fields["reason"].clone(),
                fields["data_source"].clone(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("otel-macro".into(), "failure".into(), "cached".into()),
            ("otel-macro".into(), "rejected".into(), "cached".into())
        ]
    );
}
