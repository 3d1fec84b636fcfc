//! Each test here showed a defect found on 2026-11-24 by an outside-in attack (fixed since).
//!
//! Service-shaped client code attacking the macros from a new user's side: shapes that compile
//! and then answer or count other than the README says.

mod support;

use cb_runtime::{CallError, circuit_breaker, registry};
use support::api_error::ApiError;

// ===== `fallback_value` reading a `mut` argument =====
//
// README (Fallback strategies): "`fallback_value = expr` ... It may read the arguments the body
// has not consumed (`Copy` ones and references: `Ok(id * 2)`)". A function fallback receives
// the caller's arguments (copies). A value reading a `mut` Copy argument instead reads whatever
// the body left in the parameter, so one breaker serves two different values for the same
// call: the caller's argument on a rejection, the body's scratch value after a failure.

#[circuit_breaker(name = "aus-value-mut", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(page))]
fn page_of(mut page: u32) -> Result<u32, ApiError> {
    page += 100; // a body using its parameter as a scratch variable
    let _ = page;
    Err(ApiError::Down)
}

fn same_page(page: u32, _cause: CallError<ApiError>) -> Result<u32, ApiError> {
    Ok(page)
}

#[circuit_breaker(name = "aus-fn-mut", consecutive_failures = 1, open_timeout = "1h", fallback = same_page)]
fn page_of_fn(mut page: u32) -> Result<u32, ApiError> {
    page += 100;
    let _ = page;
    Err(ApiError::Down)
}

#[test]
fn a_function_fallback_gets_the_callers_argument() {
    assert_eq!(page_of_fn(1), Ok(1), "after the failure");
    assert_eq!(page_of_fn(1), Ok(1), "on the rejection");
}

#[test]
fn a_value_reads_the_callers_argument_like_a_function_fallback() {
    let after_failure = page_of(1);
    assert_eq!(
        registry().get("aus-value-mut").unwrap().state(),
        cb_runtime::State::Open
    );
    let on_rejection = page_of(1);
    assert_eq!(
        on_rejection,
        Ok(1),
        "on the rejection the value reads the caller's argument"
    );
    assert_eq!(
        after_failure,
        Ok(1),
        "after the failure the value reads the body's mutated parameter, not the caller's argument"
    );
}

#[circuit_breaker(name = "aus-value-mut-async", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(page))]
async fn page_of_async(mut page: u32) -> Result<u32, ApiError> {
    page += 100;
    tokio::task::yield_now().await;
    let _ = page;
    Err(ApiError::Down)
}

#[tokio::test]
async fn an_async_value_reads_the_callers_argument() {
    let after_failure = page_of_async(1).await;
    let on_rejection = page_of_async(1).await;
    assert_eq!(on_rejection, Ok(1));
    assert_eq!(
        after_failure,
        Ok(1),
        "the body's scratch value leaked into the fallback value"
    );
}

// A keyed type whose name holds a `/` (`"api/v2"`) was cut into family `api`, shared with
// `"api/v3"`: now a compile error (`ui-tests/tests/fail/keyed-name-with-slash.rs`).
