//! Outbound HTTP GETs (OOBI URLs) and POSTs (KERI messages to other agents) on a small pool of
//! worker threads, so the run loop never blocks.
//!
//! The service owns the `Fetcher`: `submit` queues a GET and `submit_post` a POST (bounded; a
//! full queue is `Busy`; a POST that cannot connect is tried again, `POST_ATTEMPTS` in all), a
//! worker fetches it with timeouts, a redirect limit and a body size limit, puts the result on
//! a channel and wakes the poll on the fetcher's token; the loop then calls `drain`. The
//! service closes it after the servers and before the agency: `close` drops the queued fetches,
//! joins the workers that finish by the deadline and abandons, naming their URLs, those that
//! don't.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use mio::{Registry, Token, Waker};
use url::Url;

/// Worker threads, so at most this many fetches run at once.
const WORKERS: usize = 4;
/// Fetches that may wait for a worker before `submit` answers `Busy`.
const QUEUE: usize = 64;
/// Time allowed to open each connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for the whole fetch: connect, redirects, headers and body. ureq bounds every
/// read by what is left of it (its overall timeout replaces a per-read one).
const DEADLINE: Duration = Duration::from_secs(DEFAULT_DEADLINE_SECONDS);
/// The default deadline of a whole fetch, in seconds (`--fetch-timeout`).
pub const DEFAULT_DEADLINE_SECONDS: u64 = 10;
/// Redirects followed before the fetch fails.
const REDIRECTS: u32 = 3;
/// Largest response body accepted, in bytes (4 MiB).
const MAX_BODY: u64 = 4 * 1024 * 1024;
/// Attempts of a POST whose connection fails (each within the deadline), before it fails.
const POST_ATTEMPTS: u32 = 3;
/// Pause before the second attempt of a POST; doubled before each later one.
const POST_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Characters of a refused POST's answer kept in its failure reason.
const REASON_LENGTH: usize = 300;

/// The bounds of every fetch and of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    workers: usize,
    queue: usize,
    connect_timeout: Duration,
    deadline: Duration,
    redirects: u32,
    max_body: u64,
}

impl FetchLimits {
    /// These limits with `deadline` for a whole fetch (the connect timeout stays within it).
    #[must_use]
    pub fn with_deadline(self, deadline: Duration) -> Self {
        Self {
            deadline,
            connect_timeout: self.connect_timeout.min(deadline),
            ..self
        }
    }
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            workers: WORKERS,
            queue: QUEUE,
            connect_timeout: CONNECT_TIMEOUT,
            deadline: DEADLINE,
            redirects: REDIRECTS,
            max_body: MAX_BODY,
        }
    }
}

/// Why `submit` refused a fetch; the caller fails its operation with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The queue is full: too many fetches are already waiting for a worker.
    Busy,
    /// The URL's scheme (named) is neither `http` nor `https`.
    UnsupportedScheme(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy => write!(f, "busy: too many fetches are waiting, try again later"),
            Self::UnsupportedScheme(scheme) => {
                write!(f, "only http and https URLs are fetched, not {scheme}:")
            }
        }
    }
}

impl std::error::Error for FetchError {}

/// A finished fetch, as `drain` hands it back.
#[derive(Debug)]
pub struct Fetched {
    pub id: u64,
    pub url: Url,
    /// The body, or why there is none (a timeout, a status, a size, a refused connection).
    pub outcome: Result<FetchedBody, String>,
}

/// The body and headers of a POST.
#[derive(Debug, PartialEq, Eq)]
pub struct Post {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A 2xx response.
#[derive(Debug, PartialEq, Eq)]
pub struct FetchedBody {
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// The pool: a bounded queue, its workers, and the channel their results come back on.
pub struct Fetcher {
    jobs: OpenJobs,
    workers: Vec<JoinHandle<()>>,
    exited: Receiver<usize>,
    results: Receiver<Fetched>,
    /// Submitted and not yet returned by `drain`, in submission order.
    pending: Vec<Job>,
}

impl Fetcher {
    /// Starts the workers; each result wakes `registry`'s poll on `token`.
    ///
    /// mio allows one `Waker` per poll: this is it.
    pub fn new(registry: &Registry, token: Token, limits: FetchLimits) -> Result<Self> {
        let waker = Arc::new(Waker::new(registry, token).context("creating the fetch waker")?);
        // Built by the first fetch, not at start: an agency that fetches nothing never pays
        // for an HTTP client and its TLS roots.
        let agent = Arc::new(LazyAgent {
            limits,
            agent: OnceLock::new(),
        });
        let jobs = OpenJobs(Arc::new(Jobs::new(limits.queue)));
        let (result_sender, results) = mpsc::channel();
        let (exit_sender, exited) = mpsc::channel();
        let mut workers = Vec::with_capacity(limits.workers);
        for index in 0..limits.workers {
            let worker = Worker {
                jobs: Arc::clone(&jobs.0),
                agent: Arc::clone(&agent),
                max_body: limits.max_body,
                results: result_sender.clone(),
                waker: Arc::clone(&waker),
                _exited: ExitNotice {
                    index,
                    sender: exit_sender.clone(),
                },
            };
            let spawned = thread::Builder::new()
                .name(format!("keria-fetch-{index}"))
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => workers.push(handle),
                // Dropping `jobs` closes the queue, so the workers already started exit.
                Err(err) => return Err(err).context("starting a fetch worker thread"),
            }
        }
        Ok(Self {
            jobs,
            workers,
            exited,
            results,
            pending: Vec::new(),
        })
    }

