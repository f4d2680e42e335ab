//! HTTP/1.1 messages: parsing requests (with the documented limits) and writing responses.
//!
//! Bodies are framed by Content-Length only; keep-alive is the HTTP/1.1 default.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{json, Value};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Limits every connection is held to; each is documented in the README.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body accepted (413 above).
    pub max_body: usize,
    /// Largest request line plus headers (431 above).
    pub max_head: usize,
    /// Most header fields in one request (431 above).
    pub max_headers: usize,
}

/// The default limits: 1 MiB bodies, 16 KiB of headers, 64 header fields.
pub const DEFAULT_LIMITS: Limits = Limits {
    max_body: 1 << 20,
    max_head: 16 << 10,
    max_headers: 64,
};

/// A complete request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path as sent, without the query.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the client allows the connection to stay open after the response.
    pub keep_alive: bool,
}

impl Request {
    /// The first header named `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
    }

    /// Every value of query parameter `name`, percent-decoded, in order.
    pub fn query_params(&self, name: &str) -> Vec<String> {
        let Some(query) = self.query.as_deref() else {
            return Vec::new();
        };
        url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .collect()
    }

    /// The value of query parameter `name`, if present.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }
}

/// The outcome of parsing the bytes received so far.
#[derive(Debug)]
pub enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// A request and the number of bytes it took.
    Complete(Request, usize),
}

/// Parses one request from the start of `buffer`; an error is the response to send before closing.
pub fn parse(buffer: &[u8], limits: &Limits) -> Result<Parsed, Box<Response>> {
    let Some((mut request, head_len)) = parse_head(buffer, limits)? else {
        return Ok(Parsed::Incomplete);
    };
    let body_len = body_length(&request, limits)?;
    let Some(total) = head_len
        .checked_add(body_len)
        .filter(|total| *total <= buffer.len())
    else {
        return Ok(Parsed::Incomplete);
    };
    request.body = buffer[head_len..total].to_vec();
    Ok(Parsed::Complete(request, total))
}

#[allow(
    clippy::unnecessary_box_returns,
    reason = "the error type of parse is boxed"
)]
fn too_large_head(limits: &Limits) -> Box<Response> {
    Box::new(Response::error(
        431,
        "Request Header Fields Too Large",
        &format!(
            "request headers exceed {} bytes or {} fields",
            limits.max_head, limits.max_headers
        ),
    ))
}

#[allow(
    clippy::unnecessary_box_returns,
    reason = "the error type of parse is boxed"
)]
fn bad_request(description: &str) -> Box<Response> {
    Box::new(Response::error(400, "Bad Request", description))
}

/// The request line and headers, and their length; None until they are complete.
fn parse_head(buffer: &[u8], limits: &Limits) -> Result<Option<(Request, usize)>, Box<Response>> {
    let mut header_slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut raw = httparse::Request::new(&mut header_slots);
    let head_len = match raw.parse(buffer) {
        Ok(httparse::Status::Complete(len)) if len <= limits.max_head => len,
        Ok(httparse::Status::Partial) if buffer.len() <= limits.max_head => return Ok(None),
        Ok(_) | Err(httparse::Error::TooManyHeaders) => return Err(too_large_head(limits)),
        Err(err) => return Err(bad_request(&format!("malformed request: {err}"))),
    };
    let (Some(method), Some(target), Some(version)) = (raw.method, raw.path, raw.version) else {
        return Err(bad_request("malformed request line"));
    };
    let mut headers = Vec::with_capacity(raw.headers.len());
    for header in raw.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else {
            return Err(bad_request(&format!("header {} is not UTF-8", header.name)));
        };
        headers.push((header.name.to_owned(), value.to_owned()));
    }
    let target = origin_form(target);
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (&*target, None),
    };
    if !path.starts_with('/') {
        return Err(bad_request("request target must be an absolute path"));
    }
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body: Vec::new(),
        keep_alive: false,
    };
    let connection = request.header("connection").map(str::to_ascii_lowercase);
    request.keep_alive = match version {
        1 => connection.as_deref() != Some("close"),
        _ => connection.as_deref() == Some("keep-alive"),
    };
    Ok(Some((request, head_len)))
}

