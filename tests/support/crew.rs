//! Threads driven one command at a time: a schedule of outcomes over several threads, each
//! with a stripe of its own, exact and repeatable.

use super::calls::{Call, record};
use cb_runtime::{CircuitBreaker, ManualClock};
use std::sync::mpsc;

/// Threads of their own (each with its own stripe while it lives), each recording what it is
/// told, one command at a time.
pub struct Crew {
    orders: Vec<Option<mpsc::Sender<(Call, usize)>>>,
    done: mpsc::Receiver<usize>,
}

impl Crew {
    pub fn start<'s, 'e: 's>(
        s: &'s std::thread::Scope<'s, 'e>,
        b: &'e CircuitBreaker,
        clock: &'e ManualClock,
        threads: usize,
    ) -> Crew {
        let (done_tx, done) = mpsc::channel();
        let orders = (0..threads)
            .map(|i| {
                let (tx, rx) = mpsc::channel::<(Call, usize)>();
                let done_tx = done_tx.clone();
                s.spawn(move || {
                    for (call, n) in rx {
                        for _ in 0..n {
                            assert!(record(b, clock, call), "thread {i}: rejected");
                        }
                        done_tx.send(i).unwrap();
                    }
                });
                Some(tx)
            })
            .collect();
        Crew { orders, done }
    }

    /// Thread `i` records `n` of `call`, and is done before this returns.
    pub fn run(&self, i: usize, call: Call, n: usize) {
        self.orders[i]
            .as_ref()
            .expect("thread still running")
            .send((call, n))
            .unwrap();
        assert_eq!(self.done.recv().unwrap(), i);
    }
}
