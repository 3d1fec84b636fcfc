//! The fleet's keys and the values of its `state` key (the protocol is described in the
//! module docs of [`fleet`](super)).

use crate::fleet::fields::{parse_instance, parse_wait_ms};

/// The keys of one breaker in one fleet.
pub(crate) struct Keys {
    pub(crate) state: String,
    pub(crate) seq: String,
    pub(crate) wait: String,
    pub(crate) probe: String,
    prefix: String,
}

impl Keys {
    pub(crate) fn new(fleet: &str, name: &str) -> Keys {
        let prefix = format!("cb:{fleet}:{name}:");
        Keys {
            state: format!("{prefix}state"),
            seq: format!("{prefix}seq"),
            wait: format!("{prefix}wait"),
            probe: format!("{prefix}probe"),
            prefix,
        }
    }

    /// `cb:{fleet}:{name}:`; the outcome buckets are `{prefix}w:{second}:{s|f}` (successes,
    /// failures of Redis second `second`), built in the outcomes script.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// An event published in a `state` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Published {
    /// `open:{seq}:{wait_ms}:{instance}`: the instance tripped and waits `wait_ms`.
    Open { seq: u64, wait_ms: u64, instance: u64 },
    /// `closed:{seq}:{instance}`: the instance's probe closed the breaker.
    Closed { seq: u64, instance: u64 },
}

impl Published {
    pub(crate) fn instance(&self) -> u64 {
        match self {
            Published::Open { instance, .. } | Published::Closed { instance, .. } => *instance,
        }
    }

    pub(crate) fn seq(&self) -> u64 {
        match self {
            Published::Open { seq, .. } | Published::Closed { seq, .. } => *seq,
        }
    }
}

/// The largest integer a Lua script handles exactly (Redis scripts count in doubles).
const MAX_SEQ: u64 = 1 << 53;

/// The value of an instance id (the `probe` lease, the last field of `state`).
pub(crate) fn instance_value(instance: u64) -> String {
    format!("{instance:016x}")
}

/// Parses a `state` value; `Err` says what is wrong with it.
pub(crate) fn parse_state(value: &str) -> Result<Published, String> {
    let fields: Vec<&str> = value.splitn(5, ':').collect();
    match fields.as_slice() {
        ["open", seq, wait, instance] => Ok(Published::Open {
            seq: parse_seq(seq)?,
            wait_ms: parse_wait_ms(wait)?,
            instance: parse_instance(instance)?,
        }),
        ["closed", seq, instance] => Ok(Published::Closed {
            seq: parse_seq(seq)?,
            instance: parse_instance(instance)?,
        }),
        _ => Err("expected open:{seq}:{wait_ms}:{instance} or closed:{seq}:{instance}".into()),
    }
}

/// Parses a `seq` (of `state`, or the value of `wait`).
pub(crate) fn parse_seq(seq: &str) -> Result<u64, String> {
    seq.parse()
        .ok()
        .filter(|s| (1..=MAX_SEQ).contains(s))
        .ok_or_else(|| format!("seq {:?} is not an integer in 1..=2^53", shown(seq)))
}

pub(crate) use crate::fleet::conditions::shown;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_and_garbage_is_an_error() {
        let id = instance_value(0xabc);
        assert_eq!(
            parse_state(&format!("open:5:900:{id}")),
            Ok(Published::Open {
                seq: 5,
                wait_ms: 900,
                instance: 0xabc
            })
        );
        assert_eq!(
            parse_state(&format!("closed:7:{id}")),
            Ok(Published::Closed {
                seq: 7,
                instance: 0xabc
            })
        );
        for bad in [
            "garbage",
            "",
            "open:1:2:zz",
            "open:0:5:0000000000000abc",
            "open:1:0:0000000000000abc",
            "open:1:-5:0000000000000abc",
            "open:1:5:abc",
            "open:1:5:0000000000000abc:extra",
            "open:9007199254740993:5:0000000000000abc",
            "closed:x:0000000000000abc",
            "closed:1:2:3",
            "closed:1:+000000000000abc",
        ] {
            assert!(parse_state(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn reports_show_a_bounded_prefix() {
        let huge = "x".repeat(1 << 20);
        assert_eq!(shown(&huge).len(), 43);
        assert_eq!(shown("ünïcødé"), "ünïcødé");
        let err = parse_state(&format!("open:{huge}:1:1")).unwrap_err();
        assert!(err.len() < 200, "{err}");
    }
}
