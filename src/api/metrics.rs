//! `GET /metrics` on the boot port, and the route template each request is counted under.
//!
//! A template names the route, never what a client put in the path: `/identifiers/{name}`,
//! not the name; an unknown path is `other`. Deriving it splits the path in place and
//! allocates nothing.

use crate::agency::Agency;
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::server::http::Response;
use crate::server::Port;

/// What paths no route serves are counted as.
const OTHER: &str = "other";
/// The most segments a route has (`/identifiers/{name}/endroles/{role}`).
const MAX_SEGMENTS: usize = 4;

/// The scrape: every series, the agents and the stop read now.
pub(super) fn serve(metrics: &Metrics, agency: &Agency, stopping: bool) -> Response {
    let known = agency.known().unwrap_or_else(|err| {
        log::warn!("counting the agents for /metrics: {err:#}");
        0
    });
    let text = metrics.render(agency.loaded(), known, stopping);
    Response::empty(200)
        .header("Content-Type", CONTENT_TYPE)
        .body(text.into_bytes())
}

/// The route template of `path` on `port`.
pub(super) fn route(port: Port, path: &str) -> &'static str {
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
    use super::route;
    use crate::server::Port;

    #[test]
    fn routes_are_templates_and_unknown_paths_are_other() {
        let aid = "EIaGMMWJFPmtXznY1IIiKDIrg-vIyge6mBl2QV8dDjI3";
        for (port, path, template) in [
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
            assert_eq!(route(port, path), template, "{path}");
        }
    }
}