/// The path and query of a request target: an absolute-form target (`http://host/path`, as
/// RFC 9112 §3.2.2 requires servers to accept) loses its scheme and authority.
fn origin_form(target: &str) -> Cow<'_, str> {
    let scheme_length = ["http://", "https://"].into_iter().find_map(|scheme| {
        target
            .get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .map(str::len)
    });
    let Some(scheme_length) = scheme_length else {
        return Cow::Borrowed(target);
    };
    let rest = &target[scheme_length..];
    match rest.find(['/', '?']) {
        Some(start) if rest[start..].starts_with('/') => Cow::Borrowed(&rest[start..]),
        Some(start) => Cow::Owned(format!("/{}", &rest[start..])),
        None => Cow::Borrowed("/"),
    }
}

/// The body length the headers announce, within the limit.
fn body_length(request: &Request, limits: &Limits) -> Result<usize, Box<Response>> {
    if request.header("transfer-encoding").is_some() {
        return Err(Box::new(Response::error(
            411,
            "Length Required",
            "chunked bodies are not supported; send Content-Length",
        )));
    }
    if request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .count()
        > 1
    {
        return Err(bad_request("more than one Content-Length"));
    }
    let body_len = match request.header("content-length") {
        None => 0,
        // Only plain digits: `+2` or `2 2` must not be read as 2 (request smuggling).
        Some(value) => value
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| value.parse::<usize>().ok())
            .flatten()
            .ok_or_else(|| bad_request(&format!("invalid Content-Length {value:?}")))?,
    };
    if body_len > limits.max_body {
        return Err(Box::new(Response::error(
            413,
            "Payload Too Large",
            &format!(
                "body of {body_len} bytes exceeds the limit of {} bytes",
                limits.max_body
            ),
        )));
    }
    Ok(body_len)
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A response with no body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON response serialized compactly.
    pub fn json(status: u16, value: &Value) -> Self {
        Self::json_text(status, value.to_string())
    }

    /// A JSON response whose body is already serialized.
    pub fn json_text(status: u16, body: String) -> Self {
        Self::empty(status)
            .header("Content-Type", "application/json")
            .body(body.into_bytes())
    }

    /// A JSON error document `{"title", "description"}`.
    pub fn error(status: u16, title: &str, description: &str) -> Self {
        Self::json(
            status,
            &json!({ "title": title, "description": description }),
        )
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Whether the response says the connection closes after it.
    pub fn closes(&self) -> bool {
        self.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
        })
    }

    /// Appends the wire form to `out`, with `Connection: close` when `close` is set.
    pub fn write_to(&self, out: &mut Vec<u8>, close: bool, now: OffsetDateTime) {
        let mut head = String::with_capacity(256);
        let _ = write!(head, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("connection") {
                let _ = write!(head, "{name}: {value}\r\n");
            }
        }
        let _ = write!(
            head,
            "Content-Length: {}\r\nServer: keria/{}\r\nDate: {}\r\n",
            self.body.len(),
            env!("CARGO_PKG_VERSION"),
            http_date(now)
        );
        if close || self.closes() {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&self.body);
    }
}

