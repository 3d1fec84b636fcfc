use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "api/v2", max_keys = 2)]
pub struct ApiV2 {
    #[circuit_breaker(key)]
    pub tenant: String,
}

fn main() {}
