//! Publishing this instance's own periods and outcomes.

use super::{Agent, Down};
use crate::fleet::agents;
use crate::fleet::conditions::Pass;
use crate::fleet::over_redis::keys::{Keys, instance_value};
use crate::fleet::over_redis::scripts::{OUTCOMES, PUBLISH};
use crate::fleet::periods::{Pending, new_period};
use crate::{CircuitBreaker, State};

impl Agent {
    /// Turns a new local period (not adopted) into an event to publish.
    pub(super) fn note_local_period(&mut self, b: &CircuitBreaker) {
        let seen = self.seen_mut(b.name());
        if let Some(pending) = new_period(b, &mut seen.period) {
            seen.pending = pending;
        }
    }

    pub(super) async fn publish_pending(
        &mut self,
        b: &CircuitBreaker,
        keys: &Keys,
        pass: &mut Pass,
    ) -> Result<(), Down> {
        let name: &str = b.name();
        let Some(pending) = self.seen.get(name).and_then(|s| s.pending) else {
            return Ok(());
        };
        let (kind, wait_ms) = match (pending, b.open_remaining()) {
            (Pending::Open, Some(left)) if !left.is_zero() => ("open", (left.as_millis() as u64).max(1)),
            (Pending::Open, _) => {
                self.seen_mut(name).pending = None;
                return Ok(());
            }
            (Pending::Closed, _) => ("closed", 0),
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

    /// Publishes this instance's new outcomes into per-second fleet buckets (Redis time), then
    /// judges the breaker's failure rate over the whole fleet's calls of its time window:
    /// instances that each see too few calls to judge still trip together. Count windows are
    /// judged locally.
    pub(super) async fn share_outcomes(
        &mut self,
        b: &CircuitBreaker,
        keys: &Keys,
        pass: &mut Pass,
    ) -> Result<(), Down> {
        let name: &str = b.name();
        let config = b.config();
        let crate::Window::Time(window) = config.window else {
            return Ok(());
        };
        let published = self.seen.get(name).map_or((0, 0), |s| s.published);
        let Some(new) = agents::unpublished(b, published) else {
            return Ok(());
        };
        let (ds, df) = (new.successes, new.failures);
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
        self.seen_mut(name).published = new.totals;
        let calls = successes + failures;
        if let Some(threshold) = judge {
            agents::judge_rate(b, threshold, config.minimum_calls, failures, calls);
        }
        Ok(())
    }
}
