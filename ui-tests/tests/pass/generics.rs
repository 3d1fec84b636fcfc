use cb_runtime::{circuit_breaker, Rejected};
use std::fmt::Display;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "pass-generic", fallback = generic_fallback)]
pub fn generic<T: Display + Clone>(value: T) -> Result<String, Error> {
    Ok(value.to_string())
}

fn generic_fallback<T: Display>(value: T) -> Result<String, Error> {
    Ok(format!("cached {value}"))
}

#[circuit_breaker(name = "pass-impl-trait")]
pub async fn impl_trait_arg(items: impl IntoIterator<Item = u32>) -> Result<u32, Error> {
    Ok(items.into_iter().sum())
}

pub struct Wrapper<T>(T);

impl<T: Display + Send + Sync> Wrapper<T> {
    #[circuit_breaker(name = "pass-generic-impl")]
    pub async fn show(&self) -> Result<String, Error> {
        Ok(self.0.to_string())
    }
}

fn main() {
    let _ = generic(1u8);
    let _ = impl_trait_arg(vec![1, 2]);
    let _ = Wrapper(1).show();
}
