//! Seed 002's `ResilientDbPool`, the cb way: a repository struct protected with
//! `#[derive(CircuitProtected)]` and `#[circuit_breaker(failure_if = DbError::is_outage)]`,
//! against the real PostgreSQL on 127.0.0.1:5432 (database `test`; `CB_TEST_POSTGRES_URL`
//! overrides the URL) through a loopback TCP proxy the test cuts, blackholes and restores.
//! Open waits run on a manual clock; only the short acquire and call timeouts are real.
//!
//! PostgreSQL must answer: these tests fail (never skip) when it does not; `.ci/run` starts it.

mod support;

use cb_runtime::circuit_breaker;
use cb_runtime::sqlx::{DbError, ResilientPool, is_outage};
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, CircuitProtected, ManualClock, Registry, State};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, PgPool};
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use support::tcp_proxy::{Link, TcpProxy};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn url() -> String {
    std::env::var("CB_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The global registry on a manual clock (once per test binary).
fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        cb_runtime::init_registry(Registry::with_clock(clock.clone())).unwrap_or_else(|_| panic!("first use"));
        clock
    })
}

/// PostgreSQL's options and socket address, or a loud failure saying how to get one.
async fn postgres() -> (PgConnectOptions, SocketAddr) {
    let url = url();
    let options = PgConnectOptions::from_str(&url).unwrap_or_else(|e| panic!("CB_TEST_POSTGRES_URL `{url}`: {e}"));
    let connected = tokio::time::timeout(Duration::from_secs(5), options.connect()).await;
    match connected {
        Ok(Ok(conn)) => drop(conn),
        Ok(Err(e)) => panic!(
            "PostgreSQL does not answer at {url}: {e}. The sqlx tests need it: run .ci/run (it starts one) \
             or set CB_TEST_POSTGRES_URL"
        ),
        Err(_) => panic!("PostgreSQL at {url} did not answer within 5s; the sqlx tests need it"),
    }
    let addr = (options.get_host(), options.get_port())
        .to_socket_addrs()
        .unwrap()
        .next()
        .expect("PostgreSQL's host resolves");
    (options, addr)
}

/// A pool that reaches PostgreSQL only through `proxy`, with short acquire timeouts.
fn pool_through(options: &PgConnectOptions, proxy: &TcpProxy) -> PgPool {
    let options = options.clone().host("127.0.0.1").port(proxy.addr().port());
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy_with(options)
}

/// A table of this test process alone, with a unique column.
async fn table(pool: &PgPool, stem: &str) -> String {
    let name = format!("cb_{stem}_{}", std::process::id());
    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TABLE {name} (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL UNIQUE)"
    )))
    .execute(pool)
    .await
    .unwrap();
    name
}

async fn drop_table(pool: &PgPool, name: &str) {
    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {name}")))
        .execute(pool)
        .await
        .unwrap();
}

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "incidents-db",
    consecutive_failures = 3,
    open_timeout = "30s",
    jitter = 0.0,
    success_threshold = 1,
    failure_rate_threshold = "off"
)]
struct IncidentRepo {
    pool: PgPool,
    table: String,
}

impl IncidentRepo {
    #[circuit_breaker(failure_if = DbError::is_outage, timeout = "500ms", fallback = cached_title, fallback_on = "rejected")]
    async fn title(&self, id: i64) -> Result<String, DbError> {
        let sql = format!("SELECT title FROM {} WHERE id = $1", self.table);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    fn cached_title(&self, id: i64) -> Result<String, DbError> {
        Ok(format!("incident {id} (cached)"))
    }

    #[circuit_breaker(failure_if = DbError::is_outage, timeout = "500ms")]
    async fn insert(&self, title: &str) -> Result<i64, DbError> {
        let sql = format!("INSERT INTO {} (title) VALUES ($1) RETURNING id", self.table);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(title)
            .fetch_one(&self.pool)
            .await?)
    }
}

