//! Helpers of the fleet scenarios: a Redis for each test, instances on manual clocks, and a
//! log of fleet reports. Destructive tests start a private `redis-server` on a free port
//! (`.ci/run` installs it where it is missing); the shared 6379 is only read and written under
//! unique fleet names.
#![allow(dead_code)]

use cb_runtime::fleet::{self, Fleet, FleetConfig};
use cb_runtime::{BreakerConfig, CircuitBreaker, Event, ManualClock, Registry, State, Subscription};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A Redis for one test, and the private server behind it if the test had to start one.
pub struct TestRedis {
    pub url: String,
    _server: Option<RedisServer>,
}

/// `CB_TEST_REDIS_URL` if set, else 127.0.0.1:6379 if it answers, else a private server.
pub async fn test_redis() -> TestRedis {
    if let Ok(url) = std::env::var("CB_TEST_REDIS_URL") {
        return TestRedis { url, _server: None };
    }
    let default = "redis://127.0.0.1:6379".to_string();
    if redis::Client::open(default.as_str())
        .and_then(|c| c.get_connection())
        .is_ok()
    {
        return TestRedis {
            url: default,
            _server: None,
        };
    }
    let server = RedisServer::start(&[]).await;
    TestRedis {
        url: server.url(),
        _server: Some(server),
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A fleet name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// One instance of a service: its own registry on its own manual clock, attached to a fleet.
pub struct Instance {
    pub clock: ManualClock,
    pub registry: &'static Registry,
    pub breaker: Arc<CircuitBreaker>,
    pub fleet: Fleet,
}

/// Three consecutive failures trip; a 30 s open wait; one probe success closes.
pub fn consecutive_config() -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(3)
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap()
}

pub fn instance(fleet_name: &str, url: &str) -> Instance {
    instance_with(fleet_name, url, consecutive_config())
}

pub fn instance_with(fleet_name: &str, url: &str, config: BreakerConfig) -> Instance {
    instance_tuned(fleet_name, url, config, |f| f)
}

/// An instance whose breakers `payments` (and any `more`) use `config`, fleet settings tuned.
pub fn instance_tuned(
    fleet_name: &str,
    url: &str,
    config: BreakerConfig,
    tune: impl FnOnce(FleetConfig) -> FleetConfig,
) -> Instance {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let breaker = registry.breaker("payments", &config);
    let settings = tune(FleetConfig::new(fleet_name).sync_interval(Duration::from_millis(20)));
    let fleet = fleet::attach(registry, url, settings).unwrap();
    Instance {
        clock,
        registry,
        breaker,
        fleet,
    }
}

pub async fn eventually(what: &str, within: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < within, "{what} did not happen within {within:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    start.elapsed()
}

pub async fn connected(instances: &[&Instance]) {
    eventually("connecting", Duration::from_secs(5), || {
        instances.iter().all(|i| i.fleet.connected())
    })
    .await;
}

pub fn trip(b: &CircuitBreaker) {
    for _ in 0..3 {
        if let Ok(p) = b.try_acquire() {
            p.failure();
        }
    }
    assert_eq!(b.state(), State::Open);
}

/// The time an Open breaker still rejects for.
pub fn retry_after(b: &CircuitBreaker) -> Duration {
    b.try_acquire()
        .err()
        .and_then(|r| r.retry_after)
        .expect("an open breaker rejects with a retry_after")
}

/// Every fleet report an instance made, kept across polls.
pub struct Reports {
    events: Subscription,
    pub seen: Vec<String>,
}

impl Reports {
    pub fn of(registry: &Registry) -> Reports {
        Reports {
            events: registry.subscribe(),
            seen: Vec::new(),
        }
    }

    /// The reports so far.
    pub fn poll(&mut self) -> &[String] {
        for e in self.events.drain() {
            if let Event::FleetReport { message } = e {
                self.seen.push(message);
            }
        }
        &self.seen
    }

    /// How many reports so far contain `text`.
    pub fn count(&mut self, text: &str) -> usize {
        self.poll().iter().filter(|m| m.contains(text)).count()
    }

    /// Waits for a report containing `text`.
    pub async fn wait_for(&mut self, text: &str, within: Duration) {
        let start = Instant::now();
        while self.count(text) == 0 {
            assert!(
                start.elapsed() < within,
                "no report containing {text:?} within {within:?}; reports: {:#?}",
                self.seen
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A private redis-server on a free port, killed when dropped.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
    password: Option<String>,
}

impl RedisServer {
    /// Starts one with extra arguments `args` and waits until it answers.
    pub async fn start(args: &[&str]) -> RedisServer {
        Self::start_on(free_port(), args).await
    }

    pub async fn start_on(port: u16, args: &[&str]) -> RedisServer {
        let password = args
            .iter()
            .position(|a| *a == "--requirepass")
            .map(|at| args[at + 1].to_string());
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server; bash .ci/run does it)");
        let server = RedisServer { child, port, password };
        server.ready().await;
        server
    }

    /// The URL of this server, with its password if it has one.
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    async fn ready(&self) {
        let url = self.url();
        eventually("redis-server answering", Duration::from_secs(10), || {
            redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        })
        .await;
    }

    /// Runs `cmd` on this server (CONFIG SET and the like: it is private).
    pub async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let client = redis::Client::open(self.url()).unwrap();
        let mut con = client.get_multiplexed_async_connection().await.unwrap();
        cmd.query_async(&mut con).await.unwrap()
    }
}

impl RedisServer {
    /// Kills the server now (a test that stops and restarts its backend).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cmd` against the Redis at `url`.
pub async fn redis_run<T: redis::FromRedisValue>(url: &str, cmd: &redis::Cmd) -> T {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    cmd.query_async(&mut con).await.unwrap()
}
