//! More shapes services write, each with a fallback where one makes sense: an `async fn` of a
//! trait impl with `where Self: Sized`, a generic impl `impl<T: Trait> Client<T>`, a
//! `Result<Box<dyn Trait>, E>` return, a `Pin<&mut Self>` receiver, `#[must_use]`, doc
//! comments and `#[allow]` on the function, `mut` and `_` parameters, `&mut` parameters,
//! `Cow<'_, str>` and impl-level lifetimes with a sync fallback (checked for every lifetime),
//! a fallback taking the cause, and `name = Self` on an associated function.
use cb_runtime::{circuit_breaker, CallError, CircuitProtected, Rejected};
use std::borrow::Cow;
use std::fmt::Display;
use std::pin::Pin;

#[derive(Debug, Clone)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub trait Backend {
    fn load(&self, id: u32) -> Option<String>;
}

pub struct Memory;
impl Backend for Memory {
    fn load(&self, id: u32) -> Option<String> {
        Some(id.to_string())
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-wild-client", consecutive_failures = 3)]
pub struct Client<T> {
    backend: T,
    prefix: String,
}

impl<T: Backend> Client<T> {
    /// Doc comments, `#[must_use]` and `#[allow]` pass through.
    #[must_use]
    #[allow(clippy::needless_pass_by_value)]
    #[circuit_breaker(fallback = unknown)]
    pub fn load(&self, id: u32) -> Result<String, Error> {
        self.backend.load(id).ok_or(Error)
    }

    fn unknown(&self, id: u32, cause: CallError<Error>) -> Result<String, Error> {
        let _ = cause;
        Ok(format!("unknown-{id}"))
    }

    /// A boxed trait object in the `Ok` type.
    #[circuit_breaker(fallback = placeholder)]
    pub fn display(&self, id: u32) -> Result<Box<dyn Display + Send>, Error> {
        Ok(Box::new(self.backend.load(id).ok_or(Error)?))
    }

    fn placeholder(&self, _id: u32) -> Result<Box<dyn Display + Send>, Error> {
        Ok(Box::new("?"))
    }

    /// `mut` and `_` parameters (no fallback: `_` has no name to pass on).
    #[circuit_breaker]
    pub fn tally(&self, mut total: u32, _: u32) -> Result<u32, Error> {
        total += 1;
        Ok(total)
    }

    /// A `mut` parameter with a fallback, and a `&mut` one.
    #[circuit_breaker(fallback = fill_default)]
    pub fn fill(&self, mut count: usize, out: &mut Vec<String>) -> Result<usize, Error> {
        while count > 0 {
            out.push(self.prefix.clone());
            count -= 1;
        }
        Ok(out.len())
    }

    fn fill_default(&self, _count: usize, out: &mut Vec<String>) -> Result<usize, Error> {
        Ok(out.len())
    }

    /// `Cow<'_, str>` borrowed from `self`, with a sync fallback.
    #[circuit_breaker(fallback = prefix_or_default)]
    pub fn prefix(&self, fresh: &str) -> Result<Cow<'_, str>, Error> {
        if fresh.is_empty() { Ok(Cow::Borrowed(&self.prefix)) } else { Ok(Cow::Owned(fresh.to_owned())) }
    }

    fn prefix_or_default(&self, _fresh: &str) -> Result<Cow<'_, str>, Error> {
        Ok(Cow::Borrowed(&self.prefix))
    }

    /// `Pin<&mut Self>`.
    #[circuit_breaker]
    pub fn poll_like(self: Pin<&mut Self>) -> Result<usize, Error> {
        Ok(self.prefix.len())
    }

    /// No receiver and no `Self` in the signature: `name = Self` takes the type's breaker.
    #[circuit_breaker(name = Self, fallback = Self::zero)]
    pub fn version(major: u32) -> Result<u32, Error> {
        Ok(major)
    }

    fn zero(_major: u32) -> Result<u32, Error> {
        Ok(0)
    }
}

/// An impl-level lifetime in parameters and return.
pub struct Parser<'src> {
    source: &'src str,
}

impl<'src> Parser<'src> {
    #[circuit_breaker(name = "pass-wild-parser", fallback = whole)]
    pub fn token(&self, from: usize) -> Result<&'src str, Error> {
        self.source.get(from..).ok_or(Error)
    }

    fn whole(&self, _from: usize) -> Result<&'src str, Error> {
        Ok(self.source)
    }
}

/// A free function with a fallback taking the cause and a borrowed argument.
#[circuit_breaker(name = "pass-wild-free", fallback = first_word)]
pub fn first(text: &str) -> Result<&str, Error> {
    text.split(' ').nth(1).ok_or(Error)
}

fn first_word(text: &str, _cause: CallError<Error>) -> Result<&str, Error> {
    Ok(text)
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-wild-store")]
pub struct Store;

trait Fetch {
    /// A trait's `async fn` with a `where Self: Sized` clause.
    async fn fetch(&self, id: u32) -> Result<u32, Error>
    where
        Self: Sized;
}

impl Fetch for Store {
    #[circuit_breaker(fallback = fetch_cached)]
    async fn fetch(&self, id: u32) -> Result<u32, Error>
    where
        Self: Sized,
    {
        Ok(id)
    }
}

impl Store {
    async fn fetch_cached(&self, _id: u32) -> Result<u32, Error> {
        Ok(0)
    }
}

fn main() {
    let mut client = Client { backend: Memory, prefix: "p".into() };
    let _ = client.load(1);
    let _ = client.display(1);
    let _ = client.tally(1, 2);
    let mut out = Vec::new();
    let _ = client.fill(2, &mut out);
    let _ = client.prefix("");
    let _ = Pin::new(&mut client).poll_like();
    let _ = Client::<Memory>::version(1);
    let _ = Parser { source: "a b" }.token(1);
    let _ = first("a b");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _ = runtime.block_on(Store.fetch(1));
}
