//! The signed admin routes: which resource a path names, the methods it allows, and the
//! handler that answers each.

use super::exchanges;
use super::oobis;
use super::{
    challenges, identifiers, keystate, method_not_allowed, not_found, notifications, operations,
    registries,
};
use crate::agency::outbox::Outbox;
use crate::agency::receipting::Receipting;
use crate::agency::resolutions::Resolutions;
use crate::agency::Agency;
use crate::agency::Urls;
use crate::server::http::{Request, Response};
use crate::server::Port;

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
    pub receipting: &'a mut Receipting,
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
        receipting,
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
            (method == POST)
                .then(|| identifiers::event(agency, controller, name, request, receipting)),
        ),
        ["submit"] => (
            &[POST],
            (method == POST).then(|| identifiers::submit(agency, controller, name, receipting)),
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
        receipting,
        ..
    } = signed;
    let method = request.method.as_str();
    let route: Route = match segments {
        ["identifiers"] => (
            &[GET, POST],
            match method {
                GET => Some(identifiers::list(agency, controller, request)),
                POST => Some(identifiers::create(agency, controller, request, receipting)),
                _ => None,
            },
        ),
        ["operations"] => (
            &[GET],
            (method == GET).then(|| operations::list(agency, controller, resolutions)),
        ),
        ["operations", name] => (
            &[GET, DELETE],
            match method {
                GET => Some(operations::get(agency, controller, name, resolutions)),
                DELETE => Some(operations::delete(agency, controller, name)),
                _ => None,
            },
        ),
        ["oobis"] => (
            &[POST],
            (method == POST).then(|| oobis::resolve(agency, controller, resolutions, request)),
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

/// What paths no route serves are counted as.
const OTHER: &str = "other";
/// The most segments a route has (`/identifiers/{name}/endroles/{role}`).
const MAX_SEGMENTS: usize = 4;

/// The route template of `path` on `port`.
pub(super) fn template(port: Port, path: &str) -> &'static str {
    let mut segments = [""; MAX_SEGMENTS];
    let mut count = 0;
    for segment in path.strip_prefix('/').unwrap_or(path).split('/') {
        if count == MAX_SEGMENTS {
            return OTHER;
        }
        segments[count] = segment;
        count += 1;
    }
    let segments = &segments[..count];
    match port {
        Port::Boot => match segments {
            ["health"] => "/health",
            ["boot"] => "/boot",
            ["metrics"] => "/metrics",
            ["backup"] => "/backup",
            _ => OTHER,
        },
        Port::Http => match segments {
            [""] => "/",
            ["oobi", _] => "/oobi/{aid}",
            ["oobi", _, "agent", _] => "/oobi/{aid}/agent/{eid}",
            _ => OTHER,
        },
        Port::Admin => match segments {
            ["agent", _] => "/agent/{caid}",
            ["identifiers"] => "/identifiers",
            ["identifiers", _] => "/identifiers/{name}",
            ["identifiers", _, "events"] => "/identifiers/{name}/events",
            ["identifiers", _, "endroles"] => "/identifiers/{name}/endroles",
            ["identifiers", _, "endroles", _] => "/identifiers/{name}/endroles/{role}",
            ["identifiers", _, "oobis"] => "/identifiers/{name}/oobis",
            ["identifiers", _, "registries"] => "/identifiers/{name}/registries",
            ["identifiers", _, "exchanges"] => "/identifiers/{name}/exchanges",
            ["exchanges", "query"] => "/exchanges/query",
            ["exchanges", _] => "/exchanges/{said}",
            ["challenges"] => "/challenges",
            ["challenges_verify", _] => "/challenges_verify/{source}",
            ["notifications"] => "/notifications",
            ["notifications", _] => "/notifications/{id}",
            ["schema"] => "/schema",
            ["escrows", "rpy"] => "/escrows/rpy",
            ["operations"] => "/operations",
            ["operations", _] => "/operations/{name}",
            ["oobis"] => "/oobis",
            ["contacts"] => "/contacts",
            ["contacts", _] => "/contacts/{prefix}",
            ["states"] => "/states",
            ["events"] => "/events",
            ["queries"] => "/queries",
            ["config"] => "/config",
            _ => OTHER,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::template;
    use crate::server::Port;

    #[test]
    fn routes_are_templates_and_unknown_paths_are_other() {
        let aid = "EIaGMMWJFPmtXznY1IIiKDIrg-vIyge6mBl2QV8dDjI3";
        for (port, path, expected) in [
            (Port::Boot, "/boot", "/boot"),
            (Port::Boot, "/metrics", "/metrics"),
            (Port::Boot, "/nope", "other"),
            (Port::Http, &format!("/oobi/{aid}") as &str, "/oobi/{aid}"),
            (
                Port::Http,
                &format!("/oobi/{aid}/agent/{aid}"),
                "/oobi/{aid}/agent/{eid}",
            ),
            (Port::Admin, &format!("/agent/{aid}"), "/agent/{caid}"),
            (
                Port::Admin,
                "/identifiers/alice/events",
                "/identifiers/{name}/events",
            ),
            (
                Port::Admin,
                "/identifiers/a/endroles/agent",
                "/identifiers/{name}/endroles/{role}",
            ),
            (Port::Admin, "/identifiers/a/b/c/d", "other"),
            (Port::Admin, "/", "other"),
            (Port::Http, "/", "/"),
            (
                Port::Admin,
                "/challenges_verify/Ebob",
                "/challenges_verify/{source}",
            ),
            (Port::Admin, "/exchanges/query", "/exchanges/query"),
            (Port::Admin, "", "other"),
        ] {
            assert_eq!(template(port, path), expected, "{path}");
        }
    }
}
