//! The convenience wrappers: sync and async calls, fallbacks, timeouts, panics, cancellation.

mod support;

use cb_runtime::{CallError, Outcome, State};
use std::time::Duration;
use support::*;

#[test]
fn call_sync_counts_ok_and_err_and_rejects_when_open() {
    let (b, _) = breaker(consecutive(2));
    assert_eq!(b.call_sync(|| Ok::<_, &str>(1)), Ok(1));
    assert_eq!(b.call_sync(|| Err::<u8, _>("e1")), Err(CallError::Inner("e1")));
    assert_eq!(b.call_sync(|| Err::<u8, _>("e2")), Err(CallError::Inner("e2")));
    match b.call_sync(|| Ok::<_, &str>(1)) {
        Err(CallError::Rejected(r)) => assert_eq!(r.state, State::Open),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_classifier_decides_what_counts() {
    let (b, _) = breaker(consecutive(1));
    let not_found = |r: &Result<u8, u16>| match r {
        Err(404) => Outcome::Ignored,
        Err(_) => Outcome::Failure,
        Ok(_) => Outcome::Success,
    };
    let _ = b.call_sync_classified(|| Err(404), not_found);
    assert_eq!(b.state(), State::Closed);
    let _ = b.call_sync_classified(|| Err(503), not_found);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn the_sync_fallback_serves_failures_and_rejections() {
    let (b, _) = breaker(consecutive(1));
    let cached = |cause: CallError<&str>| Ok::<_, &str>(if cause.is_rejected() { "cached (open)" } else { "cached" });
    assert_eq!(b.call_sync_with_fallback(|| Err("down"), cached), Ok("cached"));
    assert_eq!(b.call_sync_with_fallback(|| Ok("fresh"), cached), Ok("cached (open)"));
    assert_eq!(b.snapshot().totals.fallbacks, 2);
}

#[test]
fn a_panic_in_a_sync_call_is_a_failure_and_keeps_unwinding() {
    let (b, _) = breaker(consecutive(1));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = b.call_sync(|| -> Result<(), ()> { panic!("boom") });
    }));
    assert!(caught.is_err());
    assert_eq!(b.state(), State::Open);
}

#[tokio::test]
async fn call_awaits_and_counts() {
    let (b, _) = breaker(consecutive(2));
    let fetched = b.call(async || Ok::<_, String>(vec![1, 2])).await;
    assert_eq!(fetched, Ok(vec![1, 2]));
    let _ = b.call(async || Err::<(), _>("a".to_string())).await;
    let _ = b.call(async || Err::<(), _>("b".to_string())).await;
    assert!(b.call(async || Ok::<_, String>(())).await.unwrap_err().is_rejected());
}

#[tokio::test]
async fn call_with_fallback_serves_when_the_call_fails() {
    let (b, _) = breaker(consecutive(5));
    let got = b
        .call_with_fallback(async || Err::<&str, _>("503"), |_| Ok("from cache"))
        .await;
    assert_eq!(got, Ok("from cache"));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_failure_counted_apart() {
    let (b, _) = breaker(consecutive(1));
    let slow = async || {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, ()>(())
    };
    match b.call_with_timeout(Duration::from_millis(150), slow).await {
        Err(CallError::Timeout(t)) => assert_eq!(
            t.to_string(),
            "call through circuit breaker `scenario` timed out after 150ms"
        ),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let s = b.snapshot();
    assert_eq!((s.state, s.totals.timeouts, s.totals.failures), (State::Open, 1, 0));
}

#[tokio::test]
async fn a_panic_inside_an_async_call_is_a_failure_and_keeps_unwinding() {
    let (b, _) = breaker(consecutive(1));
    let b = std::sync::Arc::new(b);
    let task = tokio::spawn({
        let b = b.clone();
        async move { b.call(async || -> Result<(), ()> { panic!("inside the future") }).await }
    });
    let joined = task.await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(b.state(), State::Open);
}

/// No `catch_unwind` runs per poll: the permit, dropped while the panic unwinds through the
/// call's future, records the failure. This holds whenever the panic happens, also after the
/// future yielded.
#[tokio::test]
async fn a_panic_after_the_call_yielded_is_a_failure() {
    let (b, _) = breaker(consecutive(2));
    let b = std::sync::Arc::new(b);
    for expected in [State::Closed, State::Open] {
        let task = tokio::spawn({
            let b = b.clone();
            async move {
                b.call(async || -> Result<(), ()> {
                    tokio::task::yield_now().await;
                    panic!("after a yield")
                })
                .await
            }
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(b.state(), expected);
    }
    assert_eq!(b.snapshot().totals.failures, 2);
}

#[tokio::test]
async fn a_cancelled_async_probe_frees_its_half_open_slot() {
    let (b, clock) = breaker(consecutive(1).half_open_max_calls(1).open_timeout(secs(1)));
    let _ = b.call_sync(|| Err::<(), _>(()));
    clock.advance(secs(2));
    let pending = b.call(async || {
        std::future::pending::<()>().await;
        Ok::<_, ()>(())
    });
    let timed_out = tokio::time::timeout(Duration::from_millis(10), pending).await;
    assert!(timed_out.is_err(), "the caller gave up: the future was dropped");
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().half_open_in_flight, 0);
    assert_eq!(b.call(async || Ok::<_, ()>(7)).await, Ok(7));
}
