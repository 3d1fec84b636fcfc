use cb_runtime::{circuit_breaker, CallError, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "cause-ref", fallback = cached)]
pub async fn price(id: u32) -> Result<u32, Error> {
    Ok(id)
}

async fn cached(id: u32, _cause: &CallError<Error>) -> Result<u32, Error> {
    Ok(id)
}

fn main() {}
