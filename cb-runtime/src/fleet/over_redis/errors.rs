//! What a failed Redis operation means for the fleet.

use std::time::Duration;

/// Why an operation failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection is unusable (refused, dropped, timed out, authentication failed):
    /// the whole sync stops and every breaker decides locally.
    Down(String),
    /// Redis answered but refuses writes (`OOM`, `READONLY`, ...): reads go on.
    WritesRefused(String),
    /// A key of this breaker holds another type: only this breaker is concerned.
    WrongType(String),
    /// Any other error answer, concerning this breaker's operation only.
    Refused(String),
}

impl Failure {
    /// Classifies `e` (already scrubbed of secrets as `message`).
    pub(crate) fn of(e: &redis::RedisError, message: String) -> Failure {
        let code = e.code().unwrap_or_default();
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_unrecoverable_error()
            || matches!(e.kind(), redis::ErrorKind::AuthenticationFailed)
            || matches!(code, "NOAUTH" | "WRONGPASS" | "NOPERM" | "LOADING" | "MASTERDOWN")
        {
            Failure::Down(message)
        } else if matches!(code, "OOM" | "READONLY" | "MISCONF" | "NOREPLICAS")
            || message.contains("OOM command not allowed")
            || message.contains("READONLY")
        {
            Failure::WritesRefused(message)
        } else if code == "WRONGTYPE" || message.contains("WRONGTYPE") {
            Failure::WrongType(message)
        } else {
            Failure::Refused(message)
        }
    }

    /// No answer within `timeout`.
    pub(crate) fn timed_out(timeout: Duration) -> Failure {
        Failure::Down(format!("no answer within {timeout:?}"))
    }
}
