// An async method's fallback written `Type::f`: it receives no receiver, but `f` takes `&self`
// (`Self::f` or `f` was meant).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = Client::cached)]
    pub async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }

    async fn cached(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {}
