// A function returning `impl Stream`: the breaker would count opening the stream, never its
// items, so it is refused with a pointer to `protect_stream`.
use cb_runtime::{Rejected, circuit_breaker};
use futures_core::Stream;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

struct Empty;
impl Stream for Empty {
    type Item = Result<u8, Error>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(None)
    }
}

#[circuit_breaker(name = "feed")]
pub fn feed() -> impl Stream<Item = Result<u8, Error>> {
    Empty
}

fn main() {}
