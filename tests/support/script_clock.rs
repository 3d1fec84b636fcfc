//! A `ManualClock` whose reads follow the reading thread's script: just read, park at a gate
//! (reading before or after, then running a hook), run user code inside the read, or panic.
//! Any number of threads, each with its own script, can be held at chosen reads at once (the
//! hook clock parks one thread at a time); reads past a script just read.

use cb_runtime::{BreakerConfig, CircuitBreaker, Clock, ClockSource, ManualClock};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// Code run inside a parked read once it is let go (a clock source that waits on a lock, say).
pub type Hook = Box<dyn FnOnce() + Send>;

/// What one clock read of the scripted thread does.
pub enum Step {
    /// Just read.
    Read,
    /// Park until told, reading the time before (`read_first`) or after; once let go, run
    /// `then` (before the read after).
    Park {
        read_first: bool,
        then: Option<Hook>,
        arrived: mpsc::Sender<()>,
        go: mpsc::Receiver<()>,
    },
    /// Park until told, then panic (a clock source that fails after a stall).
    ParkThenPanic {
        arrived: mpsc::Sender<()>,
        go: mpsc::Receiver<()>,
    },
    /// Panic at once (a clock source that fails).
    Panic,
    /// Run user code inside the read (it may read the clock again: those reads go on with the
    /// script); the time it returns is the reading.
    Run(Box<dyn FnOnce() -> u64 + Send>),
}

thread_local! {
    static SCRIPT: RefCell<VecDeque<Step>> = const { RefCell::new(VecDeque::new()) };
}

/// Appends `steps` to the current thread's script.
pub fn script(steps: impl IntoIterator<Item = Step>) {
    SCRIPT.with(|s| s.borrow_mut().extend(steps));
}

/// Drops what is left of the current thread's script; whether anything was (a scripted read
/// never came).
pub fn unscript() -> bool {
    SCRIPT.with(|s| {
        let mut s = s.borrow_mut();
        let left = !s.is_empty();
        s.clear();
        left
    })
}

/// The clock: a `ManualClock` read as each thread's script says.
#[derive(Debug)]
pub struct ScriptClock(pub ManualClock);

impl ClockSource for ScriptClock {
    fn now_nanos(&self) -> u64 {
        let read = || self.0.elapsed().as_nanos() as u64;
        let step = SCRIPT.with(|s| s.borrow_mut().pop_front());
        match step {
            None | Some(Step::Read) => read(),
            Some(Step::Park {
                read_first,
                then,
                arrived,
                go,
            }) => {
                let now = read_first.then(read);
                let _ = arrived.send(());
                let _ = go.recv();
                if let Some(then) = then {
                    then();
                }
                now.unwrap_or_else(read)
            }
            Some(Step::ParkThenPanic { arrived, go }) => {
                let _ = arrived.send(());
                let _ = go.recv();
                panic!("clock source failed after a stall");
            }
            Some(Step::Panic) => panic!("clock source failed"),
            Some(Step::Run(f)) => f(),
        }
    }
}

/// A breaker named `name` of `config` on a script clock from 0.
pub fn on_script_clock(name: &str, config: BreakerConfig) -> (Arc<CircuitBreaker>, ManualClock) {
    let manual = ManualClock::new();
    let b = CircuitBreaker::builder(name)
        .config(config)
        .clock(Clock::custom(Arc::new(ScriptClock(manual.clone()))))
        .build();
    (Arc::new(b), manual)
}

/// How long a test waits for a scripted thread to park or finish before it fails.
const BOUND: Duration = Duration::from_secs(10);

/// A thread running `f` whose clock read after the first `skip` parks at a gate.
pub struct Gated<T> {
    pub handle: thread::JoinHandle<T>,
    arrived: mpsc::Receiver<()>,
    pub go: mpsc::Sender<()>,
}

impl<T: Send + 'static> Gated<T> {
    /// Spawns `f` on a thread whose read after the first `skip` parks (reading the time first
    /// if `read_first`) and, once let go, runs `then`.
    pub fn spawn(skip: u32, read_first: bool, then: Option<Hook>, f: impl FnOnce() -> T + Send + 'static) -> Self {
        let (arrived_tx, arrived) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let handle = thread::spawn(move || {
            script((0..skip).map(|_| Step::Read).chain([Step::Park {
                read_first,
                then,
                arrived: arrived_tx,
                go: go_rx,
            }]));
            let out = f();
            let _ = unscript();
            out
        });
        Gated { handle, arrived, go }
    }

    /// Whether the thread parked at its gate (`false`: it returned first); bounded.
    pub fn parked(&self) -> bool {
        let bound = Instant::now() + BOUND;
        while Instant::now() < bound {
            if self.arrived.recv_timeout(Duration::from_millis(5)).is_ok() {
                return true;
            }
            if self.handle.is_finished() {
                return false;
            }
        }
        panic!("the gated thread neither parked nor returned");
    }

    /// Lets the thread go on and joins it (bounded).
    pub fn finish(self) -> T {
        let _ = self.go.send(());
        let bound = Instant::now() + BOUND;
        while !self.handle.is_finished() {
            assert!(Instant::now() < bound, "the gated thread hangs");
            thread::sleep(Duration::from_millis(1));
        }
        self.handle.join().unwrap()
    }
}
