// The result borrows `&mut self` and the fallback receives `self` after a failed call: the
// receiver stays borrowed by the returned value whichever way the call went. One error on the
// receiver saying what works (was rustc's E0524/E0501 on the attribute, about closures
// "constructed in different iterations of loop", with a note inside cb-runtime).
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
    #[circuit_breaker(name = "x", fallback = first)]
    pub async fn push(&mut self, item: &str) -> Result<&mut String, Error> {
        self.items.push(item.to_owned());
        self.items.last_mut().ok_or(Error)
    }

    async fn first(&mut self, _item: &str) -> Result<&mut String, Error> {
        self.items.first_mut().ok_or(Error)
    }
}

fn main() {}
