//! `queue` on a trait's provided async method: the replay handler calls the method it is in,
//! and rustc cannot name a trait method's future inside its own default body (E0792). The
//! README says to put `queue` on each impl's method instead.
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

pub trait Notify: Clone + Send + Sync + 'static {
    #[circuit_breaker(name = "x", queue = "q")]
    async fn send(&self, to: String) -> Result<(), Error> {
        let _ = to;
        Ok(())
    }
}

fn main() {}
