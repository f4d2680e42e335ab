//! Every route keria serves, on its three ports, as one table: method, path template, status,
//! answer and summary. Requests are matched against it before any handler runs, so a route
//! cannot be served without being listed; the metrics' route templates and the OpenAPI
//! description (`spec`) are read from it too. The signed admin routes are dispatched here.

use super::delegations::{self, Context};
use super::exchanges;
use super::multisig;
use super::oobis;
use super::{
    challenges, contacts, credentials, identifiers, ipex, keystate, method_not_allowed, not_found,
    notifications, operations, registries, schemas,
};
use crate::agency::delegations::Delegations;
use crate::agency::outbox::Outbox;
use crate::agency::receipting::Receipting;
use crate::agency::resolutions::Resolutions;
use crate::agency::Agency;
use crate::agency::Urls;
use crate::server::http::{Request, Response};
use crate::server::Port;

pub(super) const GET: &str = "GET";
pub(super) const POST: &str = "POST";
pub(super) const PUT: &str = "PUT";
pub(super) const DELETE: &str = "DELETE";

/// One route: where it is served, what it answers when it succeeds, and what it is for.
#[derive(Debug)]
pub(super) struct Route {
    pub port: Port,
    pub method: &'static str,
    /// The path template, KERIA's (`/identifiers/{name}/endroles/{role}/{eid}`).
    pub path: &'static str,
    /// Whether the request must carry a Signify signature.
    pub signed: bool,
    pub status: u16,
    pub answer: Answer,
    pub summary: &'static str,
}

