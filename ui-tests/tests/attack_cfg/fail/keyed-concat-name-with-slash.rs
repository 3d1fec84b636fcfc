use cb_runtime::CircuitProtected;

#[derive(CircuitProtected)]
#[circuit_breaker(name = concat!("api", "/v3"))]
pub struct ApiV3 {
    #[circuit_breaker(key)]
    pub tenant: String,
}

mod names {
    pub const API: &str = "api/v4";
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = names::API)]
pub struct ApiV4 {
    #[circuit_breaker(key)]
    pub tenant: String,
}

fn main() {}
