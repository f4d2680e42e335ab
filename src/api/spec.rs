//! The OpenAPI 3.1 description served at `GET /spec.yaml` on the http port, written from the
//! route table (`routes::ROUTES`), so that no route is served without being described. Schema
//! names are KERIA's where one fits (signify-ts 0.4 generates its types from KERIA's).

use std::fmt::Write as _;
use std::sync::OnceLock;

use super::routes::{Answer, Route, ROUTES};
use crate::server::http::{reason, Response};
use crate::server::Port;

/// The schemas the routes name, and those they refer to, as YAML under `components/schemas`.
const SCHEMAS: &[(&str, &str)] = &[
    ("Error", "type: object\nproperties:\n  title: {type: string}\n  description: {type: string}"),
    ("KeyStateRecord", "type: object\nproperties:\n  vn: {type: array, items: {type: integer}}\n  i: {type: string}\n  s: {type: string}\n  p: {type: string}\n  d: {type: string}\n  f: {type: string}\n  dt: {type: string}\n  et: {type: string}\n  kt: {}\n  k: {type: array, items: {type: string}}\n  nt: {}\n  n: {type: array, items: {type: string}}\n  bt: {type: string}\n  b: {type: array, items: {type: string}}\n  c: {type: array, items: {type: string}}\n  ee: {type: object}\n  di: {type: string}"),
    ("AgentResourceResult", "type: object\nproperties:\n  agent: {$ref: '#/components/schemas/KeyStateRecord'}\n  controller: {type: object, properties: {state: {$ref: '#/components/schemas/KeyStateRecord'}, ee: {type: object}}}\n  pidx: {type: integer}"),
    ("HabState", "type: object\nproperties:\n  name: {type: string}\n  prefix: {type: string}\n  icp_dt: {type: string}\n  salty: {type: object}\n  randy: {type: object}\n  extern: {type: object}\n  transferable: {type: boolean}\n  state: {$ref: '#/components/schemas/KeyStateRecord'}\n  windexes: {type: array, items: {type: integer}}\nrequired: [name, prefix]"),
    ("Operation", "type: object\nproperties:\n  name: {type: string}\n  metadata: {type: object}\n  done: {type: boolean}\n  error: {type: object, properties: {code: {type: integer}, message: {type: string}}}\n  response: {}\nrequired: [name, done]"),
    ("OOBIOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]"),
    ("QueryOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]"),
    ("EndRoleOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]"),
    ("RegistryOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]"),
    ("ChallengeOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]"),
    ("DelegatorOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]\ndescription: done with the delegate's prefix once this agent holds its approved event; metadata {pre, teepre, anchor, depends}"),
    ("EndRole", "type: object\nproperties:\n  cid: {type: string}\n  role: {type: string}\n  eid: {type: string}"),
    ("OOBI", "type: object\nproperties:\n  role: {type: string}\n  oobis: {type: array, items: {type: string}}\nrequired: [role, oobis]"),
    ("Registry", "type: object\nproperties:\n  name: {type: string}\n  regk: {type: string}\n  pre: {type: string}\n  state: {type: object}"),
    ("Exn", "type: object\nproperties:\n  v: {type: string}\n  t: {type: string}\n  d: {type: string}\n  i: {type: string}\n  rp: {type: string}\n  p: {type: string}\n  dt: {type: string}\n  r: {type: string}\n  q: {type: object}\n  a: {type: object}\n  e: {type: object}"),
    ("GroupMember", "type: object\nproperties:\n  signing: {type: array, items: {type: object, properties: {aid: {type: string}, ends: {type: object}}}}\n  rotation: {type: array, items: {type: object, properties: {aid: {type: string}, ends: {type: object}}}}\nrequired: [signing, rotation]"),
    ("ExnMultisig", "type: object\nproperties:\n  exn: {$ref: '#/components/schemas/Exn'}\n  paths: {type: object}\n  groupName: {type: string}\n  memberName: {type: string}\nrequired: [exn, paths]"),
    ("ExchangeResource", "type: object\nproperties:\n  exn: {$ref: '#/components/schemas/Exn'}\n  pathed: {type: object}"),
    ("Challenge", "type: object\nproperties:\n  words: {type: array, items: {type: string}}\n  dt: {type: string}\n  said: {type: string}\n  authenticated: {type: boolean}\nrequired: [words]"),
    ("WellKnown", "type: object\nproperties:\n  url: {type: string}\n  dt: {type: string}\nrequired: [url, dt]"),
    ("MemberEnds", "type: object\nadditionalProperties: {type: object, additionalProperties: {type: object, additionalProperties: {type: string}}}"),
    ("Contact", "type: object\nproperties:\n  id: {type: string}\n  alias: {type: string}\n  oobi: {type: string}\n  ends: {$ref: '#/components/schemas/MemberEnds'}\n  challenges: {type: array, items: {$ref: '#/components/schemas/Challenge'}}\n  wellKnowns: {type: array, items: {$ref: '#/components/schemas/WellKnown'}}\nrequired: [id]\nadditionalProperties: true"),
    ("LocScheme", "type: object\nproperties:\n  scheme: {type: string}\n  url: {type: string}\nrequired: [scheme, url]"),
    ("KeyEventRecord", "type: object\nproperties:\n  ked: {type: object}\n  atc: {type: string}"),
    ("AgentConfig", "type: object\nproperties:\n  iurls: {type: array, items: {type: string}}"),
    ("Schema", "type: object\ndescription: a JSON Schema whose $id is its SAID\nproperties:\n  '$id': {type: string}\n  '$schema': {type: string}\nrequired: ['$id']\nadditionalProperties: true"),
    ("Rpy", "type: object"),
    ("CredentialOperation", "allOf: [{$ref: '#/components/schemas/Operation'}]"),
    ("Credential", "type: object\nproperties:\n  sad: {type: object}\n  atc: {type: string}\n  iss: {type: object}\n  issatc: {type: string}\n  pre: {type: string}\n  schema: {type: object}\n  chains: {type: array, items: {type: object}}\n  status: {$ref: '#/components/schemas/CredentialState'}\n  anchor: {type: object}\n  anc: {type: object}\n  ancatc: {type: array, items: {type: string}}"),
    ("CredentialState", "type: object\nproperties:\n  vn: {type: array, items: {type: integer}}\n  i: {type: string}\n  s: {type: string}\n  d: {type: string}\n  ri: {type: string}\n  ra: {type: object}\n  a: {type: object}\n  dt: {type: string}\n  et: {type: string}"),
    ("Notification", "type: object\nproperties:\n  i: {type: string}\n  dt: {type: string}\n  r: {type: boolean}\n  a: {type: object}"),
];

