//! The background task that keeps one instance in step with its fleet.

use super::FleetConfig;
use super::conditions::{Conditions, Pass, Problems};
use super::errors::Failure;
use super::keys::{Keys, Published, instance_value, parse_seq, parse_state, shown};
use super::scripts::{LEASE, OUTCOMES, PUBLISH, READ, RELEASE};
use super::secret::Secrets;
use crate::events::Reason;
use crate::{CircuitBreaker, Registry, State, glob_match};
use redis::aio::MultiplexedConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The connection is unusable: the sync stops and every breaker decides locally.
struct Down(String);

/// A local event waiting to be published (kept while Redis refuses writes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    Open,
    Closed,
}

/// What the agent remembers of one breaker.
#[derive(Default)]
struct Seen {
    /// The local period last looked at: state and generation.
    period: Option<(State, u64)>,
    pending: Option<Pending>,
    /// The last `state` value read or written: a different one is news.
    last_value: Option<String>,
    /// Successes and failures (timeouts included) already published.
    published: (u64, u64),
}

/// Breakers read per round trip.
const READ_BATCH: usize = 256;

/// The read script's answer: type and value of `state`, of `wait`, and the `PTTL` of `wait`.
type RawRead = (String, Option<Vec<u8>>, String, Option<Vec<u8>>, i64);

impl From<RawRead> for Read {
    fn from((state_type, state, wait_type, wait, wait_pttl): RawRead) -> Read {
        let text = |v: Option<Vec<u8>>| v.map(|v| String::from_utf8_lossy(&v).into_owned());
        Read {
            state_type,
            state: text(state),
            wait_type,
            wait: text(wait),
            wait_pttl,
        }
    }
}

/// What one read of a breaker's `state` and `wait` keys returned.
struct Read {
    state_type: String,
    state: Option<String>,
    wait_type: String,
    wait: Option<String>,
    wait_pttl: i64,
}

pub(crate) struct Agent {
    registry: &'static Registry,
    client: redis::Client,
    secrets: Secrets,
    config: FleetConfig,
    instance: u64,
    connected: Arc<AtomicBool>,
    conditions: Conditions,
    con: Option<MultiplexedConnection>,
    seen: HashMap<String, Seen>,
    leases: HashSet<String>,
    /// The SHA of the read script once loaded on this connection.
    read_sha: Option<String>,
}

pub(crate) async fn run(mut agent: Agent) {
    let mut ticker = tokio::time::interval(agent.config.sync_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut pass = Pass::default();
        if let Err(Down(why)) = agent.sync(&mut pass).await {
            agent.lost(&mut pass, &why);
        }
        for report in agent.conditions.apply(pass) {
            agent.report(report);
        }
    }
}

impl Agent {
    pub(crate) fn new(
        registry: &'static Registry,
        client: redis::Client,
        secrets: Secrets,
        config: FleetConfig,
        instance: u64,
        connected: Arc<AtomicBool>,
        problems: Problems,
    ) -> Agent {
        Agent {
            registry,
            client,
            secrets,
            config,
            instance,
            connected,
            conditions: Conditions::new(problems),
            con: None,
            seen: HashMap::new(),
            leases: HashSet::new(),
            read_sha: None,
        }
    }

    fn report(&self, message: String) {
        let message = format!("fleet `{}`: {}", self.config.fleet, self.secrets.scrub(&message));
        eprintln!("cb: {message}");
        self.registry.report_fleet(message);
    }

    /// Redis is unusable: every breaker decides locally until it answers.
    fn lost(&mut self, pass: &mut Pass, why: &str) {
        self.con = None;
        self.read_sha = None;
        self.leases.clear();
        for seen in self.seen.values_mut() {
            seen.period = None;
        }
        for b in self.shared() {
            b.set_may_probe(true);
        }
        self.connected.store(false, Ordering::Release);
        pass.fail(
            "redis",
            format!(
                "Redis at {} cannot be used ({why}); breakers decide locally until it answers",
                self.secrets.url
            ),
        );
    }

    /// What the agent remembers of breaker `name`.
    fn seen_mut(&mut self, name: &str) -> &mut Seen {
        if !self.seen.contains_key(name) {
            self.seen.insert(name.to_owned(), Seen::default());
        }
        self.seen.get_mut(name).expect("inserted above")
    }

