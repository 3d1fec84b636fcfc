//! Database calls through a breaker (feature `sqlx`): which [`sqlx::Error`]s
//! are outages, an error type for protected repositories, and a pool wrapper.
//!
//! A breaker guards the database, not the caller's queries: a refused or dropped connection, a
//! pool that cannot hand out a connection in time, a broken protocol or a server that is
//! shutting down or out of resources is an outage and counts as a failure. An answer the
//! database gave on purpose — no row, a unique, foreign-key, not-null, check or exclusion
//! violation, a syntax error, a value that does not decode — is the caller's business and
//! counts as a success: a burst of duplicate inserts never opens the breaker.
//!
//! With the macros, return [`DbError`] (it carries rejections and timeouts) and pass
//! `failure_if = DbError::is_outage`:
//!
//! ```
//! use cb_runtime::sqlx::DbError;
//! use cb_runtime::{CircuitProtected, circuit_breaker};
//!
//! #[derive(CircuitProtected)]
//! #[circuit_breaker(name = "incidents-db", consecutive_failures = 5, open_timeout = "30s")]
//! struct Incidents {
//!     pool: sqlx::PgPool,
//! }
//!
//! impl Incidents {
//!     #[circuit_breaker(failure_if = DbError::is_outage)]
//!     async fn title(&self, id: i64) -> Result<String, DbError> {
//!         Ok(sqlx::query_scalar("SELECT title FROM incidents WHERE id = $1")
//!             .bind(id)
//!             .fetch_one(&self.pool)
//!             .await?)
//!     }
//! }
//! ```
//!
//! Without macros, [`ResilientPool`] runs closures over a pool through a breaker, or pass
//! [`outcome`] to [`CircuitBreaker::call_classified`](crate::CircuitBreaker::call_classified).

mod classify;
mod error;
mod pool;

pub use classify::{is_outage, outcome};
pub use error::DbError;
pub use pool::ResilientPool;
