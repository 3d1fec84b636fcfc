// The result borrows for the impl's `'s`, the fallback returns `&'static str`: the impl's
// lifetime is the type's, so the check cannot bind it; the borrow error is still one error on
// the fallback path.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Named<'s> {
    name: &'s str,
}

impl<'s> Named<'s> {
    #[circuit_breaker(name = "x", fallback = fixed)]
    pub fn get(&self, id: u64) -> Result<&'s str, Error> {
        let _ = id;
        Ok(self.name)
    }

    fn fixed(&self, _id: u64) -> Result<&'static str, Error> {
        Ok("unknown")
    }
}

fn main() {}
