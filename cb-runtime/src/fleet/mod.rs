//! Fleet-shared breaker state: a fleet of instances agrees on which breakers are open, and
//! one instance at a time probes a recovering backend. Two backends behind one interface,
//! chosen by the URL's scheme: Redis (feature `redis`, `redis://`; `rediss://` with feature
//! `redis-tls`) and NATS JetStream (feature `nats`, `nats://`). The backend is never on the
//! call path, and the breaker knows nothing of which one is used.
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
//! # NATS JetStream
//!
//! Names become one subject token each (letters, digits and `-` kept, every other byte
//! `_XX`), so no name adds a level or acts as a wildcard. Stream `cb_{fleet}` (subjects
//! `{fleet}.>`, max age `key_ttl`, 1,000 messages per subject) holds `{fleet}.circuit.{name}`
//! (`open:{wait_ms}:{instance}`, `closed:{instance}`, `probe:{instance}`),
//! `{fleet}.outcomes.{name}` (`{successes}:{failures}:{instance}`) and `{fleet}.hello`
//! (`{instance}`). An instance reads the stream from its start with an ordered consumer; when
//! its own hello comes back, that message's server time is "now" and the last event of every
//! breaker is adopted against it; later events are adopted as they arrive. Open waits count
//! from the `open` message's server timestamp. The probe lease is key `{name}` of bucket
//! `cb_{fleet}_probe` (max age `lease_ttl`): taken with `create`, renewed or repaired with
//! `update` at the revision read, taken over when older than `lease_ttl` by server time.
//! Malformed payloads, unknown subjects and garbage leases are reported and ignored (or
//! repaired) like Redis's malformed keys; faults are reported the same way.
//!
//! # Redis
//!
//! No instance's wall clock is part of the protocol: durations travel as Redis TTLs (`PX`),
//! order comes from a Redis-side counter, and each instance converts what it reads to its own
//! monotonic clock when it reads it. Every value read from Redis is input, checked before use.
//!
//! Keys of breaker `{name}` in fleet `{fleet}` (all strings):
//!
//! | key | value | TTL | written by |
//! |---|---|---|---|
//! | `cb:{fleet}:{name}:seq` | an integer | 2 × `key_ttl` | the publish script only (`INCR`; seeded from Redis `TIME` in ms when missing or not an integer, so it never goes back after a flush) |
//! | `cb:{fleet}:{name}:state` | `open:{seq}:{wait_ms}:{instance}` or `closed:{seq}:{instance}` | `key_ttl` (+ the wait) | the publish script: an instance whose own breaker tripped (open) or whose own probe closed it (closed) |
//! | `cb:{fleet}:{name}:wait` | `{seq}` | the open wait left (`PX wait_ms`) | the publish script, with an `open` state; deleted with a `closed` one |
//! | `cb:{fleet}:{name}:probe` | `{instance}` (16 hex digits) | `lease_ttl` | the lease script: the one instance allowed to probe |
//! | `cb:{fleet}:{name}:w:{second}:{s\|f}` | successes / failures | window + 10 s | every instance (`INCRBY`), `{second}` from Redis `TIME` |
//!
//! What an instance trusts, at every sync (`sync_interval`):
//! - **State**: one read-only script (`EVALSHA_RO`, flagged `no-writes`, so it works on a
//!   read-only replica and under `maxmemory`; 256 breakers per round trip) returns the type and
//!   value of `state` and `wait` and the `PTTL` of `wait`. A
//!   `state` value different from the last one this instance saw, written by another instance,
//!   is adopted: `closed` closes an Open / HalfOpen breaker; `open` opens it for the `PTTL` of
//!   `wait` (only if `wait` holds the same `seq`), capped at the adopter's own
//!   `max_open_timeout`, counted from the moment of the read on the adopter's monotonic clock.
//!   Malformed values, a `wait` without TTL, a declared wait above the adopter's
//!   `max_open_timeout`, and keys of the wrong type are reported and ignored.
//! - **Order**: the last write to `state` wins in Redis; `seq` only makes every publication
//!   distinct, so a reader needs no clock to tell a new event from one it has seen.
//! - **Probe lease**: when an Open breaker's wait has passed, the instance runs the lease script:
//!   it takes a missing lease, renews its own, repairs (takes) a lease holding anything but an
//!   instance id or a key of the wrong type, and trims a lease without TTL or with a TTL longer
//!   than `lease_ttl` to `lease_ttl`. No value in Redis blocks probing past one lease TTL.
//! - **Outcomes**: a breaker with a time window publishes its new outcomes into per-second
//!   buckets keyed by Redis `TIME` and judges its failure rate over the fleet's calls.
//!   **Count windows are not judged by the fleet**: a breaker with `window = count(n)` trips on
//!   its own calls only; its trips, waits and probes are still shared. `Registry::explain` says
//!   so for every fleet-attached breaker with a count window.
//!
//! Faults: every Redis operation has a timeout (`op_timeout`). Redis unreachable or refusing
//! the connection (wrong password included): every breaker decides locally; this is reported
//! at attach (the first sync runs at once) and again on every change of condition, never per
//! sync. Redis answering but refusing writes (`OOM`, `READONLY`): reported once; reads and
//! adoption go on, probing is decided locally, and a trip not yet published is published as
//! soon as writes work. A wrong-typed or malformed key concerns its breaker only. Every report
//! is an [`Event::FleetReport`](crate::Event::FleetReport), a line on stderr, and an entry in
//! [`Fleet::problems`] while it lasts. No report, error or `Debug` output contains the Redis
//! password.

