use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "client", max_keys = 100)]
pub struct Client {
    pub url: String,
}

fn main() {}
