//! What the demo prints: on a terminal a compact view redrawn in place, otherwise (piped,
//! redirected) plain lines with the column headers repeated above every table.

use cb_runtime::{Reason, Snapshot, State, registry};
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

const HEADER: &str = "  breaker  state      retry in     ok  failed  timeout  rejected  fallbacks  failure rate";

/// A duration for people: `150ms`, `30.8s`, `2m 05s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// A transition's reason, its durations rounded for people.
pub fn reason(r: &Reason) -> String {
    match r {
        Reason::ProbesUndecided { waited } => format!("half-open probes undecided after {}", human(*waited)),
        other => other.to_string(),
    }
}

fn row(s: &Snapshot) -> String {
    let rate = s
        .window
        .failure_rate
        .map_or("-".into(), |r| format!("{:.0}%", r * 100.0));
    let retry = match (s.state, s.open_for) {
        (State::Open, Some(wait)) => human(wait),
        _ => "-".into(),
    };
    format!(
        "  {:<8} {:<10} {:>8} {:>6} {:>7} {:>8} {:>9} {:>10}  {rate:>12}",
        s.name.to_string(),
        s.state.to_string(),
        retry,
        s.totals.successes,
        s.totals.failures,
        s.totals.timeouts,
        s.totals.rejected,
        s.totals.fallbacks
    )
}

/// The breakers' table: the header, then one row per breaker.
pub fn table() -> String {
    let mut out = format!("{HEADER}\n");
    for s in registry().snapshots() {
        writeln!(out, "{}", row(&s)).ok();
    }
    out
}

/// The live view of a terminal, redrawn over itself.
pub struct Live {
    lines_drawn: usize,
}

impl Live {
    /// A view that has drawn nothing yet.
    pub fn new() -> Live {
        Live { lines_drawn: 0 }
    }

    /// Redraws: progress, phase, the table and the last transitions.
    pub fn draw(&mut self, phase: &str, elapsed: f64, total: f64, transitions: &[String]) {
        let done = (((elapsed / total) * 30.0).round() as usize).min(30);
        let mut out = String::new();
        if self.lines_drawn > 0 {
            write!(out, "\x1b[{}A\x1b[J", self.lines_drawn).ok();
        }
        writeln!(
            out,
            "cb demo  [{}{}] {elapsed:>5.1}s / {total:.0}s",
            "#".repeat(done),
            ".".repeat(30 - done)
        )
        .ok();
        writeln!(out, "phase: {phase}").ok();
        out.push_str(&table());
        writeln!(out, "transitions:").ok();
        for t in transitions.iter().rev().take(6).rev() {
            writeln!(out, "  {t}").ok();
        }
        self.lines_drawn = out.lines().count();
        print!("{out}");
        let _ = std::io::stdout().flush();
    }
}
