//! The observable states of a breaker.

use std::fmt;

/// A breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Calls run and outcomes are counted; a trigger opens the breaker.
    Closed,
    /// Calls are rejected until the open wait has passed.
    Open,
    /// A limited number of probes run; their outcomes close or re-open the breaker.
    HalfOpen,
    /// Manually opened: every call is rejected until reset.
    ForcedOpen,
    /// Manually disabled: every call runs and nothing is recorded.
    Disabled,
    /// Every call runs and is recorded, but the breaker never trips.
    MetricsOnly,
}

impl State {
    /// Every state, in the order of their metric values.
    pub const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
        State::MetricsOnly,
    ];

    /// The value of the `circuit_breaker_state` gauge: 0 closed, 1 open, 2 half_open,
    /// 3 forced_open, 4 disabled, 5 metrics_only.
    pub fn as_metric(self) -> u8 {
        self as u8
    }

    /// The snake_case name used in events and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
            State::MetricsOnly => "metrics_only",
        }
    }

    pub(crate) fn from_bits(bits: u64) -> State {
        State::ALL.get(bits as usize).copied().unwrap_or(State::Closed)
    }

    /// Whether calls are rejected in this state (ignoring half-open slot limits).
    pub fn rejects(self) -> bool {
        matches!(self, State::Open | State::ForcedOpen)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::HalfOpen => "half-open",
            State::ForcedOpen => "forced open",
            State::MetricsOnly => "metrics-only",
            other => other.as_str(),
        })
    }
}
