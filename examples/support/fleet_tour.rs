//! The fleet tour both fleet examples run: three instances of a service, each with its own
//! registry, attached to one fleet at `url`; one trips, the fleet opens together, and when the
//! wait is over exactly one instance probes for the fleet.

use cb_runtime::fleet::{self, FleetConfig};
use cb_runtime::{BreakerConfig, CircuitBreaker, Registry, State};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Instance {
    name: &'static str,
    breaker: Arc<CircuitBreaker>,
    fleet: fleet::Fleet,
}

fn states(fleet: &[Instance]) -> String {
    fleet
        .iter()
        .map(|i| format!("{}={:<9}", i.name, i.breaker.state().to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the tour on the fleet at `url`; the fleet's name. `unreachable` is the error's text when
/// the backend does not answer within 5 s.
pub async fn run(url: &str, unreachable: &str) -> Result<String, Box<dyn std::error::Error>> {
    let fleet_name = format!("example-{}", std::process::id());
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .open_timeout(Duration::from_secs(2))
        .jitter(0.0)
        .success_threshold(1)
        .half_open_max_calls(1)
        .build()?;
    let mut fleet = Vec::new();
    for name in ["pod-a", "pod-b", "pod-c"] {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        let breaker = registry.breaker("payments", &config);
        let membership = fleet::attach(
            registry,
            url,
            FleetConfig::new(&fleet_name).sync_interval(Duration::from_millis(50)),
        )?;
        fleet.push(Instance {
            name,
            breaker,
            fleet: membership,
        });
    }
    let start = Instant::now();
    while !fleet.iter().all(|i| i.fleet.connected()) {
        if start.elapsed() > Duration::from_secs(5) {
            let problems = fleet[0].fleet.problems();
            return Err(format!("{unreachable} ({problems:?})").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("3 instances joined fleet `{fleet_name}`: {}", states(&fleet));

    for _ in 0..3 {
        fleet[0].breaker.try_acquire().map_err(|r| r.to_string())?.failure();
    }
    println!(
        "{} saw 3 failures in a row and tripped: {}",
        fleet[0].name,
        states(&fleet)
    );
    let tripped = Instant::now();
    while !fleet.iter().all(|i| i.breaker.state() == State::Open) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "the whole fleet is open after {:?}: {}",
        tripped.elapsed(),
        states(&fleet)
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    println!("the open wait is over; every instance tries to call:");
    let mut probe = None;
    let mut probers = std::collections::BTreeSet::new();
    for _ in 0..40 {
        for i in &fleet {
            if let Ok(permit) = i.breaker.try_acquire() {
                probers.insert(i.name);
                probe.get_or_insert(permit);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("  instances that probed during 400ms of calls: {probers:?}; the others kept rejecting");
    if let Some(permit) = probe {
        permit.success();
    }
    let probed = Instant::now();
    while !fleet.iter().all(|i| i.breaker.state() == State::Closed) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "the probe succeeded; the fleet closed after {:?}: {}",
        probed.elapsed(),
        states(&fleet)
    );
    Ok(fleet_name)
}
