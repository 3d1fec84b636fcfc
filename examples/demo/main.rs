//! The cb demo: an embedded flaky HTTP backend on 127.0.0.1, two clients annotated with
//! `#[circuit_breaker]`, and traffic through healthy, failing, slow and recovering phases,
//! shown live (a compact view on a terminal, plain lines otherwise), then a summary and the
//! Prometheus scrape. Nothing to install or start; it exits by itself in about 25 seconds.
//!
//! Run: `cargo run --example demo`

mod backend;
mod view;

use backend::{HttpError, Mode};
use cb_runtime::{CallError, Event, Rejected, Timeout, circuit_breaker, registry};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

const PHASES: [(Mode, &str, u64); 5] = [
    (Mode::Healthy, "healthy: the backend answers 200", 4),
    (Mode::Failing, "failing: the backend answers 500", 6),
    (Mode::Healthy, "recovering: the backend is healthy again", 5),
    (
        Mode::Slow,
        "slow: the backend takes 1s (clients time out after 150ms)",
        5,
    ),
    (Mode::Healthy, "recovering: the backend is healthy again", 5),
];

// ===== the annotated clients =====

#[derive(Debug)]
enum ApiError {
    Http,
    Status,
    Breaker,
}

impl From<Rejected> for ApiError {
    fn from(_: Rejected) -> Self {
        ApiError::Breaker
    }
}

impl From<Timeout> for ApiError {
    fn from(_: Timeout) -> Self {
        ApiError::Breaker
    }
}

struct Client {
    addr: String,
}

impl Client {
    async fn get(&self, path: &str) -> Result<String, ApiError> {
        backend::get(&self.addr, path).await.map_err(|e| match e {
            HttpError::Io => ApiError::Http,
            HttpError::Status => ApiError::Status,
        })
    }

    /// Alerts, served from a cache when the alerting API is failing or the breaker is open.
    #[circuit_breaker(name = "alerts", consecutive_failures = 5, open_timeout = "1s", max_open_timeout = "3s",
        timeout = "150ms", success_threshold = 2, fallback = cached_alerts)]
    async fn alerts(&self) -> Result<String, ApiError> {
        self.get("/alerts").await
    }

    fn cached_alerts(&self, _cause: CallError<ApiError>) -> Result<String, ApiError> {
        Ok("cached alerts".into())
    }

    /// An ETA from the ML model, judged on its failure rate over the last 20 calls.
    #[circuit_breaker(name = "ml-eta", failure_rate_threshold = 0.5, window = 20, minimum_calls = 10,
        consecutive_failures = 50, open_timeout = "1s", max_open_timeout = "3s", timeout = "150ms", fallback = distance_eta)]
    async fn eta(&self, km: u32) -> Result<u32, ApiError> {
        self.get("/eta").await.map(|_| km * 2)
    }

    fn distance_eta(&self, km: u32) -> Result<u32, ApiError> {
        Ok(km * 3)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register(&mut prometheus);
    let mut events = registry().subscribe();

    let mode = Arc::new(AtomicU8::new(Mode::Healthy as u8));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let client = Arc::new(Client {
        addr: listener.local_addr()?.to_string(),
    });
    tokio::spawn(backend::serve(listener, mode.clone()));

    let traffic: Vec<_> = (0..4)
        .map(|worker| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0u32.. {
                    if worker % 2 == 0 {
                        let _ = client.alerts().await;
                    } else {
                        let _ = client.eta(i % 40).await;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();

    let tty = std::io::stdout().is_terminal();
    let mut live = view::Live::new();
    let mut transitions = Vec::new();
    // The reasons each breaker opened, in order, for the summary.
    let mut trips: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let start = Instant::now();
    let total: u64 = PHASES.iter().map(|p| p.2).sum();
    for (phase_mode, label, seconds) in PHASES {
        mode.store(phase_mode as u8, Ordering::Relaxed);
        if !tty {
            println!("== {label}");
        }
        let phase_end = start.elapsed() + Duration::from_secs(seconds);
        while start.elapsed() < phase_end {
            tokio::time::sleep(Duration::from_millis(if tty { 200 } else { 1000 })).await;
            for event in events.drain() {
                if let Event::Transition { name, from, to, reason } = event {
                    let at = format!("{:.1}s", start.elapsed().as_secs_f64());
                    let why = view::reason(&reason);
                    if to == cb_runtime::State::Open {
                        trips.entry(name.to_string()).or_default().push(format!("{at}: {why}"));
                    }
                    let line = format!("{at:>6}  {name:<7} {from} -> {to}: {why}");
                    if !tty {
                        println!("  {line}");
                    }
                    transitions.push(line);
                }
            }
            if tty {
                live.draw(label, start.elapsed().as_secs_f64(), total as f64, &transitions);
            }
        }
        if !tty {
            print!("{}", view::table());
        }
    }
    for t in traffic {
        t.abort();
    }

    println!("\n== summary");
    for s in registry().snapshots() {
        let served = s.totals.successes + s.totals.fallbacks;
        println!(
            "  {:<7} {} transitions, {} calls answered ({} by the backend, {} by fallbacks), {} rejected without touching the backend",
            s.name,
            s.transitions.iter().map(|t| t.2).sum::<u64>(),
            served,
            s.totals.successes,
            s.totals.fallbacks,
            s.totals.rejected
        );
        for trip in trips.get(&*s.name.to_string()).into_iter().flatten() {
            println!("          opened at {trip}");
        }
    }
    println!("\n== Prometheus scrape (circuit_breaker_* series, histogram buckets left out)");
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).map_err(std::io::Error::other)?;
    for line in text
        .lines()
        .filter(|l| l.starts_with("circuit_breaker_") && !l.contains("_bucket"))
    {
        println!("  {line}");
    }
    Ok(())
}
