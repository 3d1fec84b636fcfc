//! Attacks on the count window with several threads, from outside (written against per-thread
//! claim blocks of slots, which these tests showed to break "exactly the last N outcomes" and
//! which were taken out): one thread sees exactly the last N outcomes; threads taking turns,
//! idle or slow threads, threads that exit, 70 threads (past the 64 own stripes), transitions and
//! reconfigurations mid-run all keep the window within the last N (+ N / 8 where threads record
//! at once); the totals are what the slots hold; a transition empties the window.
//!
//! Threads are driven one outcome at a time through channels (a `Crew`), so a schedule of
//! outcomes over several threads is exact and repeatable, and a single failure among successes
//! (a marker) shows, through `snapshot().window.failures`, how long one outcome stays in the
//! window.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, State, Window};
use support::calls::{Call, FAIL, Model, OK, SLOW, record};
use support::crew::Crew;
use support::*;

/// A xorshift step.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// A slow success: the background of the marker tests (a window full of plain successes takes
/// a shortcut that claims no slot at all; slow ones keep every outcome on the ring).
const BG: Call = Call {
    failure: false,
    slow: true,
};

/// The failure-rate trigger alone over a count window of `size`, judged once it is full.
fn failure_rate_over(size: u32, threshold: f64) -> cb_runtime::BreakerConfigBuilder {
    failure_rate(Window::Count(size), threshold, size)
}

/// One thread alone records N + N / 8 failures, then as many successes: the window must hold
/// exactly N of each in turn, whatever other threads left in it.
fn alone_fills_the_window(b: &CircuitBreaker, clock: &ManualClock, n: u64, what: &str) {
    for _ in 0..n + n / 8 {
        record(b, clock, FAIL);
    }
    assert_eq!(window(b), (n, n, 0), "{what}: failures");
    for _ in 0..n + n / 8 {
        record(b, clock, OK);
    }
    assert_eq!(window(b), (n, 0, 0), "{what}: successes");
}

/// A breaker with a count window of `size` that records and judges but never trips, slow calls
/// detected.
fn metrics_breaker(size: u32) -> (CircuitBreaker, ManualClock) {
    let (b, clock) = breaker(
        BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(1.0)
            .slow_call_rate_threshold(1.0)
            .slow_call_duration(SLOW)
            .window(Window::Count(size))
            .minimum_calls(size),
    );
    b.metrics_only();
    (b, clock)
}

#[test]
fn one_thread_holds_exactly_the_last_n_for_sizes_1_to_40_and_65535() {
    for size in (1..=40u32).chain([65_535]) {
        let (b, clock) = metrics_breaker(size);
        let mut model = Model::new(size);
        let mut x = 0x9E37_79B9_7F4A_7C15 ^ u64::from(size);
        let outcomes = 3 * u64::from(size) + 50;
        let every = if size > 1000 { 4099 } else { 1 };
        for i in 0..outcomes {
            let r = next(&mut x);
            let call = Call {
                failure: r.is_multiple_of(3),
                slow: r.is_multiple_of(5),
            };
            model.push(call);
            assert!(record(&b, &clock, call));
            if i % every == 0 || i + 1 == outcomes {
                assert_eq!(window(&b), model.counts(), "size {size}, outcome {i}");
            }
        }
    }
}