/// The body of a route's successful answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answer {
    /// No body.
    Empty,
    /// A JSON value of the named schema (KERIA's names where one fits).
    Schema(&'static str),
    /// A JSON array of the named schema.
    List(&'static str),
    /// A JSON object that no named schema describes.
    Json,
    /// A CESR stream (`application/json+cesr`).
    Cesr,
    /// The contact's image, of the type it was uploaded with.
    Image,
    /// This description (`application/yaml`).
    Yaml,
    /// Prometheus' text format.
    Text,
}

macro_rules! answer {
    (-) => {
        Answer::Empty
    };
    (json) => {
        Answer::Json
    };
    (cesr) => {
        Answer::Cesr
    };
    (image) => {
        Answer::Image
    };
    (yaml) => {
        Answer::Yaml
    };
    (text) => {
        Answer::Text
    };
    ([$schema:ident]) => {
        Answer::List(stringify!($schema))
    };
    ($schema:ident) => {
        Answer::Schema(stringify!($schema))
    };
}

macro_rules! signed {
    (signed) => {
        true
    };
    (open) => {
        false
    };
}

macro_rules! routes {
    ($($port:ident $auth:ident $method:ident $path:literal $status:literal $answer:tt $summary:literal;)*) => {
        /// Every route, each port's in the order they are matched: a literal segment before a
        /// template one at the same place (`/exchanges/query` before `/exchanges/{said}`).
        pub(super) const ROUTES: &[Route] = &[$(Route {
            port: Port::$port,
            method: $method,
            path: $path,
            signed: signed!($auth),
            status: $status,
            answer: answer!($answer),
            summary: $summary,
        }),*];
    };
}

routes! {
    Boot open POST "/boot" 202 KeyStateRecord "Provision an agent for a Signify controller";
    Boot open GET "/health" 200 json "Whether the agency is up, and since when";
    Boot open GET "/metrics" 200 text "Prometheus metrics";
    Boot open POST "/backup" 200 json "Write a consistent copy of the store into the backup folder";
    Http open POST "/" 204 - "KERI ingress: exn messages for the identifiers served here";
    Http open PUT "/" 204 - "KERI ingress, as POST";
    Http open GET "/spec.yaml" 200 yaml "This OpenAPI description";
    Http open GET "/oobi" 200 cesr "The agency's blind OOBI (none: 404)";
    Http open GET "/oobi/{aid}" 200 cesr "An identifier's OOBI: its KEL, its controller's and agent's, the agent's locations";
    Http open GET "/oobi/{aid}/{role}" 200 cesr "An identifier's OOBI with the end roles it granted in role";
    Http open GET "/oobi/{aid}/{role}/{eid}" 200 cesr "An identifier's OOBI with the end role it granted eid";
    Admin open GET "/agent/{caid}" 200 AgentResourceResult "The agent's and controller's key state";
    Admin open PUT "/agent/{caid}" 204 - "The controller's approval of its agent's delegated inception (?type=ixn)";
    Admin signed GET "/identifiers" 200 [HabState] "The agent's identifiers, by name (Range: aids=S-E)";
    Admin signed POST "/identifiers" 202 Operation "Incept an identifier";
    Admin signed GET "/identifiers/{name}" 200 HabState "One identifier, by name or prefix";
    Admin signed PUT "/identifiers/{name}" 200 HabState "Rename an identifier";
    Admin signed POST "/identifiers/{name}/events" 200 Operation "An interaction or rotation signed by the identifier (witnessed: a witness operation)";
    Admin signed POST "/identifiers/{name}/submit" 202 Operation "Send the identifier's latest event to its witnesses again";
    Admin signed POST "/identifiers/{name}/delegation" 200 DelegatorOperation "Approve a delegated event: the delegator's interaction that anchors its seal";
    Admin signed GET "/identifiers/{name}/endroles" 200 [EndRole] "The end roles an identifier granted";
    Admin signed POST "/identifiers/{name}/endroles" 202 EndRoleOperation "Grant an end role (an /end/role/add reply signed by the identifier)";
    Admin signed GET "/identifiers/{name}/endroles/{role}" 200 [EndRole] "The end roles an identifier granted in role";
    Admin signed DELETE "/identifiers/{name}/endroles/{role}/{eid}" 204 - "Withdraw an end role: the identifier's OOBIs stop naming eid";
    Admin signed GET "/identifiers/{name}/oobis" 200 OOBI "An identifier's OOBI URLs in a role (?role=agent, witness or mailbox)";
    Admin signed POST "/identifiers/{name}/locschemes" 202 Operation "Authorise a location scheme (a /loc/scheme reply signed by the identifier)";
    Admin signed GET "/endroles/{aid}" 200 [EndRole] "The end roles an identifier granted, as this agent knows them";
    Admin signed GET "/endroles/{aid}/{role}" 200 [EndRole] "The end roles an identifier granted in role, as this agent knows them";
    Admin signed GET "/identifiers/{name}/registries" 200 [Registry] "An identifier's credential registries";
    Admin signed POST "/identifiers/{name}/registries" 202 RegistryOperation "Incept a credential registry";
    Admin signed GET "/identifiers/{name}/registries/{registryName}" 200 Registry "One credential registry, by name";
    Admin signed PUT "/identifiers/{name}/registries/{registryName}" 200 Registry "Rename a credential registry";
    Admin signed POST "/identifiers/{name}/credentials" 200 CredentialOperation "Issue a credential: the ACDC, its iss and the issuer's anchoring event";
    Admin signed DELETE "/identifiers/{name}/credentials/{said}" 200 Operation "Revoke a credential: its rev and the issuer's anchoring event";
    Admin signed POST "/credentials/query" 200 [Credential] "Credentials held, filtered, sorted and paged (Content-Range)";
    Admin signed POST "/credentials/verify" 202 CredentialOperation "Keep a credential whose issuance is held, once it verifies";
    Admin signed GET "/credentials/{said}" 200 Credential "One credential (Accept: application/json+cesr for its presentable stream)";
    Admin signed DELETE "/credentials/{said}" 204 - "Forget a held credential";
    Admin signed GET "/registries/{ri}/{vci}" 200 CredentialState "A credential's state in its registry's TEL";
    Admin signed POST "/identifiers/{name}/ipex/{verb}" 200 Operation "Send an IPEX apply, offer, agree, grant or admit signed by the identifier";
    Admin signed POST "/identifiers/{name}/exchanges" 202 Exn "Send an exn message signed by the identifier";
    Admin signed GET "/identifiers/{name}/members" 200 GroupMember "A group's signing and rotation members, with their end roles";
    Admin signed GET "/multisig/request/{said}" 200 [ExnMultisig] "Every member's /multisig message about the event the message said is about";
    Admin signed GET "/operations" 200 [Operation] "Long-running operations not deleted (?type= filters on the kind)";
    Admin signed GET "/operations/{name}" 200 Operation "One long-running operation";
    Admin signed DELETE "/operations/{name}" 204 - "Forget a long-running operation";
    Admin signed POST "/oobis" 202 OOBIOperation "Resolve an OOBI URL, naming the contact it leaves (oobialias)";
    Admin signed GET "/oobis/{alias}" 200 OOBI "An identifier's OOBI URLs in a role, by its name (?role=agent)";
    Admin signed GET "/contacts" 200 [Contact] "Every contact";
    Admin signed GET "/contacts/{prefix}" 200 Contact "One contact";
    Admin signed POST "/contacts/{prefix}" 200 Contact "Contact fields for a known identifier with none yet";
    Admin signed PUT "/contacts/{prefix}" 200 Contact "Add or change a contact's own fields";
    Admin signed DELETE "/contacts/{prefix}" 202 - "Forget a contact's fields and image (its KEL is kept)";
    Admin signed GET "/contacts/{prefix}/img" 200 image "A contact's image";
    Admin signed POST "/contacts/{prefix}/img" 202 - "Set a contact's image (Content-Type image/*, at most 1,000,000 bytes)";
    Admin signed GET "/locschemes/{eid}" 200 [LocScheme] "Where an endpoint is reached, by scheme";
    Admin signed GET "/states" 200 [KeyStateRecord] "Key states (?pre=…&pre=…)";
    Admin signed GET "/events" 200 [KeyEventRecord] "An identifier's KEL with attachments (?pre=)";
    Admin signed POST "/queries" 202 QueryOperation "Ask for an identifier's key state at a sequence number";
    Admin signed GET "/config" 200 AgentConfig "The agency's introduction OOBI URLs";
    Admin signed GET "/schema" 200 [Schema] "Credential schemas held: resolved from data OOBIs, and the configuration's durls";
    Admin signed GET "/schema/{said}" 200 Schema "One credential schema, by SAID";
    Admin signed GET "/escrows/rpy" 200 [Rpy] "Escrowed replies (none: unknown signers are refused)";
    Admin signed POST "/exchanges/query" 200 [ExchangeResource] "Exchange messages sent and received, filtered";
    Admin signed GET "/exchanges/{said}" 200 ExchangeResource "One exchange message";
    Admin signed GET "/challenges" 200 Challenge "Fresh BIP-39 challenge words (?strength=)";
    Admin signed POST "/challenges/{name}" 202 - "Send a challenge response signed by the identifier";
    Admin signed POST "/challenges_verify/{source}" 202 ChallengeOperation "Wait for source's response with these words";
    Admin signed PUT "/challenges_verify/{source}" 202 - "Mark source's challenge response authenticated";
    Admin signed GET "/notifications" 200 [Notification] "Notifications (Range: notes=S-E)";
    Admin signed PUT "/notifications/{id}" 202 - "Mark a notification read";
    Admin signed DELETE "/notifications/{id}" 202 - "Delete a notification";
}

/// What the table says of a request.
pub(super) enum Lookup {
    /// The route it asks for, with the path's template segments, percent-decoded, in order.
    Route(&'static Route, Vec<String>),
    /// No route has this path.
    Unknown,
    /// The path is a route's, with other methods: these (for `Allow`).
    Method(String),
}

/// The route `method` and `path` ask for on `port`.
pub(super) fn find(port: Port, method: &str, path: &str) -> Lookup {
    let Some(first) = ROUTES
        .iter()
        .find(|route| route.port == port && matches(route.path, path))
    else {
        return Lookup::Unknown;
    };
    let same = || {
        ROUTES
            .iter()
            .filter(move |route| route.port == port && route.path == first.path)
    };
    if let Some(route) = same().find(|route| route.method == method) {
        return Lookup::Route(route, params(route.path, path));
    }
    let mut allowed: Vec<&str> = same().map(|route| route.method).collect();
    allowed.push("OPTIONS");
    Lookup::Method(allowed.join(", "))
}

/// What paths no route serves are counted as.
const OTHER: &str = "other";

/// The route template of `path` on `port`, for metrics: never a value a client chose.
pub(super) fn template(port: Port, path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|route| route.port == port && matches(route.path, path))
        .map_or(OTHER, |route| route.path)
}

/// Whether `path` fits `template`, segment by segment (`{…}` fits any one segment).
fn matches(template: &str, path: &str) -> bool {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(wanted), Some(given)) if wanted == given || wanted.starts_with('{') => {}
            _ => return false,
        }
    }
}

