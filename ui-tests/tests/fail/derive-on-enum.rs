use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "x")]
pub enum Client {
    A,
}

fn main() {}
