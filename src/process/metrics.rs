//! The standard `process_*` series, read from `/proc/self` at each scrape (Linux only).
//!
//! The names and meanings are those of the other official Prometheus clients, so existing
//! dashboards and alerts apply: resident memory, CPU seconds (user and system), open file
//! descriptors, and the start time in seconds since the Unix epoch. A value that cannot be read
//! is left out of the scrape rather than reported as zero.

use std::fs;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads the process series on each scrape.
#[derive(Debug)]
pub(crate) struct ProcessCollector {
    page_size: u64,
    ticks_per_second: f64,
}

/// What `/proc/self/stat` and `/proc/stat` tell about this process.
struct Times {
    cpu_seconds: f64,
    start_time_seconds: f64,
}

impl ProcessCollector {
    pub(crate) fn new() -> Self {
        #[allow(
            clippy::cast_precision_loss,
            reason = "clock ticks are about 100 per second"
        )]
        Self {
            page_size: rustix::param::page_size() as u64,
            ticks_per_second: rustix::param::clock_ticks_per_second() as f64,
        }
    }

    fn resident_bytes(&self) -> Option<f64> {
        let statm = fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        #[allow(clippy::cast_precision_loss, reason = "exact below 2^53 bytes")]
        Some((pages * self.page_size) as f64)
    }

    fn times(&self) -> Option<Times> {
        let stat = fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) may hold spaces and parentheses: fields resume after the
        // last ')', with field 3 (state) first.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        let field = |number: usize| -> Option<f64> { fields.get(number - 3)?.parse().ok() };
        let cpu_ticks = field(14)? + field(15)?;
        let start_ticks = field(22)?;
        let boot_time: f64 = fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        Some(Times {
            cpu_seconds: cpu_ticks / self.ticks_per_second,
            start_time_seconds: boot_time + start_ticks / self.ticks_per_second,
        })
    }
}

/// Open descriptors: the entries of `/proc/self/fd` (the one reading it included, as the
/// other clients count).
fn open_fds() -> Option<i64> {
    let count = fs::read_dir("/proc/self/fd").ok()?.count();
    i64::try_from(count).ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64| {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
        };
        if let Some(bytes) = self.resident_bytes() {
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                bytes,
            )?;
        }
        if let Some(times) = self.times() {
            let cpu = ConstCounter::new(times.cpu_seconds);
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                cpu.metric_type(),
            )?)?;
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                times.start_time_seconds,
            )?;
        }
        if let Some(fds) = open_fds() {
            let open = ConstGauge::new(fds);
            open.encode(encoder.encode_descriptor(
                "process_open_fds",
                "Number of open file descriptors",
                None,
                open.metric_type(),
            )?)?;
        }
        Ok(())
    }
}