#[tokio::test]
async fn a_repository_trips_on_outages_serves_its_fallback_probes_and_closes_after_restore() {
    let clock = clock();
    let (options, upstream) = postgres().await;
    let proxy = TcpProxy::start(upstream).await;
    let pool = pool_through(&options, &proxy);
    let repo = IncidentRepo {
        table: table(&pool, "incidents").await,
        pool,
    };

    // Healthy: calls reach the database; its own answers never count against it.
    let id = repo.insert("disk full on db-3").await.unwrap();
    assert_eq!(repo.title(id).await.unwrap(), "disk full on db-3");
    assert!(repo.title(id + 1000).await.unwrap_err().is_not_found());
    let duplicate = repo.insert("disk full on db-3").await.unwrap_err();
    assert!(
        !duplicate.is_outage(),
        "a unique violation is the caller's: {duplicate}"
    );
    assert_eq!(repo.circuit_state(), State::Closed);
    assert_eq!(repo.circuit_snapshot().totals.failures, 0);

    // Cut: open connections close, new ones are refused. Three outages trip the breaker.
    proxy.set(Link::Cut);
    for call in 0..3 {
        let err = repo.insert(&format!("lost {call}")).await.unwrap_err();
        assert!(err.is_outage(), "call {call}: {err}");
    }
    assert_eq!(repo.circuit_state(), State::Open);

    // Open: the fallback answers without touching the database.
    assert_eq!(repo.title(id).await.unwrap(), format!("incident {id} (cached)"));
    assert!(repo.insert("rejected").await.unwrap_err().is_rejected());
    assert_eq!(repo.circuit_snapshot().totals.fallbacks, 1);

    // The open wait passes (manual clock): the probe meets the outage and reopens.
    clock.advance(Duration::from_secs(31));
    assert_eq!(repo.circuit_state(), State::HalfOpen);
    assert!(repo.insert("probe while cut").await.unwrap_err().is_outage());
    assert_eq!(repo.circuit_state(), State::Open);

    // Restored: the next probe reaches the database and closes the breaker.
    proxy.set(Link::Forward);
    clock.advance(Duration::from_secs(120));
    assert_eq!(repo.circuit_state(), State::HalfOpen);
    assert_eq!(repo.title(id).await.unwrap(), "disk full on db-3");
    assert_eq!(repo.circuit_state(), State::Closed);

    // Blackhole: connections are accepted and held, nothing is forwarded; the 500ms call
    // timeout and the 300ms acquire timeout turn silence into failures.
    proxy.set(Link::Blackhole);
    for call in 0..3 {
        let err = repo.insert(&format!("silent {call}")).await.unwrap_err();
        assert!(err.is_outage(), "call {call}: {err}");
    }
    assert_eq!(repo.circuit_state(), State::Open);
    assert_eq!(repo.title(id).await.unwrap(), format!("incident {id} (cached)"));

    proxy.set(Link::Forward);
    clock.advance(Duration::from_secs(300));
    assert_eq!(repo.title(id).await.unwrap(), "disk full on db-3");
    assert_eq!(repo.circuit_state(), State::Closed);

    let s = repo.circuit_snapshot();
    assert_eq!(s.totals.failures + s.totals.timeouts, 7, "{s:?}");
    drop_table(&repo.pool, &repo.table).await;
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "notes-db", consecutive_failures = 3, failure_rate_threshold = "off")]
struct NoteRepo {
    pool: PgPool,
    table: String,
}

impl NoteRepo {
    #[circuit_breaker(failure_if = DbError::is_outage)]
    async fn by_id(&self, id: i64) -> Result<String, DbError> {
        let sql = format!("SELECT title FROM {} WHERE id = $1", self.table);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    #[circuit_breaker(failure_if = DbError::is_outage)]
    async fn add(&self, title: &str) -> Result<i64, DbError> {
        let sql = format!("INSERT INTO {} (title) VALUES ($1) RETURNING id", self.table);
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(title)
            .fetch_one(&self.pool)
            .await?)
    }

    #[circuit_breaker(failure_if = DbError::is_outage)]
    async fn bad_cast(&self) -> Result<i64, DbError> {
        Ok(sqlx::query_scalar("SELECT 'not a number'")
            .fetch_one(&self.pool)
            .await?)
    }
}

