// A function returning a stream under a name (`Pin<Box<dyn Stream>>`, an alias like
// `BoxStream`): with a fallback it would compile and count opening the stream as the call, so
// it is refused at the return type.
use cb_runtime::{Rejected, circuit_breaker};
use futures_core::Stream;
use std::pin::Pin;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

struct Empty;
impl Stream for Empty {
    type Item = Result<u8, Error>;
    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(None)
    }
}

type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

#[circuit_breaker(name = "feed", fallback = no_feed)]
pub fn feed() -> Pin<Box<dyn Stream<Item = Result<u8, Error>> + Send>> {
    Box::pin(Empty)
}

fn no_feed() -> Pin<Box<dyn Stream<Item = Result<u8, Error>> + Send>> {
    Box::pin(Empty)
}

#[circuit_breaker(name = "aliased", fallback = no_aliased)]
pub async fn aliased() -> BoxStream<'static, Result<u8, Error>> {
    Box::pin(Empty)
}

async fn no_aliased() -> BoxStream<'static, Result<u8, Error>> {
    Box::pin(Empty)
}

fn main() {}