    /// Queues a GET of `url`; its result comes back from `drain` under `id`.
    pub fn submit(&mut self, id: u64, url: Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::UnsupportedScheme(url.scheme().to_owned()));
        }
        let job = Job {
            id,
            url,
            post: None,
        };
        self.jobs.0.push(job.clone())?;
        self.pending.push(job);
        Ok(())
    }

    /// Queues a POST of `post` to `url`; its result (the answer's body) comes back from `drain`
    /// under `id`.
    pub fn submit_post(&mut self, id: u64, url: Url, post: Post) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::UnsupportedScheme(url.scheme().to_owned()));
        }
        let job = Job {
            id,
            url,
            post: Some(Arc::new(post)),
        };
        self.jobs.0.push(job.clone())?;
        self.pending.push(job);
        Ok(())
    }

    /// Every fetch finished since the last call, without blocking.
    pub fn drain(&mut self) -> Vec<Fetched> {
        let finished: Vec<Fetched> = self.results.try_iter().collect();
        for fetched in &finished {
            forget(&mut self.pending, fetched.id);
        }
        finished
    }

    /// Fetches submitted and not yet returned by `drain`.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// The fetches in flight, for the log when the shutdown deadline passes.
    pub fn describe_open(&self) -> Vec<String> {
        self.pending
            .iter()
            .map(|job| format!("fetch {} of {}", job.id, job.url))
            .collect()
    }

    /// Drops the queued fetches, joins the workers that finish by `deadline` and abandons the
    /// others (their URLs are logged); fails only if a worker panicked.
    pub fn close(self, deadline: Instant) -> Result<()> {
        let Self {
            jobs,
            workers,
            exited,
            results,
            mut pending,
        } = self;
        let dropped = jobs.0.close();
        for job in &dropped {
            forget(&mut pending, job.id);
        }
        if !dropped.is_empty() {
            log::warn!(
                "dropped {} queued fetches at the stop: {}",
                dropped.len(),
                list_urls(&dropped)
            );
        }
        let mut workers: Vec<Option<JoinHandle<()>>> = workers.into_iter().map(Some).collect();
        let mut running = workers.len();
        let mut panics = Vec::new();
        while running > 0 {
            let index =
                match exited.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(index) => index,
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                };
            running -= 1;
            if let Some(handle) = workers.get_mut(index).and_then(Option::take) {
                if let Err(panic) = handle.join() {
                    panics.push(format!(
                        "fetch worker {index} panicked: {}",
                        message(&*panic)
                    ));
                }
            }
        }
        for fetched in results.try_iter() {
            forget(&mut pending, fetched.id);
        }
        if running > 0 {
            // Dropping a JoinHandle detaches its thread; the process exit ends it.
            log::warn!(
                "abandoning {running} fetch workers at the shutdown deadline, still fetching: {}",
                list_urls(&pending)
            );
        }
        if panics.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("{}", panics.join("; ")))
        }
    }
}

/// One GET (or POST) to do.
#[derive(Debug, Clone)]
struct Job {
    id: u64,
    url: Url,
    post: Option<Arc<Post>>,
}

/// The queue the workers take jobs from; `close` empties it and makes idle workers exit.
struct Jobs {
    state: Mutex<JobsState>,
    ready: Condvar,
    capacity: usize,
}

struct JobsState {
    queue: VecDeque<Job>,
    closed: bool,
}

impl Jobs {
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