#[tokio::test]
async fn row_not_found_constraint_violations_and_decode_errors_never_trip() {
    clock();
    let (options, _) = postgres().await;
    let pool = PgPoolOptions::new().max_connections(2).connect_lazy_with(options);
    let repo = NoteRepo {
        table: table(&pool, "notes").await,
        pool,
    };
    repo.add("only once").await.unwrap();
    for _ in 0..10 {
        assert!(repo.by_id(-1).await.unwrap_err().is_not_found());
        let dup = repo.add("only once").await.unwrap_err();
        let db = dup
            .as_sqlx()
            .and_then(|e| e.as_database_error())
            .expect("a database error");
        assert!(db.is_unique_violation(), "{dup}");
        let decode = repo.bad_cast().await.unwrap_err();
        assert!(!decode.is_outage(), "{decode}");
    }
    let s = repo.circuit_snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.totals.failures, s.totals.successes), (0, 31));
    drop_table(&repo.pool, &repo.table).await;
}

#[tokio::test]
async fn resilient_pool_counts_outages_and_rejects_while_open() {
    let (options, upstream) = postgres().await;
    let proxy = TcpProxy::start(upstream).await;
    let pool = pool_through(&options, &proxy);
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .no_failure_rate()
        .open_timeout(Duration::from_secs(10))
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    let breaker = Arc::new(
        CircuitBreaker::builder("pool-db")
            .config(config)
            .clock(clock.clone())
            .build(),
    );
    let db = ResilientPool::new(pool, breaker.clone());
    let one = async |pool: &PgPool| sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await;

    assert_eq!(db.execute(one).await.unwrap(), 1);
    let none = db
        .execute(async |pool| {
            sqlx::query_scalar::<_, i32>("SELECT 1 WHERE false")
                .fetch_one(pool)
                .await
        })
        .await;
    assert!(none.unwrap_err().is_not_found());
    assert_eq!(breaker.state(), State::Closed);

    proxy.set(Link::Blackhole);
    for _ in 0..2 {
        let err = db.execute(one).await.unwrap_err();
        assert!(matches!(err.as_sqlx(), Some(e) if is_outage(e)), "{err}");
    }
    assert_eq!(breaker.state(), State::Open);
    assert!(db.execute(one).await.unwrap_err().is_rejected());

    proxy.set(Link::Forward);
    clock.advance(Duration::from_secs(11));
    assert_eq!(db.execute(one).await.unwrap(), 1);
    assert_eq!(breaker.state(), State::Closed);
}

/// A database that does not exist (SQLSTATE 3D000, as after a drop or a wrong name in the
/// settings) fails every connection, so every query: an outage.
#[tokio::test]
async fn a_missing_database_is_an_outage() {
    let (options, _) = postgres().await;
    let gone = options.database("cb_no_such_database");
    let err = gone.connect().await.expect_err("no such database");
    let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("3D000"), "{err}");
    assert!(is_outage(&err), "{err}");
}

#[test]
fn the_classifier_sorts_errors_without_a_database() {
    use sqlx::Error;
    assert!(is_outage(&Error::PoolTimedOut));
    assert!(is_outage(&Error::PoolClosed));
    assert!(is_outage(&Error::WorkerCrashed));
    assert!(is_outage(&Error::Protocol("bad message".into())));
    assert!(is_outage(&Error::Io(std::io::ErrorKind::ConnectionReset.into())));
    assert!(!is_outage(&Error::RowNotFound));
    assert!(!is_outage(&Error::ColumnNotFound("x".into())));
    assert!(!is_outage(&Error::Decode("bad".into())));
    assert!(!is_outage(&Error::Configuration("bad url".into())));
    let rejected: DbError = CallError::<Error>::Rejected(cb_runtime::Rejected {
        name: "db".into(),
        state: State::Open,
        retry_after: None,
    })
    .into();
    assert!(rejected.is_outage() && rejected.is_rejected());
}
