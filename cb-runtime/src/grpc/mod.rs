//! gRPC through tonic (feature `grpc`): protect a tonic `Channel` (or any gRPC client
//! service) with [`GrpcLayer`], and methods returning `Result<tonic::Response<T>, tonic::Status>`
//! with `#[circuit_breaker(failure_if = cb_runtime::grpc::is_failure)]`.
//!
//! ```no_run
//! use cb_runtime::grpc::{GrpcCodes, GrpcLayer};
//! use tonic::Code;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
//! let protected = tower::ServiceBuilder::new()
//!     .layer(GrpcLayer::named("inventory").failure_codes(GrpcCodes::DEFAULT.without(Code::Internal)))
//!     .service(channel);
//! // let client = InventoryClient::new(protected);   // any generated client
//! # let _ = protected; Ok(()) }
//! ```
//!
//! **Classification.** gRPC errors travel as HTTP 200 responses with a `grpc-status`, either
//! in the headers (a "trailers-only" response: the outcome is recorded as the response
//! arrives) or in the trailers at the end of the body (recorded when the caller's reading of the
//! body reaches them, so a streaming call counts once, at its end, and its duration is the
//! stream's). Codes in [`GrpcCodes`] (default UNAVAILABLE, DEADLINE_EXCEEDED,
//! RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN) are failures; any other code, `OK` included, is a
//! success. A transport error (connection refused, reset), a non-2xx HTTP status, a body error
//! and a body that ends without `grpc-status` are failures. A response body dropped before its
//! end counts nothing and frees a half-open slot, like a cancelled call. A unary answer of `OK`
//! with no message (a broken server) is a success to the layer, since a streaming call may end
//! with no message; tonic gives the caller `INTERNAL`, which [`is_failure`] on the method counts.
//!
//! **Rejections** reach a tonic caller as `Status::unavailable("circuit breaker `inventory` is
//! open")` with the metadata `cb-breaker` (the breaker's name; `cb-breaker-bin` when it is not
//! printable ASCII) and `retry-after-ms` (when the open wait is known), see
//! [`rejection_status`]. `poll_ready` never fails for a rejection: tonic's generated clients
//! turn readiness errors into `Status::unknown`, so the rejection is answered by `call`.

mod body;
mod codes;
mod layer;
mod service;
mod status;

pub use body::GrpcBody;
pub use codes::{GrpcCodes, is_failure};
pub use layer::GrpcLayer;
pub use service::{GrpcResponseFuture, GrpcService};
pub use status::{BREAKER_METADATA, RETRY_AFTER_METADATA, rejection_status};
