use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    name: String,
}

impl Client {
    #[circuit_breaker(name = "x", fallback = by_key)]
    pub fn get<'a>(&'a self, key: &str) -> Result<&'a str, Error> {
        let _ = key;
        Ok(&self.name)
    }

    fn by_key<'k>(&self, key: &'k str) -> Result<&'k str, Error> {
        Ok(key)
    }
}

fn main() {}