/// `GET /spec.yaml`: the description, as `application/yaml`.
pub(super) fn serve() -> Response {
    static SPEC: OnceLock<String> = OnceLock::new();
    let text = SPEC.get_or_init(describe);
    Response::empty(200)
        .header("Content-Type", "application/yaml")
        .body(text.as_bytes().to_vec())
}

/// The whole description.
pub(super) fn describe() -> String {
    let mut out = String::new();
    out.push_str("openapi: 3.1.0\ninfo:\n  title: keria\n");
    let _ = writeln!(out, "  version: {}", quoted(env!("CARGO_PKG_VERSION")));
    out.push_str(concat!(
        "  description: \"A KERI agency for Signify clients. Each operation's tag names its port: ",
        "admin (3901, the Signify API: signed unless x-signed is false), http (3902, OOBIs ",
        "and KERI ingress) and boot (3903, private).\"\n",
    ));
    out.push_str("tags:\n");
    for port in [Port::Admin, Port::Http, Port::Boot] {
        let _ = writeln!(out, "  - name: {}", port.name());
    }
    out.push_str("paths:\n");
    let mut written: Vec<&str> = Vec::new();
    for route in ROUTES {
        if written.contains(&route.path) {
            continue;
        }
        written.push(route.path);
        let _ = writeln!(out, "  {}:", quoted(route.path));
        for same in ROUTES.iter().filter(|other| other.path == route.path) {
            operation(&mut out, same);
        }
    }
    out.push_str("components:\n  schemas:\n");
    for (name, schema) in SCHEMAS {
        let _ = writeln!(out, "    {name}:");
        for line in schema.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    out
}

/// One method of a path.
fn operation(out: &mut String, route: &Route) {
    let _ = writeln!(out, "    {}:", route.method.to_ascii_lowercase());
    let _ = writeln!(out, "      tags: [{}]", route.port.name());
    let _ = writeln!(out, "      summary: {}", quoted(route.summary));
    if route.port == Port::Admin {
        let _ = writeln!(out, "      x-signed: {}", route.signed);
    }
    let names: Vec<&str> = route
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    if !names.is_empty() {
        out.push_str("      parameters:\n");
        for name in names {
            let _ = writeln!(
                out,
                "        - {{in: path, name: {name}, required: true, schema: {{type: string}}}}"
            );
        }
    }
    out.push_str("      responses:\n");
    let _ = writeln!(out, "        \"{}\":", route.status);
    let _ = writeln!(
        out,
        "          description: {}",
        quoted(reason(route.status))
    );
    let content = match route.answer {
        Answer::Empty => None,
        Answer::Schema(name) => Some((
            "application/json",
            format!("{{$ref: '#/components/schemas/{name}'}}"),
        )),
        Answer::List(name) => Some((
            "application/json",
            format!("{{type: array, items: {{$ref: '#/components/schemas/{name}'}}}}"),
        )),
        Answer::Json => Some(("application/json", "{type: object}".to_owned())),
        Answer::Cesr => Some(("application/json+cesr", "{type: string}".to_owned())),
        Answer::Image => Some(("image/*", "{type: string, format: binary}".to_owned())),
        Answer::Yaml => Some(("application/yaml", "{type: string}".to_owned())),
        Answer::Text => Some(("text/plain", "{type: string}".to_owned())),
    };
    if let Some((media, schema)) = content {
        let _ = writeln!(out, "          content:\n            {media}:");
        let _ = writeln!(out, "              schema: {schema}");
    }
    out.push_str(concat!(
        "        default:\n",
        "          description: An error\n",
        "          content:\n",
        "            application/json:\n",
        "              schema: {$ref: '#/components/schemas/Error'}\n",
    ));
}

/// `text` as a double-quoted YAML scalar.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::{describe, SCHEMAS};
    use crate::api::routes::{Answer, ROUTES};

    #[test]
    fn every_schema_named_is_described() {
        let text = describe();
        for route in ROUTES {
            if let Answer::Schema(name) | Answer::List(name) = route.answer {
                assert!(
                    SCHEMAS.iter().any(|(known, _)| *known == name),
                    "{} {} names {name}, which is not described",
                    route.method,
                    route.path
                );
            }
        }
        for reference in text.split("#/components/schemas/").skip(1) {
            let name = reference.split('\'').next().unwrap();
            assert!(
                SCHEMAS.iter().any(|(known, _)| *known == name),
                "{name} is referred to and not described"
            );
        }
    }

    #[test]
    fn a_path_belongs_to_one_port() {
        for route in ROUTES {
            assert!(
                ROUTES
                    .iter()
                    .all(|other| other.path != route.path || other.port == route.port),
                "{} is on two ports",
                route.path
            );
        }
    }
}
