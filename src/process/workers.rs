//! A bounded pool of worker threads for everything that blocks: OOBI fetches, posts to other
//! agencies, backups. The run loop never waits on one of them.
//!
//! The service owns the pool. `submit` queues a job (a closure and a label for the log) under
//! an id of the owner's choosing; a full queue is `Busy`. A worker runs the job, sends its
//! outcome on a channel and wakes the poll on the pool's token; the loop then calls `drain`.
//! The service closes the pool after the servers and before the agency: `close` drops the
//! queued jobs, joins the workers that finish by the deadline and abandons, naming their jobs,
//! those that don't. Nothing is joined without a deadline.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use mio::{Registry, Token, Waker};

/// Worker threads, so at most this many jobs run at once.
pub const WORKERS: usize = 4;
/// Jobs that may wait for a worker before `submit` answers `Busy`.
pub const QUEUE: usize = 64;

/// The pause before work that failed `failures` times (from 1) is tried again: `first`,
/// doubling with each failure, at most `longest`.
pub fn retry_pause(first: Duration, longest: Duration, failures: u32) -> Duration {
    first
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(longest)
}

/// A job: runs on a worker, its outcome comes back through `drain`.
pub type Work<Out> = Box<dyn FnOnce() -> Out + Send>;

/// `submit` refused a job: the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "busy: too many jobs are waiting for a worker, try again later"
        )
    }
}

impl std::error::Error for Busy {}

/// The pool: a bounded queue, its workers, and the channel their outcomes come back on.
pub struct Workers<Id, Out> {
    jobs: OpenJobs<Id, Out>,
    threads: Vec<JoinHandle<()>>,
    exited: Receiver<usize>,
    outcomes: Receiver<(Id, Out)>,
    /// Submitted and not yet returned by `drain`: id and label, in submission order.
    pending: Vec<(Id, String)>,
}

impl<Id, Out> Workers<Id, Out>
where
    Id: Clone + PartialEq + Send + 'static,
    Out: Send + 'static,
{
    /// Starts `count` workers taking jobs from a queue of `queue`; each outcome wakes
    /// `registry`'s poll on `token`. A job that panics comes back as `panicked(message)`.
    ///
    /// mio allows one `Waker` per poll: this is it.
    pub fn new(
        registry: &Registry,
        token: Token,
        (count, queue): (usize, usize),
        panicked: fn(String) -> Out,
    ) -> Result<Self> {
        let waker = Arc::new(Waker::new(registry, token).context("creating the workers' waker")?);
        let jobs = OpenJobs(Arc::new(Jobs::new(queue)));
        let (outcome_sender, outcomes) = mpsc::channel();
        let (exit_sender, exited) = mpsc::channel();
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let worker = Worker {
                jobs: Arc::clone(&jobs.0),
                outcomes: outcome_sender.clone(),
                waker: Arc::clone(&waker),
                panicked,
                _exited: ExitNotice {
                    index,
                    sender: exit_sender.clone(),
                },
            };
            let spawned = thread::Builder::new()
                .name(format!("keria-worker-{index}"))
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => threads.push(handle),
                // Dropping `jobs` closes the queue, so the workers already started exit.
                Err(err) => return Err(err).context("starting a worker thread"),
            }
        }
        Ok(Self {
            jobs,
            threads,
            exited,
            outcomes,
            pending: Vec::new(),
        })
    }

    /// Queues `work` (`label` names it in the log); its outcome comes back from `drain` under
    /// `id`.
    pub fn submit(&mut self, id: Id, label: String, work: Work<Out>) -> Result<(), Busy> {
        self.jobs.0.push(Job {
            id: id.clone(),
            label: label.clone(),
            work,
        })?;
        self.pending.push((id, label));
        Ok(())
    }

    /// Every outcome that came back since the last call, without blocking.
    pub fn drain(&mut self) -> Vec<(Id, Out)> {
        let finished: Vec<(Id, Out)> = self.outcomes.try_iter().collect();
        for (id, _) in &finished {
            forget(&mut self.pending, id);
        }
        finished
    }

    /// Jobs submitted and not yet returned by `drain`.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The jobs in flight, for the log when the shutdown deadline passes.
    pub fn describe_open(&self) -> Vec<String> {
        self.pending
            .iter()
            .map(|(_, label)| label.clone())
            .collect()
    }

    /// Drops the queued jobs, joins the workers that finish by `deadline` and abandons the
    /// others (their jobs are logged); fails only if a worker panicked outside a job.
    pub fn close(self, deadline: Instant) -> Result<()> {
        let Self {
            jobs,
            threads,
            exited,
            outcomes,
            mut pending,
        } = self;
        let dropped = jobs.0.close();
        for (id, _) in &dropped {
            forget(&mut pending, id);
        }
        if !dropped.is_empty() {
            log::warn!(
                "dropped {} queued jobs at the stop: {}",
                dropped.len(),
                join_labels(dropped.iter().map(|(_, label)| label.as_str()))
            );
        }
        let mut threads: Vec<Option<JoinHandle<()>>> = threads.into_iter().map(Some).collect();
        let mut running = threads.len();
        let mut panics = Vec::new();
        while running > 0 {
            let index =
                match exited.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(index) => index,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                };
            running -= 1;
            if let Some(handle) = threads.get_mut(index).and_then(Option::take) {
                if let Err(panic) = handle.join() {
                    panics.push(format!("worker {index} panicked: {}", message(&*panic)));
                }
            }
        }
        for (id, _) in outcomes.try_iter() {
            forget(&mut pending, &id);
        }
        if running > 0 {
            // Dropping a JoinHandle detaches its thread; the process exit ends it.
            log::warn!(
                "abandoning {running} workers at the shutdown deadline, still running: {}",
                join_labels(pending.iter().map(|(_, label)| label.as_str()))
            );
        }
        if panics.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("{}", panics.join("; ")))
        }
    }
}