mod agents;
mod conditions;
mod fields;
#[cfg(feature = "nats")]
mod over_nats;
#[cfg(feature = "redis")]
mod over_redis;
mod periods;
mod secret;
mod wall;

use crate::Registry;
use conditions::Problems;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// How an instance joins a fleet.
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    /// The wall clock of this instance: it only seeds the instance id, never the protocol.
    pub wall_clock: fn() -> SystemTime,
    /// PEM root certificate(s) trusted for `rediss://` instead of the system's (feature
    /// `redis-tls`).
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub tls_root_cert: Option<Vec<u8>>,
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
            wall_clock: SystemTime::now,
            #[cfg(feature = "redis-tls")]
            tls_root_cert: None,
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

    /// Fleet keys outlive their state by `ttl`.
    pub fn key_ttl(mut self, ttl: Duration) -> Self {
        self.key_ttl = ttl;
        self
    }

    /// Redis operations time out after `timeout`.
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// Reads wall time from `clock` (tests skew it to show the protocol does not care).
    pub fn wall_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.wall_clock = clock;
        self
    }

    /// Trusts the PEM certificate(s) `pem` for `rediss://` (feature `redis-tls`).
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub fn tls_root_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_cert = Some(pem.into());
        self
    }
}

impl FleetConfig {
    /// Rejects settings the agent cannot run with: zero durations, and a lease that would
    /// expire between two renewals.
    fn validate(&self) -> Result<(), FleetError> {
        let fail = |why: String| Err(FleetError(format!("fleet `{}`: {why}", self.fleet)));
        if self.fleet.is_empty() {
            return fail("the fleet name is empty".into());
        }
        for (key, value) in [
            ("sync_interval", self.sync_interval),
            ("lease_ttl", self.lease_ttl),
            ("key_ttl", self.key_ttl),
            ("op_timeout", self.op_timeout),
        ] {
            if value < Duration::from_millis(1) {
                return fail(format!("{key} must be at least 1ms, not {value:?}"));
            }
        }
        if self.lease_ttl <= self.sync_interval {
            return fail(format!(
                "lease_ttl ({:?}) must exceed sync_interval ({:?}): the holder renews its lease once per sync",
                self.lease_ttl, self.sync_interval
            ));
        }
        Ok(())
    }
}

/// Joining a fleet failed before any Redis traffic (a bad URL, TLS without the feature, a
/// setting out of range, or no tokio runtime). The message never contains the URL's password.
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
    problems: Problems,
    task: tokio::task::JoinHandle<()>,
    registry: &'static Registry,
    glob: String,
}

/// Joins `registry` to the fleet of `config` through the backend the URL's scheme names:
/// Redis at `redis://` (or, with feature `redis-tls`, `rediss://`), NATS JetStream at
/// `nats://` (feature `nats`). Connecting happens in the background, starting at once; until
/// the backend answers, breakers decide locally, and a backend that cannot be used is reported.
pub fn attach(registry: &'static Registry, url: &str, config: FleetConfig) -> Result<Fleet, FleetError> {
    config.validate()?;
    let redacted = secret::redact_url(url);
    let backend = Backend::open(url, &redacted, &config)?;
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|_| FleetError("fleet::attach needs a tokio runtime".into()))?;
    let instance = wall::instance_id(config.wall_clock);
    let connected = Arc::new(AtomicBool::new(false));
    let problems = Problems::default();
    registry.mark_fleet_attached(&config.fleet, &config.breakers);
    let glob = config.breakers.clone();
    let secrets = secret::Secrets::of(url, redacted);
    let task = match backend {
        #[cfg(feature = "redis")]
        Backend::Redis(client) => runtime.spawn(over_redis::agent::run(over_redis::agent::Agent::new(
            registry,
            client,
            secrets,
            config,
            instance,
            connected.clone(),
            problems.clone(),
        ))),
        #[cfg(feature = "nats")]
        Backend::Nats(target) => runtime.spawn(over_nats::run(over_nats::Agent::new(
            registry,
            target,
            secrets,
            config,
            instance,
            connected.clone(),
            problems.clone(),
        ))),
    };
    Ok(Fleet {
        instance,
        connected,
        problems,
        task,
        registry,
        glob,
    })
}

