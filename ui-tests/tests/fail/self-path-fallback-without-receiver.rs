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

impl C {
    #[circuit_breaker(fallback = Self::cached)]
    fn get(&self, id: u32) -> Result<u32, E> {
        Ok(id)
    }

    fn cached(id: u32) -> Result<u32, E> {
        Ok(id)
    }
}

fn main() {}
