//! The attribute on free functions, sync and async: routing, rejection, fallbacks, timeouts.

use cb_runtime::{CallError, Rejected, State, Timeout, circuit_breaker, registry};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug, PartialEq)]
enum ApiError {
    Down,
    NotFound,
    Breaker(String),
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Breaker(r.to_string())
    }
}

impl From<Timeout> for ApiError {
    fn from(t: Timeout) -> Self {
        ApiError::Breaker(t.to_string())
    }
}

static PROMOS_UP: AtomicBool = AtomicBool::new(true);
static PROMOS_CALLS: AtomicU32 = AtomicU32::new(0);

/// Docs and attributes stay on the function.
#[circuit_breaker(name = "macros-promos", consecutive_failures = 2, open_timeout = "1h")]
fn promos(user: u32) -> Result<Vec<u32>, ApiError> {
    PROMOS_CALLS.fetch_add(1, Ordering::Relaxed);
    if PROMOS_UP.load(Ordering::Relaxed) {
        Ok(vec![user])
    } else {
        Err(ApiError::Down)
    }
}

#[test]
fn a_sync_function_trips_and_then_rejects_without_running() {
    assert_eq!(promos(7), Ok(vec![7]));
    PROMOS_UP.store(false, Ordering::Relaxed);
    assert_eq!(promos(7), Err(ApiError::Down));
    assert_eq!(promos(7), Err(ApiError::Down));
    let calls = PROMOS_CALLS.load(Ordering::Relaxed);
    assert_eq!(
        promos(7),
        Err(ApiError::Breaker("circuit breaker `macros-promos` is open".into()))
    );
    assert_eq!(
        PROMOS_CALLS.load(Ordering::Relaxed),
        calls,
        "a rejected call does not run"
    );
    let b = registry().get("macros-promos").unwrap();
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.config().consecutive_failures, Some(2));
}

fn static_eta(_km: &u32) -> u32 {
    42
}

#[circuit_breaker(name = "macros-eta", consecutive_failures = 1, fallback = static_eta)]
async fn eta(km: &u32) -> u32 {
    assert!(*km < 1000, "the ML model cannot handle {km} km");
    km * 2
}

#[tokio::test]
async fn a_non_result_async_function_serves_its_fallback_when_open() {
    assert_eq!(eta(&10).await, 20);
    let b = registry().get("macros-eta").unwrap();
    b.force_open();
    assert_eq!(eta(&10).await, 42);
    assert_eq!(b.snapshot().totals.fallbacks, 1);
    b.reset();
    assert_eq!(eta(&10).await, 20);
}

fn cached_feed(page: u32, _up: bool, cause: CallError<ApiError>) -> Result<Vec<String>, ApiError> {
    Ok(vec![format!(
        "cached page {page} ({})",
        if cause.is_rejected() { "open" } else { "failed" }
    )])
}

#[circuit_breaker(name = "macros-feed", consecutive_failures = 2, fallback = cached_feed)]
async fn feed(page: u32, up: bool) -> Result<Vec<String>, ApiError> {
    if up {
        Ok(vec![format!("fresh page {page}")])
    } else {
        Err(ApiError::Down)
    }
}

#[tokio::test]
async fn the_fallback_serves_failures_and_rejections_with_their_cause() {
    assert_eq!(feed(1, true).await, Ok(vec!["fresh page 1".to_string()]));
    assert_eq!(feed(2, false).await, Ok(vec!["cached page 2 (failed)".to_string()]));
    assert_eq!(feed(3, false).await, Ok(vec!["cached page 3 (failed)".to_string()]));
    assert_eq!(feed(4, true).await, Ok(vec!["cached page 4 (open)".to_string()]));
    let s = registry().snapshot("macros-feed").unwrap();
    assert_eq!((s.totals.failures, s.totals.rejected, s.totals.fallbacks), (2, 1, 3));
}

fn only_when_open(_user: String) -> Result<String, ApiError> {
    Ok("guest".into())
}

#[circuit_breaker(name = "macros-profile", consecutive_failures = 1, fallback = only_when_open, fallback_on = "rejected")]
fn profile(user: String) -> Result<String, ApiError> {
    if user.is_empty() {
        Err(ApiError::NotFound)
    } else {
        Ok(user)
    }
}

#[test]
fn fallback_on_rejected_leaves_failures_to_the_caller() {
    assert_eq!(profile(String::new()), Err(ApiError::NotFound));
    assert_eq!(profile("ada".into()), Ok("guest".into()));
}

#[circuit_breaker(name = "macros-slow", timeout = "50ms", consecutive_failures = 1)]
async fn slow_backend(delay_ms: u64) -> Result<u64, ApiError> {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    Ok(delay_ms)
}

#[tokio::test(start_paused = true)]
async fn a_timeout_without_fallback_becomes_the_error_type() {
    assert_eq!(slow_backend(10).await, Ok(10));
    assert_eq!(
        slow_backend(500).await,
        Err(ApiError::Breaker(
            "call through circuit breaker `macros-slow` timed out after 50ms".into()
        ))
    );
    let s = registry().snapshot("macros-slow").unwrap();
    assert_eq!((s.state, s.totals.timeouts), (State::Open, 1));
}

fn is_transient(e: &ApiError) -> bool {
    *e == ApiError::Down
}

fn is_not_found(e: &ApiError) -> bool {
    *e == ApiError::NotFound
}

#[circuit_breaker(name = "macros-classified", consecutive_failures = 1, failure_if = is_transient, ignore_if = is_not_found)]
fn classified(e: Option<ApiError>) -> Result<(), ApiError> {
    e.map_or(Ok(()), Err)
}

#[test]
fn failure_if_and_ignore_if_classify_errors() {
    let _ = classified(Some(ApiError::NotFound));
    let _ = classified(Some(ApiError::Breaker("client-side".into())));
    let s = registry().snapshot("macros-classified").unwrap();
    assert_eq!((s.state, s.totals.ignored, s.totals.successes), (State::Closed, 1, 1));
    let _ = classified(Some(ApiError::Down));
    assert_eq!(registry().get("macros-classified").unwrap().state(), State::Open);
}