    fn shared(&self) -> Vec<Arc<CircuitBreaker>> {
        self.registry
            .names()
            .into_iter()
            .filter(|n| glob_match(&self.config.breakers, n))
            .filter_map(|n| self.registry.get(n))
            .collect()
    }

    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Result<T, Failure> {
        let timeout = self.config.op_timeout;
        let con = self.con.as_mut().ok_or_else(|| Failure::Down("not connected".into()))?;
        match tokio::time::timeout(timeout, cmd.query_async::<T>(con)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Failure::of(&e, self.secrets.scrub(&e.to_string()))),
            Err(_) => Err(Failure::timed_out(timeout)),
        }
    }

    async fn connect(&mut self, pass: &mut Pass) -> Result<(), Down> {
        let timeout = self.config.op_timeout;
        let connect = self.client.get_multiplexed_async_connection();
        match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(con)) => self.con = Some(con),
            Ok(Err(e)) => return Err(Down(self.secrets.scrub(&e.to_string()))),
            Err(_) => return Err(Down(format!("no connection within {timeout:?}"))),
        }
        match self.query::<String>(&redis::cmd("PING")).await {
            Ok(_) => {}
            Err(Failure::Down(why) | Failure::WritesRefused(why) | Failure::WrongType(why) | Failure::Refused(why)) => {
                return Err(Down(why));
            }
        }
        pass.ok("redis");
        if !self.connected.swap(true, Ordering::AcqRel) {
            self.report(format!(
                "connected to Redis at {} as instance {:016x}",
                self.secrets.url, self.instance
            ));
        }
        Ok(())
    }

    async fn sync(&mut self, pass: &mut Pass) -> Result<(), Down> {
        if self.con.is_none() {
            self.connect(pass).await?;
        }
        let breakers = self.shared();
        let keys: Vec<Keys> = breakers
            .iter()
            .map(|b| Keys::new(&self.config.fleet, b.name()))
            .collect();
        for (b, keys) in breakers.iter().zip(&keys) {
            self.note_local_period(b);
            self.release_lease_if_done(b, keys, pass).await?;
            self.publish_pending(b, keys, pass).await?;
        }
        let reads = self.read_all(&keys).await?;
        for ((b, keys), read) in breakers.iter().zip(&keys).zip(reads) {
            self.adopt(b, keys, read, pass)?;
            self.share_outcomes(b, keys, pass).await?;
            self.decide_probe(b, keys, pass).await?;
        }
        Ok(())
    }

    /// Sorts a failure: `Down` stops the sync, the others become conditions of this pass.
    fn settle(&self, pass: &mut Pass, name: &str, what: &str, failure: Failure) -> Result<(), Down> {
        match failure {
            Failure::Down(why) => return Err(Down(why)),
            Failure::WritesRefused(why) => pass.fail(
                "writes",
                format!(
                    "Redis refuses writes ({why}); this instance's trips wait to be published and its probes \
                     are decided locally, trips of other instances are still read"
                ),
            ),
            Failure::WrongType(why) => pass.fail(
                format!("wrongtype:{name}:{what}"),
                format!("a key of breaker `{name}` has the wrong type ({what}: {why}); ignored"),
            ),
            Failure::Refused(why) => pass.fail(
                format!("refused:{name}:{what}"),
                format!("Redis refused the {what} of breaker `{name}` ({why})"),
            ),
        }
        Ok(())
    }

    /// Turns a new local period (not adopted) into an event to publish.
    fn note_local_period(&mut self, b: &CircuitBreaker) {
        let (state, generation, adopted) = b.period();
        let seen = self.seen_mut(b.name());
        let previous = seen.period.replace((state, generation));
        if previous.is_some_and(|(_, g)| g == generation) {
            return;
        }
        seen.pending = match state {
            _ if adopted => None,
            State::Open => Some(Pending::Open),
            State::Closed if previous.is_some_and(|(s, _)| matches!(s, State::Open | State::HalfOpen)) => {
                Some(Pending::Closed)
            }
            _ => None,
        };
    }

    async fn release_lease_if_done(&mut self, b: &CircuitBreaker, keys: &Keys, pass: &mut Pass) -> Result<(), Down> {
        let probing = match b.period().0 {
            State::HalfOpen => true,
            State::Open => b.open_remaining() == Some(Duration::ZERO),
            _ => false,
        };
        let name: &str = b.name();
        if probing || !self.leases.remove(name) {
            return Ok(());
        }
        let release = self
            .query::<i64>(
                redis::cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(&keys.probe)
                    .arg(instance_value(self.instance)),
            )
            .await;
        match release {
            Ok(_) => Ok(()),
            Err(failure) => self.settle(pass, name, "lease release", failure),
        }
    }

    async fn publish_pending(&mut self, b: &CircuitBreaker, keys: &Keys, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        let Some(pending) = self.seen.get(name).and_then(|s| s.pending) else {
            return Ok(());
        };
        let (kind, wait_ms) = match pending {
            Pending::Open => ("open", b.open_remaining().map_or(1, |d| (d.as_millis() as u64).max(1))),
            Pending::Closed => ("closed", 0),
        };
        let key_ttl = (self.config.key_ttl.as_millis() as u64).max(1);
        let published = self
            .query::<u64>(
                redis::cmd("EVAL")
                    .arg(PUBLISH)
                    .arg(3)
                    .arg(&keys.state)
                    .arg(&keys.seq)
                    .arg(&keys.wait)
                    .arg(kind)
                    .arg(wait_ms)
                    .arg(instance_value(self.instance))
                    .arg(key_ttl),
            )
            .await;
        match published {
            Ok(seq) => {
                pass.ok("writes");
                pass.ok(format!("refused:{name}:publish"));
                let me = instance_value(self.instance);
                let seen = self.seen_mut(name);
                seen.pending = None;
                seen.last_value = Some(match pending {
                    Pending::Open => format!("open:{seq}:{wait_ms}:{me}"),
                    Pending::Closed => format!("closed:{seq}:{me}"),
                });
                Ok(())
            }
            Err(failure) => self.settle(pass, name, "publish", failure),
        }
    }

    /// The read script for `keys`: by its SHA once loaded (a sync sends the script text once,
    /// not once per breaker).
    fn read_cmd(&self, keys: &Keys) -> redis::Cmd {
        let mut cmd = match &self.read_sha {
            Some(sha) => redis::cmd("EVALSHA_RO").arg(sha).to_owned(),
            None => redis::cmd("EVAL_RO").arg(READ).to_owned(),
        };
        cmd.arg(2).arg(&keys.state).arg(&keys.wait);
        cmd
    }

    /// Reads every breaker's event, [`READ_BATCH`] breakers per round trip. If a batch fails
    /// without the connection failing, its breakers are read one by one, so one bad key
    /// concerns only its breaker.
    async fn read_all(&mut self, keys: &[Keys]) -> Result<Vec<Result<Read, Failure>>, Down> {
        if self.read_sha.is_none() {
            let sha = self.query::<String>(redis::cmd("SCRIPT").arg("LOAD").arg(READ)).await;
            self.read_sha = sha.ok();
        }
        let mut reads = Vec::with_capacity(keys.len());
        for batch in keys.chunks(READ_BATCH) {
            let mut pipe = redis::pipe();
            for k in batch {
                pipe.add_command(self.read_cmd(k));
            }
            match self.query_pipe::<Vec<RawRead>>(&pipe).await {
                Ok(raw) if raw.len() == batch.len() => reads.extend(raw.into_iter().map(|r| Ok(Read::from(r)))),
                Ok(_) => {
                    for k in batch {
                        reads.push(self.read_one(k).await);
                    }
                }
                Err(Failure::Down(why)) => return Err(Down(why)),
                Err(_) => {
                    self.read_sha = None;
                    for k in batch {
                        reads.push(self.read_one(k).await);
                    }
                }
            }
        }
        Ok(reads)
    }

    async fn read_one(&mut self, keys: &Keys) -> Result<Read, Failure> {
        let cmd = self.read_cmd(keys);
        self.query::<RawRead>(&cmd).await.map(Read::from)
    }

    async fn query_pipe<T: redis::FromRedisValue>(&mut self, pipe: &redis::Pipeline) -> Result<T, Failure> {
        let timeout = self.config.op_timeout;
        let con = self.con.as_mut().ok_or_else(|| Failure::Down("not connected".into()))?;
        match tokio::time::timeout(timeout, pipe.query_async::<T>(con)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Failure::of(&e, self.secrets.scrub(&e.to_string()))),
            Err(_) => Err(Failure::timed_out(timeout)),
        }
    }

    /// Reads the fleet's latest event for `b` and adopts it if it is news from another
    /// instance and every value checks out.
    fn adopt(
        &mut self,
        b: &CircuitBreaker,
        keys: &Keys,
        read: Result<Read, Failure>,
        pass: &mut Pass,
    ) -> Result<(), Down> {
        let name: &str = b.name();
        let read = match read {
            Ok(read) => read,
            Err(failure) => return self.settle(pass, name, "read", failure),
        };
        pass.ok(format!("refused:{name}:read"));
        let mut well_typed = true;
        for (key, ty) in [(&keys.state, &read.state_type), (&keys.wait, &read.wait_type)] {
            let condition = format!("wrongtype:{name}:{key}");
            if ty == "string" || ty == "none" {
                pass.ok(condition);
            } else {
                well_typed = false;
                pass.fail(
                    condition,
                    format!("key `{key}` of breaker `{name}` is a {ty}, not a string; breaker `{name}` is not synced until it is repaired or expires"),
                );
            }
        }
        let Some(value) = read.state.clone().filter(|_| well_typed) else {
            if well_typed {
                pass.ok(format!("malformed:{name}"));
            }
            return Ok(());
        };
        if self.seen.get(name).and_then(|s| s.last_value.as_deref()) == Some(value.as_str()) {
            return Ok(());
        }
        self.seen_mut(name).last_value = Some(value.clone());
        let event = match parse_state(&value) {
            Ok(event) => event,
            Err(problem) => {
                pass.fail(
                    format!("malformed:{name}"),
                    format!(
                        "ignoring malformed value {:?} of `{}`: {problem}",
                        shown(&value),
                        keys.state
                    ),
                );
                return Ok(());
            }
        };
        pass.ok(format!("malformed:{name}"));
        if event.instance() == self.instance {
            return Ok(());
        }
        let reason = Reason::Fleet {
            instance: event.instance(),
        };
        match event {
            Published::Closed { .. } => b.adopt_closed(reason),
            Published::Open { wait_ms, .. } => match self.open_wait(b, keys, &read, event, wait_ms, pass) {
                Some(wait) => b.adopt_open(wait, reason),
                None => return Ok(()),
            },
        }
        let (state, generation, _) = b.period();
        self.seen_mut(name).period = Some((state, generation));
        Ok(())
    }

    /// The open wait to adopt for `event`: the `PTTL` of `wait`, checked and capped at this
    /// breaker's `max_open_timeout`. `None` when it has passed or a value is out of range.
    fn open_wait(
        &self,
        b: &CircuitBreaker,
        keys: &Keys,
        read: &Read,
        event: Published,
        wait_ms: u64,
        pass: &mut Pass,
    ) -> Option<Duration> {
        let name: &str = b.name();
        let range = format!("range:{name}");
        let pttl = read.wait_pttl;
        let out_of_range = match read.wait.as_deref().map(parse_seq) {
            None => return None,
            Some(Err(problem)) => Some(problem),
            Some(Ok(seq)) if seq != event.seq() => Some(format!("belongs to event {seq}, not {}", event.seq())),
            Some(Ok(_)) if pttl == -1 => Some("has no TTL".to_owned()),
            Some(Ok(_)) if pttl <= 0 => return None,
            Some(Ok(_)) if pttl as u64 > wait_ms => {
                Some(format!("has a TTL of {pttl}ms, above the {wait_ms}ms published"))
            }
            Some(Ok(_)) => None,
        };
        if let Some(problem) = out_of_range {
            pass.fail(
                range,
                format!(
                    "ignoring the open wait of breaker `{name}` published by instance {:016x}: `{}` {problem}",
                    event.instance(),
                    keys.wait
                ),
            );
            return None;
        }
        pass.ok(range);
        let max = b.config().max_open_timeout;
        let cap = format!("cap:{name}");
        let wait = Duration::from_millis(read.wait_pttl as u64);
        if Duration::from_millis(wait_ms) > max {
            pass.fail(
                cap,
                format!(
                    "instance {:016x} published an open wait of {wait_ms}ms for breaker `{name}`; adopted at most this instance's max_open_timeout of {max:?}",
                    event.instance()
                ),
            );
        } else {
            pass.ok(cap);
        }
        Some(wait.min(max))
    }

    /// Publishes this instance's new outcomes into per-second fleet buckets (Redis time), then
    /// judges the breaker's failure rate over the whole fleet's calls of its time window:
    /// instances that each see too few calls to judge still trip together. Count windows are
    /// judged locally.
    async fn share_outcomes(&mut self, b: &CircuitBreaker, keys: &Keys, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        let config = b.config();
        let crate::Window::Time(window) = config.window else {
            return Ok(());
        };
        let totals = b.snapshot().totals;
        let now = (totals.successes, totals.failures + totals.timeouts);
        let published = self.seen.get(name).map_or((0, 0), |s| s.published);
        let (ds, df) = (now.0.saturating_sub(published.0), now.1.saturating_sub(published.1));
        if ds + df == 0 {
            return Ok(());
        }
        let judge = config
            .failure_rate_threshold
            .filter(|_| b.period().0 == State::Closed && df > 0);
        let buckets = window.as_secs().max(1);
        let counted = self
            .query::<(u64, u64)>(
                redis::cmd("EVAL")
                    .arg(OUTCOMES)
                    .arg(0)
                    .arg(keys.prefix())
                    .arg(buckets)
                    .arg((buckets + 10) * 1000)
                    .arg(ds)
                    .arg(df)
                    .arg(if judge.is_some() { "1" } else { "0" }),
            )
            .await;
        let (successes, failures) = match counted {
            Ok(counts) => counts,
            Err(failure) => return self.settle(pass, name, "outcomes", failure),
        };
        pass.ok("writes");
        pass.ok(format!("wrongtype:{name}:outcomes"));
        pass.ok(format!("refused:{name}:outcomes"));
        self.seen_mut(name).published = now;
        let calls = successes + failures;
        if let Some(threshold) = judge
            && calls >= u64::from(config.minimum_calls)
            && calls > 0
        {
            let rate = failures as f64 / calls as f64;
            if rate >= threshold {
                b.trip_for_fleet(Reason::FailureRate { rate, threshold, calls });
            }
        }
        Ok(())
    }

    /// Lets `b` probe only while this instance holds the fleet's probe lease; with writes
    /// refused, probes are decided locally.
    async fn decide_probe(&mut self, b: &CircuitBreaker, keys: &Keys, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        let holding = self.leases.contains(name);
        let contend = match b.period().0 {
            State::Open => b.open_remaining() == Some(Duration::ZERO),
            State::HalfOpen => holding,
            _ => false,
        };
        if !contend {
            b.set_may_probe(holding);
            return Ok(());
        }
        let lease_ms = (self.config.lease_ttl.as_millis() as u64).max(1);
        let taken = self
            .query::<(i64, Vec<u8>)>(
                redis::cmd("EVAL")
                    .arg(LEASE)
                    .arg(1)
                    .arg(&keys.probe)
                    .arg(instance_value(self.instance))
                    .arg(lease_ms),
            )
            .await;
        let condition = format!("lease:{name}");
        let won = match taken {
            Ok((code, detail)) => {
                pass.ok("writes");
                pass.ok(format!("refused:{name}:lease"));
                let detail = String::from_utf8_lossy(&detail);
                match code {
                    2 => pass.fail(
                        condition,
                        format!("the probe lease `{}` of breaker `{name}` held {detail}; repaired, this instance probes", keys.probe),
                    ),
                    3 => pass.fail(
                        condition,
                        format!("the probe lease `{}` of breaker `{name}` had {detail}; trimmed to the lease TTL of {lease_ms}ms", keys.probe),
                    ),
                    _ => pass.ok(condition),
                }
                code == 1 || code == 2
            }
            Err(failure) => {
                self.settle(pass, name, "lease", failure)?;
                self.leases.remove(name);
                b.set_may_probe(true);
                return Ok(());
            }
        };
        if won {
            self.leases.insert(name.to_owned());
        } else {
            self.leases.remove(name);
        }
        b.set_may_probe(won);
        Ok(())
    }
}
