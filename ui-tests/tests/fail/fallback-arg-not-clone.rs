use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Request {
    pub id: u32,
}

#[circuit_breaker(name = "x", fallback = cached)]
pub fn send(request: Request) -> Result<u32, Error> { Ok(request.id) }

fn cached(request: Request) -> Result<u32, Error> { Ok(request.id) }

fn main() {}