/// With minimum_calls = N and a threshold half an outcome above k - 1 failures, the breaker opens
/// on exactly the outcome that brings the last N outcomes to k failures (or slow calls).
#[test]
fn one_thread_trips_on_exactly_the_outcome_the_model_says() {
    for size in (1..=40u32).chain([65_535]) {
        let ks: Vec<u32> = if size == 65_535 {
            vec![32_768]
        } else {
            let mut ks = vec![1, size.div_ceil(2), size];
            ks.dedup();
            ks
        };
        for k in ks {
            for slow_trigger in [false, true] {
                if size == 65_535 && slow_trigger {
                    continue;
                }
                let threshold = (f64::from(k) - 0.5) / f64::from(size);
                let config = BreakerConfig::builder()
                    .no_consecutive_failures()
                    .window(Window::Count(size))
                    .minimum_calls(size)
                    .slow_call_duration(SLOW);
                let config = if slow_trigger {
                    config.no_failure_rate().slow_call_rate_threshold(threshold)
                } else {
                    config.no_slow_call_rate().failure_rate_threshold(threshold)
                };
                let (b, clock) = breaker(config);
                let mut model = Model::new(size);
                // Marked outcomes at about the rate that trips, so the window hovers at the edge.
                let mut x = 0x2545_F491_4F6C_DD1D ^ (u64::from(size) << 20 | u64::from(k));
                let mut tripped = false;
                for i in 0..4 * u64::from(size) + 40 {
                    let marked = next(&mut x) % u64::from(size) < u64::from(k).max(1);
                    let call = Call {
                        failure: marked && !slow_trigger,
                        slow: marked && slow_trigger,
                    };
                    model.push(call);
                    assert!(record(&b, &clock, call), "size {size}, k {k}: outcome {i} rejected");
                    let (calls, failures, slow) = model.counts();
                    let marks = if slow_trigger { slow } else { failures };
                    let should = calls == u64::from(size) && marks >= u64::from(k);
                    let state = b.state();
                    assert_eq!(
                        state,
                        if should { State::Open } else { State::Closed },
                        "size {size}, k {k}, slow {slow_trigger}: outcome {i}, model {:?}",
                        model.counts()
                    );
                    if should {
                        tripped = true;
                        break;
                    }
                }
                if size < 65_535 {
                    assert!(tripped || k == size, "size {size}, k {k}: never reached the edge");
                }
            }
        }
    }
}

/// How long (in outcomes recorded after it) a single failure among successes stays in the
/// window under `schedule` (which thread records each next outcome), the marker being recorded
/// by thread `marker_by` after `warmup` outcomes. The README promises the window's outcomes are
/// all among the last N + N / 8: the marker must be gone once N + N / 8 outcomes followed it.
fn marker_lifetime(
    size: u32,
    threads: usize,
    warmup: usize,
    marker_by: usize,
    schedule: impl Fn(usize) -> usize,
) -> usize {
    let (b, clock) = metrics_breaker(size);
    std::thread::scope(|s| {
        let crew = Crew::start(s, &b, &clock, threads);
        for i in 0..warmup {
            crew.run(schedule(i), BG, 1);
        }
        assert_eq!(window(&b).1, 0);
        crew.run(marker_by, FAIL, 1);
        assert_eq!(window(&b).1, 1, "the marker is in the window");
        let limit = 3 * size as usize;
        for after in 0..limit {
            crew.run(schedule(warmup + after), BG, 1);
            let (calls, failures, _) = window(&b);
            assert!(calls <= u64::from(size) && failures <= 1);
            if failures == 0 {
                return after + 1;
            }
        }
        limit
    })
}

/// Threads taking turns, one outcome each: the marker must leave within N + N / 8.
#[test]
fn a_marker_leaves_within_n_plus_an_eighth_when_threads_take_turns() {
    for (size, threads) in [(100, 2), (100, 3), (100, 8), (128, 4), (64, 5), (20, 2)] {
        let bound = (size + size / 8) as usize;
        let mut worst = 0;
        for warmup in [0, 3 * size as usize, 3 * size as usize + 7, 5 * size as usize + 1] {
            for marker_by in 0..threads {
                let life = marker_lifetime(size, threads, warmup, marker_by, |i| i % threads);
                worst = worst.max(life);
                assert!(
                    life <= bound,
                    "size {size}, {threads} threads taking turns, warmup {warmup}, marker by \
                     {marker_by}: still in the window {life} outcomes later (bound {bound})"
                );
            }
        }
        eprintln!("size {size}, {threads} threads taking turns: worst lifetime {worst}");
    }
}

/// One busy thread and one that records an outcome only now and then (once every 20 of the busy
/// one's): both write at once, yet the slow one's block keeps the previous lap's outcomes until
/// the busy one laps it. The README's bound (all among the last N + N / 8) must hold.
#[test]
fn a_marker_leaves_within_n_plus_an_eighth_with_a_slow_second_thread() {
    let size = 100u32;
    let bound = (size + size / 8) as usize;
    let mut worst = (0, 0);
    for warmup in 300..420 {
        let life = marker_lifetime(size, 2, warmup, 0, |i| usize::from(i % 20 == 0));
        if life > worst.0 {
            worst = (life, warmup);
        }
    }
    assert!(
        worst.0 <= bound,
        "size {size}: a marker by the busy thread after {} outcomes stayed {} outcomes in the \
         window (bound {bound})",
        worst.1,
        worst.0
    );
}

