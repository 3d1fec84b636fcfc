//! The cb demo: an embedded flaky HTTP backend on 127.0.0.1, two clients annotated with
//! `#[circuit_breaker]`, and traffic through healthy, failing, slow and recovering phases,
//! shown live (a compact view on a terminal, plain lines otherwise), then a summary and the
//! Prometheus scrape. Nothing to install or start; it exits by itself in about 25 seconds.
//!
//! Run: `cargo run --example demo`

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::routing::get;
use cb_runtime::{CallError, Event, Rejected, Snapshot, Timeout, circuit_breaker, registry};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

// ===== the flaky backend =====

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Healthy,
    Failing,
    Slow,
}

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

async fn backend(AxumState(mode): AxumState<Arc<AtomicU8>>, path: axum::http::Uri) -> (StatusCode, String) {
    match mode.load(Ordering::Relaxed) {
        0 => (StatusCode::OK, format!("fresh {}", path.path().trim_start_matches('/'))),
        1 => (StatusCode::INTERNAL_SERVER_ERROR, "boom".into()),
        _ => {
            tokio::time::sleep(Duration::from_secs(1)).await;
            (StatusCode::OK, "late".into())
        }
    }
}

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
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, path: &str) -> Result<String, ApiError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|_| ApiError::Http)?;
        if !response.status().is_success() {
            return Err(ApiError::Status);
        }
        response.text().await.map_err(|_| ApiError::Http)
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

// ===== the live view =====

struct View {
    tty: bool,
    lines_drawn: usize,
    transitions: Vec<String>,
}

impl View {
    fn row(s: &Snapshot) -> String {
        let rate = s
            .window
            .failure_rate
            .map_or("   -".into(), |r| format!("{:>4.0}%", r * 100.0));
        format!(
            "  {:<8} {:<10} {:>6} {:>7} {:>8} {:>9} {:>10}   {rate}",
            s.name,
            s.state.to_string(),
            s.totals.successes,
            s.totals.failures,
            s.totals.timeouts,
            s.totals.rejected,
            s.totals.fallbacks
        )
    }

    fn draw(&mut self, phase: &str, elapsed: f64, total: f64) {
        let done = ((elapsed / total) * 30.0).round() as usize;
        let mut out = String::new();
        if self.tty && self.lines_drawn > 0 {
            write!(out, "\x1b[{}A\x1b[J", self.lines_drawn).ok();
        }
        writeln!(
            out,
            "cb demo  [{}{}] {elapsed:>5.1}s / {total:.0}s",
            "#".repeat(done.min(30)),
            ".".repeat(30 - done.min(30))
        )
        .ok();
        writeln!(out, "phase: {phase}").ok();
        const HEADER: &str = "  breaker  state          ok  failed  timeout  rejected  fallbacks   failure rate";
        writeln!(out, "{HEADER}").ok();
        for s in registry().snapshots() {
            writeln!(out, "{}", Self::row(&s)).ok();
        }
        writeln!(out, "transitions:").ok();
        for t in self.transitions.iter().rev().take(6).rev() {
            writeln!(out, "  {t}").ok();
        }
        self.lines_drawn = out.lines().count();
        print!("{out}");
        let _ = std::io::stdout().flush();
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register(&mut prometheus);
    let mut events = registry().subscribe();

    let mode = Arc::new(AtomicU8::new(Mode::Healthy as u8));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Router::new().route("/{*path}", get(backend)).with_state(mode.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        base,
    });
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
    let mut view = View {
        tty,
        lines_drawn: 0,
        transitions: Vec::new(),
    };
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
                    let line = format!(
                        "{:>5.1}s  {name:<7} {from} -> {to}: {reason}",
                        start.elapsed().as_secs_f64()
                    );
                    if !tty {
                        println!("  {line}");
                    }
                    view.transitions.push(line);
                }
            }
            if tty {
                view.draw(label, start.elapsed().as_secs_f64(), total as f64);
            }
        }
        if !tty {
            for s in registry().snapshots() {
                println!("{}", View::row(&s));
            }
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
