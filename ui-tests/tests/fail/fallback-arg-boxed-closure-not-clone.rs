// A `Box<dyn Fn(..)>` parameter the fallback needs again after a failed call: it is not
// `Clone`. One error on the parameter saying so (was rustc's "use parentheses to call this
// trait object", which edits the parameter's name).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = unchanged)]
pub async fn transform(text: String, f: Box<dyn Fn(&str) -> String + Send + Sync>) -> Result<String, Error> {
    Ok(f(&text))
}

fn unchanged(text: String, _f: Box<dyn Fn(&str) -> String + Send + Sync>) -> Result<String, Error> {
    Ok(text)
}

fn main() {}
