//! Shapes real client code has: borrowed and lifetime-bound arguments and returns, where
//! clauses, `Self`, `impl Trait` arguments, const generics, recursion, patterns in arguments,
//! `self: Arc<Self>`, associated functions and trait default methods of a derived type.
use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-rw-client", consecutive_failures = 3)]
pub struct Client {
    cache: HashMap<String, String>,
}

impl Client {
    /// Borrowed argument, borrowed return tied to `self`.
    #[circuit_breaker(fallback = cached)]
    pub fn get<'a>(&'a self, key: &str) -> Result<&'a str, Error> {
        self.cache.get(key).map(String::as_str).ok_or(Error)
    }

    fn cached<'a>(&'a self, _key: &str) -> Result<&'a str, Error> {
        Ok("cached")
    }

    /// Elided lifetimes in an async method.
    #[circuit_breaker]
    pub async fn get_async(&self, key: &str) -> Result<Cow<'_, str>, Error> {
        Ok(Cow::Borrowed(self.cache.get(key).map(String::as_str).ok_or(Error)?))
    }

    /// A where clause and an `impl Trait` argument.
    #[circuit_breaker]
    pub fn extend<I>(&mut self, items: I, tag: impl AsRef<str>) -> Result<usize, Error>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        self.cache.extend(items);
        let _ = tag.as_ref();
        Ok(self.cache.len())
    }

    /// An associated function returning `Self`: the type's breaker.
    #[circuit_breaker]
    pub fn connect(url: &str) -> Result<Self, Error> {
        let _ = url;
        Ok(Client { cache: HashMap::new() })
    }

    /// `self: Arc<Self>`.
    #[circuit_breaker]
    pub async fn shared(self: Arc<Self>) -> Result<usize, Error> {
        Ok(self.cache.len())
    }

    /// Patterns in arguments (no fallback, so nothing needs their names).
    #[circuit_breaker]
    pub fn pair(&self, (a, b): (u32, u32), Wrapper(c): Wrapper) -> Result<u32, Error> {
        Ok(a + b + c)
    }

    /// Const generics.
    #[circuit_breaker]
    pub fn batch<const N: usize>(&self, ids: [u32; N]) -> Result<[u32; N], Error> {
        Ok(ids)
    }
}

pub struct Wrapper(pub u32);

/// Recursion through the protected function.
#[circuit_breaker(name = "pass-rw-recursive", consecutive_failures = 100)]
pub fn depth(n: u32) -> Result<u32, Error> {
    if n == 0 { Ok(0) } else { Ok(depth(n - 1)? + 1) }
}

/// Async recursion, boxed.
#[circuit_breaker(name = "pass-rw-async-recursive")]
pub fn walk(n: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, Error>> + Send>> {
    Box::pin(async move { if n == 0 { Ok(0) } else { Ok(walk(n - 1).await? + 1) } })
}

/// Generic with a where clause and a lifetime-bound argument.
#[circuit_breaker(name = "pass-rw-where")]
pub fn describe<'a, T>(items: &'a [T]) -> Result<Vec<&'a T>, Error>
where
    T: Debug + 'a,
{
    Ok(items.iter().collect())
}

/// A trait whose default method runs on the implementor's breaker.
pub trait Health: CircuitProtected {
    fn up(&self) -> bool;

    #[circuit_breaker]
    fn check(&self) -> Result<(), Error> {
        if self.up() { Ok(()) } else { Err(Error) }
    }
}

impl Health for Client {
    fn up(&self) -> bool {
        true
    }
}

fn main() {
    let mut client = Client::connect("redis://").unwrap();
    let _ = client.extend(vec![("a".into(), "b".into())], "tag");
    let _ = client.get("a");
    let _ = client.get_async("a");
    let _ = client.pair((1, 2), Wrapper(3));
    let _ = client.batch([1, 2, 3]);
    let _ = client.check();
    let _ = Arc::new(client).shared();
    let _ = depth(3);
    let _ = walk(3);
    let _ = describe(&[1, 2]);
}
