//! Fleet-shared state on a real Redis: `CB_TEST_REDIS_URL` if set, else 127.0.0.1:6379 if it
//! answers, else a private `redis-server` this test starts on a free port and stops at its end
//! (`.ci/run` installs redis-server where it is missing). Several registries in this process
//! stand for instances.

mod fleet_support;

use cb_runtime::fleet::{self, FleetConfig};
use cb_runtime::{BreakerConfig, Event, ManualClock, Registry, State};
use fleet_support::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_opens_together_and_one_instance_probes() {
    let redis = test_redis().await;
    let name = unique("fleet-open");
    let fleet: Vec<Instance> = (0..3).map(|_| instance(&name, &redis.url)).collect();
    eventually("connecting", Duration::from_secs(5), || {
        fleet.iter().all(|i| i.fleet.connected())
    })
    .await;

    trip(&fleet[0].breaker);
    let delay = eventually("the others adopting Open", Duration::from_secs(3), || {
        fleet[1..].iter().all(|i| i.breaker.state() == State::Open)
    })
    .await;
    println!("open propagated to 2 instances in {delay:?} (sync interval 20ms)");
    let wait = fleet[1].breaker.try_acquire().unwrap_err().retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
        "adopted the open-until: {wait:?}"
    );

    for i in &fleet {
        i.clock.advance(Duration::from_secs(31));
    }
    let mut probes = Vec::new();
    eventually("one instance taking the probe lease", Duration::from_secs(3), || {
        for i in &fleet {
            if let Ok(p) = i.breaker.try_acquire() {
                probes.push((i.fleet.instance(), p));
            }
        }
        !probes.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in &fleet {
        if let Ok(p) = i.breaker.try_acquire() {
            probes.push((i.fleet.instance(), p));
        }
    }
    let probers: std::collections::HashSet<u64> = probes.iter().map(|(who, _)| *who).collect();
    assert_eq!(probers.len(), 1, "exactly one instance of the fleet probes");
    for (_, p) in probes {
        p.success();
    }
    eventually("the fleet adopting Closed", Duration::from_secs(3), || {
        fleet.iter().all(|i| i.breaker.state() == State::Closed)
    })
    .await;
    let mut events = fleet[2].registry.subscribe();
    trip(&fleet[1].breaker);
    eventually("a second trip propagating", Duration::from_secs(3), || {
        fleet[2].breaker.state() == State::Open
    })
    .await;
    assert!(events.drain().iter().any(|e| matches!(
        e,
        Event::Transition {
            reason: cb_runtime::Reason::Fleet { .. },
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_lease_outlives_its_holder_only_until_its_ttl() {
    let redis = test_redis().await;
    let name = unique("fleet-lease");
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .jitter(0.0)
        .success_threshold(1)
        .build()
        .unwrap();
    let short_lease = |fleet_name: &str| {
        let clock = ManualClock::new();
        let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
        let breaker = registry.breaker("payments", &config);
        let settings = FleetConfig::new(fleet_name)
            .sync_interval(Duration::from_millis(20))
            .lease_ttl(Duration::from_millis(300));
        let fleet = fleet::attach(registry, &redis.url, settings).unwrap();
        Instance {
            clock,
            registry,
            breaker,
            fleet,
        }
    };
    let (a, b) = (short_lease(&name), short_lease(&name));
    eventually("connecting", Duration::from_secs(5), || {
        a.fleet.connected() && b.fleet.connected()
    })
    .await;
    trip(&a.breaker);
    eventually("b adopting Open", Duration::from_secs(3), || {
        b.breaker.state() == State::Open
    })
    .await;
    a.clock.advance(Duration::from_secs(31));
    b.clock.advance(Duration::from_secs(31));
    let mut probe = None;
    eventually("one instance taking the lease", Duration::from_secs(3), || {
        for (who, i) in [(0, &a), (1, &b)] {
            if probe.is_none() {
                probe = i.breaker.try_acquire_owned().ok().map(|p| (who, p));
            }
        }
        probe.is_some()
    })
    .await;
    let (who, _hung_probe) = probe.unwrap();
    let (holder, other) = if who == 0 { (a, b) } else { (b, a) };
    assert!(
        other.breaker.try_acquire().is_err(),
        "the other instance waits for the lease holder"
    );
    let Instance {
        fleet: holder_fleet, ..
    } = holder;
    drop(holder_fleet);
    let waited = eventually(
        "the lease expiring and the other instance probing",
        Duration::from_secs(5),
        || other.breaker.try_acquire().map(|p| p.success()).is_ok(),
    )
    .await;
    println!("the lease of a vanished holder expired; the other instance probed after {waited:?} (lease 300ms)");
    assert_eq!(other.breaker.state(), State::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_are_shared_so_the_fleet_judges_rates_on_all_its_calls() {
    let name = unique("fleet-rates");
    let config = BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.5)
        .minimum_calls(20)
        .window(cb_runtime::Window::Time(Duration::from_secs(60)))
        .jitter(0.0)
        .build()
        .unwrap();
    let redis = test_redis().await;
    let fleet: Vec<Instance> = (0..3)
        .map(|_| instance_with(&name, &redis.url, config.clone()))
        .collect();
    eventually("connecting", Duration::from_secs(5), || {
        fleet.iter().all(|i| i.fleet.connected())
    })
    .await;
    for i in &fleet {
        for n in 0..8 {
            let permit = i.breaker.try_acquire().unwrap();
            if n % 2 == 0 { permit.failure() } else { permit.success() }
        }
        assert_eq!(i.breaker.state(), State::Closed, "8 calls: below minimum_calls locally");
    }
    let took = eventually(
        "the fleet tripping on its combined 24 calls",
        Duration::from_secs(3),
        || fleet.iter().all(|i| i.breaker.state() == State::Open),
    )
    .await;
    println!("fleet-wide failure rate tripped every instance in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_data_is_reported_not_fatal() {
    let redis = test_redis().await;
    let name = unique("fleet-malformed");
    let i = instance(&name, &redis.url);
    let mut events = i.registry.subscribe();
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("cb:{name}:payments:state"))
        .arg("not:a:number:at all")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut con)
        .await
        .unwrap();
    eventually("the report", Duration::from_secs(3), || {
        events
            .drain()
            .iter()
            .any(|e| matches!(e, Event::FleetReport { message } if message.contains("malformed")))
    })
    .await;
    assert_eq!(i.breaker.state(), State::Closed);
    assert!(i.breaker.try_acquire().is_ok());
}

/// A TCP server that accepts connections and never answers.
async fn blackhole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_call_awaits_a_redis_that_never_answers() {
    let (url, _server) = blackhole().await;
    let i = instance(&unique("fleet-blackhole"), &url);
    let calls = async {
        for n in 0..2_000u32 {
            let r = i.breaker.call(async || if n % 3 == 0 { Err(()) } else { Ok(()) }).await;
            let _ = r;
            if n % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), calls)
        .await
        .expect("calls never wait for Redis");
    trip(&i.breaker);
    i.clock.advance(Duration::from_secs(31));
    assert!(
        i.breaker.try_acquire().is_ok(),
        "with Redis unreachable, probes are decided locally"
    );
    assert!(!i.fleet.connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_restarted_mid_test() {
    let port = free_port();
    let server = RedisServer::start_on(port, &[]).await;
    let url = server.url();
    let name = unique("fleet-restart");
    let (a, b) = (instance(&name, &url), instance(&name, &url));
    eventually("connecting", Duration::from_secs(5), || {
        a.fleet.connected() && b.fleet.connected()
    })
    .await;
    let mut reports = Reports::of(a.registry);

    drop(server);
    eventually("noticing Redis is gone", Duration::from_secs(5), || {
        !a.fleet.connected() && !b.fleet.connected()
    })
    .await;
    reports.wait_for("cannot be used", Duration::from_secs(10)).await;
    trip(&a.breaker);
    assert_eq!(b.breaker.state(), State::Closed, "no fleet: b decides alone");
    a.clock.advance(Duration::from_secs(31));
    a.breaker.try_acquire().expect("a probes locally").success();
    trip(&a.breaker);

    let server = RedisServer::start_on(port, &[]).await;
    eventually("reconnecting", Duration::from_secs(10), || {
        a.fleet.connected() && b.fleet.connected()
    })
    .await;
    eventually("the open state resynchronised", Duration::from_secs(5), || {
        b.breaker.state() == State::Open
    })
    .await;
    reports.wait_for("resolved: Redis at", Duration::from_secs(10)).await;
    let seen = reports.poll().to_vec();
    assert_eq!(
        seen.len(),
        2,
        "one report when Redis went, one when it came back: {seen:#?}"
    );
    assert!(!seen.iter().any(|m| m.contains("connected to")), "{seen:#?}");
    drop(server);
}

#[test]
fn separate_processes_share_the_open_state() {
    if let Ok(role) = std::env::var("CB_FLEET_CHILD") {
        return child(&role);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = rt.block_on(test_redis());
    let name = unique("fleet-processes");
    let spawn = |role: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "separate_processes_share_the_open_state",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CB_FLEET_CHILD", role)
            .env("CB_FLEET_NAME", &name)
            .env("CB_TEST_REDIS_URL", &redis.url)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let watcher = spawn("watch");
    std::thread::sleep(Duration::from_millis(500));
    let tripper = spawn("trip");
    let tripped = tripper.wait_with_output().unwrap();
    let watched = watcher.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&watched.stdout);
    assert!(tripped.status.success() && watched.status.success(), "{out}");
    assert!(out.contains("ADOPTED"), "{out}");
    let line = out.lines().find(|l| l.contains("ADOPTED")).unwrap();
    println!("separate processes: {line}");
}

fn child(role: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let name = std::env::var("CB_FLEET_NAME").unwrap();
        let url = std::env::var("CB_TEST_REDIS_URL").unwrap();
        let i = instance(&name, &url);
        eventually("connecting", Duration::from_secs(5), || i.fleet.connected()).await;
        match role {
            "trip" => {
                trip(&i.breaker);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            _ => {
                let took = eventually("adopting the other process's trip", Duration::from_secs(10), || {
                    i.breaker.state() == State::Open
                })
                .await;
                println!("ADOPTED after {took:?} of watching");
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_among_2000_breakers_propagates() {
    let redis = test_redis().await;
    let name = unique("fleet-many");
    let (a, b) = (instance(&name, &redis.url), instance(&name, &redis.url));
    let config = consecutive_config();
    let pairs: Vec<_> = (0..2000)
        .map(|n| {
            let key = format!("key-{n}");
            (a.registry.breaker(&key, &config), b.registry.breaker(&key, &config))
        })
        .collect();
    eventually("connecting", Duration::from_secs(5), || {
        a.fleet.connected() && b.fleet.connected()
    })
    .await;
    let (tripped, watched) = &pairs[1999];
    trip(tripped);
    let took = eventually(
        "the trip of the last breaker propagating",
        Duration::from_secs(5),
        || watched.state() == State::Open,
    )
    .await;
    println!("2000 breakers per instance: a trip propagated in {took:?} (reads batched, 256 per round trip)");
    assert!(pairs[..1999].iter().all(|(_, w)| w.state() == State::Closed));
}
