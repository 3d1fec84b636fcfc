//! `CircuitBreakerMiddleware` in a reqwest-middleware client against real axum servers on
//! 127.0.0.1: one breaker per host from the global registry (the configuration file applies),
//! 5xx/429/refused connections as failures, 4xx as answers, `Retry-After` (seconds and
//! HTTP-date) as the open wait capped at `max_open_timeout`, rejections that downcast to
//! `Rejected`. Open waits run on a manual clock.

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use cb_runtime::config::ConfigSource;
use cb_runtime::reqwest::{CircuitBreakerMiddleware, RetryAfter, rejection};
use cb_runtime::{ManualClock, Outcome, Registry, State, registry};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use std::sync::atomic::{AtomicU32, Ordering};
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

[breakers."http/capped"]
max_open_timeout = "60s"

[breakers."api/*"]
consecutive_failures = 1
failure_rate_threshold = "off"
open_timeout = "30s"
jitter = 0.0
success_threshold = 1
"#;

/// The tests share the global registry's clock: one at a time, so no test's advance lands
/// inside another's open wait.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The global registry on a manual clock, with CONFIG as its file (once per test binary).
fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        let source = ConfigSource::from_text(CONFIG, "circuit_breakers.toml").unwrap();
        cb_runtime::init_registry(Registry::with_clock(clock.clone()).with_config(source))
            .unwrap_or_else(|_| panic!("first use"));
        clock
    })
}

