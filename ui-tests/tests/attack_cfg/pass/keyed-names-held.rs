use cb_runtime::CircuitProtected;

mod names {
    pub const WEBHOOK: &str = "webhook";
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = names::WEBHOOK, max_keys = 50, idle_ttl = "30m")]
pub struct Hook {
    #[circuit_breaker(key)]
    pub host: String,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = concat!("web", "hook2"))]
pub struct Hook2<T: Send + Sync + 'static> {
    #[circuit_breaker(key)]
    pub host: String,
    pub extra: T,
}

fn main() {
    const LOCAL: &str = "local";
    #[derive(CircuitProtected)]
    #[circuit_breaker(name = LOCAL)]
    struct Local {
        #[circuit_breaker(key)]
        id: u64,
    }
    let _ = Local { id: 1 }.id;
}
