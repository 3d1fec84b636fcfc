//! The probe lease on NATS: one key per breaker in the fleet's key-value bucket, taken with
//! `create` (only if absent) and renewed or repaired with `update` at the revision read, so the
//! server arbitrates every race. The bucket's max age expires a lease its holder stopped
//! renewing; a lease older than `lease_ttl` by the server's own timestamps (a bucket made with
//! another max age) is taken over all the same, so nothing in the bucket blocks probing past
//! one lease TTL.

use super::agent::{Agent, Down, timed};
use super::events::Circuit;
use super::subject::token;
use crate::CircuitBreaker;
use crate::fleet::agents;
use crate::fleet::conditions::{Pass, shown};
use crate::fleet::fields::parse_instance;
use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};

/// The answer of the bucket to one attempt at the lease.
enum Attempt {
    Won(u64),
    Lost,
    Refused(String),
}

impl Agent {
    pub(super) async fn release_lease_if_done(&mut self, b: &CircuitBreaker, pass: &mut Pass) -> Result<(), Down> {
        let probing = agents::probing(b);
        let name: &str = b.name();
        if probing {
            return Ok(());
        }
        let Some(revision) = self.leases.remove(name) else {
            return Ok(());
        };
        let kv = self.kv()?;
        let released = timed(
            self.op_timeout(),
            "lease release",
            kv.delete_expect_revision(token(name), Some(revision)),
        )
        .await?;
        let condition = format!("refused:{name}:lease release");
        match released {
            Ok(()) => pass.ok(condition),
            Err(e) => pass.fail(
                condition,
                format!("NATS refused the lease release of breaker `{name}` ({e}); it expires by itself"),
            ),
        }
        Ok(())
    }

    /// Lets `b` probe only while this instance holds the fleet's probe lease; when the bucket
    /// refuses, probes are decided locally.
    pub(super) async fn decide_probe(&mut self, b: &CircuitBreaker, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        let holding = self.leases.contains_key(name);
        if !agents::contends(b, holding) {
            b.set_may_probe(holding);
            return Ok(());
        }
        let attempt = self.attempt(name, pass).await?;
        let refused = format!("refused:{name}:lease");
        let won = match attempt {
            Attempt::Won(revision) => {
                pass.ok(refused);
                if self.leases.insert(name.to_owned(), revision).is_none() {
                    self.announce(
                        name,
                        Circuit::Probe {
                            instance: self.instance(),
                        },
                    )
                    .await?;
                }
                true
            }
            Attempt::Lost => {
                pass.ok(refused);
                self.leases.remove(name);
                false
            }
            Attempt::Refused(why) => {
                pass.fail(
                    refused,
                    format!("NATS refused the probe lease of breaker `{name}` ({why}); its probes are decided locally"),
                );
                self.leases.remove(name);
                true
            }
        };
        b.set_may_probe(won);
        Ok(())
    }

    async fn attempt(&mut self, name: &str, pass: &mut Pass) -> Result<Attempt, Down> {
        let kv = self.kv()?;
        let key = token(name);
        let me = format!("{:016x}", self.instance());
        let entry = match timed(self.op_timeout(), "lease read", kv.entry(key.clone())).await? {
            Ok(entry) => entry.filter(|e| e.operation == Operation::Put),
            Err(e) => return Ok(Attempt::Refused(e.to_string())),
        };
        let condition = format!("lease:{name}");
        let Some(entry) = entry else {
            pass.ok(condition);
            let created = timed(self.op_timeout(), "lease creation", kv.create(&key, me.into())).await?;
            return Ok(match created {
                Ok(revision) => Attempt::Won(revision),
                Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Attempt::Lost,
                Err(e) => Attempt::Refused(e.to_string()),
            });
        };
        let holder = String::from_utf8_lossy(&entry.value).into_owned();
        let ttl = self.lease_ttl();
        let age = self
            .server_now()
            .map(|now| now - entry.created.unix_timestamp_nanos())
            .filter(|age| *age > ttl.as_nanos() as i128);
        if holder != me {
            match (parse_instance(&holder), age) {
                (Err(_), _) => pass.fail_value(
                    condition,
                    format!(
                        "the probe lease of breaker `{name}` held {:?}, not an instance id; repaired, this instance probes",
                        shown(&holder)
                    ),
                ),
                (Ok(_), Some(age)) => pass.fail_value(
                    condition,
                    format!(
                        "the probe lease of breaker `{name}` was {}ms old by the server's clock, past the lease TTL of {ttl:?}; taken over",
                        age / 1_000_000
                    ),
                ),
                (Ok(_), None) => {
                    pass.ok(condition);
                    return Ok(Attempt::Lost);
                }
            }
        } else {
            pass.ok(condition);
        }
        let updated = timed(
            self.op_timeout(),
            "lease renewal",
            kv.update(&key, me.into(), entry.revision),
        )
        .await?;
        Ok(match updated {
            Ok(revision) => Attempt::Won(revision),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Attempt::Lost,
            Err(e) => Attempt::Refused(e.to_string()),
        })
    }
}
