// The attribute protects one function, not an `impl` block.
use cb_runtime::{CircuitProtected, Rejected, circuit_breaker};

#[derive(Debug)]
struct E;

impl From<Rejected> for E {
    fn from(_: Rejected) -> Self {
        E
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "c")]
struct C;

#[circuit_breaker(name = "x")]
impl C {
    fn a(&self) -> Result<u8, E> {
        Ok(1)
    }
}

fn main() {}
