//! A reqwest client protected with `#[circuit_breaker]` against a real HTTP server: it trips on
//! failures, timeouts and refused connections, rejects without calling, falls back, probes
//! and recovers (open waits on a manual clock).

mod support;

use cb_runtime::{CallError, ManualClock, Registry, Rejected, State, Timeout, circuit_breaker, registry};
use std::time::Duration;
use support::backend::{Backend, Mode};

#[derive(Debug)]
enum AlertsError {
    Http(#[allow(dead_code)] reqwest::Error),
    Status(#[allow(dead_code)] u16),
    Breaker,
}

impl From<Rejected> for AlertsError {
    fn from(_: Rejected) -> Self {
        AlertsError::Breaker
    }
}

impl From<Timeout> for AlertsError {
    fn from(_: Timeout) -> Self {
        AlertsError::Breaker
    }
}

struct AlertsClient {
    http: reqwest::Client,
    url: String,
}

impl AlertsClient {
    #[circuit_breaker(name = "http-alerts", consecutive_failures = 3, open_timeout = "30s", jitter = 0.0,
        success_threshold = 1, timeout = "200ms", fallback = cached)]
    async fn fetch(&self) -> Result<String, AlertsError> {
        let response = self.http.get(&self.url).send().await.map_err(AlertsError::Http)?;
        if response.status().is_server_error() {
            return Err(AlertsError::Status(response.status().as_u16()));
        }
        response.text().await.map_err(AlertsError::Http)
    }

    fn cached(&self, cause: CallError<AlertsError>) -> Result<String, AlertsError> {
        let why = match cause {
            CallError::Rejected(_) => "open",
            CallError::Timeout(_) => "timeout",
            CallError::Inner(AlertsError::Status(_)) => "5xx",
            CallError::Inner(_) => "error",
            _ => "other",
        };
        Ok(format!("cached ({why})"))
    }
}

#[tokio::test]
async fn a_macro_protected_reqwest_client_trips_rejects_falls_back_probes_and_recovers() {
    let clock = ManualClock::new();
    cb_runtime::init_registry(Registry::with_clock(clock.clone())).unwrap_or_else(|_| panic!("first use"));
    let mut backend = Backend::start().await;
    let client = AlertsClient {
        http: reqwest::Client::new(),
        url: backend.url(),
    };
    let state = || registry().get("http-alerts").unwrap().state();

    assert_eq!(client.fetch().await.unwrap(), "fresh alerts");

    backend.set(Mode::Failing);
    for _ in 0..3 {
        assert_eq!(client.fetch().await.unwrap(), "cached (5xx)");
    }
    assert_eq!(state(), State::Open);
    let hits = backend.hits();
    assert_eq!(client.fetch().await.unwrap(), "cached (open)");
    assert_eq!(backend.hits(), hits, "rejected without calling the backend");

    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    assert_eq!(client.fetch().await.unwrap(), "fresh alerts", "the probe goes through");
    assert_eq!(state(), State::Closed);

    backend.set(Mode::Slow);
    for _ in 0..3 {
        assert_eq!(client.fetch().await.unwrap(), "cached (timeout)");
    }
    assert_eq!(state(), State::Open);

    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(61));
    assert_eq!(client.fetch().await.unwrap(), "fresh alerts");

    backend.stop().await;
    for _ in 0..3 {
        assert_eq!(client.fetch().await.unwrap(), "cached (error)", "connection refused");
    }
    assert_eq!(state(), State::Open);
    assert_eq!(client.fetch().await.unwrap(), "cached (open)");

    backend.restart().await;
    clock.advance(Duration::from_secs(31));
    assert_eq!(client.fetch().await.unwrap(), "fresh alerts");
    assert_eq!(state(), State::Closed);
    let s = registry().snapshot("http-alerts").unwrap();
    assert_eq!((s.totals.timeouts, s.totals.rejected), (3, 2));
}