/// One job to run.
struct Job<Id, Out> {
    id: Id,
    label: String,
    work: Work<Out>,
}

/// The queue the workers take jobs from; `close` empties it and makes idle workers exit.
struct Jobs<Id, Out> {
    state: Mutex<JobsState<Id, Out>>,
    ready: Condvar,
    capacity: usize,
}

struct JobsState<Id, Out> {
    queue: VecDeque<Job<Id, Out>>,
    closed: bool,
}

impl<Id, Out> Jobs<Id, Out> {
    fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(JobsState {
                queue: VecDeque::with_capacity(capacity),
                closed: false,
            }),
            ready: Condvar::new(),
            capacity,
        }
    }

    fn push(&self, job: Job<Id, Out>) -> Result<(), Busy> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.queue.len() >= self.capacity {
            return Err(Busy);
        }
        state.queue.push_back(job);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job, waiting for one; `None` once closed.
    fn take(&self) -> Option<Job<Id, Out>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.closed {
                return None;
            }
            if let Some(job) = state.queue.pop_front() {
                return Some(job);
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Refuses further jobs, wakes every idle worker, and returns (id, label) of the jobs no
    /// worker started.
    fn close(&self) -> Vec<(Id, String)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        self.ready.notify_all();
        state
            .queue
            .drain(..)
            .map(|job| (job.id, job.label))
            .collect()
    }
}

/// The pool's hold on the queue: dropped without `close`, it still lets the workers exit.
struct OpenJobs<Id, Out>(Arc<Jobs<Id, Out>>);

impl<Id, Out> Drop for OpenJobs<Id, Out> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// What a worker thread owns.
struct Worker<Id, Out> {
    jobs: Arc<Jobs<Id, Out>>,
    outcomes: Sender<(Id, Out)>,
    waker: Arc<Waker>,
    panicked: fn(String) -> Out,
    /// Held only to be dropped, last, when the thread ends.
    _exited: ExitNotice,
}

impl<Id, Out> Worker<Id, Out> {
    fn run(self) {
        while let Some(Job { id, label, work }) = self.jobs.take() {
            let outcome = panic::catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
                let message = message(&*panic);
                log::error!("{label} panicked: {message}");
                (self.panicked)(message)
            });
            if self.outcomes.send((id, outcome)).is_err() {
                return;
            }
            if let Err(err) = self.waker.wake() {
                log::error!("waking the run loop after {label}: {err}");
            }
        }
    }
}

