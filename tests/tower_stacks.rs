//! `CircuitBreakerLayer` stacked under and over tower's own `Timeout`, `Retry`,
//! `ConcurrencyLimit`, `Buffer` and `LoadShed` in a `ServiceBuilder`, against a real HTTP server
//! on 127.0.0.1: every order compiles, trips, rejects without calling the backend, and its
//! errors convert into `tower::BoxError` with the rejection downcastable. Open waits run on a
//! manual clock; only the `Timeout` cases wait (50 ms) for real.

mod support;

use cb_runtime::tower::{CircuitBreakerLayer, HttpStatus};
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, ManualClock, Outcome, Registry, State};
use std::sync::Arc;
use std::time::Duration;
use support::backend::{Backend, Mode};
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

type Response = http::Response<String>;

/// reqwest as a tower service returning `http::Response`s.
fn http_service()
-> impl Service<String, Response = Response, Error = reqwest::Error, Future: Send> + Clone + Send + 'static {
    let client = reqwest::Client::new();
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

/// A breaker opening after two failures in a registry of its own on `clock`.
fn breaker(clock: &ManualClock, name: &str) -> Arc<CircuitBreaker> {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    registry.breaker(name, &config)
}

/// A backend answering 500 and a breaker of its own, opening after two failures.
struct Trial {
    clock: ManualClock,
    breaker: Arc<CircuitBreaker>,
    backend: Backend,
}

impl Trial {
    async fn failing(name: &str) -> Trial {
        let clock = ManualClock::new();
        let breaker = breaker(&clock, name);
        let backend = Backend::start().await;
        backend.set(Mode::Failing);
        Trial {
            clock,
            breaker,
            backend,
        }
    }
}

/// The layer under test, classifying HTTP statuses.
fn layer(breaker: &Arc<CircuitBreaker>) -> CircuitBreakerLayer<HttpStatus> {
    CircuitBreakerLayer::new(breaker.clone()).classify(HttpStatus)
}

/// Two 500s through `service`: the breaker opens.
async fn trip<S>(service: &mut S, url: &str)
where
    S: Service<String, Response = Response>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..2 {
        assert_eq!(call(service, url).await.unwrap().status(), 500);
    }
}

/// One call: readiness, then the call itself.
async fn call<S: Service<String>>(service: &mut S, url: &str) -> Result<S::Response, S::Error> {
    service.ready().await?.call(url.to_owned()).await
}

/// Whether `error`, as a `BoxError`, is this breaker's rejection (whatever the error type
/// under the breaker).
fn is_rejection(error: &BoxError) -> bool {
    error
        .downcast_ref::<CallError<reqwest::Error>>()
        .map(CallError::is_rejected)
        .or_else(|| error.downcast_ref::<CallError<BoxError>>().map(CallError::is_rejected))
        .unwrap_or(false)
}

/// Retries errors and 5xx responses, `left` more times.
#[derive(Clone)]
struct Attempts(usize);

impl<E> tower::retry::Policy<String, Response, E> for Attempts {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut String, result: &mut Result<Response, E>) -> Option<Self::Future> {
        let failed = result.as_ref().map_or(true, |r| r.status().is_server_error());
        (failed && self.0 > 0).then(|| {
            self.0 -= 1;
            std::future::ready(())
        })
    }

    fn clone_request(&mut self, req: &String) -> Option<String> {
        Some(req.clone())
    }
}

/// Retries like [`Attempts`], but never a rejection: the breaker said the backend is down.
#[derive(Clone)]
struct UnlessRejected(Attempts);

impl tower::retry::Policy<String, Response, CallError<reqwest::Error>> for UnlessRejected {
    type Future = std::future::Ready<()>;

    fn retry(
        &mut self,
        req: &mut String,
        result: &mut Result<Response, CallError<reqwest::Error>>,
    ) -> Option<Self::Future> {
        match result {
            Err(e) if e.is_rejected() => None,
            _ => self.0.retry(req, result),
        }
    }

    fn clone_request(&mut self, req: &String) -> Option<String> {
        Some(req.clone())
    }
}

