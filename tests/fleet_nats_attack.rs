//! Attacks on the NATS fleet backend from outside: names the subject space cannot carry, and
//! URLs whose secrets are written in ways the parser refuses.

mod backends;
mod fleet_support;

use backends::*;
use cb_runtime::State;
use fleet_support::*;
use std::time::Duration;

/// A breaker whose name makes a subject longer than a NATS server accepts (its control line
/// is 4 KiB by default) must not cut the fleet's connection: the others keep sharing, and
/// the oversized one is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_breaker_name_does_not_cut_the_fleet_off() {
    let backend = shared(Kind::Nats).await;
    let name = unique("nats-huge-name");
    let (a, b) = (instance(&name, &backend.url), instance(&name, &backend.url));
    let huge = "x.".repeat(3000);
    let config = consecutive_config();
    let (huge_a, _huge_b) = (a.registry.breaker(&huge, &config), b.registry.breaker(&huge, &config));
    all_connected(&[&a, &b]).await;
    let mut reports = Reports::of(a.registry);
    trip(&huge_a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    trip(&a.breaker);
    eventually(
        "payments' trip propagating past the huge name",
        Duration::from_secs(5),
        || b.breaker.state() == State::Open,
    )
    .await;
    assert!(a.fleet.connected(), "{:#?}", reports.poll());
    assert_eq!(reports.count("cannot be used"), 0, "{:#?}", reports.seen);
    let problems = format!("{:?}", a.fleet.problems());
    assert!(problems.contains("is not shared"), "{problems}");
    clean_up(&backend, &name).await;
}
