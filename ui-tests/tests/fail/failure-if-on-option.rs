use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

fn transient(_: &Error) -> bool { true }

#[circuit_breaker(name = "x", failure_if = transient, fallback = nothing)]
pub fn f(id: u32) -> Option<u32> { Some(id) }

fn nothing(_id: u32) -> Option<u32> { None }

fn main() {}
