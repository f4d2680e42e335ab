//! The signed admin routes: which resource a path names, the methods it allows, and the
//! handler that answers each.

use super::exchanges;
use super::oobis;
use super::outbox::Outbox;
use super::resolutions::Resolutions;
use super::{
    challenges, identifiers, keystate, method_not_allowed, not_found, notifications, registries,
};
use crate::agency::Agency;
use crate::config::Urls;
use crate::server::http::{Request, Response};

const GET: &str = "GET";
const POST: &str = "POST";
const PUT: &str = "PUT";
const DELETE: &str = "DELETE";

/// The methods a resource allows, and its answer when the request's method is one of them.
type Route = (&'static [&'static str], Option<Response>);

/// What every signed handler may need.
pub(super) struct Signed<'a> {
    pub agency: &'a mut Agency,
    pub controller: &'a str,
    pub request: &'a Request,
    pub urls: &'a Urls,
    pub resolutions: &'a mut Resolutions,
    pub outbox: &'a mut Outbox,
}

/// Routes a verified Signify request: 404 for an unknown path, 405 with `Allow` for a known
/// path and another method.
pub(super) fn route(signed: Signed<'_>) -> Response {
    let request = signed.request;
    let segments: Vec<String> = request.path.split('/').skip(1).map(decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let routed = match segments.as_slice() {
        ["identifiers", name, rest @ ..] => identifier(signed, name, rest),
        segments => agent(signed, segments),
    };
    let Some((allow, answer)) = routed else {
        return not_found(request);
    };
    answer.unwrap_or_else(|| {
        let mut allowed = allow.to_vec();
        allowed.push("OPTIONS");
        method_not_allowed(&allowed.join(", "))
    })
}

/// `/identifiers/{name}…`.
fn identifier(signed: Signed<'_>, name: &str, rest: &[&str]) -> Option<Route> {
    let Signed {
        agency,
        controller,
        request,
        urls,
        outbox,
        ..
    } = signed;
    let method = request.method.as_str();
    let route: Route = match rest {
        [] => (
            &[GET, PUT],
            match method {
                GET => Some(identifiers::get(agency, controller, name)),
                PUT => Some(identifiers::rename(agency, controller, name, request)),
                _ => None,
            },
        ),
        ["events"] => (
            &[POST],
            (method == POST).then(|| identifiers::event(agency, controller, name, request)),
        ),
        ["endroles"] => (
            &[GET, POST],
            match method {
                GET => Some(oobis::end_roles(agency, controller, name, None)),
                POST => Some(oobis::add_end_role(agency, controller, name, request)),
                _ => None,
            },
        ),
        ["endroles", role] => (
            &[GET],
            (method == GET).then(|| oobis::end_roles(agency, controller, name, Some(role))),
        ),
        ["oobis"] => (
            &[GET],
            (method == GET)
                .then(|| oobis::identifier_oobis(agency, controller, name, request, &urls.curls)),
        ),
        ["registries"] => (
            &[GET, POST],
            match method {
                GET => Some(registries::list(agency, controller, name)),
                POST => Some(registries::create(agency, controller, name, request)),
                _ => None,
            },
        ),
        ["exchanges"] => (
            &[POST],
            (method == POST).then(|| exchanges::send(agency, controller, name, request, outbox)),
        ),
        _ => return None,
    };
    Some(route)
}

/// Everything else: the agent's identifiers list, operations, OOBIs, contacts, key state.
fn agent(signed: Signed<'_>, segments: &[&str]) -> Option<Route> {
    let Signed {
        agency,
        controller,
        request,
        urls,
        resolutions,
        ..
    } = signed;
    let method = request.method.as_str();
    let route: Route = match segments {
        ["identifiers"] => (
            &[GET, POST],
            match method {
                GET => Some(identifiers::list(agency, controller, request)),
                POST => Some(identifiers::create(agency, controller, request)),
                _ => None,
            },
        ),
        ["operations"] => (
            &[GET],
            (method == GET).then(|| identifiers::operations(agency, controller, resolutions)),
        ),
        ["operations", name] => (
            &[GET, DELETE],
            match method {
                GET => Some(identifiers::operation(
                    agency,
                    controller,
                    name,
                    resolutions,
                )),
                DELETE => Some(identifiers::delete_operation(agency, controller, name)),
                _ => None,
            },
        ),
        ["oobis"] => (
            &[POST],
            (method == POST).then(|| resolutions.start(agency, controller, request)),
        ),
        ["contacts"] => (
            &[GET],
            (method == GET).then(|| oobis::contacts(agency, controller, None)),
        ),
        ["contacts", prefix] => (
            &[GET],
            (method == GET).then(|| oobis::contacts(agency, controller, Some(prefix))),
        ),
        ["states"] => (
            &[GET],
            (method == GET).then(|| keystate::states(agency, controller, request)),
        ),
        ["events"] => (
            &[GET],
            (method == GET).then(|| keystate::events(agency, controller, request)),
        ),
        ["queries"] => (
            &[POST],
            (method == POST).then(|| keystate::query(agency, controller, request, resolutions)),
        ),
        ["config"] => (&[GET], (method == GET).then(|| keystate::config(urls))),
        ["schema"] => (&[GET], (method == GET).then(registries::schemas)),
        ["escrows", "rpy"] => (&[GET], (method == GET).then(keystate::reply_escrows)),
        _ => return messages(agency, controller, request, segments),
    };
    Some(route)
}

/// Messages between agents: exchanges, challenges, notifications.
fn messages(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    segments: &[&str],
) -> Option<Route> {
    let method = request.method.as_str();
    let route: Route = match segments {
        ["exchanges", "query"] => (
            &[POST],
            (method == POST).then(|| exchanges::query(agency, controller, request)),
        ),
        ["exchanges", said] => (
            &[GET],
            (method == GET).then(|| exchanges::get(agency, controller, said)),
        ),
        ["challenges"] => (
            &[GET],
            (method == GET).then(|| challenges::generate(request)),
        ),
        ["challenges_verify", source] => (
            &[POST, PUT],
            match method {
                POST => Some(challenges::verify(agency, controller, source, request)),
                PUT => Some(challenges::responded(agency, controller, source, request)),
                _ => None,
            },
        ),
        ["notifications"] => (
            &[GET],
            (method == GET).then(|| notifications::list(agency, controller, request)),
        ),
        ["notifications", id] => (
            &[PUT, DELETE],
            match method {
                PUT => Some(notifications::mark(agency, controller, id)),
                DELETE => Some(notifications::delete(agency, controller, id)),
                _ => None,
            },
        ),
        _ => return None,
    };
    Some(route)
}

/// A path segment with its percent-escapes decoded (names may hold any character).
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}
