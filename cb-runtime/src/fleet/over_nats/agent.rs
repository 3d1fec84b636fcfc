//! The background task of one instance on NATS: it publishes this instance's trips, closes
//! and outcome batches into the fleet's stream, reads the stream through an ordered consumer
//! (a replay of the retained history first, then live), adopts the news, and decides who
//! probes through the lease bucket.

use super::Target;
use super::events::{Circuit, outcomes_payload, parse_circuit, parse_outcomes};
use super::subject::{Layout, MAX_SUBJECT, Subject};
use crate::events::Reason;
use crate::fleet::FleetConfig;
use crate::fleet::agents;
use crate::fleet::conditions::{Conditions, Pass, Problems, shown};
use crate::fleet::fields::parse_instance;
use crate::fleet::periods::{Pending, new_period};
use crate::fleet::secret::Secrets;
use crate::{CircuitBreaker, Registry, State, glob_match};
use async_nats::jetstream::{self, consumer, kv, stream};
use futures_util::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Messages kept per subject: the audit trail of each breaker (and its outcome batches).
const HISTORY: i64 = 1000;

/// Outcome batches kept per breaker (a window's worth at most).
const MAX_BATCHES: usize = 100_000;

/// At most this many breakers' last Open kept for breakers this instance has not registered
/// yet (a hostile publisher inventing names cannot grow it past this).
const MAX_UNCLAIMED: usize = 10_000;

/// The connection is unusable: every breaker decides locally until it is back.
pub(super) struct Down(pub(super) String);

/// One connection to NATS and what was learnt through it.
struct Link {
    client: async_nats::Client,
    js: jetstream::Context,
    pub(super) kv: kv::Store,
    messages: Option<consumer::push::Ordered>,
    /// The stream sequence of this connection's hello.
    hello: u64,
    /// The server time of the hello (ns since the epoch) and when it was read here: the
    /// server's clock, carried forward on this instance's monotonic clock.
    anchor: Option<(i128, Instant)>,
    /// While replaying (before the hello comes back): the last circuit event per breaker.
    replayed: HashMap<String, (Circuit, i128, u64)>,
}

/// What the agent remembers of one breaker.
#[derive(Default)]
struct Seen {
    period: Option<(State, u64)>,
    pending: Option<Pending>,
    /// Successes and failures (timeouts included) already published.
    published: (u64, u64),
    /// The stream sequence and server time of the last event adopted.
    adopted: Option<(u64, i128)>,
    /// The fleet's outcome batches: server time, successes, failures.
    outcomes: VecDeque<(i128, u64, u64)>,
    /// A batch with failures came in since the last judgement.
    judge: bool,
    /// The server time of the last close in the fleet: a closed breaker starts a new window.
    closed_at: i128,
}

pub(crate) struct Agent {
    registry: &'static Registry,
    target: Target,
    secrets: Secrets,
    config: FleetConfig,
    instance: u64,
    connected: Arc<AtomicBool>,
    conditions: Conditions,
    layout: Layout,
    link: Option<Link>,
    seen: HashMap<String, Seen>,
    /// The breakers whose probe lease this instance holds, with the lease's revision.
    pub(super) leases: HashMap<String, u64>,
    /// The last Open of breakers the fleet shares but this instance has not registered yet
    /// (a macro's breaker appears on its first call): adopted when the breaker appears.
    unclaimed: HashMap<String, (Circuit, u64, i128)>,
    joined: bool,
    /// Observations made between two syncs (messages arrive at any time).
    pass: Pass,
}

enum Wake {
    Sync,
    Message(Box<Option<Result<jetstream::Message, String>>>),
}

pub(crate) async fn run(mut agent: Agent) {
    let mut ticker = tokio::time::interval(agent.config.sync_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wake = tokio::select! {
            _ = ticker.tick() => Wake::Sync,
            m = next_message(&mut agent.link) => Wake::Message(Box::new(m)),
        };
        match wake {
            Wake::Sync => agent.tick().await,
            Wake::Message(m) => agent.on_message(*m),
        }
    }
}

