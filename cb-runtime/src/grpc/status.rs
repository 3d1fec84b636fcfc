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

/// The name in `cb-breaker` when every byte is printable ASCII (space to `~`), else in
/// `cb-breaker-bin`: `MetadataValue` also takes a tab and bytes above 0x7F as text, which
/// `to_str` then refuses, so a reader could get the name from neither key.
fn name_breaker(metadata: &mut MetadataMap, name: &str) {
    let printable = name.bytes().all(|b| (0x20..=0x7E).contains(&b));
    match MetadataValue::try_from(name) {
        Ok(value) if printable => {
            metadata.insert(BREAKER_METADATA, value);
        }
        _ => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::State;

    fn named(name: &str) -> Status {
        rejection_status(&Rejected {
            name: name.into(),
            state: State::Open,
            retry_after: None,
        })
    }

    #[test]
    fn a_name_that_is_not_printable_ascii_goes_in_the_binary_key() {
        for name in ["ünï", "tab\there", "new\nline", "del\x7f"] {
            let status = named(name);
            assert!(status.metadata().get(BREAKER_METADATA).is_none(), "{name:?}");
            let bin = status.metadata().get_bin("cb-breaker-bin").unwrap();
            assert_eq!(bin.to_bytes().unwrap().as_ref(), name.as_bytes(), "{name:?}");
        }
        let plain = named("inventory ~v2");
        assert_eq!(
            plain.metadata().get(BREAKER_METADATA).unwrap().to_str().unwrap(),
            "inventory ~v2"
        );
        assert!(plain.metadata().get_bin("cb-breaker-bin").is_none());
    }
}
