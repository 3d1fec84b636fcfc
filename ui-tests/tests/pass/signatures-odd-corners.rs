//! Less common shapes: `unsafe fn`, `?Sized` generics with a sync fallback over borrowed
//! data, a generic fallback path (`cached::<T>`), `self: &Arc<Self>`, `&mut self` async with a
//! fallback, `#[inline]`, and a return borrowed from a `Pin<&mut Self>` receiver.
use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};
use std::pin::Pin;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

/// # Safety
/// `p` points to a readable byte.
#[circuit_breaker(name = "pass-odd-unsafe")]
pub unsafe fn read(p: *const u8) -> Result<u8, Error> {
    Ok(unsafe { *p })
}

#[inline]
#[circuit_breaker(name = "pass-odd-unsized", fallback = same)]
pub fn echo<'a, T: ?Sized + 'a>(value: &'a T) -> Result<&'a T, Error> {
    Ok(value)
}

fn same<'a, T: ?Sized>(value: &'a T) -> Result<&'a T, Error> {
    Ok(value)
}

#[circuit_breaker(name = "pass-odd-generic-path", fallback = cached::<T>)]
pub fn parse<T: std::str::FromStr + Default>(text: String) -> Result<T, Error> {
    text.parse().map_err(|_| Error)
}

fn cached<T: Default>(_text: String) -> Result<T, Error> {
    Ok(T::default())
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-odd-client")]
pub struct Client {
    name: String,
}

impl Client {
    #[circuit_breaker(fallback = shared_default)]
    pub fn shared(self: &Arc<Self>, suffix: &str) -> Result<String, Error> {
        Ok(format!("{}{suffix}", self.name))
    }

    fn shared_default(self: &Arc<Self>, _suffix: &str) -> Result<String, Error> {
        Ok(String::new())
    }

    #[circuit_breaker(fallback = rename_default)]
    pub async fn rename(&mut self, name: &str) -> Result<usize, Error> {
        self.name = name.to_owned();
        Ok(self.name.len())
    }

    async fn rename_default(&mut self, _name: &str) -> Result<usize, Error> {
        Ok(0)
    }

    #[circuit_breaker]
    pub fn name_of(self: Pin<&mut Self>) -> Result<&str, Error> {
        Ok(&self.get_mut().name)
    }
}

fn main() {
    let byte = 7u8;
    let _ = unsafe { read(&byte) };
    let _ = echo("x");
    let _ = parse::<u8>("1".into());
    let client = Arc::new(Client { name: "c".into() });
    let _ = client.shared("!");
    let mut client = Client { name: "c".into() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _ = runtime.block_on(client.rename("d"));
    let _ = Pin::new(&mut client).name_of();
}
