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
    static SKIP: Cell<u32> = const { Cell::new(0) };
}

/// Arms (or disarms) the current thread for its next clock read.
pub fn arm(how: Arm) {
    arm_after(0, how);
}

/// Arms the current thread for its clock read after the next `skip` (read as usual).
pub fn arm_after(skip: u32, how: Arm) {
    SKIP.with(|s| s.set(skip));
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
        if ARMED.with(Cell::get) != Arm::Off && SKIP.with(|s| s.replace(s.get().saturating_sub(1))) > 0 {
            return self.read();
        }
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
    park_in_after(hook, 0, how, f)
}

/// [`park_in`], parked on the clock read after its first `skip`.
pub fn park_in_after<T, F>(hook: &Hook, skip: u32, how: Arm, f: F) -> thread::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle = thread::spawn(move || {
        arm_after(skip, how);
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

/// A thread that takes a permit (in Closed: no clock read), then records `outcome` with its
/// next clock read armed `how` (a trip's, right after its compare-and-swap); returns once it
/// is parked there.
pub fn record_parked(
    hook: &Hook,
    b: &Arc<CircuitBreaker>,
    outcome: cb_runtime::Outcome,
    how: Arm,
) -> thread::JoinHandle<()> {
    let b = Arc::clone(b);
    let handle = thread::spawn(move || {
        let permit = b.try_acquire().unwrap();
        arm(how);
        permit.record(outcome);
        arm(Arm::Off);
    });
    hook.arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("the thread reached its clock read");
    handle
}

/// A breaker on a hooked clock in an idle HalfOpen period: `consecutive_failures(1)`, open
/// 10 s, `max_calls` slots, max wait 5 s; tripped at 0 s, the clock at 11 s, no slot taken.
pub fn idle_half_open(max_calls: u32) -> (Arc<CircuitBreaker>, Hook) {
    let (b, hook) = hooked(
        super::consecutive(1)
            .open_timeout(super::secs(10))
            .half_open_max_calls(max_calls)
            .half_open_max_wait(super::secs(5)),
        0,
    );
    assert!(super::run(&b, cb_runtime::Outcome::Failure));
    hook.manual.advance(super::secs(11));
    assert_eq!(b.state(), cb_runtime::State::HalfOpen, "idle HalfOpen period");
    (b, hook)
}

/// A caller parked on its first clock read (armed `how`) inside `try_acquire`, which then
/// holds what it got until [`Held::drop_permit`].
pub struct Held {
    handle: thread::JoinHandle<bool>,
    held: mpsc::Receiver<()>,
    done: mpsc::Sender<()>,
}

/// Starts a [`Held`] caller of `b`; returns once it is parked on its clock read.
pub fn hold_parked(hook: &Hook, b: &Arc<CircuitBreaker>, how: Arm) -> Held {
    let (held_tx, held) = mpsc::channel();
    let (done, done_rx) = mpsc::channel::<()>();
    let b = Arc::clone(b);
    let handle = park_in(hook, how, move || {
        let permit = b.try_acquire();
        let admitted = permit.is_ok();
        held_tx.send(()).unwrap();
        done_rx.recv().unwrap();
        drop(permit);
        admitted
    });
    Held { handle, held, done }
}

impl Held {
    /// Lets the parked caller go on; returns once `try_acquire` has returned to it.
    pub fn resume(&self, hook: &Hook) {
        hook.go.send(()).unwrap();
        self.held
            .recv_timeout(Duration::from_secs(10))
            .expect("the caller's try_acquire returned");
    }

    /// Drops what the caller holds; whether it was admitted.
    pub fn drop_permit(self) -> bool {
        self.done.send(()).unwrap();
        self.handle.join().unwrap()
    }
}