async fn next_message(link: &mut Option<Link>) -> Option<Result<jetstream::Message, String>> {
    match link.as_mut().and_then(|l| l.messages.as_mut()) {
        Some(messages) => messages.next().await.map(|m| m.map_err(|e| e.to_string())),
        None => std::future::pending().await,
    }
}

/// Runs `op` within `timeout`; no answer in time means NATS is down.
pub(super) async fn timed<T>(timeout: Duration, what: &str, op: impl Future<Output = T>) -> Result<T, Down> {
    tokio::time::timeout(timeout, op)
        .await
        .map_err(|_| Down(format!("no answer to the {what} within {timeout:?}")))
}

/// Creates the stream of `config` unless it exists, within `timeout`: the fleet's stream or its
/// lease bucket's (`what`, named `name` in errors).
///
/// A creation refused after a lookup found nothing is looked up once more, and only a stream
/// still missing is an error: once, in a full test run, a server restarting with its store
/// answered a reconnecting instance's creation with "subjects overlap with an existing stream"
/// (the stream it was restoring), and the instance reported the fleet unusable until a retry.
async fn create_stream(
    js: &jetstream::Context,
    timeout: Duration,
    what: &str,
    name: &str,
    config: stream::Config,
) -> Result<(), Down> {
    let stream = config.name.clone();
    let refused = match timed(timeout, &format!("{what} creation"), js.get_or_create_stream(config)).await? {
        Ok(_) => return Ok(()),
        Err(refused) => refused,
    };
    match timed(timeout, &format!("{what} lookup"), js.get_stream(&stream)).await? {
        Ok(_) => Ok(()),
        Err(_) => Err(Down(format!("the {what} `{name}`: {refused}"))),
    }
}

impl Agent {
    pub(crate) fn new(
        registry: &'static Registry,
        target: Target,
        secrets: Secrets,
        config: FleetConfig,
        instance: u64,
        connected: Arc<AtomicBool>,
        problems: Problems,
    ) -> Agent {
        Agent {
            registry,
            target,
            secrets,
            layout: Layout::new(&config.fleet),
            config,
            instance,
            connected,
            conditions: Conditions::new(problems),
            link: None,
            seen: HashMap::new(),
            leases: HashMap::new(),
            unclaimed: HashMap::new(),
            joined: false,
            pass: Pass::default(),
        }
    }

    fn report(&self, message: String) {
        agents::report(self.registry, &self.config, &self.secrets, &message);
    }

    async fn tick(&mut self) {
        let mut pass = std::mem::take(&mut self.pass);
        if let Err(Down(why)) = self.sync(&mut pass).await {
            self.lost(&mut pass, &why);
        }
        for report in self.conditions.apply(pass) {
            self.report(report);
        }
    }

    /// NATS is unusable: every breaker decides locally until it answers.
    fn lost(&mut self, pass: &mut Pass, why: &str) {
        if let Some(mut link) = self.link.take() {
            drop(link.messages.take());
        }
        self.leases.clear();
        for seen in self.seen.values_mut() {
            seen.period = None;
        }
        agents::decide_locally(self.registry, &self.config, &self.connected);
        pass.fail(
            "nats",
            format!(
                "NATS at {} cannot be used ({}); breakers decide locally until it answers",
                self.secrets.url,
                self.secrets.scrub(why)
            ),
        );
    }

    fn seen_mut(&mut self, name: &str) -> &mut Seen {
        agents::remembered(&mut self.seen, name)
    }

    fn shared(&self) -> Vec<Arc<CircuitBreaker>> {
        agents::shared(self.registry, &self.config)
    }

    fn shared_one(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        glob_match(&self.config.breakers, name)
            .then(|| self.registry.get(name))
            .flatten()
    }

    /// The server's time now, as carried forward from the last hello (ns since the epoch).
    pub(super) fn server_now(&self) -> Option<i128> {
        let (at, read) = self.link.as_ref()?.anchor?;
        Some(at + read.elapsed().as_nanos() as i128)
    }

