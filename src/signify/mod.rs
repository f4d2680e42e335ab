//! Signify's own protocol on top of KERI: a controller's keys derived from its `passcode`, and
//! the `httpsig` signatures on every admin request and response. No I/O beyond the system
//! random source; imports only `keri`.

pub mod httpsig;
pub mod passcode;
