// The result borrows `&mut self`; even for rejections only, a chain cannot hand `self` to two
// stages (the first's result may keep it). One error on the receiver (was rustc's E0499 on the
// attribute, "mutably borrowed here in the previous iteration of the loop").
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    items: Vec<String>,
}

impl Client {
    #[circuit_breaker(name = "x", fallback = [Self::last, Self::first], fallback_on = "rejected")]
    pub fn push(&mut self, item: &str) -> Result<&String, Error> {
        self.items.push(item.to_owned());
        self.items.last().ok_or(Error)
    }

    fn last(&mut self, _item: &str) -> Result<&String, Error> {
        self.items.last().ok_or(Error)
    }

    fn first(&mut self, _item: &str) -> Result<&String, Error> {
        self.items.first().ok_or(Error)
    }
}

fn main() {}
