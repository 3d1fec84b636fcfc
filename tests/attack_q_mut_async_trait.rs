//! Outside-in attack on commit 99bcffc: under `#[async_trait]`, `fallback_value` naming a `mut`
//! parameter sees the caller's value (README: "fallback_value ... serves the caller's `n` after
//! `n += 1` ...; under `#[async_trait]` too"), beyond the `u32` case the commit tested.

use async_trait::async_trait;
mod support;

use cb_runtime::circuit_breaker;
use support::api_error::ApiError;

#[async_trait]
trait Pages {
    async fn two(&self, a: u32, b: u32) -> Result<u32, ApiError>;
    async fn by_mut_self(&mut self, n: u32) -> Result<u32, ApiError>;
    /// A default method of the trait itself.
    #[circuit_breaker(name = "aqm-default", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(n))]
    async fn default_page(&self, mut n: u32) -> Result<u32, ApiError> {
        n += 100;
        let _ = n;
        Err(ApiError::Down)
    }
}

struct P {
    calls: u32,
}

#[async_trait]
impl Pages for P {
    /// Two `mut` parameters, the value names both.
    #[circuit_breaker(name = "aqm-two", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(a * 1000 + b))]
    async fn two(&self, mut a: u32, mut b: u32) -> Result<u32, ApiError> {
        a += 1;
        b += 1;
        let _ = (a, b);
        Err(ApiError::Down)
    }

    /// `&mut self` beside a `mut` parameter.
    #[circuit_breaker(name = "aqm-mut-self", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(n))]
    async fn by_mut_self(&mut self, mut n: u32) -> Result<u32, ApiError> {
        self.calls += 1;
        n += 100;
        let _ = n;
        Err(ApiError::Down)
    }
}

#[tokio::test]
async fn two_mut_parameters() {
    let p = P { calls: 0 };
    assert_eq!(p.two(7, 8).await, Ok(7008), "after the failure");
    assert_eq!(p.two(7, 8).await, Ok(7008), "rejected");
}

#[tokio::test]
async fn mut_self_and_a_mut_parameter() {
    let mut p = P { calls: 0 };
    assert_eq!(p.by_mut_self(7).await, Ok(7), "after the failure");
    assert_eq!(p.by_mut_self(7).await, Ok(7), "rejected");
}

#[tokio::test]
async fn trait_default_method() {
    let p = P { calls: 0 };
    assert_eq!(p.default_page(7).await, Ok(7), "after the failure");
    assert_eq!(p.default_page(7).await, Ok(7), "rejected");
}

#[derive(Clone, Copy)]
struct Owned {
    n: u32,
}

#[async_trait]
trait Consume {
    async fn by_value(self, k: u32) -> Result<u32, ApiError>;
    async fn pattern(&self, pair: (u32, u32)) -> Result<u32, ApiError>;
}

#[async_trait]
impl Consume for Owned {
    /// `mut self` by value beside a `mut` parameter.
    #[circuit_breaker(name = "aqm-by-value", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(k))]
    async fn by_value(mut self, mut k: u32) -> Result<u32, ApiError> {
        self.n += 1;
        k += 100;
        let _ = (self.n, k);
        Err(ApiError::Down)
    }

    /// A tuple pattern with a `mut` binding the value names. Without `#[async_trait]` this is a
    /// compile error ("the fallback receives every parameter: bind this one to a plain name");
    /// under it (async_trait has already turned the pattern into `__arg1` and a `let (mut a,
    /// _b) = __arg1;`) it compiles, and the value serves the body's copy after a failure (107)
    /// but the caller's on a rejection (7): two answers for the same call.
    #[circuit_breaker(name = "aqm-pattern", consecutive_failures = 1, open_timeout = "1h", fallback_value = Ok(a))]
    async fn pattern(&self, (mut a, _b): (u32, u32)) -> Result<u32, ApiError> {
        a += 100;
        let _ = a;
        Err(ApiError::Down)
    }
}

#[tokio::test]
async fn mut_self_by_value_and_a_mut_parameter() {
    assert_eq!(Owned { n: 0 }.by_value(7).await, Ok(7), "after the failure");
    assert_eq!(Owned { n: 0 }.by_value(7).await, Ok(7), "rejected");
}

#[tokio::test]
async fn a_mut_binding_in_a_pattern() {
    let o = Owned { n: 0 };
    assert_eq!(o.pattern((7, 8)).await, Ok(7), "after the failure");
    assert_eq!(o.pattern((7, 8)).await, Ok(7), "rejected");
}
