//! A tower stack protected with `CircuitBreakerLayer` against a real HTTP server: it trips on
//! 5xx and refused connections, rejects in `call` (readiness stays Ok) without calling the inner service,
//! falls back, probes and recovers (open waits on a manual clock).

mod support;

use cb_runtime::tower::{CircuitBreakerLayer, HttpStatus};
use cb_runtime::{BreakerConfig, CallError, ManualClock, Registry, State};
use std::sync::Arc;
use std::time::Duration;
use support::backend::{Backend, Mode};
use tower::{Service, ServiceBuilder, ServiceExt};

/// Response bodies, read whole.
type Body = String;

/// Two calls against a failing backend: the breakers of these tests open after two failures.
async fn trip<S>(service: &mut S, url: &str)
where
    S: Service<String, Response = http::Response<Body>, Error = CallError<reqwest::Error>>,
{
    for _ in 0..2 {
        let _ = service.ready().await.unwrap().call(url.to_owned()).await;
    }
}

/// One call through a ready service: status and body.
async fn get<S>(service: &mut S, url: &str) -> (u16, String)
where
    S: Service<String, Response = http::Response<Body>, Error = CallError<reqwest::Error>>,
{
    let response = service.ready().await.unwrap().call(url.to_owned()).await.unwrap();
    (response.status().as_u16(), response.into_body())
}

/// reqwest as a tower service returning `http::Response`s.
fn http_service(
    client: reqwest::Client,
) -> impl Service<String, Response = http::Response<Body>, Error = reqwest::Error> + Clone {
    tower::service_fn(move |url: String| {
        let client = client.clone();
        async move {
            let response = client.get(url).send().await?;
            let status = response.status();
            let body = response.text().await?;
            Ok(http::Response::builder()
                .status(status)
                .body(body)
                .expect("a valid response"))
        }
    })
}

fn breaker(clock: &ManualClock, name: &str) -> Arc<cb_runtime::CircuitBreaker> {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    registry.breaker(name, &config)
}

#[tokio::test]
async fn a_layered_service_trips_on_5xx_and_refused_connections_falls_back_and_recovers() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "layer-alerts");
    let mut backend = Backend::start().await;
    let layer = CircuitBreakerLayer::new(breaker.clone())
        .classify(HttpStatus)
        .fallback(|_cause: CallError<reqwest::Error>| Ok(http::Response::new("fallback".to_string())));
    let mut service = ServiceBuilder::new()
        .layer(layer)
        .service(http_service(reqwest::Client::new()));
    let url = backend.url();
    assert_eq!(get(&mut service, &url).await, (200, "fresh alerts".into()));
    backend.set(Mode::Failing);
    assert_eq!(
        get(&mut service, &url).await,
        (500, "boom".into()),
        "a 5xx is counted, and returned as it is"
    );
    assert_eq!(get(&mut service, &url).await, (500, "boom".into()));
    assert_eq!(breaker.state(), State::Open);
    let hits = backend.hits();
    assert_eq!(get(&mut service, &url).await, (200, "fallback".into()));
    assert_eq!(backend.hits(), hits, "the inner service was not called");

    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    assert_eq!(get(&mut service, &url).await, (200, "fresh alerts".into()));
    assert_eq!(breaker.state(), State::Closed);

    backend.stop().await;
    assert_eq!(
        get(&mut service, &url).await,
        (200, "fallback".into()),
        "connection refused: the fallback answers"
    );
    assert_eq!(get(&mut service, &url).await, (200, "fallback".into()));
    assert_eq!(breaker.state(), State::Open);

    backend.restart().await;
    clock.advance(Duration::from_secs(61));
    assert_eq!(get(&mut service, &url).await, (200, "fresh alerts".into()));
    let s = breaker.snapshot();
    assert_eq!((s.state, s.totals.rejected, s.totals.fallbacks), (State::Closed, 1, 3));
}

#[tokio::test]
async fn without_a_fallback_the_call_reports_the_rejection_and_readiness_stays_ok() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "layer-ready");
    let backend = Backend::start().await;
    backend.set(Mode::Failing);
    let layer = CircuitBreakerLayer::new(breaker.clone()).classify(HttpStatus);
    let mut service = layer_service(layer);
    trip(&mut service, &backend.url()).await;
    let hits = backend.hits();
    let ready = ServiceExt::<String>::ready(&mut service).await;
    let ready = ready.unwrap_or_else(|e| panic!("a rejection is not a readiness error: {e}"));
    match ready.call(backend.url()).await {
        Err(CallError::Rejected(r)) => assert_eq!(r.state, State::Open),
        other => panic!("expected a rejection from call, got {:?}", other.map(|_| ())),
    }
    assert_eq!(backend.hits(), hits);
    assert_eq!(breaker.snapshot().half_open_in_flight, 0);
}

fn layer_service(
    layer: CircuitBreakerLayer<HttpStatus>,
) -> impl Service<String, Response = http::Response<Body>, Error = CallError<reqwest::Error>> {
    ServiceBuilder::new()
        .layer(layer)
        .service(http_service(reqwest::Client::new()))
}

#[tokio::test]
async fn a_dropped_response_future_frees_its_half_open_slot() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "layer-cancel");
    let backend = Backend::start().await;
    backend.set(Mode::Failing);
    let mut service = layer_service(CircuitBreakerLayer::new(breaker.clone()).classify(HttpStatus));
    trip(&mut service, &backend.url()).await;
    backend.set(Mode::Slow);
    clock.advance(Duration::from_secs(31));
    let probe = ServiceExt::<String>::ready(&mut service)
        .await
        .unwrap()
        .call(backend.url());
    let gave_up = tokio::time::timeout(Duration::from_millis(50), probe).await;
    assert!(gave_up.is_err());
    assert_eq!(
        (breaker.state(), breaker.snapshot().half_open_in_flight),
        (State::HalfOpen, 0)
    );
}
