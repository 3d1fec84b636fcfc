//! Declarative fallbacks through the macro: `fallback = default`, `fallback_value = ..` and
//! chains, against the real HTTP backend and PostgreSQL, with what answered in
//! `fallback::last_served`, the stages in trace events, and the `type` label of the metrics.

mod support;

use cb_runtime::fallback::{FallbackKind, last_served};
use cb_runtime::{CallError, ManualClock, Registry, Rejected, circuit_breaker, init_registry, registry};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use support::backend::{Backend, Mode};
use support::recorder::Recorder;
use tracing_subscriber::layer::SubscriberExt;

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, PartialEq)]
enum Failed {
    Status(u16),
    Transport,
    Breaker,
    Replica,
}

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed::Breaker
    }
}

fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        let _ = init_registry(Registry::with_clock(clock.clone()));
        clock
    })
}

async fn get(http: &reqwest::Client, url: &str) -> Result<String, Failed> {
    let response = http.get(url).send().await.map_err(|_| Failed::Transport)?;
    if !response.status().is_success() {
        return Err(Failed::Status(response.status().as_u16()));
    }
    response.text().await.map_err(|_| Failed::Transport)
}

struct Feed {
    http: reqwest::Client,
    url: String,
    replica: sqlx::PgPool,
    replica_up: bool,
    replica_calls: AtomicU32,
}

impl Feed {
    /// The cache first, then the replica in PostgreSQL, then an empty list.
    #[circuit_breaker(
        name = "fs-feed",
        consecutive_failures = 2,
        open_timeout = "1h",
        fallback = [cache, Self::replica, default]
    )]
    async fn items(&self, user: u32) -> Result<Vec<String>, Failed> {
        get(&self.http, &format!("{}?user={user}", self.url))
            .await
            .map(|text| vec![text])
    }

    async fn replica(&self, user: u32, cause: CallError<Failed>) -> Result<Vec<String>, Failed> {
        self.replica_calls.fetch_add(1, Ordering::Relaxed);
        assert!(
            !matches!(cause, CallError::Inner(Failed::Replica)),
            "the first function stage gets the call's cause"
        );
        if !self.replica_up {
            return Err(Failed::Replica);
        }
        let row: String = sqlx::query_scalar("SELECT 'replica of ' || $1::int4::text")
            .bind(user as i32)
            .fetch_one(&self.replica)
            .await
            .map_err(|_| Failed::Replica)?;
        Ok(vec![row])
    }
}

async fn feed(url: String, replica_up: bool) -> Feed {
    let replica = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(POSTGRES_URL)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL does not answer at {POSTGRES_URL}: {e}"));
    Feed {
        http: reqwest::Client::new(),
        url,
        replica,
        replica_up,
        replica_calls: AtomicU32::new(0),
    }
}

#[tokio::test]
async fn a_chain_tries_its_stages_in_order_and_a_failing_stage_passes_on() {
    clock();
    let backend = Backend::start().await;
    let up = feed(backend.url(), true).await;
    assert_eq!(up.items(1).await, Ok(vec!["fresh alerts".to_owned()]));
    backend.set(Mode::Failing);

    assert_eq!(
        up.items(1).await,
        Ok(vec!["fresh alerts".to_owned()]),
        "the cache first"
    );
    let served = last_served().unwrap();
    assert_eq!((served.kind, served.stage), (FallbackKind::Cache, 0));
    assert_eq!(up.replica_calls.load(Ordering::Relaxed), 0);

    assert_eq!(
        up.items(2).await,
        Ok(vec!["replica of 2".to_owned()]),
        "a miss: the replica"
    );
    let served = last_served().unwrap();
    assert_eq!(
        (served.kind, served.stage, served.age),
        (FallbackKind::Function, 1, None)
    );

    let down = feed(backend.url(), false).await;
    assert_eq!(
        down.items(3).await,
        Ok(vec![]),
        "the replica failed too: the empty response"
    );
    assert_eq!(last_served().unwrap().kind, FallbackKind::Empty);
    assert_eq!(down.replica_calls.load(Ordering::Relaxed), 1);

    let totals = registry().get("fs-feed").unwrap().snapshot().totals;
    assert_eq!(totals.fallbacks, 3);
    assert_eq!(
        totals.fallbacks_by_kind[FallbackKind::Chain as usize],
        3,
        "a chain counts as one `chain`"
    );
}

static STOCK_UP: AtomicU32 = AtomicU32::new(1);

/// A sync chain of two functions and a value; the second function receives the first one's
/// error as its cause.
#[circuit_breaker(
    name = "fs-stock",
    consecutive_failures = 1000,
    fallback = [warehouse, supplier, value(Ok(-1))]
)]
fn stock(sku: String) -> Result<i64, String> {
    match STOCK_UP.load(Ordering::Relaxed) {
        1 => Ok(sku.len() as i64),
        _ => Err(format!("{sku}: primary down")),
    }
}

