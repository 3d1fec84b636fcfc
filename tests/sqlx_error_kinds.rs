//! `cb_runtime::sqlx::is_outage` over errors the real PostgreSQL on 127.0.0.1:5432 produces
//! (database `test`; `CB_TEST_POSTGRES_URL` overrides): the caller's mistakes (syntax, missing
//! table, data errors, serialization failures, deadlocks) never count, the server's trouble
//! (statement timeout, shutdown, too many connections), a closed pool and a refused
//! connection do.

use cb_runtime::sqlx::is_outage;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};
use std::str::FromStr;
use std::time::Duration;

fn url() -> String {
    std::env::var("CB_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

async fn pool() -> PgPool {
    let url = url();
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL does not answer at {url}: {e}; run .ci/run or set CB_TEST_POSTGRES_URL"))
}

/// The error of `sql`, which must fail.
async fn error_of(pool: &PgPool, sql: &str) -> sqlx::Error {
    match sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(pool).await {
        Ok(_) => panic!("`{sql}` succeeded"),
        Err(e) => e,
    }
}

/// A statement raising SQLSTATE `code`.
fn raise(code: &str) -> String {
    format!("DO $$ BEGIN RAISE EXCEPTION 'attack' USING ERRCODE = '{code}'; END $$")
}

#[tokio::test]
async fn errors_from_a_real_postgres_are_sorted_into_outages_and_mistakes() {
    let pool = pool().await;
    for sql in [
        "SELEC 1".to_owned(),
        "SELECT * FROM no_such_table_cb_attack".to_owned(),
        "SELECT 1/0".to_owned(),
        "SELECT 'x'::int".to_owned(),
        raise("40001"), // serialization_failure
        raise("40P01"), // deadlock_detected
        raise("55P03"), // lock_not_available
        raise("P0001"), // a plain RAISE
    ] {
        let e = error_of(&pool, &sql).await;
        assert!(!is_outage(&e), "`{sql}` is the caller's mistake, not an outage: {e}");
    }
    for sql in [
        "SET statement_timeout = '10ms'; SELECT pg_sleep(1)".to_owned(),
        raise("57P01"), // admin_shutdown
        raise("53300"), // too_many_connections
        raise("08006"), // connection_failure
        raise("XX000"), // internal_error
    ] {
        let e = error_of(&pool, &sql).await;
        assert!(is_outage(&e), "`{sql}` is an outage: {e}");
    }
    pool.close().await;
    let closed = error_of(&pool, "SELECT 1").await;
    assert!(is_outage(&closed), "{closed}");
}

#[tokio::test]
async fn a_refused_connection_is_an_outage() {
    // A port nothing listens on: bind one, note it, free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = PgConnectOptions::from_str(&url()).unwrap().port(port);
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(options);
    let e = error_of(&pool, "SELECT 1").await;
    assert!(is_outage(&e), "{e:?}");
}
