//! `GET /metrics` on the boot port: the agency's metrics, in Prometheus' text format.
//!
//! `Metrics` is owned by the `Api`, which counts every answered request and times every group
//! commit; the service reports the open connections once per wake-up. Counters and gauges are
//! atomics; a request's labels are a port name, a route template and a status, all `'static` or
//! `Copy`, so counting a request allocates nothing once its series exists. Gauges that are cheap
//! to read when asked (agents, stopping) are set at the scrape; process series are read from
//! `/proc/self` at the scrape by `process_metrics`.

use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::agency::Agency;
use crate::process::metrics::ProcessCollector;
use crate::server::http::Response;
use crate::server::Port;
use crate::store::Failing;

/// The `Content-Type` of the text format (version 0.0.4).
pub(super) const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The route `POST /boot` is counted under; its statuses give `keria_boots_total`.
pub(super) const BOOT_ROUTE: &str = "/boot";

/// A request series: never an AID, a name or anything else a client chooses.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    port: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PortLabels {
    port: &'static str,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BootLabels {
    outcome: &'static str,
}

/// Request durations: 100 µs to about 13 s, doubling.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 18))
}

/// Every series the agency exports.
pub(super) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<PortLabels, Histogram, fn() -> Histogram>,
    boots: Family<BootLabels, Counter>,
    commit_seconds: Histogram,
    batch_size: Histogram,
    agents_loaded: Gauge,
    agents_known: Gauge,
    connections_open: Gauge,
    stopping: Gauge,
    store_failing: Gauge,
    store_reopens: Gauge,
}

impl Metrics {
    /// Registers every series, the process ones included.
    pub(super) fn new() -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new()));
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "keria_http_requests",
            "HTTP requests answered, by port, route template and status",
            requests.clone(),
        );
        let durations: Family<PortLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        registry.register(
            "keria_http_request_duration_seconds",
            "Time from a parsed request to its answer (deferred answers include their commit)",
            durations.clone(),
        );
        let boots = Family::<BootLabels, Counter>::default();
        registry.register(
            "keria_boots",
            "POST /boot outcomes: created, exists (409), refused (400, 401), failed (500)",
            boots.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        registry.register(
            "keria_store_commit_seconds",
            "Duration of one group commit of the agency store",
            commit_seconds.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        registry.register(
            "keria_store_commit_batch_size",
            "Answers that waited for one group commit",
            batch_size.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let agents_loaded = gauge(
            &mut registry,
            "keria_agents_loaded",
            "Agents loaded in memory",
        );
        let agents_known = gauge(
            &mut registry,
            "keria_agents_known",
            "Controllers with an agent in the store",
        );
        let connections_open = gauge(
            &mut registry,
            "keria_connections_open",
            "Open HTTP connections, all ports",
        );
        let stopping = gauge(
            &mut registry,
            "keria_stopping",
            "1 once the graceful stop has begun",
        );
        let store_failing = gauge(
            &mut registry,
            "keria_store_failing",
            "1 while the store is failing: from a failed commit until one succeeds",
        );
        let store_reopens = gauge(
            &mut registry,
            "keria_store_reopens",
            "Reopens tried since the store began failing (0 while it works)",
        );
        Self {
            registry,
            requests,
            durations,
            boots,
            commit_seconds,
            batch_size,
            agents_loaded,
            agents_known,
            connections_open,
            stopping,
            store_failing,
            store_reopens,
        }
    }

    /// Counts one answered request; `route` is a template such as `/identifiers/{name}`.
    pub(super) fn request(&self, port: Port, route: &'static str, status: u16, took: Duration) {
        let port = port.name();
        self.requests
            .get_or_create(&RequestLabels {
                port,
                route,
                status,
            })
            .inc();
        self.durations
            .get_or_create(&PortLabels { port })
            .observe(took.as_secs_f64());
        if route == BOOT_ROUTE {
            let outcome = match status {
                202 => "created",
                409 => "exists",
                400..=499 => "refused",
                _ => "failed",
            };
            self.boots.get_or_create(&BootLabels { outcome }).inc();
        }
    }

    /// Times one group commit that settled `answers` deferred answers.
    pub(super) fn commit(&self, took: Duration, answers: usize) {
        self.commit_seconds.observe(took.as_secs_f64());
        #[allow(
            clippy::cast_precision_loss,
            reason = "a batch holds at most 128 answers"
        )]
        self.batch_size.observe(answers as f64);
    }

    /// The number of open connections, reported by the service once per wake-up.
    pub(super) fn connections(&self, open: usize) {
        self.connections_open
            .set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Every series in the text format, with the gauges read at the scrape.
    pub(super) fn render(
        &self,
        (loaded, known): (usize, u64),
        stopping: bool,
        failing: Option<&Failing>,
    ) -> String {
        self.store_failing.set(i64::from(failing.is_some()));
        self.store_reopens.set(failing.map_or(0, |failing| {
            i64::try_from(failing.attempts).unwrap_or(i64::MAX)
        }));
        self.agents_loaded
            .set(i64::try_from(loaded).unwrap_or(i64::MAX));
        self.agents_known
            .set(i64::try_from(known).unwrap_or(i64::MAX));
        self.stopping.set(i64::from(stopping));
        let mut text = String::with_capacity(8 << 10);
        if let Err(err) = prometheus_text::encode(&mut text, &self.registry) {
            log::error!("encoding the metrics: {err}");
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The scrape: every series, the agents and the stop read now.
pub(super) fn serve(metrics: &Metrics, agency: &Agency, stopping: bool) -> Response {
    let known = agency.known().unwrap_or_else(|err| {
        log::warn!("counting the agents for /metrics: {err:#}");
        0
    });
    let text = metrics.render((agency.loaded(), known), stopping, agency.store_failing());
    Response::empty(200)
        .header("Content-Type", CONTENT_TYPE)
        .body(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Metrics;
    use crate::server::Port;

    #[test]
    fn requests_boots_and_commits_render_as_prometheus_text() {
        let metrics = Metrics::new();
        metrics.request(Port::Boot, "/boot", 202, Duration::from_millis(3));
        metrics.request(Port::Boot, "/boot", 409, Duration::from_millis(1));
        metrics.request(Port::Admin, "/identifiers/{name}", 200, Duration::ZERO);
        metrics.commit(Duration::from_millis(2), 3);
        let text = metrics.render((2, 5), true, None);
        for line in [
            "keria_http_requests_total{port=\"boot\",route=\"/boot\",status=\"202\"} 1",
            "keria_http_requests_total{port=\"admin\",route=\"/identifiers/{name}\",status=\"200\"} 1",
            "keria_boots_total{outcome=\"created\"} 1",
            "keria_boots_total{outcome=\"exists\"} 1",
            "keria_http_request_duration_seconds_count{port=\"boot\"} 2",
            "keria_store_commit_seconds_count 1",
            "keria_store_commit_batch_size_sum 3",
            "keria_agents_loaded 2",
            "keria_agents_known 5",
            "keria_stopping 1",
            "# TYPE process_resident_memory_bytes gauge",
        ] {
            assert!(text.lines().any(|l| l == line || l.starts_with(line)), "{line} missing:\n{text}");
        }
    }
}