    pub(super) fn op_timeout(&self) -> Duration {
        self.config.op_timeout
    }

    async fn connect(&mut self, pass: &mut Pass) -> Result<(), Down> {
        let options = self.target.options(self.config.op_timeout);
        let client = timed(
            self.config.op_timeout,
            "connection",
            options.connect(self.target.url.as_str()),
        )
        .await?
        .map_err(|e| Down(e.to_string()))?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(self.config.op_timeout);
        let stream = stream::Config {
            name: self.layout.stream.clone(),
            subjects: vec![self.layout.all()],
            max_age: self.config.key_ttl,
            max_messages_per_subject: HISTORY,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        create_stream(&js, self.config.op_timeout, "stream", &self.layout.stream, stream).await?;
        // The bucket's stream is made here rather than by `create_key_value`, whose account
        // query fails to parse a 2.9 server's answer; it is the layout of a KV bucket.
        let bucket = stream::Config {
            name: format!("KV_{}", self.layout.bucket),
            subjects: vec![format!("$KV.{}.>", self.layout.bucket)],
            max_age: self.config.lease_ttl,
            max_messages_per_subject: 1,
            duplicate_window: self.config.lease_ttl.min(Duration::from_secs(120)),
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        create_stream(&js, self.config.op_timeout, "bucket", &self.layout.bucket, bucket).await?;
        let kv = timed(
            self.config.op_timeout,
            "bucket lookup",
            js.get_key_value(&self.layout.bucket),
        )
        .await?
        .map_err(|e| Down(format!("the bucket `{}`: {e}", self.layout.bucket)))?;
        self.link = Some(Link {
            client,
            js,
            kv,
            messages: None,
            hello: 0,
            anchor: None,
            replayed: HashMap::new(),
        });
        pass.ok("nats");
        if agents::first_connection(&self.connected, &mut self.joined) {
            self.report(format!(
                "connected to NATS at {} as instance {:016x} (stream `{}`)",
                self.secrets.url, self.instance, self.layout.stream
            ));
        }
        Ok(())
    }

    /// Says hello (the server's time of it anchors the replay) and starts reading the stream
    /// from its first retained message.
    async fn subscribe(&mut self) -> Result<(), Down> {
        let hello = self.layout.hello();
        let me = format!("{:016x}", self.instance);
        let seq = self.publish(&hello, me).await?.map_err(Down)?;
        let link = self.link.as_ref().expect("connected");
        let (js, deliver) = (link.js.clone(), link.client.new_inbox());
        let stream = timed(
            self.config.op_timeout,
            "stream lookup",
            js.get_stream(&self.layout.stream),
        )
        .await?
        .map_err(|e| Down(e.to_string()))?;
        let config = consumer::push::OrderedConfig {
            deliver_subject: deliver,
            filter_subject: self.layout.all(),
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        };
        let consumer = timed(
            self.config.op_timeout,
            "consumer creation",
            stream.create_consumer(config),
        )
        .await?
        .map_err(|e| Down(e.to_string()))?;
        let messages = timed(self.config.op_timeout, "subscription", consumer.messages())
            .await?
            .map_err(|e| Down(e.to_string()))?;
        let link = self.link.as_mut().expect("connected");
        link.hello = seq;
        link.messages = Some(messages);
        Ok(())
    }

    /// Publishes `payload` on `subject` and waits for the stream's acknowledgement: the
    /// stream sequence, or `Err` when the server refused it.
    async fn publish(&mut self, subject: &str, payload: String) -> Result<Result<u64, String>, Down> {
        use jetstream::context::PublishErrorKind as Kind;
        let js = self
            .link
            .as_ref()
            .ok_or_else(|| Down("not connected".into()))?
            .js
            .clone();
        let acked = timed(self.config.op_timeout, "publication", async {
            js.publish(subject.to_owned(), payload.into()).await?.await
        })
        .await?;
        match acked {
            Ok(ack) => Ok(Ok(ack.sequence)),
            Err(e) if matches!(e.kind(), Kind::TimedOut | Kind::BrokenPipe | Kind::StreamNotFound) => {
                Err(Down(e.to_string()))
            }
            Err(e) => Ok(Err(e.to_string())),
        }
    }

    async fn sync(&mut self, pass: &mut Pass) -> Result<(), Down> {
        if self.link.is_none() {
            self.connect(pass).await?;
        }
        let link = self.link.as_ref().expect("connected");
        if link.client.connection_state() != async_nats::connection::State::Connected {
            return Err(Down("disconnected".into()));
        }
        let mut breakers = self.shared();
        breakers.retain(|b| self.fits(b, pass));
        for b in &breakers {
            let name: &str = b.name();
            if !self.seen.contains_key(name)
                && self.server_now().is_some()
                && let Some((event, seq, at)) = self.unclaimed.remove(name)
            {
                self.apply(name, event, seq, at);
            }
            let seen = self.seen_mut(b.name());
            if let Some(pending) = new_period(b, &mut seen.period) {
                seen.pending = pending;
            }
            self.release_lease_if_done(b, pass).await?;
            self.publish_pending(b, pass).await?;
        }
        if self.link.as_ref().is_some_and(|l| l.messages.is_none()) {
            self.subscribe().await?;
        }
        for b in &breakers {
            self.share_outcomes(b, pass).await?;
            self.judge(b);
            self.decide_probe(b, pass).await?;
        }
        Ok(())
    }

    /// Whether breaker `b`'s subjects fit a NATS command line; one that does not is reported
    /// (once) and left to decide locally, rather than have the server close the connection
    /// every breaker shares.
    fn fits(&self, b: &CircuitBreaker, pass: &mut Pass) -> bool {
        let Some(length) = self.layout.too_long(b.name()) else {
            return true;
        };
        pass.fail(
            format!("long:{}", b.name()),
            format!(
                "breaker `{}` ({} bytes) is not shared: its NATS subjects would be {length} bytes, more than \
                 the {MAX_SUBJECT} a server's command line allows; it decides locally",
                shown(b.name()),
                b.name().len()
            ),
        );
        false
    }

    async fn publish_pending(&mut self, b: &CircuitBreaker, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        let Some(pending) = self.seen.get(name).and_then(|s| s.pending) else {
            return Ok(());
        };
        let event = match (pending, b.open_remaining()) {
            (Pending::Open, Some(left)) if !left.is_zero() => Circuit::Open {
                wait_ms: (left.as_millis() as u64).max(1),
                instance: self.instance,
            },
            (Pending::Open, _) => {
                self.seen_mut(name).pending = None;
                return Ok(());
            }
            (Pending::Closed, _) => Circuit::Closed {
                instance: self.instance,
            },
        };
        let subject = self.layout.circuit(name);
        match self.publish(&subject, event.payload()).await? {
            Ok(_) => {
                pass.ok("writes");
                self.seen_mut(name).pending = None;
            }
            Err(why) => self.writes_refused(pass, &why),
        }
        Ok(())
    }

    fn writes_refused(&self, pass: &mut Pass, why: &str) {
        pass.fail(
            "writes",
            format!(
                "NATS refuses to store this instance's events ({why}); its trips wait to be published and \
                 its probes are decided locally, events of other instances are still read"
            ),
        );
    }

    /// Publishes this instance's new outcomes as one batch (time windows only; count windows
    /// are judged locally).
    async fn share_outcomes(&mut self, b: &CircuitBreaker, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        if !matches!(b.config().window, crate::Window::Time(_)) {
            return Ok(());
        }
        let published = self.seen.get(name).map_or((0, 0), |s| s.published);
        let Some(new) = agents::unpublished(b, published) else {
            return Ok(());
        };
        let payload = outcomes_payload(new.successes, new.failures, self.instance);
        let subject = self.layout.outcomes(name);
        match self.publish(&subject, payload).await? {
            Ok(_) => {
                pass.ok("writes");
                self.seen_mut(name).published = new.totals;
            }
            Err(why) => self.writes_refused(pass, &why),
        }
        Ok(())
    }

    /// Judges a Closed breaker's failure rate over the fleet's batches of its time window
    /// (server time) since the fleet's last close, when batches with failures came in.
    fn judge(&mut self, b: &CircuitBreaker) {
        let config = b.config();
        let (crate::Window::Time(window), Some(now)) = (config.window, self.server_now()) else {
            return;
        };
        let seen = self.seen_mut(b.name());
        let since = (now - window.as_nanos() as i128).max(seen.closed_at);
        while seen.outcomes.front().is_some_and(|(at, ..)| *at < since) || seen.outcomes.len() > MAX_BATCHES {
            seen.outcomes.pop_front();
        }
        let Some(threshold) = config.failure_rate_threshold else {
            return;
        };
        if !std::mem::take(&mut seen.judge) || b.period().0 != State::Closed {
            return;
        }
        let (successes, failures) = seen.outcomes.iter().fold((0u64, 0u64), |(s, f), (_, ds, df)| {
            (s.saturating_add(*ds), f.saturating_add(*df))
        });
        let calls = successes.saturating_add(failures);
        agents::judge_rate(b, threshold, config.minimum_calls, failures, calls);
    }

    /// Reads one message of the stream (or the end of the subscription).
    fn on_message(&mut self, message: Option<Result<jetstream::Message, String>>) {
        let message = match message {
            Some(Ok(m)) => m,
            Some(Err(why)) => {
                let mut pass = std::mem::take(&mut self.pass);
                self.lost(&mut pass, &format!("the subscription failed: {why}"));
                self.pass = pass;
                return;
            }
            None => {
                let mut pass = std::mem::take(&mut self.pass);
                self.lost(&mut pass, "the subscription ended");
                self.pass = pass;
                return;
            }
        };
        let Ok(info) = message.info() else {
            self.pass.fail_value(
                "subject",
                format!(
                    "ignoring a message on `{}` without JetStream metadata",
                    shown(&message.subject)
                ),
            );
            return;
        };
        let (seq, at) = (info.stream_sequence, info.published.unix_timestamp_nanos());
        let payload = String::from_utf8_lossy(&message.payload).into_owned();
        match self.layout.parse(&message.subject) {
            Subject::Hello => self.on_hello(&payload, seq, at),
            Subject::Circuit(name) => self.on_circuit(&name, &payload, seq, at),
            Subject::Outcomes(name) => self.on_outcomes(&name, &payload, at),
            Subject::Unknown => self.pass.fail_value(
                "subject",
                format!(
                    "ignoring a message on `{}` (stream seq {seq}): not a subject of the fleet's layout",
                    shown(&message.subject)
                ),
            ),
        }
    }

    /// This instance's hello coming back ends the replay: its server time is the server's
    /// "now", against which the last replayed event of every breaker is adopted.
    fn on_hello(&mut self, payload: &str, seq: u64, at: i128) {
        let me = parse_instance(payload).is_ok_and(|i| i == self.instance);
        let Some(link) = self.link.as_mut().filter(|l| me && l.hello == seq) else {
            return;
        };
        link.anchor = Some((at, Instant::now()));
        let replayed = std::mem::take(&mut link.replayed);
        for (name, (event, at, seq)) in replayed {
            self.apply(&name, event, seq, at);
        }
    }

    fn on_circuit(&mut self, name: &str, payload: &str, seq: u64, at: i128) {
        if self.shared_one(name).is_none() {
            if glob_match(&self.config.breakers, name) {
                self.unclaim(name, parse_circuit(payload), seq, at);
            }
            return;
        }
        let condition = format!("malformed:{name}");
        let event = match parse_circuit(payload) {
            Ok(event) => event,
            Err(problem) => {
                self.pass.fail_value(
                    condition,
                    format!(
                        "ignoring malformed message {:?} on `{}` (stream seq {seq}): {problem}",
                        shown(payload),
                        self.layout.circuit(name)
                    ),
                );
                return;
            }
        };
        self.pass.ok(condition);
        if matches!(event, Circuit::Probe { .. }) {
            return;
        }
        if matches!(event, Circuit::Closed { .. }) {
            self.seen_mut(name).closed_at = at;
        }
        match self.link.as_mut() {
            Some(link) if link.anchor.is_none() => {
                link.replayed.insert(name.to_owned(), (event, at, seq));
            }
            Some(_) => self.apply(name, event, seq, at),
            None => {}
        }
    }

    /// Keeps the last Open of a breaker not registered here; a close forgets it.
    fn unclaim(&mut self, name: &str, event: Result<Circuit, String>, seq: u64, at: i128) {
        match event {
            Ok(event @ Circuit::Open { .. })
                if self.unclaimed.len() < MAX_UNCLAIMED || self.unclaimed.contains_key(name) =>
            {
                self.unclaimed.insert(name.to_owned(), (event, seq, at));
            }
            Ok(Circuit::Closed { .. }) => {
                self.unclaimed.remove(name);
            }
            _ => {}
        }
    }

    fn on_outcomes(&mut self, name: &str, payload: &str, at: i128) {
        let Some(b) = self.shared_one(name) else {
            return;
        };
        if !matches!(b.config().window, crate::Window::Time(_)) {
            return;
        }
        let condition = format!("malformed:{name}:outcomes");
        match parse_outcomes(payload) {
            Ok((successes, failures)) => {
                self.pass.ok(condition);
                let seen = self.seen_mut(name);
                seen.outcomes.push_back((at, successes, failures));
                seen.judge |= failures > 0;
            }
            Err(problem) => self.pass.fail_value(
                condition,
                format!(
                    "ignoring malformed outcome batch {:?} on `{}`: {problem}",
                    shown(payload),
                    self.layout.outcomes(name)
                ),
            ),
        }
    }

    /// Adopts another instance's event published at server time `at`.
    fn apply(&mut self, name: &str, event: Circuit, seq: u64, at: i128) {
        let (Some(b), Some(now)) = (self.shared_one(name), self.server_now()) else {
            return;
        };
        if event.instance() == self.instance || self.seen.get(name).and_then(|s| s.adopted) == Some((seq, at)) {
            return;
        }
        self.seen_mut(name).adopted = Some((seq, at));
        let reason = Reason::Fleet {
            instance: event.instance(),
        };
        match event {
            Circuit::Probe { .. } => return,
            Circuit::Closed { .. } => b.adopt_closed(reason),
            Circuit::Open { wait_ms, .. } => {
                let elapsed = ((now - at).max(0) / 1_000_000) as u64;
                let Some(left) = wait_ms.checked_sub(elapsed).filter(|l| *l > 0) else {
                    return;
                };
                let max = b.config().max_open_timeout;
                let cap = format!("cap:{name}");
                if Duration::from_millis(wait_ms) > max {
                    self.pass.fail_value(
                        cap,
                        format!(
                            "instance {:016x} published an open wait of {wait_ms}ms for breaker `{name}`; adopted at most this instance's max_open_timeout of {max:?}",
                            event.instance()
                        ),
                    );
                } else {
                    self.pass.ok(cap);
                }
                b.adopt_open(Duration::from_millis(left).min(max), reason);
            }
        }
        let (state, generation, _) = b.period();
        let seen = self.seen_mut(name);
        seen.period = Some((state, generation));
        seen.pending = None;
    }

    /// The publication of `event` (probe leases are announced on the breaker's subject, for
    /// the audit trail).
    pub(super) async fn announce(&mut self, name: &str, event: Circuit) -> Result<(), Down> {
        let subject = self.layout.circuit(name);
        let _ = self.publish(&subject, event.payload()).await?;
        Ok(())
    }

    pub(super) fn kv(&self) -> Result<kv::Store, Down> {
        self.link
            .as_ref()
            .map(|l| l.kv.clone())
            .ok_or_else(|| Down("not connected".into()))
    }

    pub(super) fn instance(&self) -> u64 {
        self.instance
    }

    pub(super) fn lease_ttl(&self) -> Duration {
        self.config.lease_ttl
    }
}
