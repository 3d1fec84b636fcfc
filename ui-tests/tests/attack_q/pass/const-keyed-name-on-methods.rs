//! README: max_keys / idle_ttl are a compile error "on a function with its own `name` (a
//! literal, or a constant without `/`)": a constant keyed name (`webhook/vip`) keeps them, on a
//! method as on a free function; `name = Type::NAME` is a documented form.
use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

mod names {
    pub const VIP: &str = "webhook/vip";
}

pub struct Names;
impl Names {
    pub const GOLD: &'static str = "webhook/gold";
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = names::VIP, max_keys = 100)]
    pub fn notify(&self) -> Result<(), Error> { Ok(()) }

    #[circuit_breaker(name = concat!("webhook", "/", "silver"), idle_ttl = "5m")]
    pub async fn notify_async(&self) -> Result<(), Error> { Ok(()) }
}

#[circuit_breaker(name = Names::GOLD, max_keys = 100)]
pub fn gold() -> Result<(), Error> { Ok(()) }

pub trait Notify {
    #[circuit_breaker(name = names::VIP, max_keys = 100)]
    fn notify_default(&self) -> Result<(), Error> { Ok(()) }
}

fn main() {
    let _ = Client.notify();
    let _ = gold();
}
