//! A health summary of every breaker, as Resilience4j's health indicator gives one: `UP`,
//! `CIRCUIT_OPEN` or `CIRCUIT_HALF_OPEN` per breaker, and the worst of them overall.

use crate::{Registry, Snapshot, State};
use std::fmt;

/// How one breaker (or all of them) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum HealthStatus {
    /// Calls run: Closed, and the manual Disabled and MetricsOnly.
    Up,
    /// Probing: HalfOpen.
    CircuitHalfOpen,
    /// Calls are rejected: Open or ForcedOpen.
    CircuitOpen,
}

impl HealthStatus {
    /// The status of a breaker in `state`.
    pub fn of(state: State) -> HealthStatus {
        match state {
            State::Closed | State::Disabled | State::MetricsOnly => HealthStatus::Up,
            State::HalfOpen => HealthStatus::CircuitHalfOpen,
            State::Open | State::ForcedOpen => HealthStatus::CircuitOpen,
        }
    }

    /// `UP`, `CIRCUIT_HALF_OPEN` or `CIRCUIT_OPEN` (Resilience4j's names).
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Up => "UP",
            HealthStatus::CircuitHalfOpen => "CIRCUIT_HALF_OPEN",
            HealthStatus::CircuitOpen => "CIRCUIT_OPEN",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One breaker in a [`Health`] summary.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CircuitHealth {
    /// The breaker's name.
    pub name: crate::Name,
    /// Its health.
    pub status: HealthStatus,
    /// Its state (tells ForcedOpen from Open, Disabled from Closed).
    pub state: State,
    /// The window's failure rate, once it holds `minimum_calls`.
    pub failure_rate: Option<f64>,
    /// The window's slow-call rate, once it holds `minimum_calls`.
    pub slow_call_rate: Option<f64>,
    /// Calls rejected since the breaker was created.
    pub rejected: u64,
}

impl CircuitHealth {
    /// The health of the breaker `snapshot` shows.
    pub fn of(snapshot: &Snapshot) -> CircuitHealth {
        CircuitHealth {
            name: snapshot.name.clone(),
            status: HealthStatus::of(snapshot.state),
            state: snapshot.state,
            failure_rate: snapshot.window.failure_rate,
            slow_call_rate: snapshot.window.slow_call_rate,
            rejected: snapshot.totals.rejected,
        }
    }
}

/// Every breaker's health and the worst of them (`UP` with no breaker).
///
/// ```
/// use cb_runtime::{BreakerConfig, HealthStatus, Registry};
///
/// let registry = Registry::new();
/// registry.breaker("search", &BreakerConfig::default());
/// registry.breaker("payments", &BreakerConfig::default()).force_open();
/// let health = registry.health();
/// assert_eq!(health.status, HealthStatus::CircuitOpen);
/// assert_eq!(health.circuits[0].name, "payments");
/// assert_eq!(health.circuits[1].status.as_str(), "UP");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Health {
    /// The worst status of all breakers.
    pub status: HealthStatus,
    /// Every breaker, by name.
    pub circuits: Vec<CircuitHealth>,
}

impl Health {
    /// The summary of `snapshots` (sorted by name here).
    pub fn of(snapshots: &[Snapshot]) -> Health {
        let mut circuits: Vec<_> = snapshots.iter().map(CircuitHealth::of).collect();
        circuits.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        let status = circuits.iter().map(|c| c.status).max().unwrap_or(HealthStatus::Up);
        Health { status, circuits }
    }
}

impl Registry {
    /// The health of every registered breaker (keyed breakers one by one).
    pub fn health(&self) -> Health {
        Health::of(&self.snapshots())
    }
}
