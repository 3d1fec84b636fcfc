//! The fleet's behaviour, the same on both backends: every scenario of `both!` runs once on
//! Redis (`mod redis`) and once on NATS JetStream (`mod nats`), against the shared servers
//! (127.0.0.1:6379, 127.0.0.1:4222) or private ones this test starts on free ports. The
//! scenarios after it are NATS's own: subject tokens, credentials, a hostile lease.

mod backends;
mod fleet_support;

use backends::*;
use cb_runtime::{Event, State};
use fleet_support::*;
use std::collections::HashSet;
use std::time::Duration;

/// Instantiates each scenario once per backend.
macro_rules! both {
    ($( $(#[$doc:meta])* async fn $name:ident($kind:ident: Kind) $body:block )*) => {
        mod redis {
            use super::*;
            $(
                $(#[$doc])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $kind = Kind::Redis;
                    $body
                }
            )*
        }
        mod nats {
            use super::*;
            $(
                $(#[$doc])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $kind = Kind::Nats;
                    $body
                }
            )*
        }
    };
}

both! {
    /// One instance trips; the two others adopt Open with its wait.
    async fn a_trip_propagates(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both-trip");
        let fleet: Vec<Instance> = (0..3).map(|_| instance(&name, &backend.url)).collect();
        all_connected(&fleet.iter().collect::<Vec<_>>()).await;
        let mut events = fleet[2].registry.subscribe();
        trip(&fleet[0].breaker);
        let took = eventually("the others adopting Open", Duration::from_secs(5), || {
            fleet[1..].iter().all(|i| i.breaker.state() == State::Open)
        })
        .await;
        println!("{kind:?}: a trip propagated to 2 instances in {took:?}");
        let wait = retry_after(&fleet[1].breaker);
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(events.drain().iter().any(|e| matches!(
            e,
            Event::Transition { reason: cb_runtime::Reason::Fleet { .. }, .. }
        )));
        clean_up(&backend, &name).await;
    }

    /// The prober's success closes every instance.
    async fn a_close_propagates(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both-close");
        let fleet: Vec<Instance> = (0..3).map(|_| instance(&name, &backend.url)).collect();
        all_connected(&fleet.iter().collect::<Vec<_>>()).await;
        trip(&fleet[0].breaker);
        eventually("the others adopting Open", Duration::from_secs(5), || {
            fleet.iter().all(|i| i.breaker.state() == State::Open)
        })
        .await;
        for i in &fleet {
            i.clock.advance(Duration::from_secs(31));
        }
        let mut probe = None;
        eventually("one instance probing", Duration::from_secs(5), || {
            for i in &fleet {
                if probe.is_none() {
                    probe = i.breaker.try_acquire_owned().ok();
                }
            }
            probe.is_some()
        })
        .await;
        probe.unwrap().record(cb_runtime::Outcome::Success);
        let took = eventually("the fleet adopting Closed", Duration::from_secs(5), || {
            fleet.iter().all(|i| i.breaker.state() == State::Closed)
        })
        .await;
        println!("{kind:?}: a close propagated in {took:?}");
        clean_up(&backend, &name).await;
    }

    /// Once the wait is over, exactly one instance of the fleet probes.
    async fn only_one_instance_probes(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both-probe");
        let fleet: Vec<Instance> = (0..3).map(|_| instance(&name, &backend.url)).collect();
        all_connected(&fleet.iter().collect::<Vec<_>>()).await;
        trip(&fleet[1].breaker);
        eventually("the others adopting Open", Duration::from_secs(5), || {
            fleet.iter().all(|i| i.breaker.state() == State::Open)
        })
        .await;
        for i in &fleet {
            i.clock.advance(Duration::from_secs(31));
        }
        let mut probes = Vec::new();
        eventually("one instance taking the probe lease", Duration::from_secs(5), || {
            for i in &fleet {
                if let Ok(p) = i.breaker.try_acquire_owned() {
                    probes.push((i.fleet.instance(), p));
                }
            }
            !probes.is_empty()
        })
        .await;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            for i in &fleet {
                if let Ok(p) = i.breaker.try_acquire_owned() {
                    probes.push((i.fleet.instance(), p));
                }
            }
        }
        let probers: HashSet<u64> = probes.iter().map(|(who, _)| *who).collect();
        assert_eq!(probers.len(), 1, "exactly one instance probes");
        clean_up(&backend, &name).await;
    }

    /// A malformed event is reported (an event, and a problem while it lasts) and ignored; the
    /// next valid event is adopted.
    async fn a_malformed_event_is_reported_and_ignored(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both-malformed");
        let (a, b) = (instance(&name, &backend.url), instance(&name, &backend.url));
        all_connected(&[&a, &b]).await;
        let mut reports = Reports::of(a.registry);
        write_malformed(&backend, &name, "payments").await;
        reports.wait_for("malformed", Duration::from_secs(5)).await;
        assert!(a.fleet.problems().iter().any(|p| p.contains("malformed")), "{:?}", a.fleet.problems());
        assert_eq!(a.breaker.state(), State::Closed);
        assert!(a.breaker.try_acquire().is_ok());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(reports.count("malformed"), 1, "reported once: {:#?}", reports.seen);
        trip(&b.breaker);
        eventually("a valid trip after it adopted", Duration::from_secs(5), || {
            a.breaker.state() == State::Open
        })
        .await;
        clean_up(&backend, &name).await;
    }

    /// The backend stops: one report, breakers decide locally; it comes back: one report, and
    /// a trip made meanwhile reaches the other instance.
    async fn a_backend_restart_is_survived(kind: Kind) {
        let mut server = Private::start(kind).await;
        let url = server.url();
        let name = unique("both-restart");
        let (a, b) = (instance(&name, &url), instance(&name, &url));
        all_connected(&[&a, &b]).await;
        let mut reports = Reports::of(a.registry);
        server.stop();
        eventually("noticing the backend is gone", Duration::from_secs(10), || {
            !a.fleet.connected() && !b.fleet.connected()
        })
        .await;
        reports.wait_for("cannot be used", Duration::from_secs(10)).await;
        trip(&a.breaker);
        assert_eq!(b.breaker.state(), State::Closed, "no fleet: b decides alone");
        a.clock.advance(Duration::from_secs(31));
        a.breaker.try_acquire().expect("a probes locally").success();
        tokio::time::sleep(Duration::from_millis(300)).await;
        trip(&a.breaker);
        server.restart().await;
        let took = eventually("reconnecting", Duration::from_secs(15), || {
            a.fleet.connected() && b.fleet.connected()
        })
        .await;
        eventually("the trip made meanwhile propagating", Duration::from_secs(5), || {
            b.breaker.state() == State::Open
        })
        .await;
        println!("{kind:?}: reconnected {took:?} after the restart");
        reports.wait_for("resolved:", Duration::from_secs(10)).await;
        let seen = reports.poll().to_vec();
        assert_eq!(seen.len(), 2, "one report when it went, one when it came back: {seen:#?}");
    }

    /// An instance joining after a trip learns of it (NATS: by replaying the stream).
    async fn a_late_instance_rebuilds_the_state(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both-late");
        let a = instance(&name, &backend.url);
        all_connected(&[&a]).await;
        trip(&a.breaker);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let late = instance(&name, &backend.url);
        eventually("the late instance adopting Open", Duration::from_secs(5), || {
            late.breaker.state() == State::Open
        })
        .await;
        let wait = retry_after(&late.breaker);
        assert!(wait > Duration::from_secs(25) && wait < Duration::from_secs(30), "{wait:?}");
        clean_up(&backend, &name).await;
    }

    /// Outcomes are shared: three instances that each see too few calls trip together on
    /// the fleet's combined failure rate.
    async fn the_fleet_judges_rates_on_all_its_calls(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both-rates");
        let config = cb_runtime::BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(0.5)
            .minimum_calls(20)
            .window(cb_runtime::Window::Time(Duration::from_secs(60)))
            .jitter(0.0)
            .build()
            .unwrap();
        let fleet: Vec<Instance> = (0..3).map(|_| instance_with(&name, &backend.url, config.clone())).collect();
        all_connected(&fleet.iter().collect::<Vec<_>>()).await;
        for i in &fleet {
            for n in 0..8 {
                let permit = i.breaker.try_acquire().unwrap();
                if n % 2 == 0 { permit.failure() } else { permit.success() }
            }
            assert_eq!(i.breaker.state(), State::Closed, "8 calls: below minimum_calls locally");
        }
        eventually("the fleet tripping on its combined 24 calls", Duration::from_secs(5), || {
            fleet.iter().all(|i| i.breaker.state() == State::Open)
        })
        .await;
        clean_up(&backend, &name).await;
    }

    /// A server that accepts connections and never answers: no call waits for it, the
    /// condition is reported once, probes are decided locally.
    async fn a_silent_backend_never_blocks_calls(kind: Kind) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if kind == Kind::Redis { "redis" } else { "nats" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let _server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let i = instance(&unique("both-silent"), &url);
        let mut reports = Reports::of(i.registry);
        let calls = async {
            for n in 0..2_000u32 {
                let _ = i.breaker.call(async || if n % 3 == 0 { Err(()) } else { Ok(()) }).await;
                if n % 100 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), calls).await.expect("calls never wait for the backend");
        reports.wait_for("cannot be used", Duration::from_secs(5)).await;
        trip(&i.breaker);
        i.clock.advance(Duration::from_secs(31));
        assert!(i.breaker.try_acquire().is_ok(), "probes are decided locally");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(reports.count("cannot be used"), 1, "{:#?}", reports.seen);
        assert!(!i.fleet.connected());
    }

    /// Breaker names with dots, spaces, `*` and `>` are shared each on its own.
    async fn odd_breaker_names_are_kept_apart(kind: Kind) {
        let backend = shared(kind).await;
        let name = unique("both.odd *>");
        let (a, b) = (instance(&name, &backend.url), instance(&name, &backend.url));
        let odd = ["a.b", "a", "x *", ">", "*", "a.>", "ünï code"];
        let config = consecutive_config();
        let pairs: Vec<_> = odd
            .iter()
            .map(|n| (a.registry.breaker(n, &config), b.registry.breaker(n, &config)))
            .collect();
        all_connected(&[&a, &b]).await;
        for (at, (tripped, watched)) in pairs.iter().enumerate() {
            trip(tripped);
            eventually("the odd name's trip propagating", Duration::from_secs(5), || {
                watched.state() == State::Open
            })
            .await;
            tokio::time::sleep(Duration::from_millis(60)).await;
            for (later, w) in pairs[at + 1..].iter() {
                assert_eq!(w.state(), State::Closed, "{:?} opened with {:?}", w.name(), later.name());
            }
        }
        assert_eq!(b.breaker.state(), State::Closed);
        clean_up(&backend, &name).await;
    }
}

/// A URL's password or token appears in no report, problem, error or `Debug` output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_credentials_are_never_printed() {
    let server = NatsServer::start(&["--user", "cb", "--pass", "hunter2secret"]).await;
    let name = unique("nats-creds");
    let wrong = format!("nats://cb:wr0ngsecret@127.0.0.1:{}", server.port);
    let bad = instance(&name, &wrong);
    let mut reports = Reports::of(bad.registry);
    reports.wait_for("cannot be used", Duration::from_secs(5)).await;
    let good = instance(&name, &format!("nats://cb:hunter2secret@127.0.0.1:{}", server.port));
    all_connected(&[&good]).await;
    let token = instance(&name, &format!("nats://t0kensecret@127.0.0.1:{}", server.port));
    let mut token_reports = Reports::of(token.registry);
    token_reports.wait_for("cannot be used", Duration::from_secs(5)).await;
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        reports.seen,
        token_reports.seen,
        bad.fleet,
        good.fleet,
        bad.fleet.problems(),
        token.fleet.problems()
    );
    for secret in ["wr0ngsecret", "hunter2secret", "t0kensecret"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("nats://cb:***@127.0.0.1"), "{shown}");
    let err = cb_runtime::fleet::attach(
        bad.registry,
        "nats://u:s3cretpw@/x",
        cb_runtime::fleet::FleetConfig::new("f"),
    )
    .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cretpw"), "{err}");
}

