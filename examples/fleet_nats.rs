//! Three instances of a service share breaker state through NATS JetStream: one trips, the
//! fleet opens together, when the wait is over exactly one instance probes for the fleet, and
//! the breaker's subject holds the audit trail of it all.
//!
//! Run: `cargo run --features nats --example fleet_nats` (NATS with JetStream at
//! `CB_NATS_URL`, default nats://127.0.0.1:4222; `bash .ci/run` starts one if none answers).

use std::time::Duration;

#[path = "support/fleet_tour.rs"]
mod fleet_tour;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CB_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let fleet_name = fleet_tour::run(
        &url,
        "NATS cannot be used: start nats-server -js (bash .ci/run does) or set CB_NATS_URL",
    )
    .await?;
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
