//! Outbound HTTP: GETs of OOBI URLs and POSTs of KERI messages to other agents, as jobs for
//! the worker pool (`workers`), so the run loop never blocks on the network.
//!
//! `Fetcher::get` and `Fetcher::post` check a URL and return the job; a worker runs it with
//! timeouts, a redirect limit and a body size limit. A POST whose connection fails is tried
//! again, `POST_ATTEMPTS` in all. Every failure is a `FetchFailure`, so callers decide on its
//! kind (a 4xx is final), never on its wording.

use std::fmt;
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use url::Url;

use super::workers::Work;

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

/// The bounds of every fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
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
            connect_timeout: CONNECT_TIMEOUT,
            deadline: DEADLINE,
            redirects: REDIRECTS,
            max_body: MAX_BODY,
        }
    }
}

/// Why a fetch or post did not bring back a 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// Never started: the URL's scheme, a full queue (the reason says which).
    NotStarted(String),
    /// The server answered with a status outside 2xx; a refused POST keeps the start of its
    /// answer.
    Status { status: u16, reason: Option<String> },
    /// The answer was larger than the limit, in bytes.
    TooLarge(u64),
    /// No answer: a refused connection, a name that does not resolve, TLS, a timeout (ureq's
    /// words), and for a POST how many attempts were made.
    Transport { reason: String, attempts: u32 },
    /// The answer's body could not be read.
    Body(String),
    /// The job panicked.
    Panicked(String),
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted(reason)
            | Self::Body(reason)
            | Self::Transport {
                reason,
                attempts: 0 | 1,
            } => write!(f, "{reason}"),
            Self::Status {
                status,
                reason: None,
            } => write!(f, "HTTP status {status}"),
            Self::Status {
                status,
                reason: Some(reason),
            } => write!(f, "HTTP status {status}: {reason}"),
            Self::TooLarge(limit) => write!(f, "response larger than {limit} bytes"),
            Self::Transport { reason, attempts } => {
                write!(f, "{reason} (after {attempts} attempts)")
            }
            Self::Panicked(message) => write!(f, "the fetch panicked: {message}"),
        }
    }
}

impl FetchFailure {
    /// Whether the other side refused the request itself (a 4xx): sending it again changes
    /// nothing.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 400..=499,
                ..
            }
        )
    }
}

/// What a fetch job gives back.
pub type FetchOutcome = Result<FetchedBody, FetchFailure>;

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

/// Makes fetch jobs; every job shares one HTTP client, built by the first fetch (an agency
/// that fetches nothing never pays for an HTTP client and its TLS roots).
#[derive(Clone)]
pub struct Fetcher {
    client: Arc<LazyAgent>,
}

impl Fetcher {
    pub fn new(limits: FetchLimits) -> Self {
        Self {
            client: Arc::new(LazyAgent {
                limits,
                agent: OnceLock::new(),
            }),
        }
    }

    /// The job that GETs `url`: a 2xx answer and its body, or why not.
    pub fn get(&self, url: Url) -> Result<Work<FetchOutcome>, FetchFailure> {
        check_scheme(&url)?;
        let client = Arc::clone(&self.client);
        Ok(Box::new(move || {
            fetch(client.get(), &url, client.limits.max_body)
        }))
    }

    /// The job that POSTs `post` to `url`, trying again when the connection fails.
    pub fn post(&self, url: Url, post: Post) -> Result<Work<FetchOutcome>, FetchFailure> {
        check_scheme(&url)?;
        let client = Arc::clone(&self.client);
        Ok(Box::new(move || {
            send(client.get(), &url, &post, client.limits.max_body)
        }))
    }
}

/// Only http and https URLs are fetched.
fn check_scheme(url: &Url) -> Result<(), FetchFailure> {
    if matches!(url.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(FetchFailure::NotStarted(format!(
            "only http and https URLs are fetched, not {}:",
            url.scheme()
        )))
    }
}

/// The HTTP client every job shares, built on first use.
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

