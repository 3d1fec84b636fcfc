//! Outside-in attack on commit cbe8494: `fallback_value` reading a `mut` parameter should see
//! the caller's value (README; `attack_user_shapes.rs`), whatever way the value names it.

use async_trait::async_trait;
mod support;

use cb_runtime::circuit_breaker;
use support::api_error::ApiError;

// ----- was a defect: a parameter named only inside a format string (`format!("{page}")`) -----
// The rebinding collects identifiers token by token; `{page}` inside a string literal is not
// one, so the value reads the body's scratch value (100 + 7) after a failure, and the
// caller's (7) on a rejection: two different fallbacks for the same call.

#[circuit_breaker(name = "acm-format", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(format!("page {page}")))]
fn label(mut page: u32) -> Result<String, ApiError> {
    page += 100;
    let _ = page;
    Err(ApiError::Down)
}

#[test]
fn a_value_naming_a_mut_parameter_in_a_format_string_sees_the_callers_value() {
    assert_eq!(label(7), Ok("page 7".to_owned()), "after the failure");
    assert_eq!(label(7), Ok("page 7".to_owned()), "rejected");
}

// ----- was a defect: `#[async_trait]` methods were not rebound -----

#[async_trait]
trait Pager {
    async fn page(&self, page: u32) -> Result<u32, ApiError>;
}

struct P;

#[async_trait]
impl Pager for P {
    #[circuit_breaker(name = "acm-async-trait", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(page))]
    async fn page(&self, mut page: u32) -> Result<u32, ApiError> {
        page += 100;
        let _ = page;
        Err(ApiError::Down)
    }
}

#[tokio::test]
async fn an_async_trait_method_value_sees_the_callers_value() {
    assert_eq!(P.page(7).await, Ok(7), "after the failure");
    assert_eq!(P.page(7).await, Ok(7), "rejected");
}

// ----- held: generic, method with &mut self, async fn -----

struct Counter {
    calls: u32,
}

impl Counter {
    #[circuit_breaker(name = "acm-method", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(n + self.calls))]
    fn bump(&mut self, mut n: u32) -> Result<u32, ApiError> {
        self.calls += 1;
        n += 100;
        let _ = n;
        Err(ApiError::Down)
    }
}

#[test]
fn held_method_with_mut_self() {
    let mut c = Counter { calls: 0 };
    assert_eq!(c.bump(7), Ok(8));
    assert_eq!(c.bump(7), Ok(8));
}

#[circuit_breaker(name = "acm-generic", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(n.into()))]
fn generic<T: Copy + Into<u64> + std::ops::AddAssign>(mut n: T, step: T) -> Result<u64, ApiError> {
    n += step;
    let _ = n;
    Err(ApiError::Down)
}

#[test]
fn held_generic_mut_parameter() {
    assert_eq!(generic(7u32, 100), Ok(7));
    assert_eq!(generic(7u32, 100), Ok(7));
}

#[circuit_breaker(name = "acm-async", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(n))]
async fn async_page(mut n: u32) -> Result<u32, ApiError> {
    n += 100;
    tokio::task::yield_now().await;
    let _ = n;
    Err(ApiError::Down)
}

#[tokio::test]
async fn held_async_fn() {
    assert_eq!(async_page(7).await, Ok(7));
    assert_eq!(async_page(7).await, Ok(7));
}

// A non-Copy mut parameter NOT named in the value, consumed by the body: still compiles.
#[circuit_breaker(name = "acm-noncopy-unnamed", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(0))]
fn consume(mut v: Vec<u32>) -> Result<usize, ApiError> {
    v.push(1);
    drop(v);
    Err(ApiError::Down)
}

#[test]
fn held_non_copy_unnamed() {
    assert_eq!(consume(vec![]), Ok(0));
}
