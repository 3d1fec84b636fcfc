//! Bodies that never return a value: `todo!()` while a client is written, `unimplemented!()`,
//! a `panic!`. They must compile without a warning (clippy too: CI runs it with `-D warnings`
//! on this file), and calling one is a failed call that keeps unwinding; a breaker crosses
//! `catch_unwind` as is.

mod support;

use cb_runtime::{circuit_breaker, registry};
use std::panic::{AssertUnwindSafe, catch_unwind};
use support::api_error::ApiError;

#[circuit_breaker(name = "unfinished-sync-todo")]
fn sync_todo(_id: u32) -> Result<u32, ApiError> {
    todo!()
}

#[circuit_breaker(name = "unfinished-async-todo")]
async fn async_todo(_id: u32) -> Result<u32, ApiError> {
    todo!()
}

#[circuit_breaker(name = "unfinished-async-unimplemented", fallback = default)]
async fn async_unimplemented() -> Option<String> {
    unimplemented!("not written yet")
}

#[circuit_breaker(name = "unfinished-sync-panic", fallback_value = 0)]
fn sync_panic() -> u32 {
    panic!("no backend")
}

#[circuit_breaker(name = "unfinished-async-timeout", timeout = "1s")]
async fn async_timeout_todo() -> Result<(), ApiError> {
    todo!()
}

struct Client;

impl Client {
    #[circuit_breaker(name = "unfinished-method")]
    async fn fetch(&self, _id: u32) -> Result<Vec<u8>, ApiError> {
        todo!()
    }
}

fn failures(name: &str) -> u64 {
    registry().get(name).unwrap().snapshot().totals.failures
}

fn panics(f: impl FnOnce()) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

#[test]
fn a_sync_body_that_never_returns_is_a_failed_call() {
    assert!(panics(|| drop(sync_todo(1))));
    assert_eq!(failures("unfinished-sync-todo"), 1);
    assert!(panics(|| assert_eq!(sync_panic(), 0)));
    assert_eq!(failures("unfinished-sync-panic"), 1);
}

#[tokio::test]
async fn an_async_body_that_never_returns_is_a_failed_call() {
    let joined = tokio::spawn(async_todo(1)).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(failures("unfinished-async-todo"), 1);
    assert!(tokio::spawn(async_unimplemented()).await.unwrap_err().is_panic());
    assert_eq!(failures("unfinished-async-unimplemented"), 1);
    assert!(tokio::spawn(async_timeout_todo()).await.unwrap_err().is_panic());
    assert_eq!(failures("unfinished-async-timeout"), 1);
    assert!(
        tokio::spawn(async { Client.fetch(1).await })
            .await
            .unwrap_err()
            .is_panic()
    );
    assert_eq!(failures("unfinished-method"), 1);
}

/// A breaker crosses `catch_unwind` as is: testing that a panic counts as a failure needs no
/// `AssertUnwindSafe` around it (a new-user review found `dyn ClockSource` in the way).
#[test]
fn a_breaker_is_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    let breaker = std::sync::Arc::new(cb_runtime::CircuitBreaker::new("unwind-safe", Default::default()));
    unwind_safe(&breaker);
    unwind_safe(&registry());
    let caught = catch_unwind(|| breaker.call_sync(|| -> Result<(), ()> { panic!("body") }));
    assert!(caught.is_err());
    assert_eq!(breaker.snapshot().totals.failures, 1);
}