/// Several threads record a few failures each (random order and amounts), then one thread alone
/// records N + N / 8 successes: the window must then be exactly its last N (its fresh claims
/// cover the whole ring), and N + N / 8 failures after that, all failures.
#[test]
fn a_thread_left_alone_holds_exactly_its_last_n_after_n_plus_an_eighth() {
    for (size, threads) in [(100u32, 4usize), (128, 2), (50, 3), (16, 2)] {
        let (b, clock) = metrics_breaker(size);
        let mut x = 0x1234_5678_9ABC_DEF1 ^ u64::from(size);
        let n = u64::from(size);
        std::thread::scope(|s| {
            let crew = Crew::start(s, &b, &clock, threads);
            for round in 0..20 {
                for _ in 0..(threads * 3) {
                    let r = next(&mut x);
                    crew.run(r as usize % threads, FAIL, (r >> 8) as usize % 5 + 1);
                }
                let lone = round % threads;
                crew.run(lone, OK, (n + n / 8) as usize);
                assert_eq!(window(&b), (n, 0, 0), "size {size}, round {round}: successes");
                crew.run(lone, FAIL, (n + n / 8) as usize);
                assert_eq!(window(&b), (n, n, 0), "size {size}, round {round}: failures");
            }
        });
    }
}

/// The same quiet period, but the thread alone records exactly N successes. The README: "the
/// window holds n outcomes, all among the last n + n / 8". Seen: the window holds fewer than N
/// (the other threads' claimed and unwritten slots of the ring's first lap stay empty: 98 of 100
/// after 136 outcomes), and later rounds hold failures recorded before the N successes (exact
/// window: none). Fails: the window does not hold N outcomes once N + N / 8 were recorded.
#[test]
fn a_thread_left_alone_for_n_outcomes_finds_a_full_window() {
    let (size, threads) = (100u32, 4usize);
    let n = u64::from(size);
    let (b, clock) = metrics_breaker(size);
    let mut x = 0x1234_5678_9ABC_DEF1 ^ n;
    let mut seen = Vec::new();
    std::thread::scope(|s| {
        let crew = Crew::start(s, &b, &clock, threads);
        let mut total = 0;
        for round in 0..10 {
            for _ in 0..(threads * 3) {
                let r = next(&mut x);
                let k = (r >> 8) as usize % 5 + 1;
                crew.run(r as usize % threads, FAIL, k);
                total += k;
            }
            crew.run(round % threads, OK, size as usize);
            total += size as usize;
            seen.push((total, window(&b)));
        }
    });
    eprintln!("(outcomes so far, window after one thread's N successes): {seen:?}");
    let short: Vec<_> = seen.iter().filter(|(_, w)| w.0 != n).collect();
    assert!(
        short.is_empty(),
        "the window held fewer than {n} outcomes after a thread alone recorded {n}: {short:?}"
    );
    let stale = seen.iter().filter(|(_, w)| w.1 != 0).count();
    eprintln!("rounds whose window still held failures from before the N successes: {stale} of 10");
}

/// A thread that records one outcome and then sits idle (in a long call, descheduled) holds
/// the rest of its block, whose slots keep the previous lap's outcomes until another thread
/// laps them. A marker (failure) recorded by the busy thread into such a slot one lap earlier
/// stays in the window about 2N outcomes. README: all among the last N + N / 8.
#[test]
fn an_idle_threads_block_keeps_outcomes_older_than_n_plus_an_eighth() {
    let size = 100u32;
    let bound = (size + size / 8) as usize;
    let mut worst = (0, 0, 0);
    for warmup in 200..230 {
        for d in [80usize, 90, 95, 99, 100, 101] {
            let idle_at = warmup + d;
            let life = marker_lifetime(size, 2, warmup, 0, |i| usize::from(i == idle_at));
            if life > worst.0 {
                worst = (life, warmup, d);
            }
        }
    }
    eprintln!("worst marker lifetime {worst:?} (lifetime, warmup, idle thread's outcome after)");
    assert!(
        worst.0 <= bound,
        "a marker after {} outcomes, the idle thread recording one outcome {} later: the marker \
         stayed {} outcomes in the window (bound {bound})",
        worst.1,
        worst.2,
        worst.0
    );
}

