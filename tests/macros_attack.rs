//! Client code written as services write it, attacking the macros from outside (issue 11
//! follow-up): every case here once misbehaved or is a shape a service relies on.

use cb_runtime::{CallError, CircuitProtected, Rejected, State, circuit_breaker, registry};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Down,
    Breaker,
}

impl From<Rejected> for ApiError {
    fn from(_: Rejected) -> Self {
        ApiError::Breaker
    }
}

fn state(name: &str) -> State {
    registry().get(name).expect("the breaker exists after a call").state()
}

// ===== a client returning a 'static future =====

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-static-future", consecutive_failures = 2)]
struct Client {
    up: Arc<AtomicBool>,
}

impl Client {
    /// The usual spawnable shape: clone what the future needs, return it without borrowing self.
    #[circuit_breaker]
    fn fetch(&self) -> impl Future<Output = Result<u8, ApiError>> + Send + 'static {
        let up = self.up.clone();
        async move { if up.load(Ordering::Relaxed) { Ok(1) } else { Err(ApiError::Down) } }
    }
}

#[tokio::test]
async fn a_static_future_from_a_borrowing_method_is_protected_and_spawnable() {
    let client = Client { up: Arc::new(AtomicBool::new(false)) };
    assert_eq!(tokio::spawn(client.fetch()).await.unwrap(), Err(ApiError::Down));
    assert_eq!(tokio::spawn(client.fetch()).await.unwrap(), Err(ApiError::Down));
    assert_eq!(state("atk-static-future"), State::Open);
    client.up.store(true, Ordering::Relaxed);
    assert_eq!(client.fetch().await, Err(ApiError::Breaker));
}

// ===== a boxed future under an alias =====

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

static BOXED_FALLBACKS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "atk-box-alias", consecutive_failures = 2, fallback = boxed_default)]
fn boxed(up: bool) -> BoxFuture<'static, Result<u8, ApiError>> {
    Box::pin(async move { if up { Ok(1) } else { Err(ApiError::Down) } })
}

fn boxed_default(_up: bool) -> BoxFuture<'static, Result<u8, ApiError>> {
    BOXED_FALLBACKS.fetch_add(1, Ordering::Relaxed);
    Box::pin(async { Ok(0) })
}

#[tokio::test]
async fn a_boxed_future_alias_counts_its_errors() {
    assert_eq!(boxed(false).await, Ok(0));
    assert_eq!(boxed(false).await, Ok(0));
    assert_eq!(state("atk-box-alias"), State::Open);
}
