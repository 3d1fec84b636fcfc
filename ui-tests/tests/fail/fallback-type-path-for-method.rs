use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = Client::cached)]
    pub fn get(&self, id: u32) -> Result<u32, Error> { Ok(id) }

    fn cached(&self, id: u32) -> Result<u32, Error> { Ok(id) }
}

fn main() {}
