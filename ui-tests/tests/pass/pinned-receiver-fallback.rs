//! `self: Pin<&mut Self>` with a fallback that receives it after a failed call (issue 11): the
//! body's receiver is reborrowed, not cloned, so `Self` need not be `Clone`. Sync, async, a
//! chain, `self` inside a macro, and `self::` paths left alone.
use cb_runtime::{circuit_breaker, CallError, Rejected};
use std::pin::Pin;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

mod limits {
    pub const MAX: usize = 10;
}

pub struct Reader {
    pos: usize,
}

impl Reader {
    #[circuit_breaker(name = "pass-pin-sync", fallback = rewind)]
    pub fn advance(self: Pin<&mut Self>, by: usize) -> Result<usize, Error> {
        let this = self.get_mut();
        this.pos += by;
        if this.pos > self::limits::MAX { Err(Error) } else { Ok(this.pos) }
    }

    fn rewind(self: Pin<&mut Self>, _by: usize, _cause: CallError<Error>) -> Result<usize, Error> {
        self.get_mut().pos = 0;
        Ok(0)
    }

    #[circuit_breaker(name = "pass-pin-async", fallback = [Self::rewind, Self::current, default])]
    pub async fn advance_async(mut self: Pin<&mut Self>, by: usize) -> Result<usize, Error> {
        self.as_mut().get_mut().pos += by;
        let pos = format!("{}", self.pos).len();
        Ok(pos)
    }

    async fn current(self: Pin<&mut Self>, _by: usize) -> Result<usize, Error> {
        Ok(self.pos)
    }

    /// A fallback narrowed to rejections gets the receiver the call never used.
    #[circuit_breaker(name = "pass-pin-rejected", fallback = rewind, fallback_on = "rejected")]
    pub fn name_len(self: Pin<&mut Self>, by: usize) -> Result<usize, Error> {
        Ok(self.pos + by)
    }

    /// The same with a chain: each stage gets a reborrow, the last the receiver itself.
    #[circuit_breaker(name = "pass-pin-rejected-chain", fallback = [Self::refuse, rewind], fallback_on = "rejected")]
    pub fn position(self: Pin<&mut Self>, by: usize) -> Result<usize, Error> {
        Ok(self.pos + by)
    }

    fn refuse(self: Pin<&mut Self>, _by: usize) -> Result<usize, Error> {
        let _ = self.pos;
        Err(Error)
    }
}

fn main() {
    let mut reader = Reader { pos: 0 };
    let _ = Pin::new(&mut reader).advance(3);
    let _ = Pin::new(&mut reader).name_len(1);
    let _ = Pin::new(&mut reader).position(1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _ = runtime.block_on(Pin::new(&mut reader).advance_async(2));
}
