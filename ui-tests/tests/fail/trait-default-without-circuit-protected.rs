use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub trait Ping {
    #[circuit_breaker]
    fn ping(&self) -> Result<(), Error> { Ok(()) }
}

fn main() {}
