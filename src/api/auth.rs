//! HTTP Basic auth for `POST /boot`, compared in constant time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

/// Basic-auth credentials required on `POST /boot` (and `POST /backup`).
#[derive(Debug, Clone)]
pub struct BootCredentials {
    pub username: String,
    pub password: String,
}

use crate::server::http::{Request, Response};

/// None when the request carries the configured credentials, else the answer to send: 400
/// for several `Authorization` headers (which one counts would be a guess), 401 otherwise.
/// The scheme is case-insensitive (RFC 9110 §11.1).
pub(super) fn check_basic(request: &Request, credentials: &BootCredentials) -> Option<Response> {
    let mut given = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"));
    let value = given.next().map(|(_, value)| value.trim());
    if given.next().is_some() {
        return Some(Response::error(
            400,
            "Bad Request",
            "several Authorization headers; send one",
        ));
    }
    let given = value
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok())
        .unwrap_or_default();
    let expected = format!("{}:{}", credentials.username, credentials.password);
    if bool::from(given.ct_eq(expected.as_bytes())) {
        return None;
    }
    Some(
        Response::error(401, "Unauthorized", "boot credentials are missing or wrong").header(
            "WWW-Authenticate",
            "Basic realm=\"keria boot\", charset=\"UTF-8\"",
        ),
    )
}
