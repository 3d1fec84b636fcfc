//! A method whose result borrows its receiver, with a fallback named `Type::f` (which receives
//! no receiver) returning a `'static` value: `&self`, async, and `self: Pin<&mut Self>` (whose
//! error message suggests exactly this). Was refused: the expected signature asked for a result
//! borrowed from a receiver the fallback never gets (`fn(&'_0 str) -> Result<&'_0 str, _>` for
//! any `'_0`), which nothing but the receiver can give, and the `Pin<&mut Self>` method also
//! asked for `Pin<&mut Self>: Clone` for a copy of the receiver no fallback received.
use cb_runtime::{circuit_breaker, Rejected};
use std::pin::Pin;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    name: String,
}

impl Client {
    #[circuit_breaker(name = "pass-typef-ref", fallback = Client::unknown)]
    pub fn name(&self, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.name)
    }

    #[circuit_breaker(name = "pass-typef-async", fallback = Client::unknown)]
    pub async fn name_async(&self, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.name)
    }

    #[circuit_breaker(name = "pass-typef-pin", fallback = Client::unknown)]
    pub fn name_pinned(self: Pin<&mut Self>, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.get_mut().name)
    }

    #[circuit_breaker(name = "pass-typef-value", fallback = Client::gone)]
    pub fn into_name(self, key: &str) -> Result<String, Error> {
        let _ = key;
        Ok(self.name)
    }

    fn unknown(_key: &str) -> Result<&'static str, Error> {
        Ok("unknown")
    }

    fn gone(_key: &str) -> Result<String, Error> {
        Ok(String::new())
    }
}

fn main() {
    let mut client = Client { name: "n".into() };
    assert_eq!(client.name("k").unwrap(), "n");
    assert_eq!(Pin::new(&mut client).name_pinned("k").unwrap(), "n");
    assert_eq!(client.into_name("k").unwrap(), "n");
}
