use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Page { pub items: Vec<u32> }

#[circuit_breaker(name = "x", fallback = default)]
pub fn page(id: u32) -> Result<Page, Error> { Ok(Page { items: vec![id] }) }

fn main() {}