/// Threads that record a few outcomes and exit, leaving claimed blocks in their stripes; new
/// threads take the same stripe slots (and so the old blocks). The counts stay sane throughout
/// and a thread left alone for N + N / 8 outcomes finds exactly its own in the window.
#[test]
fn exited_threads_blocks_are_reused_or_lapped_and_the_counts_stay_exact() {
    for size in [100u32, 16, 1000] {
        let (b, clock) = metrics_breaker(size);
        let n = u64::from(size);
        for wave in 0..30u64 {
            std::thread::scope(|s| {
                for t in 0..6u64 {
                    let (b, clock) = (&b, &clock);
                    s.spawn(move || {
                        let mut x = 0xDEAD_BEEF ^ (wave << 8 | t);
                        let k = next(&mut x) % (2 * n / 3 + 1) + 1;
                        for _ in 0..k {
                            let r = next(&mut x);
                            let call = Call {
                                failure: r.is_multiple_of(2),
                                slow: r.is_multiple_of(7),
                            };
                            assert!(record(b, clock, call));
                        }
                    });
                }
            });
            let (calls, failures, slow) = window(&b);
            assert!(calls <= n && failures <= calls && slow <= calls, "wave {wave}");
            if wave % 5 == 4 {
                // A fresh thread (likely on a slot an exited one had) alone.
                std::thread::scope(|s| {
                    s.spawn(|| {
                        alone_fills_the_window(&b, &clock, n, &format!("size {size}, wave {wave}"));
                    });
                });
            }
        }
    }
}

/// 70 threads at once: past the 64th they share the overflow stripe, one slot per outcome.
/// Counts stay within bounds while they run, and the aggregate is what the slots hold after.
#[test]
fn seventy_threads_with_the_overflow_stripe_keep_the_aggregate_exact() {
    for size in [100u32, 7, 2000] {
        let (b, clock) = metrics_breaker(size);
        let n = u64::from(size);
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..70u64)
                .map(|t| {
                    let (b, clock) = (&b, &clock);
                    s.spawn(move || {
                        let mut x = 0xC0FF_EE00 ^ (t + 1);
                        for _ in 0..3_000 {
                            let r = next(&mut x);
                            let call = Call {
                                failure: r.is_multiple_of(3),
                                slow: false,
                            };
                            assert!(record(b, clock, call));
                        }
                    })
                })
                .collect();
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (calls, failures, slow) = window(&b);
                    assert!(calls <= n, "calls {calls} > {n}");
                    assert!(failures <= calls && slow <= calls, "{failures} / {slow} of {calls}");
                }
            });
            for w in writers {
                w.join().unwrap();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(window(&b).0, n, "size {size}: every slot written");
        alone_fills_the_window(&b, &clock, n, &format!("size {size}, after 70 threads"));
    }
}

/// A transition in the middle of threads' blocks: the window is empty at once; permits taken
/// before it record nothing in the new window; the threads' next outcomes (into blocks claimed
/// in the old period) all count, and nothing of the old period comes back.
#[test]
fn a_transition_mid_block_empties_the_window_and_late_outcomes_stay_out() {
    let size = 100u32;
    let (b, clock) = breaker(failure_rate_over(size, 0.99).open_timeout(secs(1)));
    std::thread::scope(|s| {
        let crew = Crew::start(s, &b, &clock, 4);
        for how in 0..3 {
            // Every thread claims a block and writes part of it: failures, the window full.
            for round in 0..50 {
                crew.run(round % 4, FAIL, 1 + round % 3);
                crew.run(round % 4, OK, 1);
            }
            assert!(window(&b).0 >= 90, "{:?}", window(&b));
            let late: Vec<_> = (0..5).map(|_| b.try_acquire().expect("closed")).collect();
            match how {
                0 => b.reset(),
                1 => {
                    // Open, then closed by a probe: transitions of the breaker's own.
                    b.open_for(secs(1)).unwrap();
                    clock.advance(secs(2));
                    while b.state() != State::Closed {
                        assert!(record(&b, &clock, OK), "probe");
                    }
                }
                _ => {
                    b.force_open();
                    b.reset();
                }
            }
            assert_eq!(window(&b), (0, 0, 0), "how {how}: a transition empties the window");
            for p in late {
                p.failure();
            }
            assert_eq!(window(&b), (0, 0, 0), "how {how}: late outcomes of the old period");
            let mut expected = 0;
            for round in 0..40 {
                crew.run(round % 4, OK, 1);
                expected += 1;
                assert_eq!(
                    window(&b),
                    (expected, 0, 0),
                    "how {how}: every outcome of the new period counts, none of the old"
                );
            }
            for round in 0..10 {
                crew.run(round % 4, FAIL, 1);
            }
            assert_eq!(window(&b), (50, 10, 0), "how {how}");
            assert_eq!(b.state(), State::Closed);
        }
    });
}

