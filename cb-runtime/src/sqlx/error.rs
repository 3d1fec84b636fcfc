//! The error of a protected database call.

use crate::{CallError, Rejected, Timeout};
use std::fmt;

/// What a protected database call fails with: the database's error, or the breaker's
/// rejection or timeout. `?` converts a [`sqlx::Error`](::sqlx::Error) into it, and the macros
/// need its `From<Rejected>` and `From<Timeout>`.
///
/// ```
/// use cb_runtime::sqlx::DbError;
///
/// let e: DbError = sqlx::Error::RowNotFound.into();
/// assert!(e.is_not_found());
/// assert!(!e.is_outage());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// The database (or the pool, or the link to it) answered with this error.
    Sqlx(::sqlx::Error),
    /// The breaker refused the call: the database is considered down.
    Rejected(Rejected),
    /// The call ran past the breaker's `timeout`.
    Timeout(Timeout),
}

impl DbError {
    /// Whether this error means the database is failing: an outage per
    /// [`is_outage`](super::is_outage), a rejection or a timeout. For `failure_if`.
    pub fn is_outage(&self) -> bool {
        match self {
            DbError::Sqlx(e) => super::is_outage(e),
            DbError::Rejected(_) | DbError::Timeout(_) => true,
        }
    }

    /// Whether the query found no row.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DbError::Sqlx(::sqlx::Error::RowNotFound))
    }

    /// Whether the breaker refused the call.
    pub fn is_rejected(&self) -> bool {
        matches!(self, DbError::Rejected(_))
    }

    /// The database's error, if that is what this is.
    pub fn as_sqlx(&self) -> Option<&::sqlx::Error> {
        match self {
            DbError::Sqlx(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Sqlx(e) => e.fmt(f),
            DbError::Rejected(r) => r.fmt(f),
            DbError::Timeout(t) => t.fmt(f),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DbError::Sqlx(e) => Some(e),
            DbError::Rejected(r) => Some(r),
            DbError::Timeout(t) => Some(t),
        }
    }
}

impl From<::sqlx::Error> for DbError {
    fn from(e: ::sqlx::Error) -> Self {
        DbError::Sqlx(e)
    }
}

impl From<Rejected> for DbError {
    fn from(r: Rejected) -> Self {
        DbError::Rejected(r)
    }
}

impl From<Timeout> for DbError {
    fn from(t: Timeout) -> Self {
        DbError::Timeout(t)
    }
}

impl From<CallError<::sqlx::Error>> for DbError {
    fn from(e: CallError<::sqlx::Error>) -> Self {
        match e {
            CallError::Rejected(r) => DbError::Rejected(r),
            CallError::Timeout(t) => DbError::Timeout(t),
            CallError::Inner(e) => DbError::Sqlx(e),
        }
    }
}
