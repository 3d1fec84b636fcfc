//! Three instances of a service share breaker state through Redis: one trips, the fleet opens
//! together, and when the wait is over exactly one instance probes for the fleet.
//!
//! Run: `cargo run --example fleet` (Redis at `CB_REDIS_URL`, default redis://127.0.0.1:6379;
//! `bash .ci/run` starts one if none answers).

#[path = "support/fleet_tour.rs"]
mod fleet_tour;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CB_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    fleet_tour::run(
        &url,
        "Redis cannot be used: start one (bash .ci/run does) or set CB_REDIS_URL",
    )
    .await?;
    Ok(())
}
