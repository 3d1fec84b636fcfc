//! A pool whose calls go through a breaker.

use super::DbError;
use crate::CircuitBreaker;
use ::sqlx::{Database, Pool};
use std::sync::Arc;

/// A sqlx pool and the breaker guarding its database: every [`execute`](Self::execute) is one
/// call, counted by [`outcome`](super::outcome) (outages fail, the caller's errors succeed).
///
/// ```no_run
/// # async fn demo() -> Result<(), cb_runtime::sqlx::DbError> {
/// use cb_runtime::sqlx::ResilientPool;
/// use cb_runtime::{BreakerConfig, registry};
///
/// let pool = sqlx::PgPool::connect_lazy("postgres://postgres@127.0.0.1/test")?;
/// let db = ResilientPool::new(pool, registry().breaker("incidents-db", &BreakerConfig::default()));
/// let open: i64 = db
///     .execute(async |pool| sqlx::query_scalar("SELECT count(*) FROM incidents").fetch_one(pool).await)
///     .await?;
/// # let _ = open; Ok(()) }
/// ```
#[derive(Debug)]
pub struct ResilientPool<DB: Database> {
    pool: Pool<DB>,
    breaker: Arc<CircuitBreaker>,
}

impl<DB: Database> Clone for ResilientPool<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            breaker: self.breaker.clone(),
        }
    }
}

impl<DB: Database> ResilientPool<DB> {
    /// `pool` guarded by `breaker`.
    pub fn new(pool: Pool<DB>, breaker: Arc<CircuitBreaker>) -> Self {
        Self { pool, breaker }
    }

    /// `pool` guarded by the global registry's breaker `name` (built-in defaults, then the
    /// configuration file and environment).
    pub fn named(pool: Pool<DB>, name: &str) -> Self {
        Self::new(pool, crate::registry().breaker_with_layers(name, &[], &[]))
    }

    /// Runs `f` over the pool as one call: rejected without running while the breaker is
    /// open; an outage counts as a failure, any other result as a success. Dropping the
    /// returned future counts nothing; a panic counts as a failure.
    pub async fn execute<T>(&self, f: impl AsyncFnOnce(&Pool<DB>) -> Result<T, ::sqlx::Error>) -> Result<T, DbError> {
        let pool = &self.pool;
        Ok(self
            .breaker
            .call_classified(async || f(pool).await, super::outcome)
            .await?)
    }

    /// The pool, to use without the breaker.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}
