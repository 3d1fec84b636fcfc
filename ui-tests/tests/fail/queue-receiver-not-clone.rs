use cb_runtime::circuit_breaker;
use cb_runtime::queue::{NotQueued, Queued};

#[derive(Debug)]
pub struct Error;
impl From<Queued> for Error {
    fn from(_: Queued) -> Self { Error }
}
impl From<NotQueued> for Error {
    fn from(_: NotQueued) -> Self { Error }
}

pub struct Client {
    pub base: String,
}

impl Client {
    #[circuit_breaker(name = "x", queue = "q")]
    pub async fn send(&self, to: String) -> Result<(), Error> {
        let _ = (&self.base, to);
        Ok(())
    }
}

fn main() {}
