//! The attribute on methods and the derive: a protected client trips, rejects, falls back,
//! probes and recovers on a manual clock; keyed instances are isolated; cancelled and
//! panicking calls are accounted for.

use async_trait::async_trait;
use cb_runtime::{CallError, CircuitProtected, ManualClock, Registry, Rejected, State, circuit_breaker};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Tests of this binary share the global registry's manual clock: they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        cb_runtime::init_registry(Registry::with_clock(clock.clone()))
            .expect("this test binary installs the registry first");
        clock
    })
}

#[derive(Debug, Clone, PartialEq)]
enum AlertError {
    Upstream(u16),
    Breaker,
}

impl From<Rejected> for AlertError {
    fn from(_: Rejected) -> Self {
        AlertError::Breaker
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "methods-sentinel",
    consecutive_failures = 3,
    open_timeout = "30s",
    jitter = 0.0
)]
#[circuit_breaker(success_threshold = 2, half_open_max_calls = 1)]
struct SentinelClient {
    up: AtomicBool,
    calls: AtomicU32,
    cache: Vec<String>,
}

impl SentinelClient {
    fn new() -> Self {
        SentinelClient {
            up: AtomicBool::new(true),
            calls: AtomicU32::new(0),
            cache: vec!["cached alert".into()],
        }
    }

    /// Fetches alerts; callers do not change.
    #[circuit_breaker(fallback = cached_alerts)]
    async fn fetch_alerts(&self, since: Option<u64>) -> Result<Vec<String>, AlertError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        tokio::task::yield_now().await;
        if self.up.load(Ordering::Relaxed) {
            Ok(vec![format!("alert since {since:?}")])
        } else {
            Err(AlertError::Upstream(503))
        }
    }

    fn cached_alerts(&self, _since: Option<u64>, cause: CallError<AlertError>) -> Result<Vec<String>, AlertError> {
        let mut alerts = self.cache.clone();
        alerts.push(format!("because {cause:?}").chars().take(20).collect());
        Ok(alerts)
    }
}

#[tokio::test]
async fn a_protected_method_trips_rejects_falls_back_probes_and_recovers() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let client = SentinelClient::new();
    assert_eq!(
        client.fetch_alerts(Some(1)).await,
        Ok(vec!["alert since Some(1)".to_string()])
    );
    client.up.store(false, Ordering::Relaxed);
    for _ in 0..3 {
        let served = client.fetch_alerts(None).await.unwrap();
        assert_eq!(served[0], "cached alert", "a failure is served from the fallback");
    }
    assert_eq!(client.circuit_state(), State::Open);
    let calls = client.calls.load(Ordering::Relaxed);
    let served = client.fetch_alerts(None).await.unwrap();
    assert_eq!(served[0], "cached alert");
    assert!(served[1].starts_with("because Rejected"), "{served:?}");
    assert_eq!(client.calls.load(Ordering::Relaxed), calls, "rejected without running");

    clock.advance(Duration::from_secs(31));
    client.up.store(true, Ordering::Relaxed);
    assert!(
        client.fetch_alerts(Some(2)).await.unwrap()[0].starts_with("alert"),
        "the probe runs"
    );
    assert_eq!(client.circuit_state(), State::HalfOpen);
    assert!(client.fetch_alerts(Some(3)).await.unwrap()[0].starts_with("alert"));
    assert_eq!(
        client.circuit_state(),
        State::Closed,
        "success_threshold = 2 from the second struct attribute"
    );
    let s = client.circuit_snapshot();
    assert_eq!((s.totals.failures, s.totals.rejected, s.totals.fallbacks), (3, 1, 4));
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "methods-webhook", consecutive_failures = 2, open_timeout = "60s")]
struct WebhookClient {
    #[circuit_breaker(key)]
    session_type_id: String,
    healthy: bool,
}

#[derive(Debug, PartialEq)]
struct DeliveryError;

impl From<Rejected> for DeliveryError {
    fn from(_: Rejected) -> Self {
        DeliveryError
    }
}

impl WebhookClient {
    #[circuit_breaker]
    fn deliver(&mut self, payload: &str) -> Result<usize, DeliveryError> {
        if self.healthy {
            Ok(payload.len())
        } else {
            Err(DeliveryError)
        }
    }
}

