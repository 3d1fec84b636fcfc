use cb_runtime::{circuit_breaker, Rejected};
use std::borrow::Cow;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

/// A top-level `&str` is keyed by a `String`, but a borrow inside a type cannot be copied into a key.
#[circuit_breaker(name = "x", fallback = cache)]
pub fn lookup<'a>(region: &str, tag: Option<&str>, label: Cow<'a, str>, pair: (u32, &'a [u8])) -> Result<usize, Error> {
    Ok(region.len() + tag.map_or(0, str::len) + label.len() + pair.1.len())
}

fn main() {}
