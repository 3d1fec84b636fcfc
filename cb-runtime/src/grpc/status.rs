//! A rejection or a timeout as the `tonic::Status` a gRPC caller understands.

use crate::{Rejected, Timeout};
use tonic::Status;
use tonic::metadata::{MetadataMap, MetadataValue};

/// The metadata key carrying the rejecting breaker's name (`cb-breaker-bin`, binary, when the
/// name is not printable ASCII).
pub const BREAKER_METADATA: &str = "cb-breaker";

/// The metadata key carrying the milliseconds until the breaker lets a probe through, when
/// known.
pub const RETRY_AFTER_METADATA: &str = "retry-after-ms";

/// `Status::unavailable` naming the breaker, with its name and the retry-after in metadata.
///
/// ```
/// use cb_runtime::{Rejected, State};
/// use std::time::Duration;
///
/// let rejected = Rejected { name: "inventory".into(), state: State::Open, retry_after: Some(Duration::from_secs(3)) };
/// let status = cb_runtime::grpc::rejection_status(&rejected);
/// assert_eq!(status.code(), tonic::Code::Unavailable);
/// assert_eq!(status.message(), "circuit breaker `inventory` is open");
/// assert_eq!(status.metadata().get("cb-breaker").unwrap(), "inventory");
/// assert_eq!(status.metadata().get("retry-after-ms").unwrap(), "3000");
/// ```
pub fn rejection_status(rejected: &Rejected) -> Status {
    let mut status = Status::unavailable(rejected.to_string());
    name_breaker(status.metadata_mut(), rejected.name.as_str());
    if let Some(after) = rejected.retry_after {
        status
            .metadata_mut()
            .insert(RETRY_AFTER_METADATA, MetadataValue::from(after.as_millis() as u64));
    }
    status
}

fn name_breaker(metadata: &mut MetadataMap, name: &str) {
    match MetadataValue::try_from(name) {
        Ok(value) => {
            metadata.insert(BREAKER_METADATA, value);
        }
        Err(_) => {
            metadata.insert_bin("cb-breaker-bin", MetadataValue::from_bytes(name.as_bytes()));
        }
    }
}

/// A rejection is `Status::unavailable` (see [`rejection_status`]): `#[circuit_breaker]` methods
/// returning `Result<_, tonic::Status>` need no fallback.
impl From<Rejected> for Status {
    fn from(rejected: Rejected) -> Self {
        rejection_status(&rejected)
    }
}

/// A call abandoned by the breaker's `timeout` is `Status::deadline_exceeded`, with the
/// breaker's name in metadata.
impl From<Timeout> for Status {
    fn from(timeout: Timeout) -> Self {
        let mut status = Status::deadline_exceeded(timeout.to_string());
        name_breaker(status.metadata_mut(), timeout.name.as_str());
        status
    }
}
