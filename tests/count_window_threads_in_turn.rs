//! A count window judges exactly the last N outcomes (DESIGN, windows) also when calls move
//! from thread to thread one after another, as tasks do on a multi-threaded runtime, and while
//! another thread takes snapshots all along. A window that took each thread's successes in
//! batches (to spare threads a shared write per call) failed the unobserved scenario here:
//! its batches entered the window when put in, not when recorded (branch
//! `experiment/count-window-batching`, not landed).

mod support;

use cb_runtime::{State, Window};
use std::sync::atomic::{AtomicBool, Ordering};
use support::calls::{Call, Model};
use support::crew::Crew;
use support::*;

/// Sets its flag when dropped.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Calls taking turns on four threads, in a random order, with a fifth thread taking
/// snapshots without pause: the breaker trips on exactly the outcome where the model of the
/// last N first reaches the rate, and every snapshot before equals the model. Sizes 8 to 1000,
/// 10 % to 50 % failures.
#[test]
fn calls_moving_between_threads_are_judged_on_exactly_the_last_n() {
    moving_between_threads(true);
}

/// The same without snapshots: only the verdicts show what the window holds.
#[test]
fn calls_moving_between_threads_trip_exactly_where_the_model_says_unobserved() {
    moving_between_threads(false);
}

fn moving_between_threads(snapshots: bool) {
    let mut rng = Lcg(0x5EED_0FC0_FFEE);
    for size in [8u32, 16, 100, 1000] {
        for p_fail in [100u64, 300, 500] {
            let (b, clock) = breaker(failure_rate(Window::Count(size), 0.5, size));
            let stop = AtomicBool::new(false);
            std::thread::scope(|s| {
                let (b, clock, stop) = (&b, &clock, &stop);
                s.spawn(move || {
                    while snapshots && !stop.load(Ordering::Relaxed) {
                        let _ = b.snapshot();
                    }
                });
                // Stops the snapshots however this scope ends (a failed assertion too).
                let _stop = Stop(stop);
                let crew = Crew::start(s, b, clock, 4);
                let mut model = Model::new(size);
                let mut trips = 0;
                for i in 0..12 * size as usize + 200 {
                    let call = Call {
                        failure: rng.next(1000) < p_fail,
                        slow: false,
                    };
                    crew.run(rng.next(4) as usize, call, 1);
                    model.push(call);
                    let what = format!("size {size}, p_fail {p_fail}, outcome {i} ({call:?})");
                    if model.trips(Some(0.5), None, u64::from(size)) {
                        assert_eq!(b.state(), State::Open, "{what}: model {:?}", model.counts());
                        trips += 1;
                        b.reset();
                        model = Model::new(size);
                        continue;
                    }
                    assert_eq!(b.state(), State::Closed, "{what}: model {:?}", model.counts());
                    if snapshots {
                        assert_eq!(window(b), model.counts(), "{what}");
                    }
                }
                if p_fail == 500 {
                    assert!(trips > 0, "size {size}: the scenario trips the breaker");
                }
            });
        }
    }
}
