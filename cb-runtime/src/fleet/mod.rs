//! Fleet-shared breaker state through Redis (feature `redis`): a fleet of instances agrees on
//! which breakers are open, and one instance at a time probes a recovering backend. Redis is
//! never on the call path.
//!
//! ```no_run
//! # async fn example() -> Result<(), cb_runtime::fleet::FleetError> {
//! use cb_runtime::fleet::{self, FleetConfig};
//!
//! let fleet = fleet::attach(cb_runtime::registry(), "redis://127.0.0.1:6379", FleetConfig::new("dixie-bff"))?;
//! # drop(fleet);
//! # Ok(())
//! # }
//! ```
//!
//! A background task (on the current tokio runtime) syncs every `sync_interval`:
//! - outcomes are published in batches (per-second buckets of successes and failures), and a
//!   breaker with a time window also judges its failure rate over the whole fleet's calls, so
//!   instances that each see too few calls still trip together;
//! - a breaker that trips here is published (`cb:{fleet}:{name}:open` with its open-until);
//!   the other instances adopt Open with the same deadline at their next sync;
//! - when the open wait has passed, an instance probes only while it holds the fleet's probe
//!   lease (`cb:{fleet}:{name}:probe`, `SET NX` with a TTL); the others keep rejecting until the
//!   probe decides, then adopt Closed (`cb:{fleet}:{name}:closed`) or the new open-until;
//! - Redis slow, down, restarted or flushed: every Redis operation has a timeout, the instance
//!   keeps deciding on local state alone (probes are no longer held off), reports it once, and
//!   resynchronises when Redis answers again. Keys expire; a malformed value is reported and
//!   ignored.

mod agent;
mod keys;

use crate::Registry;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How an instance joins a fleet.
#[derive(Clone, Debug)]
pub struct FleetConfig {
    /// The fleet's name: the key namespace (`cb:{fleet}:...`).
    pub fleet: String,
    /// Which breakers are shared (a glob; default `*`).
    pub breakers: String,
    /// How often the instance syncs with Redis (default 100ms): the bound on how late the
    /// others learn of a trip.
    pub sync_interval: Duration,
    /// How long a probe lease lasts without renewal (default 5s).
    pub lease_ttl: Duration,
    /// How long fleet keys outlive the state they describe (default 10m).
    pub key_ttl: Duration,
    /// The longest any Redis operation may take before Redis counts as down (default 250ms).
    pub op_timeout: Duration,
}

impl FleetConfig {
    /// The defaults for fleet `fleet`.
    pub fn new(fleet: impl Into<String>) -> Self {
        Self {
            fleet: fleet.into(),
            breakers: "*".into(),
            sync_interval: Duration::from_millis(100),
            lease_ttl: Duration::from_secs(5),
            key_ttl: Duration::from_secs(600),
            op_timeout: Duration::from_millis(250),
        }
    }

    /// Shares only the breakers matching `glob`.
    pub fn breakers(mut self, glob: impl Into<String>) -> Self {
        self.breakers = glob.into();
        self
    }

    /// Syncs every `interval`.
    pub fn sync_interval(mut self, interval: Duration) -> Self {
        self.sync_interval = interval;
        self
    }

    /// Probe leases last `ttl`.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Redis operations time out after `timeout`.
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }
}

/// Joining a fleet failed before any Redis traffic (a bad URL, or no tokio runtime).
#[derive(Debug)]
pub struct FleetError(String);

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FleetError {}

/// A registry's membership in a fleet; leaving (dropping it) stops syncing and lets every
/// breaker decide locally again.
#[derive(Debug)]
pub struct Fleet {
    instance: u64,
    connected: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    registry: &'static Registry,
}

/// Joins `registry` to the fleet of `config` through Redis at `url`. Connecting happens in
/// the background; until Redis answers, breakers decide locally.
pub fn attach(registry: &'static Registry, url: &str, config: FleetConfig) -> Result<Fleet, FleetError> {
    let client = redis::Client::open(url).map_err(|e| FleetError(format!("invalid Redis URL `{url}`: {e}")))?;
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|_| FleetError("fleet::attach needs a tokio runtime".into()))?;
    let instance = agent::instance_id();
    let connected = Arc::new(AtomicBool::new(false));
    let task = runtime.spawn(agent::run(agent::Agent::new(
        registry,
        client,
        config,
        instance,
        connected.clone(),
    )));
    Ok(Fleet {
        instance,
        connected,
        task,
        registry,
    })
}

impl Fleet {
    /// This instance's id in the fleet's keys and events.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Whether the last sync reached Redis.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.task.abort();
        for name in self.registry.names() {
            if let Some(b) = self.registry.get(name) {
                b.set_may_probe(true);
            }
        }
    }
}
