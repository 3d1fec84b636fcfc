//! # cb-runtime
//!
//! Circuit breakers for Rust services: a lock-free breaker state machine, a global registry
//! of named breakers, events through `tracing` and subscriptions.
//!
//! ```
//! use cb_runtime::{registry, BreakerConfig, CallError};
//!
//! let config = BreakerConfig::builder().consecutive_failures(3).build().unwrap();
//! let breaker = registry().breaker("crate-docs-backend", &config);
//! let answer = breaker.call_sync(|| Ok::<_, std::io::Error>(42));
//! assert_eq!(answer.unwrap(), 42);
//! # let _: Option<CallError<()>> = None;
//! ```
//!
//! States: Closed, Open, HalfOpen, and the manual ForcedOpen, Disabled, MetricsOnly. Triggers:
//! consecutive failures, failure rate and slow-call rate over count- or time-based sliding
//! windows. The README of the repository has the full semantics, the configuration reference
//! and the performance figures.

#![deny(unsafe_code)]

mod breaker;
mod clock;
pub mod config;
mod error;
mod events;
mod family;
#[cfg(feature = "redis")]
pub mod fleet;
mod glob;
#[cfg(feature = "prometheus")]
pub mod metrics;
mod name;
mod protected;
mod registry;
mod registry_control;
mod snapshot;
mod state;
mod timing;
#[cfg(feature = "tower")]
pub mod tower;
mod window;

#[doc(hidden)]
pub mod __private;

pub use breaker::{CircuitBreaker, CircuitBreakerBuilder, ControlError, Outcome, OwnedPermit, Permit};
pub use clock::{Clock, ClockSource, ManualClock};
pub use config::{BreakerConfig, BreakerConfigBuilder, ConfigError, Preset, Setting, UnknownPreset, Window};
pub use error::{CallError, Rejected, Timeout};
pub use events::{Event, Eviction, Interest, Reason, Subscription};
pub use glob::glob_match;
pub use name::Name;
pub use protected::CircuitProtected;
pub use registry::{FamilyStats, Registry, UnknownBreaker, init_registry, registry};
pub use snapshot::{Durations, Snapshot, Totals, WindowStats};
pub use state::State;
pub use timing::{DEFAULT_DURATION_SAMPLING, MAX_DURATION_SAMPLING, measure_durations, sample_durations};
pub use window::Counts;

#[cfg(feature = "macros")]
#[doc(inline)]
pub use cb_macros::{CircuitProtected, circuit_breaker};
