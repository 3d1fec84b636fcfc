//! `CircuitBreakerLayer` (feature `tower`): protect any tower `Service` (reqwest middleware,
//! tonic channels, hyper and axum stacks) with a breaker.
//!
//! ```
//! use cb_runtime::tower::{CircuitBreakerLayer, HttpStatus};
//! use tower_layer::Layer;
//!
//! let layer = CircuitBreakerLayer::named("tower-docs-backend").classify(HttpStatus);
//! let service = layer.layer(tower_service_fn());
//! # fn tower_service_fn() -> impl tower_service::Service<u8, Response = http::Response<()>, Error = std::io::Error> + Clone {
//! #     #[derive(Clone)] struct S;
//! #     impl tower_service::Service<u8> for S {
//! #         type Response = http::Response<()>; type Error = std::io::Error;
//! #         type Future = std::future::Ready<Result<http::Response<()>, std::io::Error>>;
//! #         fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), std::io::Error>> { std::task::Poll::Ready(Ok(())) }
//! #         fn call(&mut self, _: u8) -> Self::Future { std::future::ready(Ok(http::Response::new(()))) }
//! #     }
//! #     S
//! # }
//! # let _ = service;
//! ```
//!
//! `poll_ready` takes the permit; a rejection is answered by `call` (with the rejection, or the
//! fallback's answer) without polling or calling the inner service. It is never a readiness
//! error: tower reads those as "this service failed for good" (`Buffer` stops its worker).
//! Errors are [`CallError`](crate::CallError)s, which are `std::error::Error + Send + Sync`
//! for every inner error that is `Debug + Display + Send + Sync`, `tower::BoxError` included,
//! so the layer stacks under and over `Timeout`, `Retry`, `ConcurrencyLimit`, `Buffer` and
//! `LoadShed`; from a `BoxError`, `downcast_ref::<CallError<E>>()` finds the rejection (`E`
//! being the error type under the breaker). Classification: by default an
//! `Err` is a failure; [`HttpStatus`] also counts 5xx and 429 responses as failures; any
//! `Fn(&Result<Response, Error>) -> Outcome` works. A fallback answers rejections and errors
//! (a response classified as a failure is still returned as it is). Dropping the response
//! future counts nothing; a panic inside it counts as a failure and keeps unwinding.
//!
//! Layered over another `CircuitBreakerLayer` (a service-wide breaker over per-route ones), the
//! outer breaker counts the inner one's rejections nowhere: the backend was not called. It
//! sees them when the inner answer comes in the same poll (layers stacked directly, or with
//! `Timeout`, `Retry` or `MapErr` between); across a `Buffer` it counts them as its
//! classification says.
//!
//! A rejection answers one readiness check: the next `poll_ready` asks the breaker again. A
//! permit taken in `poll_ready` times the call from `call` on, so the wait for the inner
//! service's readiness (a `ConcurrencyLimit` slot, a pool) is not counted as a slow call.

mod classify;
mod layer;
pub(crate) mod local;
pub(crate) mod nested;
mod service;

pub use classify::{Classify, ErrIsFailure, Fallback, HttpStatus, NoFallback};
pub use layer::CircuitBreakerLayer;
pub use service::{CircuitBreakerService, ResponseFuture};
