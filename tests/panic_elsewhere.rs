//! A panic that is not the protected call's: a waiting call (through `CircuitBreaker::call` or
//! an async `#[circuit_breaker]` fn) dropped by a panic elsewhere in its task, as a sibling of
//! `join!` panicking does, records nothing and hands a probe slot back; a panic of the call
//! itself still records a failure (found by a new-user review: the unwind counted as a failure
//! and tripped the breaker).

mod support;

use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, State, circuit_breaker};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Waker};

/// Opens on the first failure; one probe.
fn config() -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(1)
        .no_failure_rate()
        .half_open_max_calls(1)
        .success_threshold(1)
        .build()
        .unwrap()
}

/// Polls `call` once (it must wait), then drops it while a panic unwinds.
fn drop_waiting_in_a_panic(call: Pin<Box<dyn Future<Output = bool> + '_>>) {
    let mut call = call;
    let mut cx = Context::from_waker(Waker::noop());
    assert!(call.as_mut().poll(&mut cx).is_pending());
    let unwound = catch_unwind(AssertUnwindSafe(move || {
        let _waiting = call;
        panic!("a bug elsewhere in the task");
    }));
    assert!(unwound.is_err());
}

/// A call through the API that waits for ever.
fn waiting_call(b: &CircuitBreaker) -> Pin<Box<dyn Future<Output = bool> + '_>> {
    Box::pin(async {
        b.call(async || {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        })
        .await
        .is_ok()
    })
}

#[test]
fn a_waiting_api_call_dropped_by_a_panic_elsewhere_records_nothing() {
    let b = CircuitBreaker::new("panic-elsewhere-api", config());
    drop_waiting_in_a_panic(waiting_call(&b));
    let s = b.snapshot();
    assert_eq!((s.state, s.totals.failures), (State::Closed, 0));
}

#[test]
fn an_api_call_that_panics_itself_still_records_a_failure() {
    let b = CircuitBreaker::new("panic-itself-api", config());
    let mut call = Box::pin(b.call(async || -> Result<(), String> { panic!("the call's own bug") }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(&mut cx))).is_err());
    drop(call);
    let s = b.snapshot();
    assert_eq!((s.state, s.totals.failures), (State::Open, 1));
}

/// Waits once (woken at once), then panics: the call's own panic, on its second poll.
async fn waits_once_then_panics() {
    let mut polled = false;
    std::future::poll_fn(|cx| {
        if polled {
            panic!("the call's own bug, after a wait");
        }
        polled = true;
        cx.waker().wake_by_ref();
        std::task::Poll::<()>::Pending
    })
    .await
}

/// A body that waited (its permit marked suspended) and panics when polled again: the mark is
/// taken off before each poll, so the panic is the call's failure.
#[test]
fn an_api_call_that_panics_after_waiting_still_records_a_failure() {
    let b = CircuitBreaker::new("panic-after-wait-api", config());
    let mut call = Box::pin(b.call(async || -> Result<(), String> {
        waits_once_then_panics().await;
        Ok(())
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(call.as_mut().poll(&mut cx).is_pending());
    assert!(catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(&mut cx))).is_err());
    drop(call);
    let s = b.snapshot();
    assert_eq!((s.state, s.totals.failures), (State::Open, 1));
}

#[circuit_breaker(
    name = "panic-elsewhere-macro",
    consecutive_failures = 1,
    failure_rate_threshold = "off"
)]
async fn waits_forever() -> Result<(), CallError<String>> {
    std::future::pending::<()>().await;
    Ok(())
}

#[circuit_breaker(
    name = "panic-itself-macro",
    consecutive_failures = 1,
    failure_rate_threshold = "off"
)]
async fn panics_when_polled() -> Result<(), CallError<String>> {
    if std::hint::black_box(true) {
        panic!("the call's own bug");
    }
    Ok(())
}

#[test]
fn a_waiting_protected_fn_dropped_by_a_panic_elsewhere_records_nothing() {
    drop_waiting_in_a_panic(Box::pin(async { waits_forever().await.is_ok() }));
    let s = cb_runtime::registry().get("panic-elsewhere-macro").unwrap().snapshot();
    assert_eq!((s.state, s.totals.failures), (State::Closed, 0));
}

#[test]
fn a_protected_fn_that_panics_itself_still_records_a_failure() {
    let mut call = Box::pin(panics_when_polled());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(&mut cx))).is_err());
    drop(call);
    let s = cb_runtime::registry().get("panic-itself-macro").unwrap().snapshot();
    assert_eq!((s.state, s.totals.failures), (State::Open, 1));
}

/// In half-open: the waiting probe dropped by a panic elsewhere hands its slot back, and the
/// breaker is not re-opened as if the probe had failed.
#[test]
fn a_waiting_probe_dropped_by_a_panic_elsewhere_hands_its_slot_back() {
    let (b, clock) = support::breaker(
        BreakerConfig::builder()
            .consecutive_failures(1)
            .no_failure_rate()
            .half_open_max_calls(1)
            .success_threshold(1)
            .open_timeout(support::secs(10)),
    );
    let _ = b.call_sync(|| Err::<(), _>("down"));
    clock.advance(support::secs(11));
    assert_eq!(b.state(), State::HalfOpen);
    drop_waiting_in_a_panic(waiting_call(&b));
    assert_eq!(b.state(), State::HalfOpen, "no failed probe");
    b.try_acquire().expect("the probe slot is handed back").success();
    assert_eq!(b.state(), State::Closed);
}

/// With a tracing subscriber the call takes the traced path (its own spans): a waiting call
/// dropped by a panic elsewhere still records nothing.
#[test]
fn a_waiting_traced_call_dropped_by_a_panic_elsewhere_records_nothing() {
    use tracing_subscriber::layer::SubscriberExt;
    let b = CircuitBreaker::new("panic-elsewhere-traced", config());
    let recorder = support::recorder::Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, || drop_waiting_in_a_panic(waiting_call(&b)));
    assert!(
        !recorder.0.lock().unwrap().call_spans().is_empty(),
        "the traced path ran"
    );
    let s = b.snapshot();
    assert_eq!((s.state, s.totals.failures), (State::Closed, 0));
}

#[circuit_breaker(
    name = "panic-elsewhere-timed",
    consecutive_failures = 1,
    failure_rate_threshold = "off",
    timeout = "1h"
)]
async fn waits_forever_timed() -> Result<(), support::api_error::ApiError> {
    std::future::pending::<()>().await;
    Ok(())
}

/// A call with a timeout (the API's and the macro's) waiting inside its timer, dropped by a
/// panic elsewhere: no failure, no timeout.
#[test]
fn a_waiting_call_with_a_timeout_dropped_by_a_panic_elsewhere_records_nothing() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _in_runtime = runtime.enter();
    let b = CircuitBreaker::new("panic-elsewhere-api-timed", config());
    drop_waiting_in_a_panic(Box::pin(async {
        b.call_with_timeout(std::time::Duration::from_secs(3600), async || {
            std::future::pending::<()>().await;
            Ok::<(), String>(())
        })
        .await
        .is_ok()
    }));
    drop_waiting_in_a_panic(Box::pin(async { waits_forever_timed().await.is_ok() }));
    let timed = cb_runtime::registry().get("panic-elsewhere-timed").unwrap();
    for s in [b.snapshot(), timed.snapshot()] {
        assert_eq!(
            (s.state, s.totals.failures, s.totals.timeouts),
            (State::Closed, 0, 0),
            "{}",
            s.name
        );
    }
}