#[tokio::test]
async fn timeout_over_the_breaker_sees_its_rejection_as_a_box_error() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "timeout-over");
    let backend = Backend::start().await;
    let mut service = ServiceBuilder::new()
        .timeout(Duration::from_millis(50))
        .layer(layer(&breaker))
        .service(http_service());
    let url = backend.url();
    assert_eq!(call(&mut service, &url).await.unwrap().status(), 200);
    backend.set(Mode::Slow);
    let late = call(&mut service, &url).await.unwrap_err();
    assert!(late.is::<tower::timeout::error::Elapsed>());
    assert_eq!(
        breaker.snapshot().totals.failures,
        0,
        "the timeout above the breaker drops the call: a cancelled call counts nothing"
    );
    backend.set(Mode::Failing);
    trip(&mut service, &url).await;
    assert_eq!(breaker.state(), State::Open);
    let hits = backend.hits();
    let rejected = call(&mut service, &url).await.unwrap_err();
    assert!(is_rejection(&rejected), "{rejected}");
    assert_eq!(backend.hits(), hits, "the backend was not called");
}

#[tokio::test]
async fn the_breaker_over_timeout_counts_timeouts_as_failures() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "timeout-under");
    let backend = Backend::start().await;
    let mut service = ServiceBuilder::new()
        .layer(layer(&breaker))
        .timeout(Duration::from_millis(50))
        .service(http_service());
    let url = backend.url();
    backend.set(Mode::Slow);
    for _ in 0..2 {
        match call(&mut service, &url).await {
            Err(CallError::Inner(e)) => assert!(e.is::<tower::timeout::error::Elapsed>()),
            other => panic!("expected the timeout, got {:?}", other.map(|r| r.status())),
        }
    }
    assert_eq!(breaker.state(), State::Open);
    let hits = backend.hits();
    let rejected: CallError<BoxError> = call(&mut service, &url).await.unwrap_err();
    let boxed: BoxError = rejected.into();
    assert!(is_rejection(&boxed));
    assert_eq!(backend.hits(), hits);

    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    assert_eq!(call(&mut service, &url).await.unwrap().status(), 200);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn retry_over_the_breaker_stops_retrying_once_it_opens() {
    let Trial { breaker, backend, .. } = Trial::failing("retry-over").await;
    let mut service = ServiceBuilder::new()
        .retry(UnlessRejected(Attempts(5)))
        .layer(layer(&breaker))
        .service(http_service());
    let rejected = call(&mut service, &backend.url()).await.unwrap_err();
    assert!(
        rejected.is_rejected(),
        "the third attempt met the open breaker: {rejected}"
    );
    assert_eq!(
        backend.hits(),
        2,
        "two attempts reached the backend, then the breaker opened"
    );
    assert_eq!(breaker.snapshot().totals.rejected, 1, "a rejection is not retried");

    let mut naive = ServiceBuilder::new()
        .retry(Attempts(3))
        .layer(layer(&breaker))
        .service(http_service());
    assert!(call(&mut naive, &backend.url()).await.unwrap_err().is_rejected());
    assert_eq!(
        (backend.hits(), breaker.snapshot().totals.rejected),
        (2, 5),
        "a policy retrying every error retries rejections too, and never reaches the backend"
    );
}

#[tokio::test]
async fn the_breaker_over_retry_counts_a_retried_call_once() {
    let Trial { breaker, backend, .. } = Trial::failing("retry-under").await;
    let mut service = ServiceBuilder::new()
        .layer(layer(&breaker))
        .retry(Attempts(2))
        .service(http_service());
    let url = backend.url();
    assert_eq!(call(&mut service, &url).await.unwrap().status(), 500);
    assert_eq!((backend.hits(), breaker.snapshot().totals.failures), (3, 1));
    assert_eq!(call(&mut service, &url).await.unwrap().status(), 500);
    assert_eq!(breaker.state(), State::Open);
    assert!(call(&mut service, &url).await.unwrap_err().is_rejected());
    assert_eq!(backend.hits(), 6);
}

