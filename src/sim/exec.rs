//! A single-threaded executor on a virtual clock: every task is a future; the
//! only thing a task waits for is a point in virtual time ([`Exec::sleep`]).
//! The executor resumes the task with the earliest wake-up (ties in the order
//! the waits began), moving the clock to it. Which pending platform call
//! completes first is therefore decided by the latencies the simulator draws
//! from its seeded RNG, and a run is a pure function of its seed.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The clock, the timers and the tasks.
#[derive(Default)]
pub struct Exec {
    /// True time, milliseconds since the start of the run.
    now: Cell<u64>,
    seq: Cell<u64>,
    current: Cell<u64>,
    next_id: Cell<u64>,
    /// (wake-up time, order, task id).
    timers: RefCell<BinaryHeap<Reverse<(u64, u64, u64)>>>,
    tasks: RefCell<HashMap<u64, Task>>,
    spawned: RefCell<Vec<u64>>,
}

impl Exec {
    pub fn new() -> Rc<Exec> {
        Rc::new(Exec::default())
    }

    /// True time now (ms since the start).
    pub fn now(&self) -> u64 {
        self.now.get()
    }

    /// Starts `fut` at the current time (it is first polled before the clock moves).
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.tasks.borrow_mut().insert(id, Box::pin(fut));
        self.spawned.borrow_mut().push(id);
    }

    /// Live tasks (a bounded-memory check: the run's work must not pile up).
    pub fn live(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// A future ready once the clock reaches `now + ms`.
    pub fn sleep(self: &Rc<Self>, ms: u64) -> Sleep {
        Sleep {
            exec: self.clone(),
            at: self.now().saturating_add(ms),
            armed: false,
        }
    }

    fn poll_task(&self, id: u64) {
        let Some(mut task) = self.tasks.borrow_mut().remove(&id) else {
            return;
        };
        self.current.set(id);
        let mut cx = Context::from_waker(Waker::noop());
        if task.as_mut().poll(&mut cx).is_pending() {
            self.tasks.borrow_mut().insert(id, task);
        }
    }

    fn run_spawned(&self) {
        loop {
            let ids: Vec<u64> = std::mem::take(&mut *self.spawned.borrow_mut());
            if ids.is_empty() {
                return;
            }
            for id in ids {
                self.poll_task(id);
            }
        }
    }

    /// Runs one step: new tasks first, then the earliest timer's task. False
    /// when nothing is left before `until` (ms).
    pub fn step(&self, until: u64) -> bool {
        self.run_spawned();
        let next = self.timers.borrow_mut().pop();
        let Some(Reverse((at, _, id))) = next else {
            return false;
        };
        if at > until {
            return false;
        }
        self.now.set(self.now.get().max(at));
        self.poll_task(id);
        self.run_spawned();
        true
    }
}

/// See [`Exec::sleep`].
pub struct Sleep {
    exec: Rc<Exec>,
    at: u64,
    armed: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.armed && self.exec.now() >= self.at {
            return Poll::Ready(());
        }
        if !self.armed {
            self.armed = true;
            let seq = self.exec.seq.get() + 1;
            self.exec.seq.set(seq);
            let id = self.exec.current.get();
            self.exec
                .timers
                .borrow_mut()
                .push(Reverse((self.at, seq, id)));
        }
        Poll::Pending
    }
}
