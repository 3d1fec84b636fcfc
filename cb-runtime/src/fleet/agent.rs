//! The background task that keeps one instance in step with its fleet.

use super::FleetConfig;
use super::keys::{FleetState, closed_value, instance_value, key, open_value, parse_closed, parse_open};
use crate::events::Reason;
use crate::{CircuitBreaker, Registry, State, glob_match};
use redis::aio::MultiplexedConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Deletes the lease only if this instance holds it.
const RELEASE: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// A random instance id: the clock, the process and a per-process counter, mixed.
pub(crate) fn instance_id() -> u64 {
    static JOINED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nth = JOINED.fetch_add(1, Ordering::Relaxed);
    let seed = wall_ms() ^ u64::from(std::process::id()).rotate_left(47) ^ nth.rotate_left(23);
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Redis did not answer in time or answered with an error.
struct Down(String);

/// What the agent remembers of one breaker.
#[derive(Default)]
struct Seen {
    state: Option<State>,
    generation: u64,
    /// The time (`at`) of the latest fleet event applied or published.
    applied: u64,
    /// Successes and failures (timeouts included) already published.
    published: (u64, u64),
}

pub(crate) struct Agent {
    registry: &'static Registry,
    client: redis::Client,
    config: FleetConfig,
    instance: u64,
    connected: Arc<AtomicBool>,
    con: Option<MultiplexedConnection>,
    seen: HashMap<&'static str, Seen>,
    leases: HashSet<&'static str>,
    reported_malformed: HashSet<String>,
}

pub(crate) async fn run(mut agent: Agent) {
    let mut ticker = tokio::time::interval(agent.config.sync_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(Down(why)) = agent.sync().await {
            agent.lost(&why);
        }
    }
}

impl Agent {
    pub(crate) fn new(
        registry: &'static Registry,
        client: redis::Client,
        config: FleetConfig,
        instance: u64,
        connected: Arc<AtomicBool>,
    ) -> Agent {
        Agent {
            registry,
            client,
            config,
            instance,
            connected,
            con: None,
            seen: HashMap::new(),
            leases: HashSet::new(),
            reported_malformed: HashSet::new(),
        }
    }

    fn report(&self, message: String) {
        self.registry.report_fleet(message);
    }

    /// Redis is gone: every breaker decides locally, and it is said once.
    fn lost(&mut self, why: &str) {
        self.con = None;
        self.leases.clear();
        for b in self.shared() {
            b.set_may_probe(true);
        }
        if self.connected.swap(false, Ordering::AcqRel) {
            self.report(format!(
                "fleet `{}`: Redis unreachable ({why}); breakers decide locally until it answers",
                self.config.fleet
            ));
        }
    }

    fn shared(&self) -> Vec<Arc<CircuitBreaker>> {
        self.registry
            .names()
            .into_iter()
            .filter(|n| glob_match(&self.config.breakers, n))
            .filter_map(|n| self.registry.get(n))
            .collect()
    }

    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Result<T, Down> {
        let con = self.con.as_mut().ok_or_else(|| Down("not connected".into()))?;
        match tokio::time::timeout(self.config.op_timeout, cmd.query_async::<T>(con)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Down(e.to_string())),
            Err(_) => Err(Down(format!("no answer within {:?}", self.config.op_timeout))),
        }
    }

    async fn sync(&mut self) -> Result<(), Down> {
        if self.con.is_none() {
            let connect = self.client.get_multiplexed_async_connection();
            match tokio::time::timeout(self.config.op_timeout, connect).await {
                Ok(Ok(con)) => self.con = Some(con),
                Ok(Err(e)) => return Err(Down(e.to_string())),
                Err(_) => return Err(Down(format!("no connection within {:?}", self.config.op_timeout))),
            }
            self.query::<String>(&redis::cmd("PING")).await?;
            self.seen.clear();
            if !self.connected.swap(true, Ordering::AcqRel) {
                self.report(format!(
                    "fleet `{}`: connected to Redis as instance {:016x}",
                    self.config.fleet, self.instance
                ));
            }
        }
        for breaker in self.shared() {
            self.sync_breaker(&breaker).await?;
        }
        Ok(())
    }

    async fn sync_breaker(&mut self, b: &CircuitBreaker) -> Result<(), Down> {
        let name = b.name();
        let (fleet, me) = (self.config.fleet.clone(), self.instance);
        let (open_key, closed_key, probe_key) = (
            key(&fleet, name, "open"),
            key(&fleet, name, "closed"),
            key(&fleet, name, "probe"),
        );
        let ttl = |d: Duration| d.as_millis().max(1) as u64;

        let (state, generation, adopted) = b.period();
        let seen = self.seen.entry(name).or_default();
        let new_local_period = seen.state.is_none() || generation != seen.generation;
        let previous = seen.state.replace(state);
        seen.generation = generation;
        if new_local_period && !adopted {
            let now = wall_ms();
            match state {
                State::Open => {
                    let until = now + b.open_remaining().map_or(0, |d| d.as_millis() as u64);
                    let px = until - now + ttl(self.config.key_ttl);
                    self.query::<()>(
                        redis::cmd("SET")
                            .arg(&open_key)
                            .arg(open_value(now, until, me))
                            .arg("PX")
                            .arg(px),
                    )
                    .await?;
                    self.seen.entry(name).or_default().applied = now;
                }
                State::Closed if matches!(previous, Some(State::Open | State::HalfOpen)) => {
                    let px = ttl(self.config.key_ttl);
                    self.query::<()>(
                        redis::cmd("SET")
                            .arg(&closed_key)
                            .arg(closed_value(now, me))
                            .arg("PX")
                            .arg(px),
                    )
                    .await?;
                    self.query::<()>(redis::cmd("DEL").arg(&open_key)).await?;
                    self.seen.entry(name).or_default().applied = now;
                }
                _ => {}
            }
            if state != State::HalfOpen && self.leases.remove(name) {
                self.query::<i64>(
                    redis::cmd("EVAL")
                        .arg(RELEASE)
                        .arg(1)
                        .arg(&probe_key)
                        .arg(instance_value(me)),
                )
                .await?;
            }
        }

        let (open, closed): (Option<String>, Option<String>) =
            self.query(redis::cmd("MGET").arg(&open_key).arg(&closed_key)).await?;
        let latest = [
            open.map(|v| (v, parse_open as fn(&str) -> _)),
            closed.map(|v| (v, parse_closed as fn(&str) -> _)),
        ]
        .into_iter()
        .flatten()
        .filter_map(|(value, parse)| match parse(&value) {
            Ok(state) => Some(state),
            Err(problem) => {
                if self.reported_malformed.insert(value.clone()) {
                    self.report(format!(
                        "fleet `{fleet}`: ignoring malformed value for `{name}`: {problem}"
                    ));
                }
                None
            }
        })
        .max_by_key(FleetState::at);
        let applied = self.seen.get(name).map_or(0, |s| s.applied);
        match latest {
            Some(event) if event.at() > applied => {
                let now = wall_ms();
                match event {
                    FleetState::Open { until, instance, .. } if instance != me && until > now => {
                        b.adopt_open(Duration::from_millis(until - now), Reason::Fleet { instance });
                    }
                    FleetState::Closed { instance, .. } if instance != me => b.adopt_closed(Reason::Fleet { instance }),
                    _ => {}
                }
                let (state, generation, _) = b.period();
                let seen = self.seen.entry(name).or_default();
                seen.applied = event.at();
                seen.state = Some(state);
                seen.generation = generation;
            }
            _ => {}
        }

        self.share_outcomes(b).await?;

        let lease_ms = ttl(self.config.lease_ttl);
        let holding = self.leases.contains(name);
        let may_probe = match b.period().0 {
            State::Open if b.open_remaining() == Some(Duration::ZERO) => {
                let won = if holding {
                    self.query::<i64>(redis::cmd("PEXPIRE").arg(&probe_key).arg(lease_ms))
                        .await?
                        == 1
                } else {
                    let set: Option<String> = self
                        .query(
                            redis::cmd("SET")
                                .arg(&probe_key)
                                .arg(instance_value(me))
                                .arg("NX")
                                .arg("PX")
                                .arg(lease_ms),
                        )
                        .await?;
                    set.is_some()
                };
                if won {
                    self.leases.insert(name)
                } else {
                    self.leases.remove(name)
                };
                won
            }
            State::HalfOpen if holding => {
                self.query::<i64>(redis::cmd("PEXPIRE").arg(&probe_key).arg(lease_ms))
                    .await?;
                true
            }
            _ => holding,
        };
        b.set_may_probe(may_probe);
        Ok(())
    }

    /// Publishes this instance's new outcomes into per-second fleet buckets, then judges the
    /// breaker's failure rate over the whole fleet's calls of its time window: instances that
    /// each see too few calls to judge still trip together. (Count windows are judged locally.)
    async fn share_outcomes(&mut self, b: &CircuitBreaker) -> Result<(), Down> {
        let name = b.name();
        let config = b.config();
        let crate::Window::Time(window) = config.window else {
            return Ok(());
        };
        let totals = b.snapshot().totals;
        let now = (totals.successes, totals.failures + totals.timeouts);
        let seen = self.seen.entry(name).or_default();
        let (ds, df) = (
            now.0.saturating_sub(seen.published.0),
            now.1.saturating_sub(seen.published.1),
        );
        seen.published = now;
        let second = wall_ms() / 1000;
        let buckets = window.as_secs().max(1);
        let keep = (buckets + 10) * 1000;
        let bucket = |epoch: u64, what: &str| key(&self.config.fleet, name, &format!("w:{epoch}:{what}"));
        if ds + df > 0 {
            let mut pipe = redis::pipe();
            for (what, delta) in [("s", ds), ("f", df)] {
                pipe.cmd("INCRBY").arg(bucket(second, what)).arg(delta).ignore();
                pipe.cmd("PEXPIRE").arg(bucket(second, what)).arg(keep).ignore();
            }
            let con = self.con.as_mut().ok_or_else(|| Down("not connected".into()))?;
            match tokio::time::timeout(self.config.op_timeout, pipe.query_async::<()>(con)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(Down(e.to_string())),
                Err(_) => return Err(Down(format!("no answer within {:?}", self.config.op_timeout))),
            }
        }
        let Some(threshold) = config.failure_rate_threshold else {
            return Ok(());
        };
        if b.period().0 != State::Closed || df == 0 {
            return Ok(());
        }
        let mut mget = redis::cmd("MGET");
        for epoch in second + 1 - buckets..=second {
            mget.arg(bucket(epoch, "s")).arg(bucket(epoch, "f"));
        }
        let counts: Vec<Option<u64>> = self.query(&mget).await?;
        let (successes, failures) = counts
            .chunks(2)
            .fold((0, 0), |(s, f), c| (s + c[0].unwrap_or(0), f + c[1].unwrap_or(0)));
        let calls = successes + failures;
        if calls >= u64::from(config.minimum_calls) && calls > 0 {
            let rate = failures as f64 / calls as f64;
            if rate >= threshold {
                b.trip_for_fleet(Reason::FailureRate { rate, threshold, calls });
            }
        }
        Ok(())
    }
}