/// A fleet whose instances start at once (a deploy) all join without a refusal of their stream
/// creations: the server takes a creation identical to one just made as done (this passed
/// before the second lookup of `create_stream` too; it guards the deploy, not that lookup).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_at_once_all_join_without_a_report() {
    let backend = shared(Kind::Nats).await;
    for round in 0..5 {
        let name = unique("nats-deploy");
        let registries: Vec<&'static cb_runtime::Registry> = (0..6)
            .map(|_| &*Box::leak(Box::new(cb_runtime::Registry::new())))
            .collect();
        let mut reports: Vec<Reports> = registries.iter().map(|r| Reports::of(r)).collect();
        for r in &registries {
            r.breaker("payments", &consecutive_config());
        }
        let fleets: Vec<cb_runtime::fleet::Fleet> = registries
            .iter()
            .map(|r| {
                let settings = cb_runtime::fleet::FleetConfig::new(&name).sync_interval(Duration::from_millis(20));
                cb_runtime::fleet::attach(r, &backend.url, settings).unwrap()
            })
            .collect();
        eventually("all joining", Duration::from_secs(10), || {
            fleets.iter().all(|f| f.connected())
        })
        .await;
        // The race's refusals only: a slow machine may time an operation out, which is reported
        // as it should be.
        for (i, r) in reports.iter_mut().enumerate() {
            let refused: Vec<String> = r
                .poll()
                .iter()
                .filter(|m| m.contains("overlap") || m.contains("already in use"))
                .cloned()
                .collect();
            assert!(refused.is_empty(), "round {round}, instance {i}: {refused:#?}");
        }
        drop(fleets);
        clean_up(&backend, &name).await;
    }
}