#[tokio::test]
async fn concurrency_limit_over_the_breaker_frees_its_slot_on_rejections() {
    let Trial {
        clock,
        breaker,
        backend,
    } = Trial::failing("limit-over").await;
    let mut service = ServiceBuilder::new()
        .concurrency_limit(1)
        .layer(layer(&breaker))
        .service(http_service());
    let url = backend.url();
    trip(&mut service, &url).await;
    for _ in 0..3 {
        assert!(call(&mut service, &url).await.unwrap_err().is_rejected());
    }
    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    let ok = tokio::time::timeout(Duration::from_secs(5), call(&mut service, &url)).await;
    assert_eq!(
        ok.expect("the limit's only slot is free").unwrap().status(),
        200,
        "rejections gave their concurrency slot back"
    );
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn the_breaker_over_concurrency_limit_rejects_before_taking_a_slot() {
    let Trial {
        clock,
        breaker,
        backend,
    } = Trial::failing("limit-under").await;
    let mut service = ServiceBuilder::new()
        .layer(layer(&breaker))
        .concurrency_limit(1)
        .service(http_service());
    let url = backend.url();
    trip(&mut service, &url).await;
    let hits = backend.hits();
    for _ in 0..3 {
        assert!(call(&mut service, &url).await.unwrap_err().is_rejected());
    }
    assert_eq!(backend.hits(), hits);
    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    assert_eq!(call(&mut service, &url).await.unwrap().status(), 200);
}

#[tokio::test]
async fn buffer_over_the_breaker_survives_rejections() {
    let Trial {
        clock,
        breaker,
        backend,
    } = Trial::failing("buffer-over").await;
    let mut service = ServiceBuilder::new()
        .buffer(4)
        .layer(layer(&breaker))
        .service(http_service());
    let url = backend.url();
    trip(&mut service, &url).await;
    for _ in 0..3 {
        let rejected = call(&mut service, &url).await.unwrap_err();
        assert!(is_rejection(&rejected), "{rejected}");
    }
    backend.set(Mode::Healthy);
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        call(&mut service, &url).await.unwrap().status(),
        200,
        "a rejection is the call's answer, not a failed service: the buffer's worker lives on"
    );
}

#[tokio::test]
async fn the_breaker_over_buffer_wraps_its_box_errors() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "buffer-under");
    let mut backend = Backend::start().await;
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .buffer(4)
        .service(http_service());
    let url = backend.url();
    backend.stop().await;
    for _ in 0..2 {
        match call(&mut service, &url).await {
            Err(CallError::Inner(e)) => assert!(e.is::<reqwest::Error>(), "{e}"),
            other => panic!("expected the refused connection, got {:?}", other.map(|r| r.status())),
        }
    }
    assert_eq!(breaker.state(), State::Open);
    let rejected: BoxError = call(&mut service, &url).await.unwrap_err().into();
    assert!(is_rejection(&rejected));
    backend.restart().await;
    clock.advance(Duration::from_secs(31));
    assert_eq!(call(&mut service, &url).await.unwrap().status(), 200);
}

#[tokio::test]
async fn load_shed_over_the_breaker_passes_its_rejection_on() {
    let Trial { breaker, backend, .. } = Trial::failing("shed-over").await;
    let mut service = ServiceBuilder::new()
        .load_shed()
        .layer(layer(&breaker))
        .service(http_service());
    let url = backend.url();
    trip(&mut service, &url).await;
    let rejected = call(&mut service, &url).await.unwrap_err();
    assert!(is_rejection(&rejected), "{rejected}");
    assert!(!rejected.is::<tower::load_shed::error::Overloaded>());
}

/// A shed call is this instance's overload, not the backend's failure.
fn ignore_shed(r: &Result<Response, BoxError>) -> Outcome {
    match r {
        Err(e) if e.is::<tower::load_shed::error::Overloaded>() => Outcome::Ignored,
        Err(_) => Outcome::Failure,
        Ok(r) if r.status().is_server_error() => Outcome::Failure,
        Ok(_) => Outcome::Success,
    }
}

#[tokio::test]
async fn the_breaker_over_load_shed_can_ignore_shed_calls() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "shed-under");
    let backend = Backend::start().await;
    let service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()).classify(ignore_shed))
        .load_shed()
        .concurrency_limit(1)
        .service(http_service());
    let url = backend.url();
    backend.set(Mode::Slow);
    let mut busy = service.clone();
    let in_flight = tokio::spawn({
        let url = url.clone();
        async move { call(&mut busy, &url).await.map(|r| r.status()) }
    });
    while backend.hits() == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..3 {
        match call(&mut service.clone(), &url).await {
            Err(CallError::Inner(e)) => assert!(e.is::<tower::load_shed::error::Overloaded>(), "{e}"),
            other => panic!("expected a shed call, got {:?}", other.map(|r| r.status())),
        }
    }
    let s = breaker.snapshot();
    assert_eq!((s.state, s.totals.ignored, s.totals.failures), (State::Closed, 3, 0));
    assert_eq!(in_flight.await.unwrap().unwrap(), 200);
}
