//! Hostile `Retry-After` values against `CircuitBreakerMiddleware` on 127.0.0.1: an
//! overlong number is a long wait (capped), `0` and past dates ask for nothing, garbage is
//! reported (event, status; stderr once), and a server never overrides an operator's
//! disabled or metrics-only breaker, even under `RetryAfter::Opens`.

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use cb_runtime::config::ConfigSource;
use cb_runtime::reqwest::{CircuitBreakerMiddleware, RetryAfter};
use cb_runtime::{Event, ManualClock, Registry, State, registry};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

const CONFIG: &str = r#"
[breakers."http/*"]
consecutive_failures = 2
failure_rate_threshold = "off"
open_timeout = "30s"
max_open_timeout = "10m"
jitter = 0.0
success_threshold = 1
"#;

fn init() {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        let source = ConfigSource::from_text(CONFIG, "circuit_breakers.toml").unwrap();
        cb_runtime::init_registry(Registry::with_clock(clock.clone()).with_config(source))
            .unwrap_or_else(|_| panic!("first use"));
        clock
    });
}

/// The status and `Retry-After` the server answers next.
type Script = Arc<Mutex<(u16, Option<HeaderValue>)>>;

async fn serve() -> (Script, u16, tokio::task::JoinHandle<()>) {
    let script: Script = Arc::new(Mutex::new((200, None)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/{*path}", get(answer)).with_state(script.clone());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (script, port, task)
}

async fn answer(AxumState(script): AxumState<Script>) -> (StatusCode, HeaderMap) {
    let (status, value) = script.lock().unwrap().clone();
    let mut headers = HeaderMap::new();
    if let Some(value) = value {
        headers.insert("retry-after", value);
    }
    (StatusCode::from_u16(status).unwrap(), headers)
}

fn client(middleware: CircuitBreakerMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new()).with(middleware).build()
}

fn by_path(req: &reqwest::Request) -> String {
    req.url().path().trim_start_matches('/').to_owned()
}

#[tokio::test]
async fn hostile_retry_after_values_cap_report_or_leave_the_open_wait() {
    init();
    let (script, port, task) = serve().await;
    let middleware = CircuitBreakerMiddleware::new().key(by_path);
    let client = client(middleware.clone());
    let url = |path: &str| format!("http://127.0.0.1:{port}/{path}");
    let mut events = registry().subscribe();

    let trip = |path: &'static str, value: &'static [u8]| {
        let client = client.clone();
        let script = script.clone();
        let url = url(path);
        async move {
            *script.lock().unwrap() = (503, Some(HeaderValue::from_bytes(value).unwrap()));
            for _ in 0..2 {
                assert_eq!(client.get(&url).send().await.unwrap().status(), 503);
            }
            let breaker = registry().get(&format!("http/{path}")).unwrap();
            assert_eq!(breaker.state(), State::Open, "{path}");
            breaker.snapshot().open_for
        }
    };

    // More seconds than a u64 holds: a very long wait, capped at max_open_timeout (10m).
    assert_eq!(
        trip("huge", b"99999999999999999999999999").await,
        Some(Duration::from_secs(600))
    );
    // `0` and a date in the past ask for no wait: the configured one stays, nothing reported.
    assert_eq!(trip("zero", b"0").await, Some(Duration::from_secs(30)));
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(3600));
    let past: &'static str = past.leak();
    assert_eq!(trip("past", past.as_bytes()).await, Some(Duration::from_secs(30)));
    assert_eq!(middleware.retry_after_status().unreadable, 0);

    // Garbage: negative, fractional, signed, non-UTF-8. Each keeps the configured wait and is
    // counted; the event comes when the value changes.
    for (path, value) in [
        ("negative", &b"-5"[..]),
        ("fraction", b"1.5"),
        ("plus", b"+120"),
        ("latin1", b"\xe9t\xe9"),
    ] {
        let path: &'static str = path;
        let value: &'static [u8] = value;
        assert_eq!(trip(path, value).await, Some(Duration::from_secs(30)), "{path}");
    }
    let status = middleware.retry_after_status();
    assert_eq!(status.unreadable, 8, "two responses per value: {status:?}");
    let (name, value) = status.last.expect("the last unreadable value");
    assert_eq!(name, "http/latin1");
    assert_eq!(value, "\u{fffd}t\u{fffd}");
    let mut reported = Vec::new();
    while let Some(event) = events.try_recv() {
        if let Event::UnreadableRetryAfter { name, value } = event {
            reported.push(format!("{name}={value}"));
        }
    }
    assert_eq!(
        reported,
        [
            "http/negative=-5",
            "http/fraction=1.5",
            "http/plus=+120",
            "http/latin1=\u{fffd}t\u{fffd}"
        ]
    );
    task.abort();
}

#[tokio::test]
async fn retry_after_never_overrides_a_disabled_or_metrics_only_breaker() {
    init();
    let (script, port, task) = serve().await;
    let client = client(
        CircuitBreakerMiddleware::new()
            .key(by_path)
            .retry_after(RetryAfter::Opens),
    );
    for (path, set) in [
        ("disabled", Registry::disable as fn(&Registry, &str) -> _),
        ("metrics-only", Registry::metrics_only),
    ] {
        *script.lock().unwrap() = (200, None);
        let url = format!("http://127.0.0.1:{port}/{path}");
        client.get(&url).send().await.unwrap();
        let name = format!("http/{path}");
        set(registry(), &name).unwrap();
        let manual = registry().get(&name).unwrap().state();

        *script.lock().unwrap() = (429, Some(HeaderValue::from_static("60")));
        for _ in 0..3 {
            let response = client.get(&url).send().await.unwrap_or_else(|e| {
                panic!("a server's Retry-After made the operator's {manual:?} breaker reject: {e}")
            });
            assert_eq!(response.status(), 429);
        }
        assert_eq!(
            registry().get(&name).unwrap().state(),
            manual,
            "a server's Retry-After opened an operator's {manual:?} breaker"
        );
    }
    task.abort();
}