    fn push(&self, job: Job) -> Result<(), FetchError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.queue.len() >= self.capacity {
            return Err(FetchError::Busy);
        }
        state.queue.push_back(job);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job, waiting for one; `None` once closed.
    fn take(&self) -> Option<Job> {
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

    /// Refuses further jobs, wakes every idle worker, and returns the jobs no worker started.
    fn close(&self) -> Vec<Job> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        self.ready.notify_all();
        state.queue.drain(..).collect()
    }
}

/// The fetcher's hold on the queue: dropped without `close`, it still lets the workers exit.
struct OpenJobs(Arc<Jobs>);

impl Drop for OpenJobs {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// What a worker thread owns.
struct Worker {
    jobs: Arc<Jobs>,
    agent: Arc<LazyAgent>,
    max_body: u64,
    results: Sender<Fetched>,
    waker: Arc<Waker>,
    /// Held only to be dropped, last, when the thread ends.
    _exited: ExitNotice,
}

impl Worker {
    fn run(self) {
        while let Some(Job { id, url, post }) = self.jobs.take() {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| match &post {
                None => fetch(self.agent.get(), &url, self.max_body),
                Some(post) => send(self.agent.get(), &url, post, self.max_body),
            }))
            .unwrap_or_else(|panic| {
                log::error!("the fetch of {url} panicked: {}", message(&*panic));
                Err(format!("the fetch panicked: {}", message(&*panic)))
            });
            if self.results.send(Fetched { id, url, outcome }).is_err() {
                return;
            }
            if let Err(err) = self.waker.wake() {
                log::error!("waking the run loop after a fetch: {err}");
            }
        }
    }
}

/// The HTTP client every worker shares, built on first use.
struct LazyAgent {
    limits: FetchLimits,
    agent: OnceLock<ureq::Agent>,
}

impl LazyAgent {
    fn get(&self) -> &ureq::Agent {
        self.agent.get_or_init(|| {
            ureq::AgentBuilder::new()
                .timeout_connect(self.limits.connect_timeout)
                .timeout(self.limits.deadline)
                .redirects(self.limits.redirects)
                .user_agent(concat!("keria/", env!("CARGO_PKG_VERSION")))
                .build()
        })
    }
}

/// Tells `close` that a worker has ended, also when it ends by a panic.
struct ExitNotice {
    index: usize,
    sender: Sender<usize>,
}

impl Drop for ExitNotice {
    fn drop(&mut self) {
        // The fetcher may be gone already (an abandoned worker): nobody is left to tell.
        let _ = self.sender.send(self.index);
    }
}

/// GETs `url`: a 2xx status and a body of at most `max_body` bytes, or why not.
fn fetch(agent: &ureq::Agent, url: &Url, max_body: u64) -> Result<FetchedBody, String> {
    let response = match agent.request_url("GET", url).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(status, _)) => return Err(format!("HTTP status {status}")),
        Err(ureq::Error::Transport(transport)) => return Err(transport_reason(&transport)),
    };
    read_body(response, max_body)
}

/// POSTs `post` to `url`, trying again when the connection fails: a 2xx status, or why not
/// (a refusal's status and reason).
fn send(agent: &ureq::Agent, url: &Url, post: &Post, max_body: u64) -> Result<FetchedBody, String> {
    let mut pause = POST_RETRY_PAUSE;
    for attempt in 1..=POST_ATTEMPTS {
        let mut request = agent.request_url("POST", url);
        for (name, value) in &post.headers {
            request = request.set(name, value);
        }
        match request.send_bytes(&post.body) {
            Ok(response) => return read_body(response, max_body),
            Err(ureq::Error::Status(status, response)) => {
                let reason: String = response
                    .into_string()
                    .unwrap_or_default()
                    .chars()
                    .take(REASON_LENGTH)
                    .collect();
                return Err(format!("HTTP status {status}: {reason}"));
            }
            Err(ureq::Error::Transport(transport)) if attempt == POST_ATTEMPTS => {
                return Err(format!(
                    "{} (after {attempt} attempts)",
                    transport_reason(&transport)
                ));
            }
            Err(ureq::Error::Transport(_)) => {
                thread::sleep(pause);
                pause *= 2;
            }
        }
    }
    Err("no attempt was made".to_owned())
}

