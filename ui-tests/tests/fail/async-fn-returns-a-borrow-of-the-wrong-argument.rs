use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

// `b` is not `'a`: the error points at the declared return type, with rustc's fix for `b`.
#[circuit_breaker(name = "picks")]
pub async fn pick<'a>(a: &'a str, b: &str) -> Result<&'a str, Error> {
    let _ = a;
    Ok(b)
}

fn main() {}
