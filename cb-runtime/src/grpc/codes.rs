//! Which gRPC status codes count as failures.

use tonic::{Code, Status};

/// A set of gRPC status codes: the ones a breaker counts as failures.
///
/// ```
/// use cb_runtime::grpc::GrpcCodes;
/// use tonic::Code;
///
/// assert!(GrpcCodes::DEFAULT.contains(Code::Unavailable));
/// assert!(!GrpcCodes::DEFAULT.contains(Code::NotFound));
/// let strict = GrpcCodes::DEFAULT.with(Code::Aborted).without(Code::Internal);
/// assert!(strict.contains(Code::Aborted) && !strict.contains(Code::Internal));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GrpcCodes(u32);

impl GrpcCodes {
    /// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and UNKNOWN: the codes that
    /// say the backend, not the request, is in trouble.
    pub const DEFAULT: GrpcCodes = GrpcCodes::NONE
        .with(Code::Unavailable)
        .with(Code::DeadlineExceeded)
        .with(Code::ResourceExhausted)
        .with(Code::Internal)
        .with(Code::Unknown);

    /// No code: only transport errors and broken responses count as failures.
    pub const NONE: GrpcCodes = GrpcCodes(0);

    /// Exactly `codes`.
    pub fn of(codes: impl IntoIterator<Item = Code>) -> Self {
        codes.into_iter().fold(Self::NONE, Self::with)
    }

    /// This set and `code`.
    pub const fn with(self, code: Code) -> Self {
        GrpcCodes(self.0 | bit(code))
    }

    /// This set without `code`.
    pub const fn without(self, code: Code) -> Self {
        GrpcCodes(self.0 & !bit(code))
    }

    /// Whether `code` is in the set.
    pub const fn contains(self, code: Code) -> bool {
        self.0 & bit(code) != 0
    }
}

impl Default for GrpcCodes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Codes are 0..=16.
const fn bit(code: Code) -> u32 {
    1 << (code as u32 & 31)
}

/// Whether `status` counts as a failure by [`GrpcCodes::DEFAULT`]: the classifier for
/// `#[circuit_breaker]` methods returning `Result<tonic::Response<T>, tonic::Status>`.
///
/// ```
/// use cb_runtime::circuit_breaker;
/// use tonic::{Response, Status};
///
/// #[circuit_breaker(name = "grpc-docs-inventory", failure_if = cb_runtime::grpc::is_failure)]
/// async fn stock(sku: u32) -> Result<Response<u32>, Status> {
///     Err(Status::not_found(format!("no sku {sku}")))   // a NOT_FOUND answers: not a failure
/// }
/// # let _ = stock;
/// ```
pub fn is_failure(status: &Status) -> bool {
    GrpcCodes::DEFAULT.contains(status.code())
}
