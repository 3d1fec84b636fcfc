mod deps {
    pub use ::cb_runtime;
}

#[allow(unused_imports)]
use std as cb_runtime;

#[derive(Debug)]
pub struct Error;
impl From<deps::cb_runtime::Rejected> for Error {
    fn from(_: deps::cb_runtime::Rejected) -> Self { Error }
}

#[deps::cb_runtime::circuit_breaker(name = "pass-crate-path", crate = "deps::cb_runtime")]
pub fn renamed() -> Result<(), Error> {
    Ok(())
}

#[derive(deps::cb_runtime::CircuitProtected)]
#[circuit_breaker(name = "pass-crate-path-derive", crate = "deps::cb_runtime")]
pub struct Client;

fn main() {
    let _ = renamed();
}
