// A trait method declaration has no body to protect: the error says where the attribute goes.
use cb_runtime::{CircuitProtected, Rejected, circuit_breaker};

#[derive(Debug)]
struct E;

impl From<Rejected> for E {
    fn from(_: Rejected) -> Self {
        E
    }
}

trait Api: CircuitProtected {
    #[circuit_breaker]
    fn get(&self) -> Result<u8, E>;
}

fn main() {}
