//! Prometheus metrics: requests and their latencies per route, submissions per service.
//!
//! Labels are route patterns (`/api/v1/services/{tenant}/{service}/evaluate`), never concrete
//! paths, so no reference number or other personal data ends up in a metric.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latencies: Mutex<BTreeMap<String, Histogram>>,
    submissions: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let mut latencies = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        let h = latencies.entry(route.to_string()).or_default();
        if h.counts.is_empty() {
            h.counts = vec![0; BUCKETS.len()];
        }
        for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if secs <= *bound {
                *count += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    pub fn submitted(&self, tenant: &str, service: &str) {
        *self
            .submissions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((tenant.to_string(), service.to_string()))
            .or_default() += 1;
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP baukasten_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE baukasten_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "baukasten_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP baukasten_http_request_duration_seconds Time to answer a request, by route.\n");
        out.push_str("# TYPE baukasten_http_request_duration_seconds histogram\n");
        for (route, h) in self.latencies.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let route = escape(route);
            for (bound, count) in BUCKETS.iter().zip(&h.counts) {
                let _ = writeln!(
                    out,
                    "baukasten_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "baukasten_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "baukasten_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "baukasten_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP baukasten_submissions_total Submissions stored, by municipality and service.\n");
        out.push_str("# TYPE baukasten_submissions_total counter\n");
        for ((tenant, service), n) in self.submissions.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "baukasten_submissions_total{{tenant=\"{}\",service=\"{}\"}} {n}",
                escape(tenant),
                escape(service)
            );
        }
        out
    }
}

/// The store's part of `/metrics`: whether it can write, its commits, their latency and batch
/// sizes, and the bytes of uploads each municipality keeps (when they could be counted).
pub fn render_store(stats: &baukasten_store::StoreStats, uploads: Option<&BTreeMap<String, u64>>) -> String {
    let mut out = String::new();
    single(
        &mut out,
        "baukasten_store_writable",
        "gauge",
        "1 while the store can write, 0 after a storage failure until it recovers.",
        u8::from(stats.writable).to_string(),
    );
    for (name, help, value) in [
        (
            "baukasten_store_commits_total",
            "Write transactions committed (fsync'd).",
            stats.commits,
        ),
        (
            "baukasten_store_writes_total",
            "Writes carried by the commits (group commit).",
            stats.writes,
        ),
        (
            "baukasten_store_failed_commits_total",
            "Commits that failed (storage faults).",
            stats.failed_commits,
        ),
        (
            "baukasten_store_damaged_records_total",
            "Damaged records left out of lists (see `baukasten store verify`).",
            stats.damaged_records,
        ),
    ] {
        single(&mut out, name, "counter", help, value.to_string());
    }
    histogram(
        &mut out,
        "baukasten_store_commit_duration_seconds",
        "Time of a commit, fsync included.",
        baukasten_store::COMMIT_SECONDS
            .iter()
            .map(f64::to_string)
            .zip(&stats.commit_seconds),
        stats.commit_seconds_sum.to_string(),
        stats.commits,
    );
    histogram(
        &mut out,
        "baukasten_store_batch_size",
        "Writes per commit.",
        baukasten_store::BATCH_SIZES
            .iter()
            .map(u64::to_string)
            .zip(&stats.batch_sizes),
        stats.writes.to_string(),
        stats.commits,
    );
    if let Some(uploads) = uploads {
        out.push_str("# HELP baukasten_upload_bytes Bytes of the uploads a municipality keeps.\n");
        out.push_str("# TYPE baukasten_upload_bytes gauge\n");
        for (tenant, bytes) in uploads {
            let _ = writeln!(out, "baukasten_upload_bytes{{tenant=\"{}\"}} {bytes}", escape(tenant));
        }
    }
    out
}

/// The outbox: deliveries waiting for an attempt, and those whose every attempt failed.
pub fn render_deliveries(backlog: &baukasten_store::DeliveryBacklog) -> String {
    let mut out = String::new();
    single(
        &mut out,
        "baukasten_deliveries_pending",
        "gauge",
        "Deliveries waiting for their next attempt.",
        backlog.pending.to_string(),
    );
    single(
        &mut out,
        "baukasten_deliveries_failed",
        "gauge",
        "Deliveries whose every attempt failed; the back office can resend them.",
        backlog.failed.to_string(),
    );
    out
}

/// One metric without labels.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: String) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

/// A histogram without labels: its cumulative buckets, `+Inf`, sum and count.
fn histogram<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    buckets: impl Iterator<Item = (String, &'a u64)>,
    sum: String,
    count: u64,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (bound, n) in buckets {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
    );
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histograms_come_out_in_prometheus_text() {
        let m = Metrics::default();
        m.request("GET", "/healthz", 200, Duration::from_micros(300));
        m.request("GET", "/healthz", 200, Duration::from_millis(30));
        m.submitted("musterstadt", "hundesteuer");
        let text = m.render();
        assert!(text.contains("baukasten_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"));
        assert!(text.contains("baukasten_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0005\"} 1"));
        assert!(text.contains("baukasten_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.05\"} 2"));
        assert!(text.contains("baukasten_submissions_total{tenant=\"musterstadt\",service=\"hundesteuer\"} 1"));
    }
}
