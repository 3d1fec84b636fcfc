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

/// A breaker registered after its instance joined (a macro's breaker is registered on the
/// function's first call, a keyed one on its key's first call) learns that the fleet has it
/// open, as it does on Redis; on NATS the trip was replayed before the breaker existed.
async fn a_breaker_registered_after_joining_adopts_the_fleets_open(kind: Kind) {
    let backend = shared(kind).await;
    let name = unique("late-breaker");
    let a = instance(&name, &backend.url);
    all_connected(&[&a]).await;
    trip(&a.breaker);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let registry: &'static cb_runtime::Registry = Box::leak(Box::new(cb_runtime::Registry::with_clock(
        cb_runtime::ManualClock::new(),
    )));
    let fleet = cb_runtime::fleet::attach(
        registry,
        &backend.url,
        cb_runtime::fleet::FleetConfig::new(&name).sync_interval(Duration::from_millis(20)),
    )
    .unwrap();
    eventually("the late instance connecting", Duration::from_secs(5), || {
        fleet.connected()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let late = registry.breaker("payments", &consecutive_config());
    eventually("the late breaker adopting Open", Duration::from_secs(3), || {
        late.state() == State::Open
    })
    .await;
    clean_up(&backend, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_breaker_registered_after_joining_adopts_the_fleets_open() {
    a_breaker_registered_after_joining_adopts_the_fleets_open(Kind::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_a_breaker_registered_after_joining_adopts_the_fleets_open() {
    a_breaker_registered_after_joining_adopts_the_fleets_open(Kind::Nats).await;
}