#[test]
fn keyed_instances_have_isolated_breakers() {
    let _serial = SERIAL.blocking_lock();
    clock();
    let mut billing = WebhookClient {
        session_type_id: "billing".into(),
        healthy: false,
    };
    let mut chat = WebhookClient {
        session_type_id: "chat".into(),
        healthy: true,
    };
    for _ in 0..2 {
        assert_eq!(billing.deliver("x"), Err(DeliveryError));
    }
    assert_eq!(billing.circuit_breaker_name(), "methods-webhook/billing");
    assert_eq!(billing.circuit_state(), State::Open);
    assert_eq!(chat.deliver("hello"), Ok(5));
    assert_eq!(
        chat.circuit_state(),
        State::Closed,
        "key A failing does not affect key B"
    );
    let names: Vec<_> = cb_runtime::registry()
        .list("methods-webhook/*")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["methods-webhook/billing", "methods-webhook/chat"]);
}

#[async_trait]
trait Notifier {
    async fn notify(&self, user: u64) -> Result<(), DeliveryError>;
}

struct Push;

#[async_trait]
impl Notifier for Push {
    #[circuit_breaker(name = "methods-async-trait", consecutive_failures = 1)]
    async fn notify(&self, user: u64) -> Result<(), DeliveryError> {
        if user == 0 { Err(DeliveryError) } else { Ok(()) }
    }
}

trait Scorer {
    async fn score(&self, input: u32) -> Result<u32, DeliveryError>;
}

struct Model;

impl Scorer for Model {
    #[circuit_breaker(name = "methods-native-trait", consecutive_failures = 1)]
    async fn score(&self, input: u32) -> Result<u32, DeliveryError> {
        if input == 0 { Err(DeliveryError) } else { Ok(input + 1) }
    }
}

#[tokio::test]
async fn trait_impls_native_and_async_trait() {
    let _serial = SERIAL.lock().await;
    clock();
    assert_eq!(Push.notify(1).await, Ok(()));
    let boxed: Box<dyn Notifier + Send + Sync> = Box::new(Push);
    let handle = tokio::spawn(async move { boxed.notify(0).await });
    assert_eq!(handle.await.unwrap(), Err(DeliveryError));
    assert_eq!(
        cb_runtime::registry().get("methods-async-trait").unwrap().state(),
        State::Open
    );
    assert_eq!(Model.score(1).await, Ok(2));
    assert_eq!(Model.score(0).await, Err(DeliveryError));
    assert_eq!(Model.score(1).await, Err(DeliveryError), "rejected");
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "methods-probe", consecutive_failures = 1, open_timeout = "10s", jitter = 0.0)]
#[circuit_breaker(half_open_max_calls = 1, success_threshold = 1)]
struct Prober;

impl Prober {
    #[circuit_breaker]
    async fn call(&self, hang: bool, fail: bool) -> Result<(), DeliveryError> {
        if hang {
            std::future::pending::<()>().await;
        }
        assert!(!fail, "client bug");
        Ok(())
    }
}

#[tokio::test]
async fn a_cancelled_probe_frees_its_slot_and_a_panicking_one_reopens() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let prober = Prober;
    let caught = tokio::spawn(async { Prober.call(false, true).await }).await;
    assert!(caught.unwrap_err().is_panic(), "the panic reaches the caller");
    assert_eq!(prober.circuit_state(), State::Open, "the panic counted as a failure");

    clock.advance(Duration::from_secs(11));
    let cancelled = tokio::time::timeout(Duration::from_millis(20), prober.call(true, false)).await;
    assert!(cancelled.is_err());
    let s = prober.circuit_snapshot();
    assert_eq!(
        (s.state, s.half_open_in_flight),
        (State::HalfOpen, 0),
        "the cancelled probe handed its slot back"
    );

    let caught = tokio::spawn(async { Prober.call(false, true).await }).await;
    assert!(caught.unwrap_err().is_panic());
    assert_eq!(prober.circuit_state(), State::Open, "a panicking probe re-opens");
    clock.advance(Duration::from_secs(21));
    assert_eq!(prober.call(false, false).await, Ok(()));
    assert_eq!(prober.circuit_state(), State::Closed);
}
