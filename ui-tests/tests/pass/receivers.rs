use cb_runtime::{circuit_breaker, CallError, Rejected};

#[derive(Debug, Clone)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(Clone)]
pub struct Client {
    hits: u32,
}

impl Client {
    #[circuit_breaker(name = "pass-ref", fallback = cached)]
    pub fn by_ref(&self, key: String) -> Result<String, Error> {
        Ok(key)
    }

    fn cached(&self, key: String, _cause: CallError<Error>) -> Result<String, Error> {
        Ok(key)
    }

    #[circuit_breaker(name = "pass-mut", fallback = cached_mut)]
    pub fn by_mut(&mut self, n: &u32) -> Result<u32, Error> {
        self.hits += n;
        Ok(self.hits)
    }

    fn cached_mut(&mut self, _n: &u32) -> Result<u32, Error> {
        Ok(self.hits)
    }

    #[circuit_breaker(name = "pass-owned", fallback = Self::cached_owned)]
    pub async fn by_value(self, n: u32) -> Result<u32, Error> {
        Ok(self.hits + n)
    }

    async fn cached_owned(self, n: u32) -> Result<u32, Error> {
        Ok(n)
    }

    #[circuit_breaker(name = "pass-assoc", fallback = free_fallback)]
    pub fn associated(n: u32) -> Result<u32, Error> {
        Ok(n)
    }
}

fn free_fallback(n: u32) -> Result<u32, Error> {
    Ok(n)
}

fn main() {
    let mut c = Client { hits: 0 };
    let _ = c.by_ref("k".into());
    let _ = c.by_mut(&1);
    let _ = c.clone().by_value(1);
    let _ = Client::associated(1);
}
