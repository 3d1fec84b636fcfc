//! Reading the fleet's events, and adopting those that are news and check out.

use super::{Agent, Down};
use crate::CircuitBreaker;
use crate::events::Reason;
use crate::fleet::conditions::Pass;
use crate::fleet::over_redis::errors::Failure;
use crate::fleet::over_redis::keys::{Keys, Published, parse_seq, parse_state, shown};
use crate::fleet::over_redis::scripts::READ;
use std::time::Duration;

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
pub(super) struct Read {
    state_type: String,
    state: Option<String>,
    wait_type: String,
    wait: Option<String>,
    wait_pttl: i64,
}

impl Agent {
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
    pub(super) async fn read_all(&mut self, keys: &[Keys]) -> Result<Vec<Result<Read, Failure>>, Down> {
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
    pub(super) fn adopt(
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
                pass.fail_value(
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
        let seen = self.seen_mut(name);
        seen.period = Some((state, generation));
        seen.pending = None;
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
            pass.fail_value(
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
            pass.fail_value(
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
}
