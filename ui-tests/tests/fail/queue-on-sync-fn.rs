use cb_runtime::circuit_breaker;
use cb_runtime::queue::{NotQueued, Queued};

#[derive(Debug)]
pub struct Error;
impl From<Queued> for Error {
    fn from(_: Queued) -> Self { Error }
}
impl From<NotQueued> for Error {
    fn from(_: NotQueued) -> Self { Error }
}

#[circuit_breaker(name = "x", queue = "q")]
pub fn send(to: String) -> Result<(), Error> {
    let _ = to;
    Ok(())
}

fn main() {}
