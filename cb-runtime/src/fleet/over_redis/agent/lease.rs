//! The fleet's probe lease: one instance probes at a time, and nothing in Redis blocks
//! probing past one lease TTL.

use super::{Agent, Down};
use crate::CircuitBreaker;
use crate::fleet::agents;
use crate::fleet::conditions::Pass;
use crate::fleet::over_redis::keys::{Keys, instance_value};
use crate::fleet::over_redis::scripts::{LEASE, RELEASE};

impl Agent {
    pub(super) async fn release_lease_if_done(
        &mut self,
        b: &CircuitBreaker,
        keys: &Keys,
        pass: &mut Pass,
    ) -> Result<(), Down> {
        let probing = agents::probing(b);
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

    /// Lets `b` probe only while this instance holds the fleet's probe lease; with writes
    /// refused, probes are decided locally.
    pub(super) async fn decide_probe(&mut self, b: &CircuitBreaker, keys: &Keys, pass: &mut Pass) -> Result<(), Down> {
        let name: &str = b.name();
        let holding = self.leases.contains(name);
        if !agents::contends(b, holding) {
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
                    2 => pass.fail_value(
                        condition,
                        format!("the probe lease `{}` of breaker `{name}` held {detail}; repaired, this instance probes", keys.probe),
                    ),
                    3 => pass.fail_value(
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