/// The segments of `path` where `template` has `{…}`, percent-decoded.
fn params(template: &str, path: &str) -> Vec<String> {
    template
        .split('/')
        .zip(path.split('/'))
        .filter(|(wanted, _)| wanted.starts_with('{'))
        .map(|(_, given)| decode(given))
        .collect()
}

/// A path segment with its percent-escapes decoded (names may hold any character).
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// 501 for a route the table lists and no handler answers (the spec test finds these).
pub(super) fn not_served(route: &Route) -> Response {
    Response::error(
        501,
        "501 Not Implemented",
        &format!(
            "{} {} is described but not served",
            route.method, route.path
        ),
    )
}

/// What every signed handler may need.
pub(super) struct Signed<'a> {
    pub agency: &'a mut Agency,
    pub controller: &'a str,
    pub request: &'a Request,
    pub urls: &'a Urls,
    pub resolutions: &'a mut Resolutions,
    pub outbox: &'a mut Outbox,
    pub receipting: &'a mut Receipting,
    pub delegations: &'a mut Delegations,
}

/// Routes a verified Signify request: 404 for an unknown path, 405 with `Allow` for a known
/// path and another method.
pub(super) fn route(mut signed: Signed<'_>) -> Response {
    let request = signed.request;
    match find(Port::Admin, &request.method, &request.path) {
        Lookup::Route(route, params) if route.signed => {
            let params: Vec<&str> = params.iter().map(String::as_str).collect();
            match delegation(&mut signed, route, &params) {
                Some(response) => response,
                None => dispatch(signed, route, &params),
            }
        }
        Lookup::Route(..) | Lookup::Unknown => not_found(request),
        Lookup::Method(allow) => method_not_allowed(&allow),
    }
}