/// The backend a fleet URL names, ready to connect.
enum Backend {
    #[cfg(feature = "redis")]
    Redis(redis::Client),
    #[cfg(feature = "nats")]
    Nats(over_nats::Target),
}

impl Backend {
    /// Reads `url` (shown as `redacted` in errors).
    fn open(url: &str, redacted: &str, config: &FleetConfig) -> Result<Backend, FleetError> {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        let _ = config;
        match scheme {
            #[cfg(feature = "redis")]
            "redis" | "rediss" => open_client(url, config).map(Backend::Redis).map_err(|e| {
                FleetError(format!(
                    "invalid Redis URL `{redacted}`: {}",
                    secret::scrub(&e.to_string(), url)
                ))
            }),
            #[cfg(feature = "nats")]
            "nats" => over_nats::Target::parse(url)
                .map(Backend::Nats)
                .map_err(|e| FleetError(format!("invalid NATS URL `{redacted}`: {}", secret::scrub(&e, url)))),
            #[cfg(not(feature = "redis"))]
            "redis" | "rediss" => Err(FleetError(format!(
                "the fleet URL `{redacted}` needs the cb-runtime feature `redis`"
            ))),
            #[cfg(not(feature = "nats"))]
            "nats" => Err(FleetError(format!(
                "the fleet URL `{redacted}` needs the cb-runtime feature `nats`"
            ))),
            _ => Err(FleetError(format!(
                "the fleet URL `{redacted}` names no backend: use redis://, rediss:// or nats://"
            ))),
        }
    }
}

#[cfg(feature = "redis")]
fn open_client(url: &str, config: &FleetConfig) -> Result<redis::Client, redis::RedisError> {
    if url.starts_with("rediss://") && !cfg!(feature = "redis-tls") {
        return Err(redis::RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "rediss:// needs the cb-runtime feature `redis-tls`",
        )));
    }
    #[cfg(feature = "redis-tls")]
    if let Some(pem) = &config.tls_root_cert {
        return redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            },
        );
    }
    let _ = config;
    redis::Client::open(url)
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

    /// The conditions in force right now (Redis unreachable, writes refused, malformed or
    /// wrong-typed keys...), each as it was reported; empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        self.problems.list()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.task.abort();
        self.registry.mark_fleet_detached(&self.glob);
        for name in self.registry.names() {
            if let Some(b) = self.registry.get(&name) {
                b.set_may_probe(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_the_agent_cannot_run_with_are_errors_not_panics() {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        let attach = |config: FleetConfig| attach(registry, "redis://127.0.0.1:1", config).unwrap_err().to_string();
        assert!(attach(FleetConfig::new("")).contains("empty"));
        assert!(attach(FleetConfig::new("f").sync_interval(Duration::ZERO)).contains("sync_interval must be"));
        assert!(attach(FleetConfig::new("f").op_timeout(Duration::ZERO)).contains("op_timeout"));
        assert!(attach(FleetConfig::new("f").key_ttl(Duration::from_micros(5))).contains("key_ttl"));
        assert!(
            attach(FleetConfig::new("f").lease_ttl(Duration::from_millis(50))).contains("must exceed sync_interval")
        );
        assert!(
            attach(FleetConfig::new("f")).contains("needs a tokio runtime"),
            "valid settings get further"
        );
    }

    #[test]
    fn a_url_naming_no_backend_is_an_error() {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        for url in ["http://h", "127.0.0.1:6379", "", "NATS://h"] {
            let err = attach(registry, url, FleetConfig::new("f")).unwrap_err().to_string();
            assert!(err.contains("names no backend"), "{url}: {err}");
        }
        let err = attach(registry, "tcp://u:s3cret@h", FleetConfig::new("f")).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err}");
    }

    #[test]
    fn an_invalid_url_error_hides_the_password() {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        let err = attach(registry, "redis://:s3cr%65t@host:port/x", FleetConfig::new("f")).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("s3cr") && shown.contains(":***@host"), "{shown}");
    }
}