/// GETs `url`: a 2xx status and a body of at most `max_body` bytes, or why not.
fn fetch(agent: &ureq::Agent, url: &Url, max_body: u64) -> FetchOutcome {
    let response = match agent.request_url("GET", url).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(status, _)) => {
            return Err(FetchFailure::Status {
                status,
                reason: None,
            })
        }
        Err(ureq::Error::Transport(transport)) => {
            return Err(FetchFailure::Transport {
                reason: transport_reason(&transport),
                attempts: 1,
            })
        }
    };
    read_body(response, max_body)
}

/// POSTs `post` to `url`, trying again when the connection fails: a 2xx status, or why not
/// (a refusal's status and reason).
fn send(agent: &ureq::Agent, url: &Url, post: &Post, max_body: u64) -> FetchOutcome {
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
                return Err(FetchFailure::Status {
                    status,
                    reason: Some(reason),
                });
            }
            Err(ureq::Error::Transport(transport)) if attempt == POST_ATTEMPTS => {
                return Err(FetchFailure::Transport {
                    reason: transport_reason(&transport),
                    attempts: attempt,
                });
            }
            Err(ureq::Error::Transport(_)) => {
                thread::sleep(pause);
                pause *= 2;
            }
        }
    }
    Err(FetchFailure::NotStarted("no attempt was made".to_owned()))
}

/// A 2xx answer's body, at most `max_body` bytes.
fn read_body(response: ureq::Response, max_body: u64) -> FetchOutcome {
    let status = response.status();
    if !(200..300).contains(&status) {
        return Err(FetchFailure::Status {
            status,
            reason: None,
        });
    }
    let too_large = || FetchFailure::TooLarge(max_body);
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
                FetchFailure::Body(format!("timed out reading the body: {err}"))
            }
            _ => FetchFailure::Body(format!("reading the body: {err}")),
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, Receiver};
    use std::thread;
    use std::time::Duration;

    use url::Url;

    use super::{
        FetchFailure, FetchLimits, FetchOutcome, FetchedBody, Fetcher, Post, POST_ATTEMPTS,
    };

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

    /// Fetches `url` alone (the job runs here) and returns its outcome.
    fn fetch_one(limits: FetchLimits, url: &Url) -> FetchOutcome {
        Fetcher::new(limits).get(url.clone()).unwrap()()
    }

    fn failure(limits: FetchLimits, url: &Url) -> String {
        match fetch_one(limits, url) {
            Ok(body) => panic!("fetched {body:?}, expected a failure"),
            Err(reason) => reason.to_string(),
        }
    }

    #[test]
    fn a_cesr_body_comes_back() {
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

    /// Posts `post` to `url` (the job runs here) and returns the outcome.
    fn post_one(url: &Url, post: Post) -> FetchOutcome {
        Fetcher::new(FetchLimits::default())
            .post(url.clone(), post)
            .unwrap()()
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
        let reason = post_one(&url, post).unwrap_err().to_string();
        assert!(
            reason.ends_with(&format!("(after {POST_ATTEMPTS} attempts)")),
            "{reason}"
        );
    }

    #[test]
    fn only_http_and_https_are_fetched() {
        let fetcher = Fetcher::new(FetchLimits::default());
        for (url, scheme) in [
            ("file:///etc/passwd", "file"),
            ("ftp://127.0.0.1/oobi", "ftp"),
        ] {
            let refused = fetcher.get(Url::parse(url).unwrap()).err().unwrap();
            assert_eq!(
                refused,
                FetchFailure::NotStarted(format!(
                    "only http and https URLs are fetched, not {scheme}:"
                ))
            );
        }
    }

    #[test]
    fn only_a_4xx_is_a_refusal() {
        for (failure, refusal) in [
            (
                FetchFailure::Status {
                    status: 400,
                    reason: None,
                },
                true,
            ),
            (
                FetchFailure::Status {
                    status: 499,
                    reason: Some("no".into()),
                },
                true,
            ),
            (
                FetchFailure::Status {
                    status: 500,
                    reason: None,
                },
                false,
            ),
            (
                FetchFailure::Status {
                    status: 302,
                    reason: None,
                },
                false,
            ),
            (
                FetchFailure::Transport {
                    reason: "timed out".into(),
                    attempts: 3,
                },
                false,
            ),
            (FetchFailure::TooLarge(1), false),
        ] {
            assert_eq!(failure.is_refusal(), refusal, "{failure}");
        }
    }
}
