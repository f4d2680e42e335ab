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

/// None when the request carries the configured credentials, else the 401 to send.
pub(super) fn check_basic(request: &Request, credentials: &BootCredentials) -> Option<Response> {
    let given = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
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