fn warehouse(sku: String, cause: CallError<String>) -> Result<i64, String> {
    match (sku.as_str(), cause) {
        ("in-warehouse", _) => Ok(100),
        (_, CallError::Inner(e)) => Err(format!("{e}; warehouse has none")),
        (_, other) => Err(other.to_string()),
    }
}

fn supplier(sku: String, cause: CallError<String>) -> Result<i64, String> {
    match sku.as_str() {
        "at-supplier" => Ok(7),
        _ => Err(format!("{cause}")),
    }
}

#[test]
fn each_function_stage_gets_the_arguments_and_the_previous_error() {
    clock();
    assert_eq!(stock("abc".into()), Ok(3));
    assert_eq!(last_served(), None);
    STOCK_UP.store(0, Ordering::Relaxed);
    assert_eq!(stock("in-warehouse".into()), Ok(100));
    assert_eq!(stock("at-supplier".into()), Ok(7));
    assert_eq!(last_served().unwrap().stage, 1);
    assert_eq!(stock("nowhere".into()), Ok(-1));
    let served = last_served().unwrap();
    assert_eq!((served.kind, served.stage), (FallbackKind::Static, 2));
}

#[derive(Debug, Default, PartialEq)]
struct Page {
    items: Vec<u32>,
    next: Option<u32>,
}

static LISTINGS_UP: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "fs-listing", consecutive_failures = 1, open_timeout = "1h", fallback = default)]
async fn listing(page: u32) -> Result<Page, Failed> {
    match LISTINGS_UP.load(Ordering::Relaxed) {
        1 => Ok(Page {
            items: vec![page],
            next: None,
        }),
        _ => Err(Failed::Status(503)),
    }
}

#[circuit_breaker(name = "fs-banner", fallback = default)]
fn banner(_user: u32) -> Option<String> {
    Some("welcome".into())
}

#[circuit_breaker(name = "fs-greeting", consecutive_failures = 1, open_timeout = "1h", fallback_value = String::from("hello"))]
fn greeting(fail: bool) -> String {
    assert!(!fail, "the body does not run once the breaker is open");
    "hi".into()
}

#[tokio::test]
async fn the_empty_response_and_a_static_value() {
    clock();
    assert_eq!(listing(1).await, Ok(Page::default()), "failure: Ok(Default::default())");
    assert_eq!(listing(2).await, Ok(Page::default()), "rejection too");
    assert_eq!(last_served().unwrap().kind, FallbackKind::Empty);
    let listing_breaker = registry().get("fs-listing").unwrap();
    assert_eq!(
        listing_breaker.snapshot().totals.fallbacks_by_kind[FallbackKind::Empty as usize],
        2
    );
    let json = serde_json::to_value(listing_breaker.snapshot().totals).unwrap();
    assert_eq!(json["fallbacks_by_type"], serde_json::json!({ "empty": 2 }));

    assert_eq!(banner(1), Some("welcome".into()));
    registry().get("fs-banner").unwrap().force_open();
    assert_eq!(banner(1), None, "an Option's empty response is None");

    assert_eq!(greeting(false), "hi");
    registry().get("fs-greeting").unwrap().force_open();
    assert_eq!(greeting(true), "hello");
    let served = last_served().unwrap();
    assert_eq!(served.kind, FallbackKind::Static);
}

/// Always down, with `stock`'s chain.
#[circuit_breaker(
    name = "fs-stock-traced",
    consecutive_failures = 1000,
    fallback = [warehouse, supplier, value(Ok(-1))]
)]
fn stock_down(sku: String) -> Result<i64, String> {
    Err(format!("{sku}: primary down"))
}

#[test]
fn each_stage_tried_is_a_trace_event() {
    clock();
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, || assert_eq!(stock_down("at-supplier".into()), Ok(7)));
    let fallback_spans: Vec<String> = recorder
        .0
        .lock()
        .unwrap()
        .spans
        .iter()
        .filter(|(name, ..)| name == "fallback")
        .map(|(_, _, fields)| fields["type"].clone())
        .collect();
    assert_eq!(
        fallback_spans,
        ["chain"],
        "one span per fallback execution, with its kind"
    );
    let seen: Vec<String> = recorder
        .0
        .lock()
        .unwrap()
        .events
        .iter()
        .filter(|e| e.get("message").is_some_and(|m| m == "fallback stage"))
        .map(|e| format!("stage={} strategy={} result={}", e["stage"], e["strategy"], e["result"]))
        .collect();
    assert_eq!(
        seen,
        [
            "stage=0 strategy=warehouse result=failed",
            "stage=1 strategy=supplier result=answered"
        ]
    );
}

#[circuit_breaker(name = "fs-metrics-chain", fallback = [cache, value(Some(9))])]
fn chained(_n: u32) -> Option<u32> {
    Some(1)
}

