//! Three instances of a service share breaker state through NATS JetStream: one trips, the
//! fleet opens together, when the wait is over exactly one instance probes for the fleet, and
//! the breaker's subject holds the audit trail of it all.
//!
//! Run: `cargo run --features nats --example fleet_nats` (NATS with JetStream at
//! `CB_NATS_URL`, default nats://127.0.0.1:4222; `bash .ci/run` starts one if none answers).

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CB_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
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
            &url,
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
            return Err(format!(
                "NATS cannot be used ({problems:?}): start nats-server -js (bash .ci/run does) or set CB_NATS_URL"
            )
            .into());
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
    audit_trail(&url, &fleet_name).await?;
    Ok(())
}

/// Prints what the fleet's stream holds for breaker `payments`, then deletes the example's
/// stream and lease bucket.
async fn audit_trail(url: &str, fleet_name: &str) -> Result<(), Box<dyn std::error::Error>> {
    use async_nats::jetstream::{self, consumer};
    use futures_util::StreamExt;
    let client = async_nats::connect(url).await?;
    let js = jetstream::new(client.clone());
    let fleet_token = fleet_name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    let stream = js.get_stream(format!("cb_{fleet_token}")).await?;
    let subject = format!("{fleet_token}.circuit.payments");
    let consumer = stream
        .create_consumer(consumer::push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            filter_subject: subject.clone(),
            ..Default::default()
        })
        .await?;
    let pending = stream.get_info().await?.state.messages;
    println!("the audit trail on `{subject}` (server time, payload):");
    let mut messages = consumer.messages().await?;
    let mut seen = 0;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(300), messages.next()).await {
        let at = m.info().map(|i| i.published.time().to_string()).unwrap_or_default();
        println!("  {at}  {}", String::from_utf8_lossy(&m.payload));
        seen += 1;
        if seen >= pending {
            break;
        }
    }
    drop(messages);
    js.delete_stream(format!("cb_{fleet_token}")).await?;
    js.delete_stream(format!("KV_cb_{fleet_token}_probe")).await?;
    Ok(())
}
