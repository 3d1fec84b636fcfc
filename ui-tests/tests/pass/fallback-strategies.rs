//! Every shape of declarative fallback: default, a value, the cache (owned, borrowed and
//! `impl Trait` arguments, methods of every receiver, generics, async), and chains.

use cb_runtime::{CallError, Rejected, Timeout, circuit_breaker};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

#[derive(Clone, Debug, Default)]
pub struct Page {
    pub items: Vec<String>,
}

#[circuit_breaker(name = "p-default", fallback = default)]
pub fn page(n: u32) -> Result<Page, Error> { Ok(Page { items: vec![n.to_string()] }) }

#[circuit_breaker(name = "p-default-plain", fallback = default)]
pub fn plain(n: u32) -> u32 { n }

#[circuit_breaker(name = "p-default-option", fallback = default)]
pub async fn maybe(n: u32) -> Option<u32> { Some(n) }

#[circuit_breaker(name = "p-value", fallback_value = Ok(Page::default()), fallback_on = "rejected")]
pub fn valued(n: u32) -> Result<Page, Error> { Ok(Page { items: vec![n.to_string()] }) }

#[circuit_breaker(name = "p-value-const", fallback = value(EMPTY))]
pub fn constant(n: &str) -> &'static str { if n.is_empty() { "" } else { "x" } }
const EMPTY: &str = "";

#[circuit_breaker(name = "p-cache", fallback = cache, cache(max_entries = 10, max_stale = "1m"))]
pub fn cached(id: u32, name: &str, tags: &[String], by: &mut Vec<u8>) -> Result<Page, Error> {
    by.push(1);
    Ok(Page { items: vec![format!("{id}{name}{}", tags.len())] })
}

#[circuit_breaker(name = "p-cache-generic", fallback = cache, timeout = "1s")]
pub async fn generic<T: std::hash::Hash + Eq + Clone + Send + Sync + ToString + 'static>(key: T) -> Result<String, Error> {
    Ok(key.to_string())
}

pub struct Service {
    pub base: String,
}

impl Service {
    #[circuit_breaker(name = "p-chain", fallback = [cache, Self::replica, Service::mirror, default])]
    pub async fn fetch(&self, path: String) -> Result<Page, Error> {
        Ok(Page { items: vec![format!("{}{path}", self.base)] })
    }

    async fn replica(&self, path: String, _cause: CallError<Error>) -> Result<Page, Error> {
        Ok(Page { items: vec![path] })
    }

    fn mirror(path: String) -> Result<Page, Error> {
        Ok(Page { items: vec![path] })
    }

    #[circuit_breaker(name = "p-chain-mut", fallback = [first, second, value(Ok(0))])]
    pub fn bump(&mut self, by: &mut u32, label: String) -> Result<u32, Error> {
        *by += 1;
        Ok(*by + label.len() as u32)
    }

    fn first(&mut self, by: &mut u32, _label: String) -> Result<u32, Error> {
        *by += 10;
        Err(Error)
    }

    fn second(&mut self, by: &mut u32, label: String, _cause: CallError<Error>) -> Result<u32, Error> {
        self.base.push_str(&label);
        Ok(*by)
    }

    #[circuit_breaker(name = "p-chain-owned", fallback = [Self::again, cache])]
    pub fn consume(self, n: u32) -> Result<u32, Error> { Ok(n + self.base.len() as u32) }

    fn again(self, n: u32) -> Result<u32, Error> { Ok(n) }
}

impl Clone for Service {
    fn clone(&self) -> Self {
        Service { base: self.base.clone() }
    }
}

/// A future built before the call (`built`): the key is taken before building it.
#[circuit_breaker(name = "p-built", fallback = [cache, built_replica, default])]
pub fn built(id: u64, name: String) -> impl std::future::Future<Output = Result<u64, Error>> {
    if id == 0 {
        return futures_ready(Ok(0));
    }
    futures_ready(Ok(id + name.len() as u64))
}

fn futures_ready(v: Result<u64, Error>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, Error>> + Send>> {
    Box::pin(async move { v })
}

async fn built_replica(id: u64, _name: String) -> Result<u64, Error> {
    Ok(id)
}

/// An `async` block returned as `impl Future`, with the cache.
#[circuit_breaker(name = "p-returned", fallback = cache)]
pub fn returned(id: u64) -> impl std::future::Future<Output = Result<u64, Error>> {
    async move { Ok(id) }
}

#[async_trait::async_trait]
pub trait Lookup {
    async fn find(&self, id: u64) -> Result<u64, Error>;
}

#[async_trait::async_trait]
impl Lookup for Service {
    #[circuit_breaker(name = "p-async-trait", fallback = [cache, Self::find_replica, value(Ok(0))])]
    async fn find(&self, id: u64) -> Result<u64, Error> {
        Ok(id + self.base.len() as u64)
    }
}

impl Service {
    async fn find_replica(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {
    let _ = page(1);
    let _ = plain(1);
    let _ = maybe(1);
    let _ = valued(1);
    let _ = constant("a");
    let _ = cached(1, "a", &[], &mut Vec::new());
    let _ = generic(1u8);
    let _ = generic(String::new());
    let mut s = Service { base: String::new() };
    let _ = s.fetch("/".into());
    let mut n = 0;
    let _ = s.bump(&mut n, "l".into());
    let _ = built(1, String::new());
    let _ = returned(1);
    let _ = Service { base: String::new() }.find(1);
    let _ = s.consume(1);
}
