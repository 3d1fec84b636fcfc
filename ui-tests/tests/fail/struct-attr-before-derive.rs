use cb_runtime::{circuit_breaker, CircuitProtected};

#[circuit_breaker(name = "x")]
#[derive(CircuitProtected)]
pub struct Client;

fn main() {}
