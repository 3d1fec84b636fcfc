//! Attack: `poll_ready` caches the breaker's answer until `call`, a rejection included. A
//! service checked for readiness while the breaker was open, and not called then (the caller's
//! request was cancelled between `ready()` and `call`, a balancer's ready cache picked another
//! endpoint, a handler returned early), keeps that rejection: `poll_ready` never asks the
//! breaker again, so the next call, made after the open wait when the breaker is half-open
//! (or even closed again), is rejected with a stale `retry_after` without reaching the
//! backend. A reserved rejection is not capacity; the README says the breaker lets a probe
//! through strictly after the open wait.

use cb_runtime::grpc::GrpcLayer;
use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, ManualClock, Registry, State};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tower::{Service, ServiceBuilder, ServiceExt};

fn breaker(clock: &ManualClock, name: &str) -> Arc<CircuitBreaker> {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .half_open_max_calls(1)
        .open_timeout(Duration::from_secs(10))
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    registry.breaker(name, &config)
}

#[tokio::test]
async fn tower_a_readiness_checked_while_open_does_not_outlive_the_open_wait() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "stale-ready-tower");
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .service_fn(|req: &'static str| async move { if req == "fail" { Err("down") } else { Ok("ok") } });
    let tripped = service.ready().await.unwrap().call("fail").await;
    assert!(matches!(tripped, Err(CallError::Inner("down"))));
    assert_eq!(breaker.state(), State::Open);

    // Readiness is checked while open; the request is not sent.
    service.ready().await.unwrap();

    clock.advance(Duration::from_secs(11));
    assert_eq!(breaker.state(), State::HalfOpen, "the open wait has passed");
    let probe = service.ready().await.unwrap().call("ok").await;
    assert!(
        matches!(probe, Ok("ok")),
        "half-open with its probe slot free, yet the call got {probe:?} (the rejection cached \
         by the earlier poll_ready)"
    );
}

#[tokio::test]
async fn grpc_a_readiness_checked_while_open_does_not_outlive_the_open_wait() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "stale-ready-grpc");
    let backend = tower::service_fn(|req: http::Request<String>| async move {
        let status = if req.uri().path() == "/fail" { "14" } else { "0" };
        Ok::<_, Infallible>(
            http::Response::builder()
                .header("grpc-status", status)
                .body(String::new())
                .unwrap(),
        )
    });
    let mut service = ServiceBuilder::new()
        .layer(GrpcLayer::new(breaker.clone()))
        .service(backend);
    let request = |path: &str| http::Request::builder().uri(path).body(String::new()).unwrap();
    let tripped = service.ready().await.unwrap().call(request("/fail")).await;
    assert!(tripped.is_ok(), "a trailers-only UNAVAILABLE answer");
    assert_eq!(breaker.state(), State::Open);

    service.ready().await.unwrap();

    clock.advance(Duration::from_secs(11));
    assert_eq!(breaker.state(), State::HalfOpen, "the open wait has passed");
    let probe = service.ready().await.unwrap().call(request("/ok")).await;
    assert!(
        probe.is_ok(),
        "half-open with its probe slot free, yet the call got {:?}",
        probe.err()
    );
}

/// Two clones in half-open: A reserves the only probe slot, B's readiness check is answered
/// with a rejection (no slot free). A's probe succeeds and closes the breaker; B's next call,
/// on a Closed breaker, is still rejected ("half_open" and all).
#[tokio::test]
async fn tower_a_clone_rejected_while_half_open_is_not_rejected_once_closed() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock, "stale-ready-clones");
    let mut a = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        .service_fn(|req: &'static str| async move { if req == "fail" { Err("down") } else { Ok("ok") } });
    let mut b = a.clone();
    assert!(a.ready().await.unwrap().call("fail").await.is_err());
    clock.advance(Duration::from_secs(11));
    assert_eq!(breaker.state(), State::HalfOpen);

    a.ready().await.unwrap(); // reserves the probe slot
    b.ready().await.unwrap(); // no slot free: a rejection, reserved
    assert!(matches!(a.call("ok").await, Ok("ok")));
    assert_eq!(breaker.state(), State::Closed, "the probe closed the breaker");

    let later = b.ready().await.unwrap().call("ok").await;
    assert!(
        matches!(later, Ok("ok")),
        "the breaker is Closed, yet B's call got {later:?}"
    );
}
