use cb_runtime::CircuitProtected;

const API: &str = "api/v3";

#[derive(CircuitProtected)]
#[circuit_breaker(name = API)]
pub struct ApiV3 {
    #[circuit_breaker(key)]
    pub tenant: String,
}

fn main() {}
