//! Fallbacks whose lifetimes line up with the protected function's, checked for every lifetime
//! (issue 11, item 8): async methods and functions, `#[async_trait]`, and each stage of a chain.
use async_trait::async_trait;
use cb_runtime::{circuit_breaker, CallError, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    name: String,
}

impl Client {
    /// The result borrows `id`; so does the fallback's, under another lifetime name.
    #[circuit_breaker(name = "pass-lt-async-named", fallback = echo)]
    pub async fn get<'a>(&self, id: &'a str, other: &str) -> Result<&'a str, Error> {
        let _ = (&self.name, other);
        Ok(id)
    }

    fn echo<'k>(&self, id: &'k str, _other: &str) -> Result<&'k str, Error> {
        Ok(id)
    }

    /// The result borrows `self`; the async fallback's too, with the elision rules.
    #[circuit_breaker(name = "pass-lt-async-elided", fallback = Self::stored)]
    pub async fn name(&self, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.name)
    }

    async fn stored(&self, _key: &str, _cause: CallError<Error>) -> Result<&str, Error> {
        Ok(&self.name)
    }

    /// A chain: every function stage serves every lifetime.
    #[circuit_breaker(name = "pass-lt-chain", fallback = [Self::stored_sync, Self::first, default])]
    pub async fn chained<'a>(&'a self, key: &str) -> Result<&'a str, Error> {
        let _ = key;
        Ok(&self.name)
    }

    fn stored_sync<'s>(&'s self, _key: &str, _cause: CallError<Error>) -> Result<&'s str, Error> {
        Ok(&self.name)
    }

    async fn first(&self, _key: &str) -> Result<&str, Error> {
        Ok(self.name.split(' ').next().unwrap_or_default())
    }

    /// A lifetime parameter bound by another is left free: the fallback may rely on the bound.
    #[circuit_breaker(name = "pass-lt-bounded", fallback = shorter)]
    pub async fn bounded<'long: 'short, 'short>(&self, a: &'long str, b: &'short str) -> Result<&'short str, Error> {
        let _ = b;
        Ok(a)
    }

    fn shorter<'long: 'short, 'short>(&self, a: &'long str, _b: &'short str) -> Result<&'short str, Error> {
        Ok(a)
    }
}

/// A free async function with an async fallback borrowing the same parameter.
#[circuit_breaker(name = "pass-lt-free", fallback = first_word)]
pub async fn trimmed(text: &str) -> Option<&str> {
    Some(text.trim())
}

async fn first_word(text: &str) -> Option<&str> {
    text.split(' ').next()
}

/// A sync chain.
#[circuit_breaker(name = "pass-lt-sync-chain", fallback = [first_word_sync, default])]
pub fn word(text: &str) -> Option<&str> {
    text.split(',').next()
}

fn first_word_sync<'t>(text: &'t str) -> Option<&'t str> {
    text.split(' ').next()
}

#[async_trait]
pub trait Store {
    async fn get<'k>(&self, key: &'k str) -> Result<&'k str, Error>;
    async fn own(&self, key: &str) -> Result<&str, Error>;
}

#[async_trait]
impl Store for Client {
    #[circuit_breaker(name = "pass-lt-at-key", fallback = echo_key)]
    async fn get<'k>(&self, key: &'k str) -> Result<&'k str, Error> {
        Ok(key)
    }

    #[circuit_breaker(name = "pass-lt-at-self", fallback = Self::stored)]
    async fn own(&self, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.name)
    }
}

impl Client {
    fn echo_key<'x>(&self, key: &'x str) -> Result<&'x str, Error> {
        Ok(key)
    }
}

fn main() {}
