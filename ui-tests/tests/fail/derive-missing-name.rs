use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(consecutive_failures = 3)]
pub struct Client;

fn main() {}
