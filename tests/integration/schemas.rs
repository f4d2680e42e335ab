//! Data OOBIs: credential schemas resolved from the real vLEI schema server (by a controller,
//! and from the configuration's `durls` for every agent), verified against their SAIDs and
//! listed by `GET /schema`; a schema that is not what its OOBI names fails and stores nothing.

use rustix::process::Signal;
use serde_json::{json, Value};

use crate::harness::{Keria, Start};
use crate::identifiers::Controller;
use crate::oobis::{canned, resolve};
use crate::vlei::{VleiServer, QVI_SCHEMA};

/// The Legal Entity credential schema.
const LE_SCHEMA: &str = "ENPXp1vQzRF6JwIuS-mp2U8Uf1MoADoP_GqQ62VsDZWY";

/// The QVI schema as the vLEI server serves it (from `tests/peers/vlei`).
fn qvi() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/vlei/schema/acdc/qualified-vLEI-issuer-vLEI-credential.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A 200 answer carrying `body` as `content_type`.
fn served(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

fn schemas(keria: &Keria, controller: &Controller) -> Value {
    let listed = controller.send(keria, "GET", "/schema", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json()
}

#[test]
fn a_controller_resolves_the_qvi_schema_oobi_from_the_vlei_server() {
    let vlei = VleiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut keria = Start::new().data_dir(dir.path()).start();
    let alice = Controller::boot(&keria);
    let url = vlei.oobi_url(QVI_SCHEMA);
    let operation = resolve(&keria, &alice, &url);
    assert!(operation.get("error").is_none(), "{operation}");
    assert_eq!(operation["response"], json!({"oobi": url}), "{operation}");
    assert_eq!(operation["metadata"], json!({"oobi": url}));

    let one = alice.send(&keria, "GET", &format!("/schema/{QVI_SCHEMA}"), None);
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json(), qvi());
    assert!(one.body.starts_with("{\"$id\": \"EBfdlu8R"), "{}", one.body);
    assert_eq!(schemas(&keria, &alice), json!([qvi()]));
    let unknown = alice.send(&keria, "GET", &format!("/schema/{LE_SCHEMA}"), None);
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    // Schemas are the controller's own.
    let bob = Controller::boot(&keria);
    assert_eq!(schemas(&keria, &bob), json!([]));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));

    // And durable.
    let mut keria = Start::new().data_dir(dir.path()).start();
    assert_eq!(schemas(&keria, &alice), json!([qvi()]));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

/// signify-ts 0.4.0 resolves the schema OOBI and reads it back as its integration scripts do.
#[test]
fn signify_ts_0_4_resolves_a_schema_oobi_and_reads_the_schema() {
    let vlei = VleiServer::start();
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let admin = format!("http://127.0.0.1:{}", ports.admin);
    let boot = format!("http://127.0.0.1:{}", ports.boot);
    let url = vlei.oobi_url(QVI_SCHEMA);
    let passcode = "schemas-passcode-00000";
    let (ok, out) =
        crate::signify04::run("schemas.mjs", &[&admin, &boot, passcode, &url, QVI_SCHEMA]);
    assert!(ok, "{out}\nkeria log:\n{}", keria.log());
    assert_eq!(out["operation"]["response"], json!({"oobi": url}), "{out}");
    assert_eq!(out["schema"], qvi());
    assert_eq!(out["schemas"], json!([qvi()]));
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn a_schema_that_is_not_what_its_oobi_names_fails_and_stores_nothing() {
    let mut keria = Start::new().start();
    let alice = Controller::boot(&keria);
    let qvi = qvi();
    // A true schema, with its own SAID, served for the QVI schema's.
    let mut other = qvi.as_object().unwrap().clone();
    other.insert("title".into(), "Not the QVI credential".into());
    let said = keria::keri::schema::said(&other);
    other.insert("$id".into(), said.clone().into());
    let other = Value::Object(other).to_string();
    // The QVI schema with a changed title and its old SAID.
    let tampered = qvi
        .to_string()
        .replace("Qualified vLEI Issuer Credential", "Qualified Issuer");
    let schema = "application/schema+json";
    for (answer, reason) in [
        (served(schema, other.as_bytes()), "is not the OOBI's"),
        (
            served("application/json", other.as_bytes()),
            "is not the OOBI's",
        ),
        (served(schema, tampered.as_bytes()), "is not its SAID"),
        (served(schema, b"not json"), "not JSON"),
        (served(schema, &vec![b' '; (1 << 20) + 1]), "larger than"),
    ] {
        let port = canned(Some(answer));
        let url = format!("http://127.0.0.1:{port}/oobi/{QVI_SCHEMA}");
        let operation = resolve(&keria, &alice, &url);
        let message = operation["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{operation} lacks {reason:?}");
        assert!(operation.get("response").is_none(), "{operation}");
        assert_eq!(schemas(&keria, &alice), json!([]));
        for said in [QVI_SCHEMA, &said] {
            let none = alice.send(&keria, "GET", &format!("/schema/{said}"), None);
            assert_eq!(none.status, 404, "{}", none.body);
        }
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}

#[test]
fn durls_are_resolved_at_start_for_every_agent() {
    let vlei = VleiServer::start();
    let (qvi_url, le_url) = (vlei.oobi_url(QVI_SCHEMA), vlei.oobi_url(LE_SCHEMA));
    let mut keria = Start::new()
        .args(["--durls", &format!("{le_url};{qvi_url}")])
        .start();
    for url in [&qvi_url, &le_url] {
        let line = format!("data OOBI {url} resolved for every agent");
        assert!(keria.wait_for_log(&line).is_some(), "{}", keria.log());
    }
    let alice = Controller::boot(&keria);
    let listed = schemas(&keria, &alice);
    let saids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|schema| schema["$id"].as_str().unwrap())
        .collect();
    assert_eq!(saids, [QVI_SCHEMA, LE_SCHEMA], "{listed}");
    assert_eq!(listed[0], qvi());
    let one = alice.send(&keria, "GET", &format!("/schema/{LE_SCHEMA}"), None);
    assert_eq!(one.json()["$id"], LE_SCHEMA, "{}", one.body);

    // The controller resolving one the agency holds keeps its own copy; the list has it once.
    assert!(resolve(&keria, &alice, &qvi_url).get("error").is_none());
    assert_eq!(schemas(&keria, &alice), listed);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
