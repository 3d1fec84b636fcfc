//! A clock that parks one thread on its next read, to force the interleavings of late writers:
//! a transition reads the clock right after its compare-and-swap and before it writes what
//! belongs to the new period, so a thread parked there is a writer that comes late.

use cb_runtime::{CircuitBreaker, Clock, ClockSource, ManualClock};
use std::cell::Cell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the current thread does on its next clock read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arm {
    Off,
    /// Park, then read the time (the time after the thread resumes).
    ParkThenRead,
    /// Read the time, then park (the thread is preempted right after its clock read).
    ReadThenPark,
}

thread_local! {
    static ARMED: Cell<Arm> = const { Cell::new(Arm::Off) };
}

/// Arms (or disarms) the current thread for its next clock read.
pub fn arm(how: Arm) {
    ARMED.with(|a| a.set(how));
}

/// A `ManualClock` (plus a fixed origin) that parks an armed thread on its next read.
#[derive(Debug)]
struct HookClock {
    manual: ManualClock,
    origin: u64,
    arrived: Mutex<mpsc::Sender<()>>,
    go: Mutex<mpsc::Receiver<()>>,
}

impl HookClock {
    fn park(&self) {
        self.arrived.lock().unwrap().send(()).unwrap();
        self.go.lock().unwrap().recv().unwrap();
    }

    fn read(&self) -> u64 {
        self.origin + self.manual.elapsed().as_nanos() as u64
    }
}

impl ClockSource for HookClock {
    fn now_nanos(&self) -> u64 {
        match ARMED.with(|a| a.replace(Arm::Off)) {
            Arm::Off => self.read(),
            Arm::ParkThenRead => {
                self.park();
                self.read()
            }
            Arm::ReadThenPark => {
                let now = self.read();
                self.park();
                now
            }
        }
    }
}

/// The handles of a hooked breaker's clock: the time, and the parked thread's signals.
pub struct Hook {
    pub manual: ManualClock,
    pub arrived: mpsc::Receiver<()>,
    pub go: mpsc::Sender<()>,
}

/// A breaker (jitter off) on a hooked clock counting from `origin` nanoseconds.
pub fn hooked(config: cb_runtime::BreakerConfigBuilder, origin: u64) -> (Arc<CircuitBreaker>, Hook) {
    let manual = ManualClock::new();
    let (arrived_tx, arrived_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let source = HookClock {
        manual: manual.clone(),
        origin,
        arrived: Mutex::new(arrived_tx),
        go: Mutex::new(go_rx),
    };
    let b = CircuitBreaker::builder("hooked")
        .config(config.jitter(0.0).build().unwrap())
        .clock(Clock::custom(Arc::new(source)))
        .build();
    let hook = Hook {
        manual,
        arrived: arrived_rx,
        go: go_tx,
    };
    (Arc::new(b), hook)
}

/// Runs `f` on a thread armed with `how`; returns once it is parked on its first clock read.
pub fn park_in<T, F>(hook: &Hook, how: Arm, f: F) -> thread::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle = thread::spawn(move || {
        arm(how);
        let out = f();
        arm(Arm::Off);
        out
    });
    hook.arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("the thread reached its clock read");
    handle
}

/// Lets the parked thread go on and joins it.
pub fn release<T>(hook: &Hook, handle: thread::JoinHandle<T>) -> T {
    hook.go.send(()).unwrap();
    handle.join().unwrap()
}
