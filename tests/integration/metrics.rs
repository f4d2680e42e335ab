//! `GET /metrics` on the boot port: Prometheus text with route templates, never an AID.

use std::time::{SystemTime, UNIX_EPOCH};

use rustix::process::Signal;

use crate::agency::random_boot_body;
use crate::harness::Start;
use crate::identifiers::Controller;

/// The value of the series `name` (exactly, labels included) in a scrape.
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {name} in:\n{text}"))
        .parse()
        .unwrap()
}

#[test]
#[allow(clippy::float_cmp, reason = "counts are small integers, exact in f64")]
fn metrics_count_requests_by_route_template_and_boots_by_outcome() {
    let mut keria = Start::new().start();
    let ports = keria.ports();
    let controller = Controller::boot(&keria);
    let (body, _) = random_boot_body();
    assert_eq!(keria.post(ports.boot, "/boot", &body, "").status, 202);
    assert_eq!(keria.post(ports.boot, "/boot", &body, "").status, 409);
    assert_eq!(keria.post(ports.boot, "/boot", "{}", "").status, 400);
    controller.approve(&keria);
    let oobi = format!("/oobi/{}/agent/{}", controller.aid, controller.agent);
    assert_eq!(keria.get(ports.http, &oobi).status, 404, "no end role yet");
    assert_eq!(keria.get(ports.http, "/no/such/path").status, 404);
    assert_eq!(
        controller
            .send(&keria, "GET", "/identifiers/nobody", None)
            .status,
        404
    );
    let response = keria.get(ports.boot, "/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = &response.body;
    for (series, expected) in [
        (r#"keria_boots_total{outcome="created"}"#, 2.0),
        (r#"keria_boots_total{outcome="exists"}"#, 1.0),
        (r#"keria_boots_total{outcome="refused"}"#, 1.0),
        (
            r#"keria_http_requests_total{port="boot",route="/boot",status="202"}"#,
            2.0,
        ),
        (
            r#"keria_http_requests_total{port="http",route="/oobi/{aid}/{role}/{eid}",status="404"}"#,
            1.0,
        ),
        (
            r#"keria_http_requests_total{port="http",route="other",status="404"}"#,
            1.0,
        ),
        (
            r#"keria_http_requests_total{port="admin",route="/identifiers/{name}",status="404"}"#,
            1.0,
        ),
        (
            r#"keria_http_request_duration_seconds_count{port="boot"}"#,
            4.0,
        ),
        ("keria_agents_known", 2.0),
        ("keria_agents_loaded", 2.0),
        ("keria_stopping", 0.0),
    ] {
        assert_eq!(value(text, series), expected, "{series} in:\n{text}");
    }
    // Two boots committed: at least one group commit, holding both answers at most.
    assert!(value(text, "keria_store_commit_seconds_count") >= 1.0);
    // Two boots and one approval waited for commits.
    assert_eq!(value(text, "keria_store_commit_batch_size_sum"), 3.0);
    assert!(value(text, "keria_connections_open") >= 1.0);
    assert!(
        !text.contains(&controller.aid),
        "an AID leaked into a label"
    );
    assert!(!text.contains("nobody"), "a name leaked into a label");
    let rss = value(text, "process_resident_memory_bytes");
    assert!(rss > 1e6 && rss < 1e9, "rss {rss}");
    assert!(value(text, "process_open_fds") >= 5.0);
    assert!(value(text, "process_cpu_seconds_total") > 0.0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value(text, "process_start_time_seconds");
    assert!(
        started <= now + 1.0 && started > now - 120.0,
        "start {started}, now {now}"
    );
    assert_eq!(keria.post(ports.boot, "/metrics", "", "").status, 405);
    assert_eq!(
        keria.get(ports.admin, "/metrics").status,
        401,
        "not on the admin port"
    );
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
}