/// A stream of someone else's that already takes the fleet's subjects is a conflict no second
/// lookup resolves: it is reported, with the server's words, and the instance decides locally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_stream_on_the_fleets_subjects_is_reported() {
    let backend = shared(Kind::Nats).await;
    let name = unique("nats-foreign");
    let client = async_nats::connect(backend.url.as_str()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let foreign = format!("FOREIGN_{}", token(&name));
    js.create_stream(async_nats::jetstream::stream::Config {
        name: foreign.clone(),
        subjects: vec![format!("{}.>", token(&name))],
        ..Default::default()
    })
    .await
    .unwrap();
    let registry: &'static cb_runtime::Registry = Box::leak(Box::new(cb_runtime::Registry::new()));
    let mut reports = Reports::of(registry);
    registry.breaker("payments", &consecutive_config());
    let fleet = cb_runtime::fleet::attach(registry, &backend.url, cb_runtime::fleet::FleetConfig::new(&name)).unwrap();
    reports.wait_for("subjects overlap", Duration::from_secs(10)).await;
    assert!(!fleet.connected());
    assert!(
        fleet
            .problems()
            .iter()
            .any(|p| p.contains("cannot be used") && p.contains("overlap")),
        "{:?}",
        fleet.problems()
    );
    drop(fleet);
    let _ = js.delete_stream(&foreign).await;
    clean_up(&backend, &name).await;
}

/// A lease holding garbage is repaired by one instance and reported; a lease entry that does
/// not expire is no obstacle past one lease TTL (server timestamps).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_nats_lease_is_repaired() {
    let backend = shared(Kind::Nats).await;
    let name = unique("nats-lease");
    let a = instance(&name, &backend.url);
    all_connected(&[&a]).await;
    let client = async_nats::connect(backend.url.as_str()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let kv = js.get_key_value(format!("cb_{}_probe", token(&name))).await.unwrap();
    kv.put("payments", "garbage!".into()).await.unwrap();
    let mut reports = Reports::of(a.registry);
    trip(&a.breaker);
    a.clock.advance(Duration::from_secs(31));
    eventually("a probing after repairing the lease", Duration::from_secs(5), || {
        a.breaker.try_acquire().map(|p| p.success()).is_ok()
    })
    .await;
    reports
        .wait_for("not an instance id; repaired", Duration::from_secs(10))
        .await;
    clean_up(&backend, &name).await;
}
