//! Redis and NATS JetStream side by side, in one run, each on a private server this program
//! starts on a free port (`redis-server` and `nats-server` must be installed; `bash .ci/run`
//! installs both): how long a trip and a close take to reach the two other instances of a
//! fleet of three, what the fleet costs the server at 10k calls/s, and how long the fleet
//! takes to recover after the server restarts. Default fleet settings (100ms sync).
//!
//! Run: `cargo run --release --features nats --example fleet_compare` (on an idle machine:
//! the numbers are wall-clock times).

use cb_runtime::fleet::{self, Fleet, FleetConfig};
use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Registry, State, Window};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rounds of trip and close measured per backend.
const ROUNDS: usize = 7;
/// Calls per second of the whole fleet, and for how long.
const RATE: u64 = 10_000;
const TRAFFIC: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Redis,
    Nats,
}

/// A private server on a free port (NATS with JetStream and a monitoring port).
struct Server {
    kind: Kind,
    port: u16,
    monitor: u16,
    dir: PathBuf,
    child: Option<std::process::Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    fn new(kind: Kind) -> Server {
        let dir = std::env::temp_dir().join(format!("cb-compare-{}-{kind:?}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        Server {
            kind,
            port: free_port(),
            monitor: free_port(),
            dir,
            child: None,
        }
    }

    fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{}", self.port),
            Kind::Nats => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    async fn start(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let mut command = match self.kind {
            Kind::Redis => {
                let mut c = std::process::Command::new("redis-server");
                c.args([
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]);
                c
            }
            Kind::Nats => {
                let mut c = std::process::Command::new(if std::path::Path::new("/usr/sbin/nats-server").exists() {
                    "/usr/sbin/nats-server"
                } else {
                    "nats-server"
                });
                c.args([
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-js",
                    "-m",
                    &self.monitor.to_string(),
                    "-sd",
                ])
                .arg(&self.dir);
                c
            }
        };
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the {:?} server ({e}): bash .ci/run installs it",
                    self.kind
                )
            })?;
        self.child = Some(child);
        let start = Instant::now();
        while self.counters().is_err() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!("the {:?} server did not answer", self.kind));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Messages (Redis: commands) and bytes, in and out, as the server counts them.
    fn counters(&self) -> Result<[u64; 4], String> {
        match self.kind {
            Kind::Redis => {
                let mut con = redis::Client::open(self.url())
                    .and_then(|c| c.get_connection())
                    .map_err(|e| e.to_string())?;
                let info: String = redis::cmd("INFO")
                    .arg("stats")
                    .query(&mut con)
                    .map_err(|e| e.to_string())?;
                let field = |name: &str| {
                    info.lines()
                        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                Ok([
                    field("total_commands_processed"),
                    field("total_commands_processed"),
                    field("total_net_input_bytes"),
                    field("total_net_output_bytes"),
                ])
            }
            Kind::Nats => {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", self.monitor)).map_err(|e| e.to_string())?;
                s.write_all(b"GET /varz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .map_err(|e| e.to_string())?;
                let mut answer = String::new();
                s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
                let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                let varz: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
                let field = |name: &str| varz[name].as_u64().unwrap_or(0);
                if varz["jetstream"].is_null() {
                    return Err("no JetStream yet".into());
                }
                Ok([
                    field("in_msgs"),
                    field("out_msgs"),
                    field("in_bytes"),
                    field("out_bytes"),
                ])
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Instance {
    clock: ManualClock,
    breaker: Arc<CircuitBreaker>,
    fleet: Fleet,
}

fn fleet_of_three(url: &str, name: &str, config: &BreakerConfig) -> Result<Vec<Instance>, fleet::FleetError> {
    (0..3)
        .map(|_| {
            let clock = ManualClock::new();
            let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
            let breaker = registry.breaker("payments", config);
            let fleet = fleet::attach(registry, url, FleetConfig::new(name))?;
            Ok(Instance { clock, breaker, fleet })
        })
        .collect()
}

async fn until(what: &str, within: Duration, mut check: impl FnMut() -> bool) -> Result<Duration, String> {
    let start = Instant::now();
    while !check() {
        if start.elapsed() > within {
            return Err(format!("{what} did not happen within {within:?}"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(start.elapsed())
}

/// What one backend measured.
struct Row {
    trip: Vec<Duration>,
    close: Vec<Duration>,
    per_second: [f64; 4],
    recovery: Duration,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

async fn measure(kind: Kind) -> Result<Row, Box<dyn std::error::Error>> {
    let mut server = Server::new(kind);
    server.start().await?;
    let url = server.url();
    // Consecutive failures only: the rounds' failures add up in a rate window and would trip
    // the fleet again right after a close.
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .no_failure_rate()
        .open_timeout(Duration::from_secs(30))
        .jitter(0.0)
        .success_threshold(1)
        .build()?;
    let fleet = fleet_of_three(&url, &format!("compare-{kind:?}"), &config)?;
    until("connecting", Duration::from_secs(10), || {
        fleet.iter().all(|i| i.fleet.connected())
    })
    .await?;
    let (mut trip, mut close) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let tripper = &fleet[round % 3];
        for _ in 0..3 {
            tripper.breaker.try_acquire().map_err(|r| r.to_string())?.failure();
        }
        trip.push(
            until("a trip propagating", Duration::from_secs(5), || {
                fleet.iter().all(|i| i.breaker.state() == State::Open)
            })
            .await?,
        );
        for i in &fleet {
            i.clock.advance(Duration::from_secs(31));
        }
        let mut probe = None;
        until("one instance probing", Duration::from_secs(5), || {
            for i in &fleet {
                if probe.is_none() {
                    probe = i.breaker.try_acquire_owned().ok();
                }
            }
            probe.is_some()
        })
        .await?;
        probe.expect("probing").record(cb_runtime::Outcome::Success);
        let closed = until("a close propagating", Duration::from_secs(5), || {
            fleet.iter().all(|i| i.breaker.state() == State::Closed)
        })
        .await;
        let states: Vec<_> = fleet.iter().map(|i| (i.breaker.state(), i.fleet.problems())).collect();
        close.push(closed.map_err(|e| format!("{e} (round {round}: {states:?})"))?);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    drop(fleet);

    // 10k calls/s over three instances, a time-window breaker: outcomes are shared.
    let rated = BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.5)
        .minimum_calls(100)
        .window(Window::Time(Duration::from_secs(60)))
        .build()?;
    let traffic: Vec<(Arc<CircuitBreaker>, Fleet)> = (0..3)
        .map(|_| {
            let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
            let breaker = registry.breaker("checkout", &rated);
            fleet::attach(registry, &url, FleetConfig::new(format!("traffic-{kind:?}"))).map(|f| (breaker, f))
        })
        .collect::<Result<_, _>>()?;
    until("connecting", Duration::from_secs(10), || {
        traffic.iter().all(|(_, f)| f.connected())
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.counters()?;
    let start = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    let mut calls = 0u64;
    while start.elapsed() < TRAFFIC {
        ticker.tick().await;
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
        while calls < due {
            let (breaker, _) = &traffic[(calls % 3) as usize];
            if let Ok(p) = breaker.try_acquire() {
                if calls.is_multiple_of(10) {
                    p.failure()
                } else {
                    p.success()
                }
            }
            calls += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let after = server.counters()?;
    let mut per_second = [0.0; 4];
    for (at, rate) in per_second.iter_mut().enumerate() {
        *rate = after[at].saturating_sub(before[at]) as f64 / seconds;
    }
    drop(traffic);

    // Recovery: the server restarts; a trip made meanwhile must reach the others.
    let fleet = fleet_of_three(&url, &format!("restart-{kind:?}"), &config)?;
    until("connecting", Duration::from_secs(10), || {
        fleet.iter().all(|i| i.fleet.connected())
    })
    .await?;
    server.stop();
    until("noticing the outage", Duration::from_secs(10), || {
        fleet.iter().all(|i| !i.fleet.connected())
    })
    .await?;
    for _ in 0..3 {
        fleet[0].breaker.try_acquire().map_err(|r| r.to_string())?.failure();
    }
    server.start().await?;
    let recovery = until("recovering", Duration::from_secs(20), || {
        fleet
            .iter()
            .all(|i| i.fleet.connected() && i.breaker.state() == State::Open)
    })
    .await?;
    Ok(Row {
        trip,
        close,
        per_second,
        recovery,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "fleet of 3 instances, default settings (sync 100ms); trip and close: median (max) of {ROUNDS} rounds; \
         traffic: {RATE} calls/s for {TRAFFIC:?}, one time-window breaker"
    );
    let mut rows = Vec::new();
    for kind in [Kind::Redis, Kind::Nats]
        .into_iter()
        .filter(|k| std::env::var("CB_ONLY").map_or(true, |o| o == format!("{k:?}")))
    {
        rows.push((kind, measure(kind).await?));
    }
    println!();
    println!(
        "| backend | trip propagation | close propagation | server msgs in/s | msgs out/s | bytes in/s | bytes out/s | recovery after restart |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (kind, row) in &rows {
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {kind:?} | {} ({}) | {} ({}) | {:.0} | {:.0} | {:.0} | {:.0} | {} |",
            ms(median(&row.trip)),
            ms(*row.trip.iter().max().expect("rounds")),
            ms(median(&row.close)),
            ms(*row.close.iter().max().expect("rounds")),
            row.per_second[0],
            row.per_second[1],
            row.per_second[2],
            row.per_second[3],
            ms(row.recovery),
        );
    }
    println!();
    println!(
        "Redis counts commands, those its scripts run included (in = out), and network bytes; NATS \
         counts messages and payload bytes (a JetStream publish is one message in and an \
         acknowledgement out; every stored event is delivered to each of the three instances)."
    );
    Ok(())
}