/// A 2xx answer's body, at most `max_body` bytes.
fn read_body(response: ureq::Response, max_body: u64) -> Result<FetchedBody, String> {
    let status = response.status();
    if !(200..300).contains(&status) {
        return Err(format!("HTTP status {status}"));
    }
    let too_large = || format!("response larger than {max_body} bytes");
    let announced = response
        .header("content-length")
        .and_then(|length| length.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > max_body) {
        return Err(too_large());
    }
    let content_type = response.header("content-type").map(str::to_owned);
    let mut body = Vec::new();
    response
        .into_reader()
        .take(max_body.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|err| match err.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                format!("timed out reading the body: {err}")
            }
            _ => format!("reading the body: {err}"),
        })?;
    if u64::try_from(body.len()).map_or(true, |length| length > max_body) {
        return Err(too_large());
    }
    Ok(FetchedBody { content_type, body })
}

/// A failure before any response, without the URL (the result carries it): "timed out: …" for
/// every timeout, else ureq's kind ("connection failed: …", "dns failed: …"), then ureq's message
/// and the root cause.
fn transport_reason(transport: &ureq::Transport) -> String {
    let mut timed_out = false;
    let mut root = None;
    let mut source = std::error::Error::source(transport);
    while let Some(error) = source {
        if let Some(io_error) = error.downcast_ref::<io::Error>() {
            timed_out |= matches!(
                io_error.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            );
        }
        root = Some(error);
        source = error.source();
    }
    let mut reason = if timed_out {
        "timed out".to_owned()
    } else {
        transport.kind().to_string().to_lowercase()
    };
    for detail in [
        transport.message().map(str::to_owned),
        root.map(ToString::to_string),
    ]
    .into_iter()
    .flatten()
    {
        reason.push_str(": ");
        reason.push_str(&detail);
    }
    reason
}

/// Removes the first pending job with `id`.
fn forget(pending: &mut Vec<Job>, id: u64) {
    if let Some(position) = pending.iter().position(|job| job.id == id) {
        pending.remove(position);
    }
}