/// Tells `close` that a worker has ended, also when it ends by a panic.
struct ExitNotice {
    index: usize,
    sender: Sender<usize>,
}

impl Drop for ExitNotice {
    fn drop(&mut self) {
        // The pool may be gone already (an abandoned worker): nobody is left to tell.
        let _ = self.sender.send(self.index);
    }
}

/// Removes the first pending job with `id`.
fn forget<Id: PartialEq>(pending: &mut Vec<(Id, String)>, id: &Id) {
    if let Some(position) = pending.iter().position(|(pending, _)| pending == id) {
        pending.remove(position);
    }
}

fn join_labels<'l>(labels: impl Iterator<Item = &'l str>) -> String {
    labels.collect::<Vec<_>>().join(", ")
}

fn message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{self, Receiver, Sender};
    use std::sync::Mutex;
    use std::thread::{self, ThreadId};
    use std::time::{Duration, Instant};

    use mio::{Events, Poll, Token};

    use super::{Busy, Work, Workers};

    const TOKEN: Token = Token(9);
    /// How long a test waits for something that should happen at once, before failing.
    const PATIENCE: Duration = Duration::from_secs(20);

    type Pool = Workers<u64, Result<u32, String>>;

    fn open(count: usize, queue: usize) -> (Poll, Pool) {
        let poll = Poll::new().unwrap();
        let workers = Workers::new(poll.registry(), TOKEN, (count, queue), Err).unwrap();
        (poll, workers)
    }

    /// A job that says it started, then waits until `release` says go (or is dropped).
    fn held(started: &Sender<u64>, id: u64) -> (Work<Result<u32, String>>, Sender<()>) {
        let (release, go) = mpsc::channel::<()>();
        let started = started.clone();
        let work = Box::new(move || {
            started.send(id).unwrap();
            let _ = go.recv();
            Ok(1)
        });
        (work, release)
    }

    /// Polls until the pool's token has delivered `count` outcomes.
    fn wait_for(
        poll: &mut Poll,
        workers: &mut Pool,
        count: usize,
    ) -> Vec<(u64, Result<u32, String>)> {
        let deadline = Instant::now() + PATIENCE;
        let mut events = Events::with_capacity(8);
        let mut finished = Vec::new();
        while finished.len() < count {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("only {} of {count} outcomes came", finished.len()));
            poll.poll(&mut events, Some(left)).unwrap();
            for event in &events {
                assert_eq!(event.token(), TOKEN);
                finished.extend(workers.drain());
            }
        }
        finished
    }

    #[test]
    fn outcomes_come_back_through_the_waker_and_a_panic_is_an_outcome() {
        let (mut poll, mut workers) = open(2, 4);
        workers
            .submit(1, "one".into(), Box::new(|| Ok(41)))
            .unwrap();
        workers
            .submit(2, "two".into(), Box::new(|| panic!("boom")))
            .unwrap();
        let mut finished = wait_for(&mut poll, &mut workers, 2);
        finished.sort_by_key(|(id, _)| *id);
        assert_eq!(finished, [(1, Ok(41)), (2, Err("boom".to_owned()))]);
        assert_eq!(workers.in_flight(), 0);
        assert_eq!(
            close_by(workers, Instant::now() + PATIENCE),
            (Ok(()), Vec::new())
        );
    }

    #[test]
    fn a_retry_pause_doubles_from_the_first_up_to_the_longest() {
        let (first, longest) = (Duration::from_millis(250), Duration::from_secs(4));
        let pauses: Vec<u128> = (1..=7)
            .map(|failures| super::retry_pause(first, longest, failures).as_millis())
            .collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(super::retry_pause(first, longest, u32::MAX), longest);
    }

    #[test]
    fn submits_beyond_the_queue_are_busy() {
        let (started, running) = mpsc::channel();
        let (_poll, mut pool) = open(1, 2);
        let (first, _release) = held(&started, 1);
        pool.submit(1, "job 1".into(), first).unwrap();
        // The only worker has taken the first job and is held on it: the queue is empty.
        assert_eq!(running.recv_timeout(PATIENCE), Ok(1));
        pool.submit(2, "job 2".into(), Box::new(|| Ok(2))).unwrap();
        pool.submit(3, "job 3".into(), Box::new(|| Ok(3))).unwrap();
        assert_eq!(
            pool.submit(4, "job 4".into(), Box::new(|| Ok(4))),
            Err(Busy)
        );
        assert_eq!(pool.in_flight(), 3);
        assert_eq!(pool.describe_open(), ["job 1", "job 2", "job 3"]);
        let (closed, _) = close_by(pool, Instant::now());
        assert_eq!(closed, Ok(()));
    }

    #[test]
    fn close_joins_idle_workers_and_abandons_a_stuck_one_naming_its_job() {
        let (started, running) = mpsc::channel();
        let (_poll, mut pool) = open(2, 4);
        let (stuck, _release) = held(&started, 1);
        pool.submit(1, "GET http://127.0.0.1:9/slow".into(), stuck)
            .unwrap();
        assert_eq!(running.recv_timeout(PATIENCE), Ok(1));
        let (closed, logged) = close_by(pool, Instant::now() + Duration::from_millis(100));
        assert_eq!(closed, Ok(()));
        assert_eq!(
            logged,
            ["abandoning 1 workers at the shutdown deadline, still running: GET http://127.0.0.1:9/slow"]
        );
    }

    #[test]
    fn close_drops_queued_jobs() {
        let (started, running) = mpsc::channel();
        let (_poll, mut pool) = open(1, 4);
        let (stuck, _release) = held(&started, 1);
        pool.submit(1, "job 1".into(), stuck).unwrap();
        assert_eq!(running.recv_timeout(PATIENCE), Ok(1));
        pool.submit(2, "job 2".into(), Box::new(|| Ok(2))).unwrap();
        let (closed, logged) = close_by(pool, Instant::now() + Duration::from_millis(100));
        assert_eq!(closed, Ok(()));
        assert_eq!(
            logged,
            [
                "dropped 1 queued jobs at the stop: job 2",
                "abandoning 1 workers at the shutdown deadline, still running: job 1",
            ]
        );
    }

    #[test]
    fn close_joins_every_idle_worker() {
        let (_poll, pool) = open(4, 4);
        let (closed, logged) = close_by(pool, Instant::now() + PATIENCE);
        assert_eq!(closed, Ok(()));
        assert_eq!(logged, Vec::<String>::new());
    }

    /// Closes `pool` on a thread of its own; fails unless close returns within `PATIENCE`.
    /// Returns its result and what it logged.
    fn close_by(pool: Pool, deadline: Instant) -> (Result<(), String>, Vec<String>) {
        capture_logs();
        let (sender, returned): (_, Receiver<_>) = mpsc::channel();
        thread::spawn(move || {
            let closed = pool.close(deadline).map_err(|err| format!("{err:#}"));
            sender.send((closed, logged_here())).unwrap();
        });
        returned
            .recv_timeout(PATIENCE)
            .expect("close returned by its deadline")
    }

    /// Log lines, with the thread that wrote them, so each test reads only its own.
    static LOGGED: Mutex<Vec<(ThreadId, String)>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            let line = record.args().to_string();
            LOGGED.lock().unwrap().push((thread::current().id(), line));
        }

        fn flush(&self) {}
    }

    fn capture_logs() {
        static CAPTURE: Capture = Capture;
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            log::set_logger(&CAPTURE).expect("no other logger in the unit tests");
            log::set_max_level(log::LevelFilter::Debug);
        });
    }

    fn logged_here() -> Vec<String> {
        let here = thread::current().id();
        LOGGED
            .lock()
            .unwrap()
            .iter()
            .filter(|(thread, _)| *thread == here)
            .map(|(_, line)| line.clone())
            .collect()
    }
}