/// What the server answers next: a status and headers.
#[derive(Default)]
struct Script {
    answer: Mutex<(u16, Vec<(&'static str, String)>)>,
    hits: AtomicU32,
}

struct Server {
    script: Arc<Script>,
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start() -> Server {
        let script = Arc::new(Script::default());
        script.answer.lock().unwrap().0 = 200;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().route("/{*path}", get(answer)).with_state(script.clone());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { script, port, task }
    }

    fn answer(&self, status: u16, headers: &[(&'static str, String)]) {
        *self.script.answer.lock().unwrap() = (status, headers.to_vec());
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn breaker(&self) -> String {
        format!("http/127.0.0.1:{}", self.port)
    }

    fn hits(&self) -> u32 {
        self.script.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(AxumState(script): AxumState<Arc<Script>>) -> (StatusCode, HeaderMap, &'static str) {
    script.hits.fetch_add(1, Ordering::SeqCst);
    let (status, headers) = script.answer.lock().unwrap().clone();
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(name, HeaderValue::from_str(&value).unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), map, "body")
}

fn client(middleware: CircuitBreakerMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new()).with(middleware).build()
}

fn state(name: &str) -> State {
    registry()
        .get(name)
        .unwrap_or_else(|| panic!("no breaker {name}"))
        .state()
}

#[tokio::test]
async fn one_breaker_per_host_trips_on_5xx_and_refusals_and_rejects_without_calling() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let failing = Server::start().await;
    let healthy = Server::start().await;
    let client = client(CircuitBreakerMiddleware::new());

    assert_eq!(client.get(failing.url("alerts")).send().await.unwrap().status(), 200);
    failing.answer(404, &[]);
    for _ in 0..5 {
        assert_eq!(client.get(failing.url("alerts")).send().await.unwrap().status(), 404);
    }
    assert_eq!(
        state(&failing.breaker()),
        State::Closed,
        "4xx is an answer, not an outage"
    );

    failing.answer(500, &[]);
    for _ in 0..2 {
        assert_eq!(client.get(failing.url("alerts")).send().await.unwrap().status(), 500);
    }
    assert_eq!(state(&failing.breaker()), State::Open);
    let hits = failing.hits();
    let err = client.get(failing.url("alerts")).send().await.unwrap_err();
    let rejected = rejection(&err).expect("the breaker's rejection");
    assert_eq!(rejected.name.as_str(), failing.breaker());
    assert_eq!(rejected.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(failing.hits(), hits, "a rejected request never reaches the server");

    // The other host has its own breaker.
    assert_eq!(client.get(healthy.url("feed")).send().await.unwrap().status(), 200);
    assert_eq!(state(&healthy.breaker()), State::Closed);

    // The open wait passes; the probe meets a recovered server and closes.
    failing.answer(200, &[]);
    clock.advance(Duration::from_secs(31));
    assert_eq!(client.get(failing.url("alerts")).send().await.unwrap().status(), 200);
    assert_eq!(state(&failing.breaker()), State::Closed);

    // A stopped server refuses connections: failures too (a new client: no pooled connection).
    let name = healthy.breaker();
    let url = healthy.url("feed");
    drop(healthy);
    tokio::task::yield_now().await;
    let client = self::client(CircuitBreakerMiddleware::new());
    for _ in 0..2 {
        let err = client.get(&url).send().await.unwrap_err();
        assert!(rejection(&err).is_none(), "{err}");
    }
    assert_eq!(state(&name), State::Open);
}

#[tokio::test]
async fn retry_after_seconds_and_dates_set_the_open_wait_capped_at_max_open_timeout() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let server = Server::start().await;
    let by_path = |req: &reqwest::Request| req.url().path().trim_start_matches('/').to_owned();
    let client = client(CircuitBreakerMiddleware::new().key(by_path));

    // 429 with delay-seconds: the breaker trips on the second and waits 120s, not 30s.
    server.answer(429, &[("retry-after", "120".into())]);
    for _ in 0..2 {
        assert_eq!(client.get(server.url("seconds")).send().await.unwrap().status(), 429);
    }
    let open = registry().get("http/seconds").unwrap();
    assert_eq!(open.state(), State::Open);
    assert_eq!(open.snapshot().open_for, Some(Duration::from_secs(120)));

    // 503 with an HTTP-date 200s ahead (whole seconds: 199s to 200s from now).
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(200));
    server.answer(503, &[("retry-after", date)]);
    for _ in 0..2 {
        assert_eq!(client.get(server.url("date")).send().await.unwrap().status(), 503);
    }
    let dated = registry().get("http/date").unwrap();
    let wait = dated.snapshot().open_for.unwrap();
    assert!(
        wait > Duration::from_secs(190) && wait <= Duration::from_secs(200),
        "{wait:?}"
    );

    // An hour asked for, 60s allowed by `[breakers."http/capped"]`.
    server.answer(503, &[("retry-after", "3600".into())]);
    for _ in 0..2 {
        client.get(server.url("capped")).send().await.unwrap();
    }
    assert_eq!(
        registry().get("http/capped").unwrap().snapshot().open_for,
        Some(Duration::from_secs(60))
    );

    // A date in the past or garbage leaves the configured wait.
    server.answer(503, &[("retry-after", "soon".into())]);
    for _ in 0..2 {
        client.get(server.url("garbage")).send().await.unwrap();
    }
    assert_eq!(
        registry().get("http/garbage").unwrap().snapshot().open_for,
        Some(Duration::from_secs(30))
    );

    clock.advance(Duration::from_secs(121));
    assert_eq!(open.state(), State::HalfOpen);
    assert_eq!(dated.state(), State::Open);
    clock.advance(Duration::from_secs(80));
    assert_eq!(dated.state(), State::HalfOpen);
}

#[tokio::test]
async fn policies_keys_and_classification_are_configurable() {
    let _serial = SERIAL.lock().await;
    clock();
    let server = Server::start().await;
    let tenant = |req: &reqwest::Request| req.url().path().trim_start_matches('/').to_owned();

    // `Opens`: one 429 with Retry-After opens the breaker at once, below any threshold.
    let eager = client(
        CircuitBreakerMiddleware::new()
            .family("eager")
            .unwrap()
            .key(tenant)
            .retry_after(RetryAfter::Opens),
    );
    server.answer(429, &[("retry-after", "45".into())]);
    eager.get(server.url("acme")).send().await.unwrap();
    let acme = registry().get("eager/acme").unwrap();
    assert_eq!(acme.state(), State::Open);
    assert_eq!(acme.snapshot().open_for, Some(Duration::from_secs(45)));
    // The transition says why: the backend's Retry-After, not an operator.
    assert_eq!(
        acme.snapshot().tripped_by,
        Some(cb_runtime::Reason::RetryAfter {
            wait: Duration::from_secs(45)
        })
    );

    // `Ignore`: the header is not read; the family's config (one failure) decides the wait.
    let plain = client(
        CircuitBreakerMiddleware::new()
            .family("api")
            .unwrap()
            .key(tenant)
            .retry_after(RetryAfter::Ignore),
    );
    plain.get(server.url("globex")).send().await.unwrap();
    let globex = registry().get("api/globex").unwrap();
    assert_eq!(globex.snapshot().open_for, Some(Duration::from_secs(30)));

    // A classifier of one's own: 404 counts as a failure here.
    let strict = client(
        CircuitBreakerMiddleware::new()
            .family("api")
            .unwrap()
            .key(tenant)
            .classify(|r: &Result<reqwest::Response, reqwest_middleware::Error>| match r {
                Ok(resp) if resp.status() == 404 => Outcome::Failure,
                other => cb_runtime::reqwest::default_outcome(other),
            }),
    );
    server.answer(404, &[]);
    strict.get(server.url("initech")).send().await.unwrap();
    assert_eq!(registry().get("api/initech").unwrap().state(), State::Open);

    assert!(CircuitBreakerMiddleware::new().family("a/b").is_err());
    assert!(CircuitBreakerMiddleware::new().family("").is_err());
}