#[circuit_breaker(name = "fs-metrics-fn", fallback = plain)]
fn with_function(_n: u32) -> Option<u32> {
    Some(1)
}

fn plain(_n: u32) -> Option<u32> {
    Some(0)
}

#[test]
fn the_metrics_carry_the_fallback_type() {
    clock();
    cb_runtime::measure_durations(true);
    chained(0);
    with_function(0);
    for name in ["fs-metrics-chain", "fs-metrics-fn"] {
        registry().get(name).unwrap().force_open();
    }
    chained(1);
    chained(2);
    with_function(1);
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register(&mut prometheus);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    for line in [
        "circuit_breaker_fallback_executions_total{name=\"fs-metrics-chain\",type=\"chain\"} 2",
        "fallback_requests_total{name=\"fs-metrics-chain\",type=\"chain\"} 2",
        "circuit_breaker_fallback_executions_total{name=\"fs-metrics-fn\",type=\"function\"} 1",
        "fallback_latency_seconds_count{name=\"fs-metrics-chain\",type=\"chain\"} 2",
        "fallback_latency_seconds_count{name=\"fs-metrics-fn\",type=\"function\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l == "circuit_breaker_fallback_cache_total{name=\"fs-metrics-chain\",result=\"miss\"} 2"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "circuit_breaker_fallback_cache_entries{name=\"fs-metrics-chain\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("circuit_breaker_fallback_cache_bytes{name=\"fs-metrics-chain\"}"),
        "{text}"
    );
}

static NARROW_UP: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "fs-narrow", consecutive_failures = 1, open_timeout = "1h", fallback = default, fallback_on = "rejected")]
fn narrow(_n: u32) -> Result<Vec<u32>, Failed> {
    match NARROW_UP.load(Ordering::Relaxed) {
        1 => Ok(vec![1]),
        _ => Err(Failed::Status(500)),
    }
}

#[test]
fn a_failure_that_no_fallback_serves_is_not_reported_as_served() {
    clock();
    assert_eq!(
        narrow(1),
        Err(Failed::Status(500)),
        "narrowed to rejections: the failure is the answer"
    );
    assert_eq!(last_served(), None);
    assert_eq!(narrow(1), Ok(vec![]), "the rejection is served");
    assert_eq!(last_served().unwrap().kind, FallbackKind::Empty);
    registry().get("fs-narrow").unwrap().reset();
    assert_eq!(narrow(1), Err(Failed::Status(500)));
    assert_eq!(last_served(), None, "written by every call, not left from the last one");
}

#[tokio::test]
async fn the_api_with_a_fallback_says_what_answered_too() {
    let b = cb_runtime::CircuitBreaker::new("fs-api-served", Default::default());
    assert_eq!(b.call_sync_with_fallback(|| Err::<u32, &str>("down"), |_| Ok(7)), Ok(7));
    let served = last_served().expect("the fallback answered");
    assert_eq!(
        (served.kind, served.stage, served.age),
        (FallbackKind::Function, 0, None)
    );
    assert_eq!(b.call_sync_with_fallback(|| Ok::<u32, &str>(1), |_| Ok(7)), Ok(1));
    assert_eq!(last_served(), None, "the call's own body answered");

    assert_eq!(
        b.call_with_fallback(async || Err::<u32, &str>("down"), |_| Ok(8)).await,
        Ok(8)
    );
    assert_eq!(last_served().map(|s| s.kind), Some(FallbackKind::Function));
    assert_eq!(
        b.call_with_fallback(async || Ok::<u32, &str>(2), |_| Ok(8)).await,
        Ok(2)
    );
    assert_eq!(last_served(), None);

    b.force_open();
    assert_eq!(
        b.call_with_fallback(async || Ok::<u32, &str>(3), |_| Ok(9)).await,
        Ok(9)
    );
    assert_eq!(
        last_served().map(|s| s.kind),
        Some(FallbackKind::Function),
        "a rejection's fallback"
    );
}

#[circuit_breaker(name = "fs-event-banner", fallback = default)]
fn event_banner(_user: u32) -> Option<String> {
    Some("welcome".into())
}

#[test]
fn a_macro_fallback_is_an_event_with_its_kind() {
    clock();
    let mut events = registry().subscribe();
    assert_eq!(event_banner(1), Some("welcome".into()));
    registry().get("fs-event-banner").unwrap().force_open();
    assert_eq!(event_banner(1), None);
    let ours: Vec<_> = events
        .drain()
        .into_iter()
        .filter(|e| matches!(e, cb_runtime::Event::Fallback { name, .. } if name == "fs-event-banner"))
        .collect();
    assert_eq!(
        ours,
        [cb_runtime::Event::Fallback {
            name: "fs-event-banner".into(),
            kind: FallbackKind::Empty
        }]
    );
}
