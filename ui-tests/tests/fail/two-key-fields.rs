use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "x")]
pub struct Client {
    #[circuit_breaker(key)]
    pub tenant: String,
    #[circuit_breaker(key)]
    pub region: String,
}

fn main() {}
