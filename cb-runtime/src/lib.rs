//! # cb-runtime
//!
//! Declarative circuit breakers for Rust services. Annotate the function or method that calls
//! a flaky backend; the signature stays the same, so no call site changes:
//!
//! ```
//! use cb_runtime::{circuit_breaker, Rejected};
//! # #[derive(Debug)] enum PromoError { Open(Rejected) }
//! # impl From<Rejected> for PromoError { fn from(r: Rejected) -> Self { PromoError::Open(r) } }
//!
//! #[circuit_breaker(name = "promos", consecutive_failures = 5, open_timeout = "30s")]
//! fn promos(rider: u32) -> Result<Vec<u32>, PromoError> {
//!     Ok(vec![rider]) // the call to the backend
//! }
//! # assert_eq!(promos(7).unwrap(), vec![7]);
//! ```
//!
//! - [`#[circuit_breaker]`](macro@circuit_breaker) on sync and async functions and methods:
//!   `fallback = path` (checked at compile time), declarative fallbacks (`fallback = default`,
//!   `fallback_value = ..`, `fallback = cache`, chains `fallback = [cache, f, default]`: see
//!   [`fallback`]), `timeout = "2s"`, `failure_if`, `ignore_if`, and every configuration key (`window`, `failure_rate_threshold`, `slow_call_duration`, ..).
//! - [`#[derive(CircuitProtected)]`](derive@CircuitProtected) gives a type its breaker; a
//!   `#[circuit_breaker(key)]` field gives every instance its own (`webhook/<id>`), bounded by
//!   `max_keys` and `idle_ttl`.
//! - A rejection without a fallback becomes your error through `From<`[`Rejected`]`>` (and
//!   `From<`[`Timeout`]`>`); a fallback may take the cause as a [`CallError`].
//!
//! Every breaker lives in the global [`registry()`]: [`Snapshot`]s, [`Event`]s
//! ([`Registry::subscribe`]), manual control (`force_open`, `disable`, `reset`) and
//! [`Registry::explain`]. Operators retune breakers without recompiling through
//! `circuit_breakers.toml`, `circuit_breakers.yaml` or `CB_BREAKER__<NAME>__<KEY>` variables,
//! reloaded live ([`config`]); the `cb-config` command checks a file and explains a breaker.
//! Without macros, [`CircuitBreaker`] (through [`Registry::breaker`] or
//! [`CircuitBreaker::builder`]) offers `call`, `call_sync` and the permit API.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | ✔ | [`#[circuit_breaker]`](macro@circuit_breaker) and [`#[derive(CircuitProtected)]`](derive@CircuitProtected) |
//! | `prometheus` | | [`metrics`]: one collector for every breaker (prometheus-client) |
//! | `tower` | | [`tower`]: `CircuitBreakerLayer` for any tower `Service`, with an HTTP status classifier |
//! | `redis` | | [`fleet`]: breaker state shared by a fleet of instances through Redis |
//! | `redis-tls` | | `rediss://` URLs for the fleet (rustls with ring) |
//! | `nats` | | [`fleet`] over NATS JetStream instead of Redis |
//! | `grpc` | | `GrpcLayer` and `Status` conversions (tonic) |
//! | `serde` | | `Serialize` on snapshots, configurations and health |
//! | `axum` | | inspection and control endpoints (`Endpoints`) |
//! | `sqlx` | | database outages (`is_outage`) and `ResilientPool` |
//! | `stream` | | `protect_stream`: every item of a stream is an outcome |
//! | `reqwest-middleware` | | `CircuitBreakerMiddleware` for reqwest clients |
//! | `yaml` | | `circuit_breakers.yaml` beside `circuit_breakers.toml` ([`config`]) |
//! | `queue` | | [`queue`]: `queue = "..."` queues rejected calls and replays them (with `redis` or `nats`: durably in Redis streams or JetStream) |
//! | `fallback-cache` | | `fallback = cache`: the last-good cache of a function's results (moka) |
//!
//! ```toml
//! [dependencies]
//! cb-runtime = { version = "0.1", features = ["prometheus", "tower"] }
//! ```
//!
//! The repository's README has the full semantics, the configuration reference, the
//! migration guide and the performance figures.
//!
//! [`metrics`]: metrics/index.html
//! [`tower`]: tower/index.html
//! [`fleet`]: fleet/index.html
//! [`queue`]: queue/index.html
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]

mod breaker;
mod clock;
pub mod config;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod endpoints;
mod error;
mod events;
pub mod fallback;
mod family;
#[cfg(any(feature = "redis", feature = "nats"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "redis", feature = "nats"))))]
pub mod fleet;
mod glob;
mod members;
use glob::glob_match;
#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
pub mod grpc;
mod health;
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
pub mod metrics;
mod name;
pub mod observe;
mod protected;
#[cfg(feature = "queue")]
#[cfg_attr(docsrs, doc(cfg(feature = "queue")))]
pub mod queue;
mod registry;
mod registry_control;
mod registry_explain;
#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
pub mod reqwest;
#[cfg(feature = "serde")]
mod serialize;
mod snapshot;
#[cfg(feature = "sqlx")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx")))]
pub mod sqlx;
mod state;
#[cfg(feature = "stream")]
#[cfg_attr(docsrs, doc(cfg(feature = "stream")))]
pub mod stream;
mod timing;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod window;

#[doc(hidden)]
pub mod __private;
/// Named here (hidden) only so that compile errors print `SyncFallback<..>`, `FromRejected`..
/// instead of `cb_runtime::__private::SyncFallback<..>`: rustc shortens the path of an item that
/// has a public path of its own under a name no other item has (hence `AsyncFallback`:
/// `tower::Fallback` exists), and a re-export from a private module is not one. Generated code
/// still names them through `__private`.
#[cfg(feature = "fallback-cache")]
#[doc(hidden)]
pub use __private::CacheValue;
#[doc(hidden)]
pub use __private::{
    BreakerKey, CacheKey, CarriesRejection, EmptyResponse, Fallback as AsyncFallback, FallbackArg, FallbackCause,
    FallbackForAll, FromRejected, FromTimeout, HasErrors, NotAFuture, NotAStream, Predicate, SyncFallback,
    UnreadableFuture, UnreadableStream,
};

pub use breaker::{CircuitBreaker, CircuitBreakerBuilder, ControlError, Outcome, OwnedPermit, Permit};
pub use clock::{Clock, ClockSource, ManualClock};
pub use config::{BreakerConfig, BreakerConfigBuilder, ConfigError, Preset, Setting, UnknownPreset, Window};
pub use error::{CallError, Rejected, Timeout};
pub use events::{Event, Eviction, Interest, Reason, Subscription};
pub use health::{CircuitHealth, Health, HealthStatus};
pub use name::Name;
pub use protected::CircuitProtected;
pub use registry::{FamilyStats, Registry, UnknownBreaker, init_registry, registry};
pub use snapshot::{Durations, Snapshot, Totals, WindowStats};
pub use state::State;
pub use timing::{DEFAULT_DURATION_SAMPLING, MAX_DURATION_SAMPLING, measure_durations, sample_durations};
pub use window::Counts;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
pub use cb_macros::{CircuitProtected, circuit_breaker};
