// The result borrows a `&mut` parameter and the fallback receives it after a failed call.
// One error on the parameter (was rustc's E0524 on the attribute about two closures).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = first)]
pub fn push(buf: &mut Vec<u8>, byte: u8) -> Result<&mut u8, Error> {
    buf.push(byte);
    buf.last_mut().ok_or(Error)
}

fn first(buf: &mut Vec<u8>, _byte: u8) -> Result<&mut u8, Error> {
    buf.first_mut().ok_or(Error)
}

fn main() {}
