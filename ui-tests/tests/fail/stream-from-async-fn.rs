//! Streams returned by an async function or boxed without `Pin`: refused like `impl Stream`.
use cb_runtime::{circuit_breaker, Rejected};
use futures_core::Stream;

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Ticks;
impl Stream for Ticks {
    type Item = u8;
    fn poll_next(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<u8>> {
        std::task::Poll::Ready(None)
    }
}

#[circuit_breaker(name = "async-stream", fallback = no_ticks)]
pub async fn ticks() -> Ticks {
    Ticks
}

async fn no_ticks() -> Ticks {
    Ticks
}

#[circuit_breaker(name = "boxed-stream", fallback = no_boxed)]
pub fn boxed() -> Box<dyn Stream<Item = u8> + Unpin + Send> {
    Box::new(Ticks)
}

fn no_boxed() -> Box<dyn Stream<Item = u8> + Unpin + Send> {
    Box::new(Ticks)
}

fn main() {}
