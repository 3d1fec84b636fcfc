//! Streams through a breaker (feature `stream`): every item of a
//! `Stream<Item = Result<T, E>>` is one call.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use cb_runtime::CircuitBreaker;
//! use std::sync::Arc;
//!
//! let breaker = Arc::new(CircuitBreaker::new("events-feed", Default::default()));
//! let pages = tokio_stream_of(vec![Ok::<_, std::io::Error>("page 1"), Ok("page 2")]);
//! let mut pages = std::pin::pin!(breaker.protect_stream(pages));
//! while let Some(page) = std::future::poll_fn(|cx| futures_core::Stream::poll_next(pages.as_mut(), cx)).await {
//!     println!("{}", page.unwrap());
//! }
//! # });
//! # fn tokio_stream_of<T: Unpin>(v: Vec<T>) -> impl futures_core::Stream<Item = T> + Unpin {
//! #     struct S<T>(std::collections::VecDeque<T>);
//! #     impl<T: Unpin> futures_core::Stream for S<T> {
//! #         type Item = T;
//! #         fn poll_next(mut self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
//! #             std::task::Poll::Ready(self.0.pop_front())
//! #         }
//! #     }
//! #     S(v.into())
//! # }
//! ```
//!
//! - **A call per item.** Asking for the next item takes a permit; the item's arrival records
//!   it: `Ok` a success, `Err` a failure (or as a [`classify`](ProtectedStream::classify)
//!   function says). The time waiting for an item is the call's duration, so slow items count
//!   as slow calls: from the poll that asks for the item to the poll that gets it (time the
//!   consumer holds an item before asking again is not counted; a late poll after a wake is).
//!   The stream ending records nothing. Opening the stream (sending the request whose body is
//!   the stream) is a call of its own: run it through
//!   [`CircuitBreaker::call`](crate::CircuitBreaker::call).
//! - **An open breaker** rejects the next item: the stream yields one
//!   `Err(CallError::Rejected(..))` and ends, or, with a
//!   [`fallback`](ProtectedStream::fallback), continues with the fallback's stream (counted
//!   as one fallback served). An item error does not end the stream; the next item asks the
//!   breaker again.
//! - **Dropping** the stream while it waits for an item records nothing and frees a half-open
//!   slot; a panic while polling the inner stream counts as a failure and keeps unwinding.

mod fallback;
mod protected;

pub use fallback::{Ended, NoStreamFallback, StreamFallback};
pub use protected::{ByResult, DefaultProtectedStream, ProtectedStream};
