//! Structured log events with the field names of the specification (seed 004): transitions
//! (`from_state`, `to_state`, `reason`), fallbacks (`service_name`, `reason`, `data_source`)
//! and failure threshold breaches (`failure_count`, `threshold`), captured field by field.

use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, Rejected, Timeout, Window, circuit_breaker};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Every event's fields, as text.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber> Layer<S> for Events {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
}

impl Events {
    /// The events that have `key`, with only the fields in `keys`.
    fn with(&self, key: &str, keys: &[&str]) -> Vec<Vec<(String, String)>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.contains_key(key))
            .map(|e| {
                keys.iter()
                    .map(|k| (k.to_string(), e.get(*k).cloned().unwrap_or_default()))
                    .collect()
            })
            .collect()
    }
}

fn row(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn transitions_and_breaches_carry_the_specified_fields() {
    let events = Events::default();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(events.clone()), || {
        // Interest cached while another test registered a callsite with no subscriber
        // around (a race in tracing-core) would hide this test's spans: recompute it.
        tracing::callsite::rebuild_interest_cache();
        let consecutive = CircuitBreaker::new(
            "logs-consecutive",
            BreakerConfig::builder().consecutive_failures(3).build().unwrap(),
        );
        for _ in 0..3 {
            let _ = consecutive.call_sync(|| Err::<(), _>("e"));
        }
        let rate = CircuitBreaker::new(
            "logs-rate",
            BreakerConfig::builder()
                .failure_rate_threshold(0.5)
                .window(Window::Count(4))
                .build()
                .unwrap(),
        );
        let _ = rate.call_sync(|| Ok::<_, &str>(()));
        let _ = rate.call_sync(|| Ok::<_, &str>(()));
        let _ = rate.call_sync(|| Err::<(), _>("e"));
        let _ = rate.call_sync(|| Err::<(), _>("e"));
    });
    assert_eq!(
        events.with("from_state", &["breaker", "from_state", "to_state", "reason"]),
        [
            row(&[
                ("breaker", "logs-consecutive"),
                ("from_state", "closed"),
                ("to_state", "open"),
                ("reason", "3 consecutive failures")
            ]),
            row(&[
                ("breaker", "logs-rate"),
                ("from_state", "closed"),
                ("to_state", "open"),
                ("reason", "failure rate 0.50 >= 0.50 over 4 calls")
            ]),
        ]
    );
    assert_eq!(
        events.with("failure_count", &["breaker", "trigger", "failure_count", "threshold"]),
        [
            row(&[
                ("breaker", "logs-consecutive"),
                ("trigger", "consecutive_failures"),
                ("failure_count", "3"),
                ("threshold", "3")
            ]),
            row(&[
                ("breaker", "logs-rate"),
                ("trigger", "failure_rate"),
                ("failure_count", "2"),
                ("threshold", "0.5")
            ]),
        ]
    );
}

#[derive(Debug)]
enum Down {
    Rejected,
    Timeout,
    Failed,
}
impl From<Rejected> for Down {
    fn from(_: Rejected) -> Self {
        Down::Rejected
    }
}
impl From<Timeout> for Down {
    fn from(_: Timeout) -> Self {
        Down::Timeout
    }
}

fn from_cache() -> Result<u8, Down> {
    Ok(0)
}

async fn from_replica() -> Result<u8, Down> {
    Ok(0)
}

#[circuit_breaker(name = "logs-sync", consecutive_failures = 1, fallback = from_cache)]
fn sync_call() -> Result<u8, Down> {
    Err(Down::Failed)
}

#[circuit_breaker(name = "logs-async", consecutive_failures = 5, timeout = "100ms", fallback = from_replica)]
async fn slow_call() -> Result<u8, Down> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(1)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fallbacks_carry_service_name_reason_and_data_source() {
    let events = Events::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
    // Interest cached while another test registered a callsite with no subscriber
    // around (a race in tracing-core) would hide this test's spans: recompute it.
    tracing::callsite::rebuild_interest_cache();
    assert_eq!(sync_call().unwrap(), 0, "failure: served by the fallback");
    assert_eq!(sync_call().unwrap(), 0, "rejected: served by the fallback");
    assert_eq!(slow_call().await.unwrap(), 0, "timed out: served by the fallback");
    let api = CircuitBreaker::new("logs-api", Default::default());
    api.force_open();
    let served = api.call_sync_with_fallback(
        || Ok::<u8, Down>(1),
        |cause: CallError<Down>| {
            assert!(cause.is_rejected());
            Ok(0)
        },
    );
    assert_eq!(served.unwrap(), 0);
    let fallbacks = events.with("data_source", &["service_name", "reason", "data_source"]);
    assert_eq!(
        fallbacks[..3],
        [
            row(&[
                ("service_name", "logs-sync"),
                ("reason", "failure"),
                ("data_source", "from_cache")
            ]),
            row(&[
                ("service_name", "logs-sync"),
                ("reason", "rejected"),
                ("data_source", "from_cache")
            ]),
            row(&[
                ("service_name", "logs-async"),
                ("reason", "timeout"),
                ("data_source", "from_replica")
            ]),
        ]
    );
    let api = &fallbacks[3];
    assert_eq!(api[..2], row(&[("service_name", "logs-api"), ("reason", "rejected")]));
    assert!(
        api[2].1.starts_with("observability_logs::") && api[2].1.ends_with("{{closure}}"),
        "the closure's type name: {api:?}"
    );
    assert_eq!(fallbacks.len(), 4);
}
