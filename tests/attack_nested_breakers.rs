//! Attack: a breaker under another breaker. cb's own rejection from the inner breaker (the
//! backend was not called) reaches the outer one as an error and counts there as a *failure*
//! of the backend, so one host's open breaker trips a family-wide (or service-wide) breaker:
//! every request the inner breaker rejects in microseconds is another "failure" of the outer.
//! DESIGN: "Open: every call is rejected without running"; a rejection is not an outcome of
//! the backend, and cb can tell its own `Rejected` (`rejection(&err)`,
//! `CallError::is_rejected`) from an error of the backend.
//!
//! reqwest-middleware: a client-wide breaker (`.key(|_| "all")`) over the per-host one.
//! tower: `CircuitBreakerLayer` over `CircuitBreakerLayer` (a service-wide breaker over a
//! per-route one).

use cb_runtime::reqwest::{CircuitBreakerMiddleware, rejection};
use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, State, registry};
use std::sync::Arc;
use std::time::Duration;
use tower::{Service, ServiceBuilder, ServiceExt};

fn config(failures: u32) -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(failures)
        .open_timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

#[tokio::test]
async fn reqwest_an_inner_breakers_rejections_are_not_failures_of_the_outer_one() {
    // A port that refuses connections.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(
            CircuitBreakerMiddleware::new()
                .family("attack-nested-all")
                .unwrap()
                .key(|_| "all".to_owned())
                .config(config(3)),
        )
        .with(
            CircuitBreakerMiddleware::new()
                .family("attack-nested-host")
                .unwrap()
                .config(config(1)),
        )
        .build();
    let url = format!("http://127.0.0.1:{port}/");
    let first = client.get(&url).send().await;
    assert!(
        first.is_err() && rejection(first.as_ref().unwrap_err()).is_none(),
        "refused"
    );
    for _ in 0..4 {
        let rejected = client.get(&url).send().await.unwrap_err();
        assert!(
            rejection(&rejected).is_some(),
            "the host's breaker rejects: {rejected:?}"
        );
    }
    let outer = registry().snapshot("attack-nested-all/all").unwrap();
    assert_eq!(
        (outer.state, outer.totals.failures),
        (State::Closed, 1),
        "one refused connection reached the backend; the outer breaker counted {} failures and \
         is {:?} (every host of the client is now rejected)",
        outer.totals.failures,
        outer.state
    );
}

#[tokio::test]
async fn tower_an_inner_breakers_rejections_are_not_failures_of_the_outer_one() {
    let outer = Arc::new(CircuitBreaker::new("attack-nested-outer", config(3)));
    let inner = Arc::new(CircuitBreaker::new("attack-nested-inner", config(1)));
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(outer.clone()))
        .layer(CircuitBreakerLayer::new(inner.clone()))
        .service_fn(|_: ()| async { Err::<(), _>("down") });
    let first = service.ready().await.unwrap().call(()).await;
    assert!(matches!(first, Err(CallError::Inner(CallError::Inner("down")))));
    assert_eq!(inner.state(), State::Open);
    let second = service.ready().await.unwrap().call(()).await;
    assert!(
        matches!(second, Err(CallError::Inner(CallError::Rejected(_)))),
        "the inner breaker rejects without calling the backend"
    );
    for _ in 0..3 {
        let _ = service.ready().await.unwrap().call(()).await;
    }
    let snapshot = outer.snapshot();
    assert_eq!(
        (snapshot.state, snapshot.totals.failures),
        (State::Closed, 1),
        "one call reached the backend; the outer breaker counted {} failures and is {:?}",
        snapshot.totals.failures,
        snapshot.state
    );
}

/// The outer breaker's fallback still answers the inner one's rejection (the caller asked for
/// an answer whenever the call cannot be made), and the outer breaker counts no failure.
#[tokio::test]
async fn tower_the_outer_fallback_answers_an_inner_rejection() {
    let outer = Arc::new(CircuitBreaker::new("attack-nested-outer-fallback", config(1)));
    let inner = Arc::new(CircuitBreaker::new("attack-nested-inner-fallback", config(1)));
    inner.force_open();
    let mut service = ServiceBuilder::new()
        .layer(
            CircuitBreakerLayer::new(outer.clone()).fallback(|_: CallError<CallError<&'static str>>| {
                Ok::<_, CallError<CallError<&'static str>>>("cached")
            }),
        )
        .layer(CircuitBreakerLayer::new(inner.clone()))
        .service_fn(|_: ()| async { Ok::<_, &'static str>("fresh") });
    for _ in 0..3 {
        let answer = service.ready().await.unwrap().call(()).await;
        assert!(matches!(answer, Ok("cached")), "{answer:?}");
    }
    let snapshot = outer.snapshot();
    assert_eq!(
        (snapshot.state, snapshot.totals.failures, snapshot.totals.fallbacks),
        (State::Closed, 0, 3)
    );
}

/// Three breakers stacked: the innermost one's rejection counts in neither breaker above it.
#[tokio::test]
async fn tower_a_rejection_counts_nowhere_two_layers_up() {
    let outer = Arc::new(CircuitBreaker::new("attack-nested3-outer", config(1)));
    let middle = Arc::new(CircuitBreaker::new("attack-nested3-middle", config(1)));
    let inner = Arc::new(CircuitBreaker::new("attack-nested3-inner", config(1)));
    inner.force_open();
    let mut service = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(outer.clone()))
        .layer(CircuitBreakerLayer::new(middle.clone()))
        .layer(CircuitBreakerLayer::new(inner.clone()))
        .service_fn(|_: ()| async { Ok::<_, &'static str>("fresh") });
    for _ in 0..3 {
        let answer = service.ready().await.unwrap().call(()).await;
        assert!(
            matches!(answer, Err(CallError::Inner(CallError::Inner(CallError::Rejected(_))))),
            "{answer:?}"
        );
    }
    for breaker in [&outer, &middle] {
        let snapshot = breaker.snapshot();
        assert_eq!(
            (snapshot.state, snapshot.totals.failures),
            (State::Closed, 0),
            "{}",
            breaker.name()
        );
    }
}
