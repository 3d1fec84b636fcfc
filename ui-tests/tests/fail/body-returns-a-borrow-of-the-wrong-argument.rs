use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "borrows")]
pub struct Client;

impl Client {
    // The elided output lifetime is `self`'s: returning `p` is the user's mistake, and the
    // error must point at it, not at the attribute.
    #[circuit_breaker]
    pub async fn label(&self, p: &str) -> Result<&str, Error> {
        Ok(p)
    }
}

fn main() {}
