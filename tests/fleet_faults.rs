//! The fleet against hostile conditions: skewed wall clocks, values in Redis written by
//! something else, wrong-typed keys, a Redis out of memory, a read-only replica, a wrong
//! password. Each test asserts the property the fleet promises: no wedge beyond one lease TTL
//! or the adopter's `max_open_timeout`, trips propagate within the sync bound once Redis
//! works, one report per change of condition, no password in any output. Destructive tests
//! run on private `redis-server`s.

mod fleet_support;

use cb_runtime::fleet::{self, FleetConfig};
use cb_runtime::{BreakerConfig, CircuitBreaker, Registry, State, Window};
use fleet_support::*;
use std::time::{Duration, SystemTime};

const SYNC_BOUND: Duration = Duration::from_secs(3);

/// A skewed wall clock for one instance.
type WallClock = fn() -> SystemTime;

fn ahead_1h() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}
fn behind_1h() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}
fn ahead_5s() -> SystemTime {
    SystemTime::now() + Duration::from_secs(5)
}
fn behind_5s() -> SystemTime {
    SystemTime::now() - Duration::from_secs(5)
}

/// Probes `b` until the fleet lets it, then succeeds; how long that took.
async fn probe_and_close(b: &CircuitBreaker, within: Duration) -> Duration {
    eventually("this instance probing", within, || {
        b.try_acquire().map(|p| p.success()).is_ok()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skewed_wall_clocks_change_nothing() {
    let redis = test_redis().await;
    let name = unique("fleet-skew");
    let skews: [(&str, WallClock); 4] = [
        ("+1h", ahead_1h),
        ("-1h", behind_1h),
        ("+5s", ahead_5s),
        ("-5s", behind_5s),
    ];
    let fleet: Vec<Instance> = skews
        .iter()
        .map(|(_, wall)| instance_tuned(&name, &redis.url, consecutive_config(), |f| f.wall_clock(*wall)))
        .collect();
    connected(&fleet.iter().collect::<Vec<_>>()).await;

    // Each instance in turn trips, and later probes and closes for the fleet: a trip from a
    // clock behind is adopted, waits are the publisher's (never longer), and a `closed` from a
    // clock ahead does not mask the next trip.
    for (n, (skew, _)) in skews.iter().enumerate() {
        let tripper = &fleet[n];
        trip(&tripper.breaker);
        eventually(&format!("the trip of the {skew} instance adopted"), SYNC_BOUND, || {
            fleet.iter().all(|i| i.breaker.state() == State::Open)
        })
        .await;
        for (m, other) in fleet.iter().enumerate().filter(|(m, _)| *m != n) {
            let wait = retry_after(&other.breaker);
            assert!(
                wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
                "instance {} adopted a wait of {wait:?} from the {skew} instance (published 30s)",
                skews[m].0
            );
        }
        tripper.clock.advance(Duration::from_secs(31));
        probe_and_close(&tripper.breaker, SYNC_BOUND).await;
        eventually(&format!("the close of the {skew} instance adopted"), SYNC_BOUND, || {
            fleet.iter().all(|i| i.breaker.state() == State::Closed)
        })
        .await;
    }
}

/// The fleet's raw keys of breaker `payments`.
struct RawKeys {
    state: String,
    wait: String,
    probe: String,
}

fn raw_keys(fleet_name: &str, breaker: &str) -> RawKeys {
    RawKeys {
        state: format!("cb:{fleet_name}:{breaker}:state"),
        wait: format!("cb:{fleet_name}:{breaker}:wait"),
        probe: format!("cb:{fleet_name}:{breaker}:probe"),
    }
}

/// Writes an `open` event as another program could, both keys at once: `wait_ttl` `None`
/// leaves `wait` without TTL.
async fn write_open(url: &str, keys: &RawKeys, seq: u64, wait_ms: u64, wait_seq: u64, wait_ttl: Option<u64>) {
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("SET")
        .arg(&keys.state)
        .arg(format!("open:{seq}:{wait_ms}:00000000000000aa"))
        .arg("PX")
        .arg(600_000)
        .ignore();
    let set = pipe.cmd("SET").arg(&keys.wait).arg(wait_seq).ignore();
    if let Some(ttl) = wait_ttl {
        set.arg("PX").arg(ttl);
    }
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = pipe.query_async(&mut con).await.unwrap();
}

async fn write_closed(url: &str, keys: &RawKeys, seq: u64) {
    let _: () = redis_run(
        url,
        redis::cmd("SET")
            .arg(&keys.state)
            .arg(format!("closed:{seq}:00000000000000aa"))
            .arg("PX")
            .arg(600_000),
    )
    .await;
    let _: () = redis_run(url, redis::cmd("DEL").arg(&keys.wait)).await;
}

/// Lets a few syncs (20ms each) happen.
async fn some_syncs() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_values_are_capped_or_ignored_and_reported_once() {
    let redis = test_redis().await;
    let name = unique("fleet-range");
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .jitter(0.0)
        .open_timeout(Duration::from_secs(30))
        .max_open_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let i = instance_with(&name, &redis.url, config);
    connected(&[&i]).await;
    let mut reports = Reports::of(i.registry);
    let keys = raw_keys(&name, "payments");

    // A published wait of an hour is adopted for at most this instance's max_open_timeout.
    write_open(&redis.url, &keys, 10, 3_600_000, 10, Some(3_600_000)).await;
    eventually("adopting the capped wait", SYNC_BOUND, || {
        i.breaker.state() == State::Open
    })
    .await;
    let wait = retry_after(&i.breaker);
    assert!(
        wait <= Duration::from_secs(60) && wait > Duration::from_secs(59),
        "{wait:?}"
    );
    some_syncs().await;
    assert_eq!(reports.count("max_open_timeout"), 1, "{:#?}", reports.seen);

    write_closed(&redis.url, &keys, 11).await;
    eventually("adopting closed", SYNC_BOUND, || i.breaker.state() == State::Closed).await;

    // A `wait` without TTL, a TTL above the published wait, a `wait` of another event: each
    // ignored (the breaker stays Closed), each reported once.
    let cases: [(u64, u64, u64, Option<u64>, &str); 3] = [
        (12, 30_000, 12, None, "has no TTL"),
        (13, 1_000, 13, Some(3_600_000), "above the 1000ms published"),
        (14, 30_000, 99, Some(30_000), "belongs to event 99"),
    ];
    for (seq, wait_ms, wait_seq, ttl, problem) in cases {
        write_open(&redis.url, &keys, seq, wait_ms, wait_seq, ttl).await;
        reports.wait_for(problem, SYNC_BOUND).await;
        some_syncs().await;
        assert_eq!(reports.count(problem), 1, "{:#?}", reports.seen);
        assert_eq!(i.breaker.state(), State::Closed, "{problem}: ignored");
        assert!(i.breaker.try_acquire().is_ok());
    }
    assert!(
        i.fleet.problems().iter().any(|p| p.contains("belongs to event 99")),
        "{:?}",
        i.fleet.problems()
    );

    // A malformed value of a megabyte is reported once, briefly.
    let huge = format!("open:{}", "9".repeat(1 << 20));
    let _: () = redis_run(&redis.url, redis::cmd("SET").arg(&keys.state).arg(&huge)).await;
    reports.wait_for("malformed", SYNC_BOUND).await;
    some_syncs().await;
    assert_eq!(reports.count("malformed"), 1);
    assert!(reports.seen.iter().all(|m| m.len() < 1_000), "reports stay short");

    // A good event again: adopted, and the malformed condition resolved.
    write_open(&redis.url, &keys, 15, 20_000, 15, Some(20_000)).await;
    eventually("adopting a good event", SYNC_BOUND, || i.breaker.state() == State::Open).await;
    reports.wait_for("resolved", SYNC_BOUND).await;
}

/// An Open breaker whose wait has passed, on an instance with a 400ms probe lease; `setup`
/// writes a lease value, then the test measures how long until the instance probes.
async fn probe_delay_with_lease(setup: impl AsyncFnOnce(&str, &RawKeys)) -> (Duration, Vec<String>) {
    let redis = test_redis().await;
    let name = unique("fleet-lease-fault");
    let i = instance_tuned(&name, &redis.url, consecutive_config(), |f| {
        f.lease_ttl(Duration::from_millis(400))
    });
    connected(&[&i]).await;
    let mut reports = Reports::of(i.registry);
    trip(&i.breaker);
    some_syncs().await;
    let keys = raw_keys(&name, "payments");
    setup(&redis.url, &keys).await;
    i.clock.advance(Duration::from_secs(31));
    let took = probe_and_close(&i.breaker, Duration::from_secs(5)).await;
    some_syncs().await;
    reports.poll();
    (took, reports.seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_or_ttl_less_probe_lease_never_blocks_past_one_lease_ttl() {
    let bound = Duration::from_millis(400) + Duration::from_millis(600);
    let set = |value: &'static str, ttl: Option<u64>| {
        async move |url: &str, keys: &RawKeys| {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&keys.probe).arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(ttl);
            }
            let _: () = redis_run(url, &cmd).await;
        }
    };
    let cases = [
        (
            "a foreign value",
            probe_delay_with_lease(set("held-by-another-app", None)).await.0,
        ),
        (
            "an instance id without TTL",
            probe_delay_with_lease(set("00000000deadbeef", None)).await.0,
        ),
        (
            "an instance id with a TTL of an hour",
            probe_delay_with_lease(set("00000000deadbeef", Some(3_600_000))).await.0,
        ),
    ];
    for (what, took) in cases {
        assert!(took < bound, "a lease holding {what} blocked probing for {took:?}");
        println!("lease holding {what}: probed after {took:?} (lease 400ms)");
    }
    for (what, setup, expected) in [
        ("a foreign value", set("held-by-another-app", None), "held the value"),
        (
            "an instance id without TTL",
            set("00000000deadbeef", None),
            "had no TTL",
        ),
    ] {
        let (_, reports) = probe_delay_with_lease(setup).await;
        let count = reports
            .iter()
            .filter(|m| m.contains(expected) && !m.contains("resolved"))
            .count();
        assert_eq!(count, 1, "{what}: one report, {reports:#?}");
    }
    let (took, reports) = probe_delay_with_lease(async |url: &str, keys: &RawKeys| {
        let _: () = redis_run(url, redis::cmd("RPUSH").arg(&keys.probe).arg("x")).await;
    })
    .await;
    assert!(took < bound, "a wrong-typed lease blocked probing for {took:?}");
    let count = reports
        .iter()
        .filter(|m| m.contains("type list") && !m.contains("resolved"))
        .count();
    assert_eq!(count, 1, "{reports:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_typed_key_does_not_stop_the_other_breakers() {
    let redis = test_redis().await;
    let name = unique("fleet-wrongtype");
    let (x, y) = (instance(&name, &redis.url), instance(&name, &redis.url));
    let config = consecutive_config();
    let (x_search, y_search) = (
        x.registry.breaker("search", &config),
        y.registry.breaker("search", &config),
    );
    connected(&[&x, &y]).await;
    let mut reports = Reports::of(x.registry);
    let payments = raw_keys(&name, "payments");
    let _: () = redis_run(&redis.url, redis::cmd("HSET").arg(&payments.state).arg("f").arg("v")).await;
    let _: () = redis_run(&redis.url, redis::cmd("SADD").arg(&payments.wait).arg("m")).await;
    let seq = format!("cb:{name}:payments:seq");
    let _: () = redis_run(&redis.url, redis::cmd("RPUSH").arg(&seq).arg("not a counter")).await;

    trip(&y_search);
    eventually("x adopting search", SYNC_BOUND, || x_search.state() == State::Open).await;
    some_syncs().await;
    assert_eq!(reports.count("is a hash"), 1, "{:#?}", reports.seen);
    assert_eq!(reports.count("is a set"), 1, "{:#?}", reports.seen);

    // Publishing a trip of payments overwrites the wrong-typed keys (the counter is reseeded
    // from Redis time): the fleet heals.
    trip(&x.breaker);
    eventually("y adopting payments", SYNC_BOUND, || y.breaker.state() == State::Open).await;
    reports.wait_for("resolved", SYNC_BOUND).await;
    some_syncs().await;
    assert!(x.fleet.problems().is_empty(), "{:?}", x.fleet.problems());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_is_reported_once_reads_go_on_and_trips_publish_after() {
    let server = RedisServer::start(&["--maxmemory-policy", "noeviction"]).await;
    let url = server.url();
    let name = unique("fleet-oom");
    let config = consecutive_config();
    let (a, b) = (instance(&name, &url), instance(&name, &url));
    let (a_search, b_search) = (
        a.registry.breaker("search", &config),
        b.registry.breaker("search", &config),
    );
    connected(&[&a, &b]).await;
    let mut reports = Reports::of(a.registry);

    // b trips payments while writes work; then Redis runs out of memory.
    trip(&b.breaker);
    eventually("a adopting payments", SYNC_BOUND, || a.breaker.state() == State::Open).await;
    let _: () = server
        .run(redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(1))
        .await;

    // A late instance still reads and adopts the trip made before.
    let late = instance(&name, &url);
    eventually("the late instance adopting payments", SYNC_BOUND, || {
        late.breaker.state() == State::Open
    })
    .await;

    // With writes refused, a probes on its own once its wait has passed.
    a.clock.advance(Duration::from_secs(31));
    eventually("a probing on its own", SYNC_BOUND, || a.breaker.try_acquire().is_ok()).await;
    reports.wait_for("refuses writes", SYNC_BOUND).await;

    // a's own trip cannot be published: reported once over ~75 syncs.
    trip(&a_search);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(reports.count("refuses writes"), 1, "{:#?}", reports.seen);
    assert_eq!(
        b_search.state(),
        State::Closed,
        "not published while Redis refuses writes"
    );
    assert!(
        a.fleet.problems().iter().any(|p| p.contains("OOM")),
        "{:?}",
        a.fleet.problems()
    );

    // Memory back: the pending trip is published and adopted within the sync bound.
    let _: () = server
        .run(redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(0))
        .await;
    eventually("b adopting a's trip made during the outage", SYNC_BOUND, || {
        b_search.state() == State::Open
    })
    .await;
    reports.wait_for("resolved: Redis refuses writes", SYNC_BOUND).await;
    assert_eq!(
        reports.count("refuses writes"),
        2,
        "the problem and its end: {:#?}",
        reports.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_still_brings_trips_and_never_wedges_probing() {
    let master = RedisServer::start(&[]).await;
    let port = master.port.to_string();
    let replica = RedisServer::start(&["--replicaof", "127.0.0.1", &port]).await;
    let name = unique("fleet-replica");
    let config = consecutive_config();
    let on_master = instance(&name, &master.url());
    let on_replica = instance(&name, &replica.url());
    let (m_search, r_search) = (
        on_master.registry.breaker("search", &config),
        on_replica.registry.breaker("search", &config),
    );
    connected(&[&on_master, &on_replica]).await;
    let mut reports = Reports::of(on_replica.registry);

    trip(&on_master.breaker);
    eventually(
        "the replica's instance adopting the trip",
        Duration::from_secs(10),
        || on_replica.breaker.state() == State::Open,
    )
    .await;

    trip(&r_search);
    reports.wait_for("read only replica", SYNC_BOUND).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(reports.count("refuses writes"), 1, "{:#?}", reports.seen);
    assert_eq!(m_search.state(), State::Closed, "a replica cannot publish");
    on_replica.clock.advance(Duration::from_secs(31));
    some_syncs().await;
    probe_and_close(&r_search, SYNC_BOUND).await;
}

/// A registry with one breaker, attached to `url`, in a child process; what it printed.
fn child_output(role: &str, url: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unusable_redis_is_reported_at_attach_without_the_password",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CB_FLEET_CHILD", role)
        .env("CB_FLEET_URL", url)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

const PASSWORD: &str = "n0t-The-pa55word";

#[test]
fn unusable_redis_is_reported_at_attach_without_the_password() {
    if let Ok(role) = std::env::var("CB_FLEET_CHILD") {
        return child(&role, &std::env::var("CB_FLEET_URL").unwrap());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(RedisServer::start(&["--requirepass", "the-real-one"]));
    let wrong = format!("redis://:{PASSWORD}@127.0.0.1:{}", server.port);
    let out = child_output("attach", &wrong);
    assert!(!out.contains(PASSWORD), "the password leaked:\n{out}");
    assert_eq!(
        out.matches("REPORT").count(),
        1,
        "one report while the password stays wrong:\n{out}"
    );
    assert!(out.contains("cannot be used"), "{out}");
    assert!(out.contains(":***@127.0.0.1"), "the URL is shown redacted:\n{out}");

    let refused = format!("redis://:{PASSWORD}@127.0.0.1:{}", free_port());
    let out = child_output("attach", &refused);
    assert!(!out.contains(PASSWORD), "the password leaked:\n{out}");
    assert_eq!(out.matches("REPORT").count(), 1, "{out}");

    let out = child_output("bad-url", &format!("redis://:{PASSWORD}@127.0.0.1:notaport/x"));
    assert!(!out.contains(PASSWORD), "the password leaked:\n{out}");
    assert!(out.contains("ATTACH ERROR"), "{out}");

    let right = server.url();
    let out = child_output("connect", &right);
    assert!(out.contains("CONNECTED"), "{out}");
    assert!(!out.contains("the-real-one"), "the right password leaked too:\n{out}");
}

fn child(role: &str, url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
        registry.breaker("payments", &consecutive_config());
        let mut reports = Reports::of(registry);
        let settings = FleetConfig::new(unique("fleet-child")).sync_interval(Duration::from_millis(20));
        let fleet = match fleet::attach(registry, url, settings) {
            Ok(fleet) => fleet,
            Err(e) => {
                println!("ATTACH ERROR {e} / {e:?}");
                return;
            }
        };
        if role == "connect" {
            eventually("connecting", Duration::from_secs(5), || fleet.connected()).await;
            println!("CONNECTED {fleet:?}");
            return;
        }
        reports.wait_for("cannot be used", Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        for message in reports.poll() {
            println!("REPORT {message}");
        }
        println!("PROBLEMS {:?}", fleet.problems());
        println!("DEBUG {fleet:?}");
        assert!(!fleet.connected());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_says_a_fleet_does_not_judge_count_windows() {
    let redis = test_redis().await;
    let counted = BreakerConfig::builder().window(Window::Count(50)).build().unwrap();
    let i = instance_with(&unique("fleet-explain"), &redis.url, counted);
    let timed = BreakerConfig::builder()
        .window(Window::Time(Duration::from_secs(60)))
        .build()
        .unwrap();
    i.registry.breaker("search", &timed);
    let payments = i.registry.explain("payments");
    assert!(
        payments
            .notes
            .iter()
            .any(|n| n.contains("judged on this instance's calls only")),
        "{payments}"
    );
    assert!(payments.to_string().contains("note: shared with fleet"), "{payments}");
    let search = i.registry.explain("search");
    assert!(
        search.notes.iter().any(|n| n.contains("whole fleet's calls")),
        "{search}"
    );
    drop(i.fleet);
    assert!(
        i.registry.explain("payments").notes.is_empty(),
        "detached: no fleet note"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_script_cache_does_not_stop_reads() {
    let server = RedisServer::start(&[]).await;
    let name = unique("fleet-script-flush");
    let (a, b) = (instance(&name, &server.url()), instance(&name, &server.url()));
    connected(&[&a, &b]).await;
    let mut reports = Reports::of(b.registry);
    some_syncs().await;
    let _: () = server.run(redis::cmd("SCRIPT").arg("FLUSH")).await;
    trip(&a.breaker);
    eventually("b adopting the trip after SCRIPT FLUSH", SYNC_BOUND, || {
        b.breaker.state() == State::Open
    })
    .await;
    assert!(reports.poll().is_empty(), "nothing to report: {:#?}", reports.seen);
}
