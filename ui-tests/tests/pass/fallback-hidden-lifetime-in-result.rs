//! A result whose standard type carries a lifetime left out of its path (`Cow<str>`,
//! `Ref<T>`): the elision rules give it the receiver's, and a fallback spelt the same way
//! serves it (sync, async, in a chain). Was refused by the fallback lifetime check, which
//! could not name that lifetime (`expected .. -> Result<Cow<'_, str>, Error>`).
#![allow(mismatched_lifetime_syntaxes)]
use cb_runtime::{circuit_breaker, CallError, Rejected};
use std::borrow::Cow;
use std::cell::{Ref, RefCell};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    name: String,
    cell: RefCell<Vec<u8>>,
}

impl Client {
    #[circuit_breaker(name = "pass-hidden-cow", fallback = stored)]
    pub fn label(&self, key: &str) -> Result<Cow<str>, Error> {
        let _ = key;
        Ok(Cow::Borrowed(&self.name))
    }

    fn stored(&self, _key: &str, _cause: CallError<Error>) -> Result<Cow<str>, Error> {
        Ok(Cow::Borrowed(&self.name))
    }

    #[circuit_breaker(name = "pass-hidden-cow-async", fallback = stored_async)]
    pub async fn label_async(&self, key: &str) -> Result<Cow<str>, Error> {
        let _ = key;
        Ok(Cow::Borrowed(&self.name))
    }

    async fn stored_async(&self, _key: &str) -> Result<Cow<str>, Error> {
        Ok(Cow::Owned(String::new()))
    }

    #[circuit_breaker(name = "pass-hidden-cow-chain", fallback = [Self::stored, default])]
    pub fn label_chain(&self, key: &str) -> Result<Cow<str>, Error> {
        let _ = key;
        Ok(Cow::Borrowed(&self.name))
    }

    #[circuit_breaker(name = "pass-hidden-ref", fallback = bytes_fb)]
    pub fn bytes(&self, key: &str) -> Option<Ref<Vec<u8>>> {
        let _ = key;
        Some(self.cell.borrow())
    }

    fn bytes_fb(&self, _key: &str) -> Option<Ref<Vec<u8>>> {
        None
    }
}

fn main() {
    let client = Client { name: "n".into(), cell: RefCell::new(vec![1]) };
    assert_eq!(client.label("k").unwrap(), "n");
    assert_eq!(client.label_chain("k").unwrap(), "n");
    assert_eq!(client.bytes("k").unwrap().len(), 1);
}