fn list_urls(jobs: &[Job]) -> String {
    let urls: Vec<&str> = jobs.iter().map(|job| job.url.as_str()).collect();
    urls.join(", ")
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
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, Receiver};
    use std::sync::Mutex;
    use std::thread::{self, ThreadId};
    use std::time::{Duration, Instant};

    use mio::{Events, Poll, Token};
    use url::Url;

    use super::{FetchError, FetchLimits, Fetched, FetchedBody, Fetcher, Post, POST_ATTEMPTS};

    const TOKEN: Token = Token(9);
    /// How long a test waits for something that should happen at once, before failing.
    const PATIENCE: Duration = Duration::from_secs(20);

    /// A loopback HTTP server answering every request with `response`.
    fn answering(response: Vec<u8>) -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/oobi", listener.local_addr().unwrap())).unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                read_request(&mut stream);
                // The client may give up early (a body too large): that is its business.
                let _ = stream.write_all(&response);
            }
        });
        url
    }

    /// A loopback server that accepts and never answers: each connection is handed to the test,
    /// which holds it open as long as it likes (the handing-over says a worker connected).
    fn silent() -> (Url, Receiver<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/slow", listener.local_addr().unwrap())).unwrap();
        let (sender, accepted) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                if sender.send(stream).is_err() {
                    return;
                }
            }
        });
        (url, accepted)
    }

    fn read_request(stream: &mut TcpStream) {
        let mut request = Vec::new();
        let mut buffer = [0_u8; 1024];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(read) => request.extend_from_slice(&buffer[..read]),
            }
        }
    }

    fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(body);
        response
    }

    fn open(limits: FetchLimits) -> (Poll, Fetcher) {
        let poll = Poll::new().unwrap();
        let fetcher = Fetcher::new(poll.registry(), TOKEN, limits).unwrap();
        (poll, fetcher)
    }

    /// Polls until the fetcher's token has delivered `count` results.
    fn wait_for(poll: &mut Poll, fetcher: &mut Fetcher, count: usize) -> Vec<Fetched> {
        let deadline = Instant::now() + PATIENCE;
        let mut events = Events::with_capacity(8);
        let mut finished = Vec::new();
        while finished.len() < count {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("only {} of {count} results came", finished.len()));
            poll.poll(&mut events, Some(left)).unwrap();
            for event in &events {
                assert_eq!(event.token(), TOKEN);
                finished.extend(fetcher.drain());
            }
        }
        finished
    }

    /// Fetches `url` alone and returns its outcome.
    fn fetch_one(limits: FetchLimits, url: &Url) -> Result<FetchedBody, String> {
        let (mut poll, mut fetcher) = open(limits);
        fetcher.submit(7, url.clone()).unwrap();
        assert_eq!(fetcher.in_flight(), 1);
        let mut finished = wait_for(&mut poll, &mut fetcher, 1);
        assert_eq!(fetcher.in_flight(), 0);
        let (closed, logged) = close_by(fetcher, Instant::now() + PATIENCE);
        assert_eq!((closed, logged), (Ok(()), Vec::new()));
        let result = finished.pop().unwrap();
        assert_eq!((result.id, &result.url), (7, url));
        result.outcome
    }

    fn failure(limits: FetchLimits, url: &Url) -> String {
        match fetch_one(limits, url) {
            Ok(body) => panic!("fetched {body:?}, expected a failure"),
            Err(reason) => reason,
        }
    }

    #[test]
    fn a_cesr_body_comes_back_through_the_waker() {
        let cesr = br#"{"v":"KERI10JSON00012b_","t":"icp"}-AABAAB"#;
        let url = answering(response("200 OK", "application/cesr", cesr));
        let body = fetch_one(FetchLimits::default(), &url).unwrap();
        assert_eq!(
            body,
            FetchedBody {
                content_type: Some("application/cesr".to_owned()),
                body: cesr.to_vec(),
            }
        );
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        let (url, accepted) = silent();
        let limits = FetchLimits {
            deadline: Duration::from_millis(200),
            ..FetchLimits::default()
        };
        let reason = failure(limits, &url);
        assert_eq!(reason, "timed out: timed out reading response");
        // The server still holds the connection: the deadline, not the server, ended the fetch.
        let _held = accepted.recv_timeout(PATIENCE).unwrap();
    }

    #[test]
    fn a_body_over_the_limit_fails_and_one_at_the_limit_passes() {
        let limits = FetchLimits {
            max_body: 16,
            ..FetchLimits::default()
        };
        let at_limit = answering(response("200 OK", "application/cesr", &[b'a'; 16]));
        assert_eq!(fetch_one(limits, &at_limit).unwrap().body, [b'a'; 16]);
        let over = answering(response("200 OK", "application/cesr", &[b'a'; 17]));
        assert_eq!(failure(limits, &over), "response larger than 16 bytes");
        // Without a Content-Length, the limit is found by reading.
        let mut unannounced = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        unannounced.extend_from_slice(&[b'a'; 17]);
        assert_eq!(
            failure(limits, &answering(unannounced)),
            "response larger than 16 bytes"
        );
    }

    #[test]
    fn a_404_fails_naming_the_status() {
        let url = answering(response("404 Not Found", "text/plain", b"no such oobi"));
        assert_eq!(failure(FetchLimits::default(), &url), "HTTP status 404");
    }

    #[test]
    fn a_refused_connection_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/oobi", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        let reason = failure(FetchLimits::default(), &url);
        assert!(
            reason.starts_with("connection failed: Connect error: Connection refused"),
            "{reason}"
        );
    }

    /// Posts `post` to `url` and waits for the outcome.
    fn post_one(url: &Url, post: Post) -> Result<FetchedBody, String> {
        let (mut poll, mut fetcher) = open(FetchLimits::default());
        fetcher.submit_post(3, url.clone(), post).unwrap();
        let result = wait_for(&mut poll, &mut fetcher, 1).pop().unwrap();
        assert_eq!(close_by(fetcher, Instant::now() + PATIENCE).0, Ok(()));
        result.outcome
    }

    #[test]
    fn a_post_carries_its_headers_and_body_and_a_refused_one_is_tried_again() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let (sender, received) = mpsc::channel();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0_u8; 1024];
            while !request.ends_with(b"{\"t\":\"exn\"}") {
                let read = stream.read(&mut buffer).unwrap();
                assert!(read > 0, "the request ended early");
                request.extend_from_slice(&buffer[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            sender.send(String::from_utf8(request).unwrap()).unwrap();
        });
        let post = Post {
            headers: vec![("CESR-DESTINATION".into(), "EAlice".into())],
            body: br#"{"t":"exn"}"#.to_vec(),
        };
        assert_eq!(post_one(&url, post).unwrap().body, b"");
        let request = received.recv_timeout(PATIENCE).unwrap();
        assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
        assert!(
            request.contains("CESR-DESTINATION: EAlice\r\n"),
            "{request}"
        );

        let refusing = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", refusing.local_addr().unwrap())).unwrap();
        drop(refusing);
        let post = Post {
            headers: Vec::new(),
            body: Vec::new(),
        };
        let reason = post_one(&url, post).unwrap_err();
        assert!(
            reason.ends_with(&format!("(after {POST_ATTEMPTS} attempts)")),
            "{reason}"
        );
    }

    #[test]
    fn only_http_and_https_are_submitted() {
        let (_poll, mut fetcher) = open(FetchLimits::default());
        for (url, scheme) in [
            ("file:///etc/passwd", "file"),
            ("ftp://127.0.0.1/oobi", "ftp"),
        ] {
            assert_eq!(
                fetcher.submit(1, Url::parse(url).unwrap()),
                Err(FetchError::UnsupportedScheme(scheme.to_owned()))
            );
        }
        assert_eq!(fetcher.in_flight(), 0);
        let (closed, _) = close_by(fetcher, Instant::now() + PATIENCE);
        assert_eq!(closed, Ok(()));
    }

    #[test]
    fn submits_beyond_the_queue_are_busy() {
        let (url, accepted) = silent();
        let limits = FetchLimits {
            workers: 1,
            queue: 2,
            ..FetchLimits::default()
        };
        let (_poll, mut fetcher) = open(limits);
        fetcher.submit(1, url.clone()).unwrap();
        // The only worker has taken the first fetch and is stuck on it: the queue is empty.
        let _held = accepted.recv_timeout(PATIENCE).unwrap();
        fetcher.submit(2, url.clone()).unwrap();
        fetcher.submit(3, url.clone()).unwrap();
        assert_eq!(fetcher.submit(4, url.clone()), Err(FetchError::Busy));
        assert_eq!(fetcher.in_flight(), 3);
        assert_eq!(
            fetcher.describe_open(),
            [1, 2, 3].map(|id| format!("fetch {id} of {url}"))
        );
        let (closed, _) = close_by(fetcher, Instant::now());
        assert_eq!(closed, Ok(()));
    }

    /// Closes `fetcher` on a thread of its own; fails unless close returns within `PATIENCE`.
    /// Returns its result and what it logged.
    fn close_by(fetcher: Fetcher, deadline: Instant) -> (Result<(), String>, Vec<String>) {
        capture_logs();
        let (sender, returned) = mpsc::channel();
        thread::spawn(move || {
            let closed = fetcher.close(deadline).map_err(|err| format!("{err:#}"));
            sender.send((closed, logged_here())).unwrap();
        });
        returned
            .recv_timeout(PATIENCE)
            .expect("close returned by its deadline")
    }

    #[test]
    fn close_joins_idle_workers_and_abandons_a_stuck_one_naming_its_url() {
        let (url, accepted) = silent();
        let limits = FetchLimits {
            workers: 2,
            deadline: Duration::from_secs(600),
            ..FetchLimits::default()
        };
        let (_poll, mut fetcher) = open(limits);
        fetcher.submit(1, url.clone()).unwrap();
        // Held open until close has returned, so close cannot have waited for this fetch.
        let _held = accepted.recv_timeout(PATIENCE).unwrap();
        let (closed, logged) = close_by(fetcher, Instant::now() + Duration::from_millis(100));
        assert_eq!(closed, Ok(()));
        assert_eq!(
            logged,
            [format!(
                "abandoning 1 fetch workers at the shutdown deadline, still fetching: {url}"
            )]
        );
    }

    #[test]
    fn close_drops_queued_fetches() {
        let (url, accepted) = silent();
        let limits = FetchLimits {
            workers: 1,
            deadline: Duration::from_secs(600),
            ..FetchLimits::default()
        };
        let (_poll, mut fetcher) = open(limits);
        fetcher.submit(1, url.clone()).unwrap();
        let _held = accepted.recv_timeout(PATIENCE).unwrap();
        let queued = Url::parse("http://127.0.0.1:9/queued").unwrap();
        fetcher.submit(2, queued.clone()).unwrap();
        let (closed, logged) = close_by(fetcher, Instant::now() + Duration::from_millis(100));
        assert_eq!(closed, Ok(()));
        assert_eq!(
            logged,
            [
                format!("dropped 1 queued fetches at the stop: {queued}"),
                format!(
                    "abandoning 1 fetch workers at the shutdown deadline, still fetching: {url}"
                ),
            ]
        );
    }

    #[test]
    fn close_joins_every_idle_worker() {
        let (_poll, fetcher) = open(FetchLimits::default());
        let (closed, logged) = close_by(fetcher, Instant::now() + PATIENCE);
        assert_eq!(closed, Ok(()));
        assert_eq!(logged, Vec::<String>::new());
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
