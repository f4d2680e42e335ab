//! The boot and admin ports under a hostile client: connection floods that must leave the
//! agency observable, boots that try to store too much or an unrotatable controller, loose
//! Basic auth, ambiguous JSON, and a refused start that must not touch the store.

use rustix::process::Signal;

use crate::agency::{stored_controllers, VECTOR_BODY, VECTOR_CONTROLLER};
use crate::harness::Start;

#[test]
fn a_repeated_json_key_is_refused_on_the_boot_and_admin_ports() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let body = VECTOR_BODY.replace(r#""tier":"low"}"#, r#""tier":"low","tier":"med"}"#);
    let response = keria.post(ports.boot, "/boot", &body, "");
    assert_eq!(response.status, 400, "{}", response.body);
    let description = response.json()["description"].as_str().unwrap().to_owned();
    assert!(
        description.starts_with("Could not parse JSON body - duplicate key \"tier\""),
        "{description}"
    );
    let approval_body = r#"{"ixn":{},"sigs":[],"ixn":1}"#;
    let approval = keria.request(
        ports.admin,
        &format!(
            "PUT /agent/{VECTOR_CONTROLLER}?type=ixn HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{approval_body}",
            approval_body.len()
        ),
    );
    assert_eq!(approval.status, 400, "{}", approval.body);
    assert!(approval.body.contains("duplicate key"), "{}", approval.body);
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    assert!(stored_controllers(&keria.data_dir).is_empty());
}
