//! Seed 002's `ResilientDbPool`, the cb way: an incident repository whose methods go through
//! one breaker, where outages count and the database's own answers (no row, a duplicate) do
//! not. The outage here is the pool being closed; `tests/sqlx_repository.rs` cuts and
//! blackholes a real connection.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 with a database `test` and trust auth for user postgres
//! (`.ci/run` starts one), or a URL in `CB_TEST_POSTGRES_URL`.
//!
//! Run: `cargo run --example sqlx_repository --features sqlx`

use cb_runtime::sqlx::DbError;
use cb_runtime::{CircuitProtected, circuit_breaker};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use std::time::Duration;

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "incidents-db",
    consecutive_failures = 3,
    failure_rate_threshold = "off",
    open_timeout = "30s"
)]
struct IncidentRepository {
    pool: PgPool,
    table: String,
}

impl IncidentRepository {
    #[circuit_breaker(failure_if = DbError::is_outage, timeout = "2s")]
    async fn open_incident(&self, title: &str) -> Result<i64, DbError> {
        let sql = format!("INSERT INTO {} (title) VALUES ($1) RETURNING id", self.table);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(title)
            .fetch_one(&self.pool)
            .await?)
    }

    #[circuit_breaker(failure_if = DbError::is_outage, timeout = "2s", fallback = cached_title, fallback_on = "rejected")]
    async fn title(&self, id: i64) -> Result<String, DbError> {
        let sql = format!("SELECT title FROM {} WHERE id = $1", self.table);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    fn cached_title(&self, id: i64) -> Result<String, DbError> {
        Ok(format!("incident #{id} (from cache: database unavailable)"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url =
        std::env::var("CB_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pool = match PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(3))
        .connect(&url)
        .await
    {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!(
                "this example needs PostgreSQL at {url} (set CB_TEST_POSTGRES_URL, or run .ci/run to start one): {e}"
            );
            std::process::exit(2);
        }
    };
    let table = format!("cb_example_incidents_{}", std::process::id());
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL UNIQUE)"
    )))
    .execute(&pool)
    .await?;
    let repo = IncidentRepository { pool, table };

    let id = repo.open_incident("checkout latency p99 > 2s").await?;
    println!("opened incident #{id}: {}", repo.title(id).await?);
    println!(
        "duplicate: {}",
        repo.open_incident("checkout latency p99 > 2s").await.unwrap_err()
    );
    println!("missing:   {}", repo.title(id + 1).await.unwrap_err());
    println!(
        "breaker `{}` after the database's own answers: {}",
        repo.circuit_breaker_name(),
        repo.circuit_state()
    );

    sqlx::query(AssertSqlSafe(format!("DROP TABLE {}", repo.table)))
        .execute(&repo.pool)
        .await?;
    repo.pool.close().await;
    for attempt in 1..=3 {
        println!("outage {attempt}: {}", repo.open_incident("lost").await.unwrap_err());
    }
    println!("breaker: {}", repo.circuit_state());
    println!("read while open: {}", repo.title(id).await?);
    let s = repo.circuit_snapshot();
    println!(
        "successes {}, failures {}, rejected {}, fallbacks {}",
        s.totals.successes, s.totals.failures, s.totals.rejected, s.totals.fallbacks
    );
    Ok(())
}
