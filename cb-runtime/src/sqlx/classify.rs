//! Which database errors are outages.

use crate::Outcome;
use ::sqlx::Error;
use ::sqlx::error::ErrorKind;

/// SQLSTATE classes that say the server or the link to it is failing, not the query:
/// `08` connection exception, `28` invalid authorization (a rotated password: no connection
/// can be made), `3D` invalid catalog name (the database is gone), `53` insufficient
/// resources (too many connections, out of memory or disk), `57` operator intervention
/// (shutdown, cannot connect now, a statement cancelled by `statement_timeout`), `58` system
/// error, `XX` internal error. `28` and `3D` come when a connection is made, so every query
/// fails until someone fixes the server or the service's settings.
const OUTAGE_CLASSES: [&str; 7] = ["08", "28", "3D", "53", "57", "58", "XX"];

/// Whether `error` means the database is unreachable or failing, so the breaker should count
/// it as a failure.
///
/// Outages: I/O and TLS errors, protocol errors, pool timeouts, a closed pool, a crashed
/// worker, a failed `BEGIN`, and database errors whose SQLSTATE class is `08`, `28`, `3D`,
/// `53`, `57`, `58` or `XX`. Not outages (the database answered; the caller's query or data is at
/// fault): `RowNotFound`, constraint violations (unique, foreign key, not null, check,
/// exclusion), other SQLSTATEs (syntax, data, serialization), decode, encode and column
/// errors, configuration and invalid-argument errors, and error kinds sqlx adds later.
///
/// ```
/// use cb_runtime::sqlx::is_outage;
///
/// assert!(is_outage(&sqlx::Error::PoolTimedOut));
/// assert!(is_outage(&sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into())));
/// assert!(!is_outage(&sqlx::Error::RowNotFound));
/// ```
pub fn is_outage(error: &Error) -> bool {
    match error {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed
        | Error::BeginFailed => true,
        Error::Database(db) => {
            let constraint = matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
                    | ErrorKind::ExclusionViolation
            );
            !constraint
                && db
                    .code()
                    .is_some_and(|code| OUTAGE_CLASSES.iter().any(|class| code.starts_with(class)))
        }
        _ => false,
    }
}

/// How a database call's result counts: an outage is a failure, anything else (a value or an
/// error the caller caused) a success. For
/// [`call_classified`](crate::CircuitBreaker::call_classified).
///
/// ```
/// use cb_runtime::sqlx::outcome;
/// use cb_runtime::Outcome;
///
/// assert_eq!(outcome::<()>(&Err(sqlx::Error::RowNotFound)), Outcome::Success);
/// assert_eq!(outcome::<()>(&Err(sqlx::Error::PoolClosed)), Outcome::Failure);
/// ```
pub fn outcome<T>(result: &Result<T, Error>) -> Outcome {
    match result {
        Err(e) if is_outage(e) => Outcome::Failure,
        _ => Outcome::Success,
    }
}
