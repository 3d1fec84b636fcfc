use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "x", fallback = cached, key)]
pub struct Client;

fn main() {}