/// The handler of a signed route.
fn dispatch(signed: Signed<'_>, route: &'static Route, params: &[&str]) -> Response {
    let Signed {
        agency,
        controller,
        request,
        urls,
        resolutions,
        outbox,
        receipting,
        ..
    } = signed;
    match (route.method, route.path, params) {
        (GET, "/identifiers", []) => identifiers::list(agency, controller, request),
        (POST, "/identifiers", []) => identifiers::create(agency, controller, request, receipting),
        (GET, "/identifiers/{name}", [name]) => identifiers::get(agency, controller, name),
        (PUT, "/identifiers/{name}", [name]) => {
            identifiers::rename(agency, controller, name, request)
        }
        (POST, "/identifiers/{name}/events", [name]) => {
            identifiers::event(agency, controller, name, request, receipting)
        }
        (POST, "/identifiers/{name}/locschemes", [name]) => {
            oobis::add_location(agency, controller, name, request)
        }
        (GET, "/endroles/{aid}", [aid]) => oobis::end_roles_of(agency, controller, aid, None),
        (GET, "/endroles/{aid}/{role}", [aid, role]) => {
            oobis::end_roles_of(agency, controller, aid, Some(role))
        }
        (POST, "/identifiers/{name}/submit", [name]) => {
            identifiers::submit(agency, controller, name, receipting)
        }
        (GET, "/identifiers/{name}/endroles", [name]) => {
            oobis::end_roles(agency, controller, name, None)
        }
        (POST, "/identifiers/{name}/endroles", [name]) => {
            oobis::add_end_role(agency, controller, name, request)
        }
        (GET, "/identifiers/{name}/endroles/{role}", [name, role]) => {
            oobis::end_roles(agency, controller, name, Some(role))
        }
        (DELETE, "/identifiers/{name}/endroles/{role}/{eid}", [name, role, eid]) => {
            oobis::remove_end_role(agency, controller, name, role, eid)
        }
        (GET, "/identifiers/{name}/oobis" | "/oobis/{alias}", [name]) => {
            oobis::identifier_oobis(agency, controller, name, request, &urls.curls)
        }
        (POST, "/identifiers/{name}/exchanges", [name]) => {
            exchanges::send(agency, controller, name, request, (outbox, receipting))
        }
        (GET, "/identifiers/{name}/members", [name]) => multisig::members(agency, controller, name),
        (GET, "/multisig/request/{said}", [said]) => multisig::request(agency, controller, said),
        (GET, "/operations", []) => operations::list(agency, controller, request, resolutions),
        (GET, "/operations/{name}", [name]) => {
            operations::get(agency, controller, name, resolutions)
        }
        (DELETE, "/operations/{name}", [name]) => operations::delete(agency, controller, name),
        (POST, "/oobis", []) => oobis::resolve(agency, controller, resolutions, request),
        (GET, "/locschemes/{eid}", [eid]) => oobis::locations(agency, controller, eid, urls),
        (GET, "/states", []) => keystate::states(agency, controller, request),
        (GET, "/events", []) => keystate::events(agency, controller, request),
        (POST, "/queries", []) => keystate::query(agency, controller, request, resolutions),
        (GET, "/config", []) => keystate::config(urls),
        (GET, "/schema", []) => schemas::list(agency, controller),
        (GET, "/schema/{said}", [said]) => schemas::get(agency, controller, said),
        (GET, "/escrows/rpy", []) => keystate::reply_escrows(),
        (POST, "/exchanges/query", []) => exchanges::query(agency, controller, request),
        (GET, "/exchanges/{said}", [said]) => exchanges::get(agency, controller, said),
        (GET, "/challenges", []) => challenges::generate(request),
        (POST, "/challenges/{name}", [name]) => {
            challenges::respond(agency, controller, name, request, outbox)
        }
        (POST, "/challenges_verify/{source}", [source]) => {
            challenges::verify(agency, controller, source, request)
        }
        (PUT, "/challenges_verify/{source}", [source]) => {
            challenges::responded(agency, controller, source, request)
        }
        (GET, "/notifications", []) => notifications::list(agency, controller, request),
        (PUT, "/notifications/{id}", [id]) => notifications::mark(agency, controller, id),
        (DELETE, "/notifications/{id}", [id]) => notifications::delete(agency, controller, id),
        (GET, "/contacts", []) => contacts::list(agency, controller),
        (GET, "/contacts/{prefix}", [prefix]) => contacts::get(agency, controller, prefix),
        (POST, "/contacts/{prefix}", [prefix]) => {
            contacts::create(agency, controller, prefix, request)
        }
        (PUT, "/contacts/{prefix}", [prefix]) => {
            contacts::update(agency, controller, prefix, request)
        }
        (DELETE, "/contacts/{prefix}", [prefix]) => contacts::delete(agency, controller, prefix),
        (GET, "/contacts/{prefix}/img", [prefix]) => contacts::image(agency, controller, prefix),
        (POST, "/contacts/{prefix}/img", [prefix]) => {
            contacts::set_image(agency, controller, prefix, request)
        }
        (POST, "/identifiers/{name}/ipex/{verb}", [name, verb]) => {
            ipex::post(agency, controller, (name, verb), request, outbox)
        }
        _ => credential_routes(agency, controller, request, receipting, (route, params)),
    }
}

