// A `'static` returned future cannot call a fallback that borrows `self`: the error says so on
// the fallback, instead of a lifetime error on the attribute.
use cb_runtime::{CircuitProtected, Rejected, circuit_breaker};
use std::future::Future;
use std::sync::Arc;

#[derive(Debug)]
struct E;
impl From<Rejected> for E {
    fn from(_: Rejected) -> Self {
        E
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "c")]
struct C {
    up: Arc<bool>,
}

impl C {
    #[circuit_breaker(fallback = cached)]
    fn get(&self) -> impl Future<Output = Result<u8, E>> + Send + 'static {
        let up = self.up.clone();
        async move { if *up { Ok(1) } else { Err(E) } }
    }

    fn cached(&self) -> Result<u8, E> {
        Ok(0)
    }
}

fn main() {}
