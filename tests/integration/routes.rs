//! The routes KERIA 0.4.1 serves beyond the basic workflow, through the binary: contacts
//! (fields, derived fields refused, images), `GET /operations?type=`, OOBIs by alias, end-role
//! removal and what the http port then serves, location schemes, and `GET /spec.yaml`, which
//! must describe every route served and serve every route described.

use rustix::process::Signal;
use serde_json::json;

use crate::harness::{Keria, Response, Start};
use crate::identifiers::Controller;
use crate::oobis::{resolve, served};

/// A running keria with two connected controllers: `alice` serves her identifier "mine" (its
/// prefix) and `bob` has resolved its OOBI, so it is bob's contact "them".
fn alice_and_bob() -> (Keria, Controller, Controller, String) {
    let keria = Start::new().start();
    let alice = Controller::boot(&keria);
    alice.approve(&keria);
    let bob = Controller::boot(&keria);
    bob.approve(&keria);
    let (url, aid) = served(&keria, &alice);
    let operation = resolve(&keria, &bob, &url);
    assert!(operation.get("error").is_none(), "{operation}");
    (keria, alice, bob, aid)
}

fn status(response: &Response, expected: u16) {
    assert_eq!(response.status, expected, "{}", response.body);
}

#[test]
fn contacts_keep_their_own_fields_and_refuse_derived_ones() {
    let (mut keria, alice, bob, aid) = alice_and_bob();
    let contact = format!("/contacts/{aid}");
    let before = bob.send(&keria, "GET", &contact, None).json();
    assert_eq!(before["alias"], "them");

    // PUT adds fields, KERIA's order: id, the fields by name, then what the agent derives.
    let updated = bob.send(
        &keria,
        "PUT",
        &contact,
        Some(&json!({"location": "Zug", "company": "GLEIF"})),
    );
    status(&updated, 200);
    let keys: Vec<String> = updated
        .json()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "alias",
            "company",
            "location",
            "oobi",
            "ends",
            "challenges",
            "wellKnowns"
        ]
    );
    assert_eq!(updated.json()["company"], "GLEIF");
    assert_eq!(
        bob.send(&keria, "GET", &contact, None).json(),
        updated.json()
    );
    let listed = bob.send(&keria, "GET", "/contacts", None).json();
    assert_eq!(listed, json!([updated.json()]));

    // A derived field cannot be set; sent back unchanged it is accepted. Nothing is stored.
    for field in [
        json!({"alias": "mallory"}),
        json!({"id": "Ex"}),
        json!({"oobi": "http://x/"}),
    ] {
        let refused = bob.send(&keria, "PUT", &contact, Some(&field));
        status(&refused, 400);
        assert!(
            refused.body.contains("derived by the agent"),
            "{}",
            refused.body
        );
    }
    let echoed = bob.send(
        &keria,
        "PUT",
        &contact,
        Some(&json!({"alias": "them", "id": aid, "company": "GLEIF AG"})),
    );
    status(&echoed, 200);
    assert_eq!(echoed.json()["alias"], "them");
    assert_eq!(echoed.json()["company"], "GLEIF AG");

    // Unknown contacts are 404 for every verb; the agent's own identifiers are not contacts.
    let unknown = "/contacts/EUnknownUnknownUnknownUnknownUnknownUnknown";
    status(
        &bob.send(&keria, "PUT", unknown, Some(&json!({"a": 1}))),
        404,
    );
    status(
        &bob.send(&keria, "POST", unknown, Some(&json!({"a": 1}))),
        404,
    );
    status(&bob.send(&keria, "DELETE", unknown, None), 404);
    status(
        &bob.send_typed(
            &keria,
            "POST",
            &format!("{unknown}/img"),
            "image/png",
            "png",
        ),
        404,
    );
    status(
        &bob.send(&keria, "GET", &format!("{unknown}/img"), None),
        404,
    );
    status(
        &alice.send(&keria, "PUT", &contact, Some(&json!({"a": 1}))),
        400,
    );
    status(
        &bob.send(&keria, "POST", &contact, Some(&json!({"a": 1}))),
        400,
    );

    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn contact_images_are_bounded_typed_and_per_controller_and_deleted_with_the_contact() {
    let (mut keria, alice, bob, aid) = alice_and_bob();
    let contact = format!("/contacts/{aid}");
    // Images: bounded, typed, per controller.
    let img = format!("{contact}/img");
    status(&bob.send(&keria, "GET", &img, None), 404);
    status(
        &bob.send_typed(&keria, "POST", &img, "text/plain", "not an image"),
        415,
    );
    let huge = "x".repeat(1_000_001);
    status(
        &bob.send_typed(&keria, "POST", &img, "image/png", &huge),
        413,
    );
    status(&bob.send(&keria, "GET", &img, None), 404);
    status(
        &bob.send_typed(&keria, "POST", &img, "image/png", "PNG image bytes"),
        202,
    );
    let image = bob.send(&keria, "GET", &img, None);
    status(&image, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert_eq!(image.body, "PNG image bytes");
    status(&alice.send(&keria, "GET", &img, None), 404);

    // DELETE forgets the fields and the image, not the KEL: POST then makes a new contact.
    status(&bob.send(&keria, "DELETE", &contact, None), 202);
    status(&bob.send(&keria, "GET", &contact, None), 404);
    status(&bob.send(&keria, "GET", &img, None), 404);
    assert_eq!(bob.send(&keria, "GET", "/contacts", None).json(), json!([]));
    let created = bob.send(&keria, "POST", &contact, Some(&json!({"first": "Alice"})));
    status(&created, 200);
    assert_eq!(created.json()["first"], "Alice");
    assert!(created.json().get("alias").is_none(), "{}", created.body);
    assert_eq!(
        bob.send(&keria, "GET", &format!("/events?pre={aid}"), None)
            .status,
        200
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn operations_filter_by_kind_oobis_by_alias_and_end_roles_are_withdrawn() {
    let (mut keria, alice, bob, aid) = alice_and_bob();
    let names = |controller: &Controller, target: &str| -> Vec<String> {
        let listed = controller.send(&keria, "GET", target, None);
        assert_eq!(listed.status, 200, "{}", listed.body);
        listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = names(&alice, "/operations");
    assert!(all.len() >= 2, "{all:?}");
    let endroles = names(&alice, "/operations?type=endrole");
    assert_eq!(endroles, [format!("endrole.{aid}.agent.{}", alice.agent)]);
    assert!(names(&alice, "/operations?type=done")
        .iter()
        .all(|name| name.starts_with("done.")));
    assert_eq!(names(&bob, "/operations?type=oobi").len(), 1);
    assert!(names(&bob, "/operations?type=endrole").is_empty());
    assert!(names(&bob, "/operations?type=end").is_empty());

    // OOBIs by alias: the same answer as by identifier; an unknown alias is 404.
    let by_alias = alice.send(&keria, "GET", "/oobis/mine?role=agent", None);
    status(&by_alias, 200);
    let by_name = alice.send(&keria, "GET", "/identifiers/mine/oobis?role=agent", None);
    assert_eq!(by_alias.body, by_name.body);
    let http = keria.ports().http;
    let oobi = format!("http://127.0.0.1:{http}/oobi/{aid}/agent/{}", alice.agent);
    assert_eq!(by_alias.json(), json!({"role": "agent", "oobis": [oobi]}));
    status(
        &alice.send(&keria, "GET", "/oobis/nobody?role=agent", None),
        404,
    );

    // The http port: by role, with or without the agent named; the blind OOBI is 404.
    for path in [
        format!("/oobi/{aid}/agent/{}", alice.agent),
        format!("/oobi/{aid}/agent"),
        format!("/oobi/{aid}"),
    ] {
        let stream = keria.get(http, &path);
        status(&stream, 200);
        assert_eq!(stream.header("keri-aid"), Some(aid.as_str()));
    }
    status(&keria.get(http, &format!("/oobi/{aid}/witness")), 404);
    status(&keria.get(http, "/oobi"), 404);

    // Location schemes: this agent's own, a resolved agent's, and 404 for the unknown.
    let own = alice.send(&keria, "GET", &format!("/locschemes/{}", alice.agent), None);
    status(&own, 200);
    assert_eq!(
        own.body,
        format!(r#"[{{"scheme": "http", "url": "http://127.0.0.1:{http}/"}}]"#)
    );
    let theirs = bob.send(&keria, "GET", &format!("/locschemes/{}", alice.agent), None);
    assert_eq!(theirs.json(), own.json());
    status(
        &bob.send(
            &keria,
            "GET",
            "/locschemes/EUnknownUnknownUnknownUnknownUnknownUnknown",
            None,
        ),
        404,
    );

    // Withdrawing the agent's end role: listed no more, and its OOBIs are no longer served.
    let endrole = format!("/identifiers/mine/endroles/agent/{}", alice.agent);
    status(&alice.send(&keria, "DELETE", &endrole, None), 204);
    status(&alice.send(&keria, "DELETE", &endrole, None), 404);
    status(
        &alice.send(
            &keria,
            "DELETE",
            "/identifiers/nobody/endroles/agent/E",
            None,
        ),
        404,
    );
    assert_eq!(
        alice
            .send(&keria, "GET", "/identifiers/mine/endroles", None)
            .json(),
        json!([])
    );
    assert_eq!(
        alice
            .send(&keria, "GET", "/oobis/mine?role=agent", None)
            .json(),
        json!({"role": "agent", "oobis": []})
    );
    status(
        &keria.get(http, &format!("/oobi/{aid}/agent/{}", alice.agent)),
        404,
    );
    status(&keria.get(http, &format!("/oobi/{aid}/agent")), 404);
    status(&keria.get(http, &format!("/oobi/{aid}")), 200);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// `(path, method)` of each operation `/spec.yaml` describes, read from its layout: a path at
/// two spaces of indentation, a method at four.
fn described(spec: &str) -> Vec<(String, String)> {
    let paths = spec
        .split("\npaths:\n")
        .nth(1)
        .unwrap()
        .split("\ncomponents:\n")
        .next()
        .unwrap();
    let mut found = Vec::new();
    let mut path = String::new();
    for line in paths.lines() {
        if let Some(quoted) = line.strip_prefix("  \"") {
            quoted.trim_end_matches("\":").clone_into(&mut path);
        } else if let Some(method) = line
            .strip_prefix("    ")
            .and_then(|rest| rest.strip_suffix(':'))
        {
            if !method.starts_with(' ') {
                found.push((path.clone(), method.to_ascii_uppercase()));
            }
        }
    }
    found
}

#[test]
fn the_spec_describes_every_route_served_and_every_route_described_is_served() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let alice = Controller::boot(&keria);
    alice.approve(&keria);
    let spec = keria.get(ports.http, "/spec.yaml");
    status(&spec, 200);
    assert_eq!(spec.header("content-type"), Some("application/yaml"));
    assert!(spec.body.starts_with("openapi: 3.1.0\n"), "{}", spec.body);
    let operations = described(&spec.body);
    assert!(operations.len() > 50, "{operations:?}");

    // Every route signify-ts and signifypy use against KERIA 0.4.1 in this issue is described.
    for (method, path) in [
        ("GET", "/contacts"),
        ("GET", "/contacts/{prefix}"),
        ("POST", "/contacts/{prefix}"),
        ("PUT", "/contacts/{prefix}"),
        ("DELETE", "/contacts/{prefix}"),
        ("GET", "/contacts/{prefix}/img"),
        ("POST", "/contacts/{prefix}/img"),
        ("GET", "/oobis/{alias}"),
        ("DELETE", "/identifiers/{name}/endroles/{role}/{eid}"),
        ("GET", "/locschemes/{eid}"),
        ("POST", "/challenges/{name}"),
        ("POST", "/"),
        ("PUT", "/"),
        ("GET", "/oobi"),
        ("GET", "/oobi/{aid}/{role}"),
        ("GET", "/spec.yaml"),
        ("GET", "/operations"),
    ] {
        assert!(
            operations.contains(&(path.to_owned(), method.to_owned())),
            "{method} {path} is not described"
        );
    }

    let admin_unsigned = |path: &str| path.starts_with("/agent/");
    let port_of = |path: &str| {
        if ["/boot", "/health", "/metrics", "/backup"].contains(&path) {
            ports.boot
        } else if path == "/"
            || path == "/spec.yaml"
            || path.starts_with("/oobi/")
            || path == "/oobi"
        {
            ports.http
        } else {
            ports.admin
        }
    };
    let ask = |method: &str, path: &str| -> Response {
        let concrete = path.replace('{', "x").replace('}', "");
        let port = port_of(path);
        if port == ports.admin && !admin_unsigned(path) {
            alice.send(&keria, method, &concrete, None)
        } else {
            keria.request(port, &format!("{method} {concrete} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
        }
    };
    for (path, method) in &operations {
        // Every route described is served: no 501 (described, not served), no router 404 or 405.
        let answer = ask(method, path);
        assert_ne!(answer.status, 501, "{method} {path}: {}", answer.body);
        assert_ne!(answer.status, 405, "{method} {path}: {}", answer.body);
        assert!(
            !answer.body.contains("no route for"),
            "{method} {path}: {}",
            answer.body
        );
        // Every other method on a described path is refused: nothing is served undescribed.
        for other in ["GET", "POST", "PUT", "DELETE"] {
            if operations.contains(&(path.clone(), other.to_owned())) {
                continue;
            }
            let refused = ask(other, path);
            assert_eq!(
                refused.status, 405,
                "{other} {path} is served without being described: {}",
                refused.body
            );
        }
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// Runs `routes.mjs` of one signify-ts (`run`) against a fresh keria and checks what it saw.
fn signify_drives_the_routes(run: fn(&str, &[&str]) -> (bool, serde_json::Value)) {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    let (ok, out) = run(
        "routes.mjs",
        &[
            &admin,
            &boot,
            "routes-passcode-alice-0",
            "routes-passcode-bob-000",
        ],
    );
    assert!(ok, "{out}\nkeria log:\n{}", keria.log());
    assert_eq!(out["operations"]["endrole"], json!(["endrole"]), "{out}");
    assert_eq!(out["operations"]["oobi"], json!(["oobi"]), "{out}");
    assert_eq!(out["operations"]["none"], json!([]), "{out}");
    assert_eq!(out["updated"]["company"], "GLEIF", "{out}");
    assert_eq!(out["got"], out["updated"], "{out}");
    assert_eq!(out["listed"], json!([out["updated"]]), "{out}");
    assert_eq!(
        out["image"],
        json!({"uploaded": 202, "refused": 415, "type": "image/png", "same": true})
    );
    assert_eq!(out["afterDelete"], json!([]), "{out}");
    assert_eq!(out["deletedGet"], 404, "{out}");
    assert_eq!(out["removed"], 204, "{out}");
    assert_eq!(out["endroles"], json!([]), "{out}");
    assert_eq!(
        out["oobiAfter"],
        json!({"role": "agent", "oobis": []}),
        "{out}"
    );
    assert_eq!(out["servedAfter"], 404, "{out}");
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn signify_ts_0_4_drives_contacts_operations_oobis_and_end_roles() {
    signify_drives_the_routes(crate::signify04::run);
}

#[test]
fn signify_ts_0_3_drives_contacts_operations_oobis_and_end_roles() {
    signify_drives_the_routes(crate::signify::run);
}