/// The handlers of the credential, registry and IPEX routes.
fn credential_routes(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    receipting: &mut Receipting,
    (route, params): (&'static Route, &[&str]),
) -> Response {
    match (route.method, route.path, params) {
        (GET, "/identifiers/{name}/registries", [name]) => {
            registries::list(agency, controller, name)
        }
        (POST, "/identifiers/{name}/registries", [name]) => {
            registries::create(agency, controller, name, request, receipting)
        }
        (GET, "/identifiers/{name}/registries/{registryName}", [name, registry]) => {
            registries::get(agency, controller, name, registry)
        }
        (PUT, "/identifiers/{name}/registries/{registryName}", [name, registry]) => {
            registries::rename(agency, controller, name, registry, request)
        }
        (POST, "/identifiers/{name}/credentials", [name]) => {
            credentials::issue(agency, controller, name, request, receipting)
        }
        (DELETE, "/identifiers/{name}/credentials/{said}", [name, said]) => {
            credentials::revoke(agency, controller, (name, said), request, receipting)
        }
        (POST, "/credentials/query", []) => credentials::query(agency, controller, request),
        (POST, "/credentials/verify", []) => credentials::verify(agency, controller, request),
        (GET, "/credentials/{said}", [said]) => credentials::get(agency, controller, said, request),
        (DELETE, "/credentials/{said}", [said]) => credentials::delete(agency, controller, said),
        (GET, "/registries/{ri}/{vci}", [regk, said]) => {
            credentials::state(agency, controller, regk, said)
        }
        _ => not_served(route),
    }
}

/// The handler of a delegated event (`dip`, `drt`) or a delegator's approval; None for any
/// other request.
fn delegation(signed: &mut Signed<'_>, route: &'static Route, params: &[&str]) -> Option<Response> {
    let (agency, controller, request) = (&mut *signed.agency, signed.controller, signed.request);
    let mut context = Context {
        receipting: &mut *signed.receipting,
        delegations: &mut *signed.delegations,
        outbox: &mut *signed.outbox,
    };
    Some(match (route.method, route.path, params) {
        (POST, "/identifiers", []) if delegations::is_delegated_inception(request) => {
            delegations::incept(agency, controller, request, &mut context)
        }
        (POST, "/identifiers/{name}/events", [name])
            if delegations::is_delegated_rotation(request) =>
        {
            delegations::rotate(agency, controller, name, request, &mut context)
        }
        (POST, "/identifiers/{name}/delegation", [name]) => {
            delegations::nudge(agency, controller, name, context.delegations);
            delegations::approve(agency, controller, name, request, context.receipting)
        }
        (POST, "/identifiers/{name}/events", [name]) => {
            // An interaction may approve delegated events waiting here.
            delegations::nudge(agency, controller, name, context.delegations);
            return None;
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{find, template, Lookup, ROUTES};
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
                "/oobi/{aid}/{role}/{eid}",
            ),
            (Port::Http, "/spec.yaml", "/spec.yaml"),
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
            (
                Port::Admin,
                "/identifiers/a/endroles/agent/E",
                "/identifiers/{name}/endroles/{role}/{eid}",
            ),
            (Port::Admin, "/identifiers/a/b/c/d", "other"),
            (Port::Admin, "/contacts/E/img", "/contacts/{prefix}/img"),
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

    #[test]
    fn a_literal_segment_wins_and_other_methods_are_allowed() {
        let Lookup::Method(allow) = find(Port::Admin, "GET", "/exchanges/query") else {
            panic!("GET /exchanges/query is not a route");
        };
        assert_eq!(allow, "POST, OPTIONS");
        let Lookup::Route(route, params) = find(Port::Admin, "GET", "/identifiers/a%20b") else {
            panic!("GET /identifiers/{{name}} is a route");
        };
        assert_eq!(
            (route.path, params),
            ("/identifiers/{name}", vec!["a b".into()])
        );
    }

    #[test]
    fn each_method_and_template_is_listed_once() {
        for (index, route) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..index].iter().any(|other| other.port == route.port
                    && other.method == route.method
                    && other.path == route.path),
                "{} {} twice",
                route.method,
                route.path
            );
        }
    }
}
