//! `#[track_caller]` written above `#[circuit_breaker]`, or through `cfg_attr`: the same
//! refusal as below it (the caller's location would silently be the macro's closure).
use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[track_caller]
#[circuit_breaker(name = "above")]
pub fn above() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(name = "cfg-attr")]
#[cfg_attr(all(), track_caller)]
pub fn through_cfg_attr() -> Result<(), Error> {
    Ok(())
}

#[cfg_attr(all(), track_caller)]
#[circuit_breaker(name = "cfg-attr-above")]
pub fn through_cfg_attr_above() -> Result<(), Error> {
    Ok(())
}

fn main() {}
