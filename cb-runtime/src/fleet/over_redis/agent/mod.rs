//! The background task that keeps one instance in step with its fleet: each sync publishes
//! this instance's new periods, reads every shared breaker's event in batches and adopts the
//! news, shares outcomes and decides who probes.

mod lease;
mod publish;
mod read;

use crate::fleet::FleetConfig;
use crate::fleet::agents;
use crate::fleet::conditions::{Conditions, Pass, Problems};
use crate::fleet::over_redis::errors::Failure;
use crate::fleet::over_redis::keys::Keys;
use crate::fleet::periods::Pending;
use crate::fleet::secret::Secrets;
use crate::{CircuitBreaker, Registry, State};
use redis::aio::MultiplexedConnection;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The connection is unusable: the sync stops and every breaker decides locally.
struct Down(String);

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
    /// Whether this instance has connected once: a reconnection is reported as the end of the
    /// condition that broke the connection, not as news of its own.
    joined: bool,
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
            joined: false,
            read_sha: None,
        }
    }

    fn report(&self, message: String) {
        agents::report(self.registry, &self.config, &self.secrets, &message);
    }

    /// Redis is unusable: every breaker decides locally until it answers.
    fn lost(&mut self, pass: &mut Pass, why: &str) {
        self.con = None;
        self.read_sha = None;
        self.leases.clear();
        for seen in self.seen.values_mut() {
            seen.period = None;
        }
        agents::decide_locally(self.registry, &self.config, &self.connected);
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
        agents::remembered(&mut self.seen, name)
    }

    fn shared(&self) -> Vec<Arc<CircuitBreaker>> {
        agents::shared(self.registry, &self.config)
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
        if agents::first_connection(&self.connected, &mut self.joined) {
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
}
