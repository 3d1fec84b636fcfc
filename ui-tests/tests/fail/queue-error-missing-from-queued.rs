use cb_runtime::circuit_breaker;

#[derive(Debug)]
pub struct Error;
impl From<cb_runtime::Rejected> for Error {
    fn from(_: cb_runtime::Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", queue = "q")]
pub async fn send(to: String) -> Result<(), Error> {
    let _ = to;
    Ok(())
}

fn main() {}
