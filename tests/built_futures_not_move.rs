//! Sync functions that build and return a future with a plain (not `move`) `async` block:
//! valid Rust when the block captures nothing (or only statics and constants), and still
//! valid once annotated (found by a new-user review: the annotation made it a borrow error
//! blaming the attribute).

mod support;

use cb_runtime::{circuit_breaker, registry};
use std::future::Future;
use std::pin::Pin;
use support::api_error::ApiError;

static URL: &str = "http://127.0.0.1/";

#[circuit_breaker(name = "built-plain-async")]
fn plain() -> impl Future<Output = Result<usize, ApiError>> + Send {
    async { Ok(URL.len()) }
}

#[circuit_breaker(name = "built-plain-async-timeout", timeout = "1s")]
fn plain_timed() -> impl Future<Output = Result<usize, ApiError>> + Send {
    async { Ok(URL.len()) }
}

#[circuit_breaker(name = "built-plain-boxed", timeout = "1s")]
fn boxed() -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send>> {
    Box::pin(async { Ok(()) })
}

#[circuit_breaker(name = "built-plain-boxed-untimed")]
fn boxed_untimed() -> Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send>> {
    Box::pin(async { Err(ApiError::Breaker) })
}

struct Client {
    up: bool,
}

impl Client {
    /// Borrows `self` through the reference, as plain Rust allows.
    #[circuit_breaker(name = "built-plain-method")]
    fn fetch(&self) -> impl Future<Output = Result<(), ApiError>> + Send + '_ {
        async {
            match self.up {
                true => Ok(()),
                false => Err(ApiError::Down),
            }
        }
    }
}

#[circuit_breaker(name = "built-plain-borrowed-arg")]
fn length<'a>(text: &'a str) -> impl Future<Output = Result<usize, ApiError>> + Send + 'a {
    async { Ok(text.len()) }
}

#[tokio::test]
async fn a_plain_async_block_borrowing_through_references_is_protected() {
    assert_eq!(Client { up: true }.fetch().await, Ok(()));
    assert_eq!(Client { up: false }.fetch().await, Err(ApiError::Down));
    assert_eq!(length("four").await, Ok(4));
    let method = registry().get("built-plain-method").unwrap().snapshot().totals;
    assert_eq!((method.successes, method.failures), (1, 1));
    assert_eq!(
        registry()
            .get("built-plain-borrowed-arg")
            .unwrap()
            .snapshot()
            .totals
            .successes,
        1
    );
}

#[tokio::test]
async fn a_plain_async_block_is_protected_as_written() {
    assert_eq!(plain().await, Ok(17));
    assert_eq!(plain_timed().await, Ok(17));
    assert_eq!(boxed().await, Ok(()));
    assert_eq!(boxed_untimed().await, Err(ApiError::Breaker));
    for (name, successes, failures) in [
        ("built-plain-async", 1, 0),
        ("built-plain-async-timeout", 1, 0),
        ("built-plain-boxed", 1, 0),
        ("built-plain-boxed-untimed", 0, 1),
    ] {
        let totals = registry().get(name).unwrap().snapshot().totals;
        assert_eq!((totals.successes, totals.failures), (successes, failures), "{name}");
    }
}