/// The reason phrase of `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The IMF-fixdate form of `now` for the Date header.
fn http_date(now: OffsetDateTime) -> String {
    const IMF_FIXDATE: &[BorrowedFormatItem<'_>] = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    now.to_offset(time::UtcOffset::UTC)
        .format(IMF_FIXDATE)
        .expect("every component of the format is in an OffsetDateTime")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{http_date, parse, Parsed, Response, DEFAULT_LIMITS};

    fn complete(bytes: &[u8]) -> super::Request {
        match parse(bytes, &DEFAULT_LIMITS) {
            Ok(Parsed::Complete(request, used)) => {
                assert_eq!(used, bytes.len());
                request
            }
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    fn status_of(bytes: &[u8]) -> u16 {
        match parse(bytes, &DEFAULT_LIMITS) {
            Err(response) => response.status,
            Ok(parsed) => panic!("expected an error, got {parsed:?}"),
        }
    }

    #[test]
    fn http_dates_are_imf_fixdate_in_gmt() {
        assert_eq!(
            http_date(time::macros::datetime!(2024-01-02 03:04:05.678901 UTC)),
            "Tue, 02 Jan 2024 03:04:05 GMT"
        );
        assert_eq!(
            http_date(time::macros::datetime!(1999-12-31 23:59:59 -01:00)),
            "Sat, 01 Jan 2000 00:59:59 GMT"
        );
    }

    #[test]
    fn parses_a_post_with_body_and_query() {
        let request =
            complete(b"POST /agent/x?type=ixn HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/agent/x");
        assert_eq!(request.query_param("type"), Some("ixn"));
        assert_eq!(request.body, b"{}");
        assert!(request.keep_alive);
    }

    #[test]
    fn waits_for_the_whole_body() {
        assert!(matches!(
            parse(
                b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
                &DEFAULT_LIMITS
            ),
            Ok(Parsed::Incomplete)
        ));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost", &DEFAULT_LIMITS),
            Ok(Parsed::Incomplete)
        ));
    }

    #[test]
    fn connection_close_and_http10_end_keep_alive() {
        assert!(!complete(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    }

    #[test]
    fn limits_and_malformed_requests_map_to_statuses() {
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n"),
            413
        );
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(20_000));
        assert_eq!(status_of(long.as_bytes()), 431);
        let many = "X: y\r\n".repeat(65);
        assert_eq!(
            status_of(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            431
        );
        assert_eq!(status_of(b"GET\x01 / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
        for length in [
            "+2",
            "-2",
            "2 2",
            "0x2",
            "",
            "2,2",
            "99999999999999999999999",
        ] {
            let request = format!("POST / HTTP/1.1\r\nContent-Length: {length}\r\n\r\nab");
            assert_eq!(status_of(request.as_bytes()), 400, "{length:?}");
        }
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            400
        );
        assert_eq!(status_of(b"GET x/ HTTP/1.1\r\n\r\n"), 400);
    }

    #[test]
    fn absolute_form_targets_route_on_their_path() {
        let request = complete(b"GET http://127.0.0.1:3903/health?x=1 HTTP/1.1\r\n\r\n");
        assert_eq!(request.path, "/health");
        assert_eq!(request.query_param("x"), Some("1"));
        assert_eq!(complete(b"GET HTTPS://host HTTP/1.1\r\n\r\n").path, "/");
        let request = complete(b"GET http://host?a HTTP/1.1\r\n\r\n");
        assert_eq!(
            (request.path.as_str(), request.query_param("a")),
            ("/", Some(""))
        );
    }

    #[test]
    fn response_wire_form_has_length_and_close() {
        let mut out = Vec::new();
        Response::error(404, "Not Found", "no route").write_to(
            &mut out,
            true,
            time::macros::datetime!(2024-01-02 03:04:05 UTC),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Date: Tue, 02 Jan 2024 03:04:05 GMT\r\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "Connection: close\r\n\r\n{\"title\":\"Not Found\",\"description\":\"no route\"}"
            ),
            "{text}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = parse(&bytes, &DEFAULT_LIMITS);
        }

        #[test]
        fn request_like_input_never_panics(
            method in "[A-Z]{0,8}",
            path in "[ -~]{0,64}",
            headers in proptest::collection::vec(("[ -~]{0,16}", "[ -~]{0,32}"), 0..80),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut text = format!("{method} {path} HTTP/1.1\r\n");
            for (name, value) in headers {
                text += &[name.as_str(), ": ", value.as_str(), "\r\n"].concat();
            }
            text.push_str("\r\n");
            let mut bytes = text.into_bytes();
            bytes.extend(body);
            let _ = parse(&bytes, &DEFAULT_LIMITS);
        }
    }
}
