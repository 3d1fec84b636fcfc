//! The payloads of the fleet's messages (the layout is described in the module docs of
//! [`fleet`](crate::fleet)). Every payload read is input, checked before use.

use crate::fleet::conditions::shown;
use crate::fleet::fields::{parse_instance, parse_wait_ms};

/// The largest outcome count one batch may carry.
const MAX_BATCH: u64 = 1_000_000_000;

/// A message on `{fleet}.circuit.{name}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Circuit {
    /// `open:{wait_ms}:{instance}`: the instance tripped and waits `wait_ms` from the
    /// message's server time.
    Open { wait_ms: u64, instance: u64 },
    /// `closed:{instance}`: the instance's probe closed the breaker.
    Closed { instance: u64 },
    /// `probe:{instance}`: the instance took the probe lease (audit only).
    Probe { instance: u64 },
}

impl Circuit {
    pub(crate) fn instance(&self) -> u64 {
        match self {
            Circuit::Open { instance, .. } | Circuit::Closed { instance } | Circuit::Probe { instance } => *instance,
        }
    }

    /// The payload of this event.
    pub(crate) fn payload(&self) -> String {
        match self {
            Circuit::Open { wait_ms, instance } => format!("open:{wait_ms}:{instance:016x}"),
            Circuit::Closed { instance } => format!("closed:{instance:016x}"),
            Circuit::Probe { instance } => format!("probe:{instance:016x}"),
        }
    }
}

/// Parses a circuit payload; `Err` says what is wrong with it.
pub(crate) fn parse_circuit(payload: &str) -> Result<Circuit, String> {
    let fields: Vec<&str> = payload.splitn(4, ':').collect();
    match fields.as_slice() {
        ["open", wait, instance] => Ok(Circuit::Open {
            wait_ms: parse_wait_ms(wait)?,
            instance: parse_instance(instance)?,
        }),
        ["closed", instance] => Ok(Circuit::Closed {
            instance: parse_instance(instance)?,
        }),
        ["probe", instance] => Ok(Circuit::Probe {
            instance: parse_instance(instance)?,
        }),
        _ => Err("expected open:{wait_ms}:{instance}, closed:{instance} or probe:{instance}".into()),
    }
}

/// The payload of an outcome batch: `{successes}:{failures}:{instance}`.
pub(crate) fn outcomes_payload(successes: u64, failures: u64, instance: u64) -> String {
    format!("{successes}:{failures}:{instance:016x}")
}

/// Parses an outcome batch into successes and failures.
pub(crate) fn parse_outcomes(payload: &str) -> Result<(u64, u64), String> {
    let fields: Vec<&str> = payload.splitn(4, ':').collect();
    let count = |s: &str| {
        s.parse::<u64>()
            .ok()
            .filter(|n| *n <= MAX_BATCH)
            .ok_or_else(|| format!("count {:?} is not an integer in 0..=10^9", shown(s)))
    };
    match fields.as_slice() {
        [s, f, instance] => {
            parse_instance(instance)?;
            Ok((count(s)?, count(f)?))
        }
        _ => Err("expected {successes}:{failures}:{instance}".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_garbage_is_an_error() {
        for event in [
            Circuit::Open {
                wait_ms: 900,
                instance: 0xabc,
            },
            Circuit::Closed { instance: 7 },
            Circuit::Probe { instance: u64::MAX },
        ] {
            assert_eq!(parse_circuit(&event.payload()), Ok(event));
        }
        assert_eq!(parse_outcomes(&outcomes_payload(3, 4, 9)), Ok((3, 4)));
        for bad in [
            "",
            "garbage",
            "open:0:0000000000000abc",
            "open:-1:0000000000000abc",
            "open:5:abc",
            "open:5:0000000000000abc:x",
            "closed:+000000000000abc",
            "probe:",
        ] {
            assert!(parse_circuit(bad).is_err(), "{bad:?} accepted");
        }
        for bad in [
            "1:2",
            "1:2:zz",
            "-1:2:0000000000000abc",
            "1:99999999999:0000000000000abc",
        ] {
            assert!(parse_outcomes(bad).is_err(), "{bad:?} accepted");
        }
    }
}