/// New rules apply to the counts that stand, on the next outcome, whichever thread records it
/// and whatever it replaces.
#[test]
fn a_reconfiguration_is_judged_on_the_next_outcome_from_any_thread() {
    let size = 100u32;
    let config = |threshold: f64| failure_rate_over(size, threshold).jitter(0.0).build().unwrap();
    for next_by in 0..4 {
        let (b, clock) = breaker(failure_rate_over(size, 0.7));
        std::thread::scope(|s| {
            let crew = Crew::start(s, &b, &clock, 4);
            // Three failures then two successes, threads taking turns: 60 % failures.
            for i in 0..400 {
                crew.run(i % 4, if i % 5 < 3 { FAIL } else { OK }, 1);
            }
            let (calls, failures, _) = window(&b);
            assert_eq!(calls, 100);
            assert!((55..=65).contains(&failures), "{failures}");
            assert_eq!(b.state(), State::Closed);
            b.reconfigure(config(0.5));
            // Whatever this success replaces, failures stay >= 54 %.
            crew.run(next_by, OK, 1);
            assert_eq!(b.state(), State::Open, "thread {next_by}: judged under the new rules");
        });
    }
    // One thread, the next outcome just like the one it replaces: still judged.
    let (b, clock) = breaker(failure_rate_over(size, 0.7));
    for i in 0..200 {
        record(&b, &clock, if i % 5 < 3 { FAIL } else { OK });
    }
    assert_eq!(window(&b), (100, 60, 0));
    b.reconfigure(config(0.6));
    record(&b, &clock, FAIL); // over the failure of 100 outcomes ago
    assert_eq!(window(&b), (100, 60, 0));
    assert_eq!(b.state(), State::Open, "a like-for-like outcome judges the new rules");
}

/// 8 threads failing every call against minimum_calls = N and a 100 % threshold: the window is
/// full of failures, and the breaker open, after N failures (plus those in flight when it
/// opened: at most one per other thread), however the threads are scheduled.
///
/// Seen failing (8 threads on 2 busy cores) before the window counted an outcome in the same
/// compare-and-swap that claims its slot: 214 and 75,770 failures for N = 128, up to ~95,000 in
/// all. A writer descheduled between writing its slot (empty -> failure) and adding to the
/// totals held its outcome back, and every later failure, replacing a failure, changed nothing
/// and judged nothing until that writer ran again.
#[test]
fn eight_threads_at_full_failure_trip_after_n_and_those_in_flight() {
    for size in [16u32, 100, 128, 1000] {
        let bound = u64::from(size) + 7;
        let mut worst = 0;
        for trial in 0..10 {
            let (b, clock) = breaker(failure_rate_over(size, 1.0));
            let barrier = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                for _ in 0..8 {
                    let (b, clock, barrier) = (&b, &clock, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        while record(b, clock, FAIL) {}
                    });
                }
            });
            assert_eq!(b.state(), State::Open);
            let failures = b.snapshot().totals.failures;
            worst = worst.max(failures);
            assert!(
                failures <= bound,
                "size {size}, trial {trial}: {failures} failures before it opened (bound {bound})"
            );
        }
        eprintln!("size {size}: at most {worst} failures before opening");
    }
}

/// The worst case for the block sizes: threads joining one after another, each claiming its
/// block when fewer threads had called (12, 6, 4, 3, 2, 2, 1, 1 for N = 100), then one writing
/// failures alone. The held slots (23, more than N / 8) are written by it as it laps them.
#[test]
fn threads_joining_one_by_one_then_failing_trip_within_n_plus_an_eighth() {
    let size = 100u32;
    let (b, clock) = breaker(failure_rate_over(size, 1.0));
    std::thread::scope(|s| {
        let crew = Crew::start(s, &b, &clock, 8);
        for t in 0..8 {
            crew.run(t, FAIL, 1);
        }
        let mut failures = 8;
        while b.state() == State::Closed {
            crew.run(7, FAIL, 1);
            failures += 1;
            assert!(failures <= size + size / 8, "{failures} failures, still closed");
        }
    });
}
