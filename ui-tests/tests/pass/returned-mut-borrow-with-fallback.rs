//! A result that borrows `&mut self` or a `&mut` parameter, with a fallback that can serve it:
//! for rejections only (it gets what the call never used), a chain with one function stage and a value, or
//! a `Type::f` fallback returning a `'static` value.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    items: Vec<String>,
}

static EMPTY: String = String::new();

impl Client {
    #[circuit_breaker(name = "pass-mut-rejected", fallback = first, fallback_on = "rejected")]
    pub fn push(&mut self, item: &str) -> Result<&String, Error> {
        self.items.push(item.to_owned());
        self.items.last().ok_or(Error)
    }

    fn first(&mut self, _item: &str) -> Result<&String, Error> {
        self.items.first().ok_or(Error)
    }

    #[circuit_breaker(name = "pass-mut-rejected-async", fallback = first_mut, fallback_on = "rejected")]
    pub async fn push_async(&mut self, item: &str) -> Result<&mut String, Error> {
        self.items.push(item.to_owned());
        self.items.last_mut().ok_or(Error)
    }

    async fn first_mut(&mut self, _item: &str) -> Result<&mut String, Error> {
        self.items.first_mut().ok_or(Error)
    }

    #[circuit_breaker(name = "pass-mut-chain", fallback = [Self::first, value(Err(Error))], fallback_on = "rejected")]
    pub fn push_chain(&mut self, item: &str) -> Result<&String, Error> {
        self.items.push(item.to_owned());
        self.items.last().ok_or(Error)
    }

    #[circuit_breaker(name = "pass-mut-type-path", fallback = Client::none)]
    pub fn push_or_none(&mut self, item: &str) -> Result<&String, Error> {
        self.items.push(item.to_owned());
        self.items.last().ok_or(Error)
    }

    fn none(_item: &str) -> Result<&'static String, Error> {
        Ok(&EMPTY)
    }
}

#[circuit_breaker(name = "pass-mut-param", fallback = first_byte, fallback_on = "rejected")]
pub fn push(buf: &mut Vec<u8>, byte: u8) -> Result<&mut u8, Error> {
    buf.push(byte);
    buf.last_mut().ok_or(Error)
}

fn first_byte(buf: &mut Vec<u8>, _byte: u8) -> Result<&mut u8, Error> {
    buf.first_mut().ok_or(Error)
}

fn main() {
    let mut client = Client { items: Vec::new() };
    assert_eq!(client.push("a").unwrap(), "a");
    assert_eq!(client.push_or_none("b").unwrap(), "b");
    assert_eq!(client.push_chain("c").unwrap(), "c");
    let mut buf = Vec::new();
    assert_eq!(*push(&mut buf, 7).unwrap(), 7);
}
