use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Report(std::rc::Rc<u32>);

/// `Rc` is not `Send`: the cache cannot keep it.
#[circuit_breaker(name = "x", fallback = cache)]
pub fn report(id: u32) -> Result<Report, Error> { Ok(Report(std::rc::Rc::new(id))) }

fn main() {}
