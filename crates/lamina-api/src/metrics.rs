//! Prometheus metrics at `GET /metrics` in the text exposition format 0.0.4: per function and
//! version invocations, errors, throttles, cold starts, durations, memory and concurrency;
//! provisioned-concurrency utilisation; the async queue and its deliveries.
//!
//! Counters and histograms live in memory behind one mutex (an update is a map lookup and a
//! few additions); gauges of the engine and the queue are read when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use lamina_engine::{EngineStats, InvocationMetrics, ProvisionedUsage};
use lamina_store::QueueStats;

use crate::state::AppState;

const MB: f64 = 1024.0 * 1024.0;

/// Duration buckets, seconds: 1 ms up to the 900 s maximum timeout.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 900.0,
];
/// Init duration buckets, seconds (init is capped at 10 s).
const INIT_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Peak memory buckets, bytes: 16 MB up to 10240 MB.
const MEMORY_BUCKETS: &[f64] = &[
    16.0 * MB,
    32.0 * MB,
    64.0 * MB,
    128.0 * MB,
    256.0 * MB,
    512.0 * MB,
    1024.0 * MB,
    2048.0 * MB,
    3072.0 * MB,
    4096.0 * MB,
    6144.0 * MB,
    8192.0 * MB,
    10240.0 * MB,
];

/// A cumulative histogram with fixed upper bounds (`+Inf` implied).
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }
}

/// The series of one function version.
#[derive(Debug, Clone)]
struct FunctionSeries {
    invocations: u64,
    errors: u64,
    throttles: u64,
    cold_starts: u64,
    in_flight: u64,
    billed_ms: u64,
    duration: Histogram,
    init_duration: Histogram,
    max_memory: Histogram,
}

impl Default for FunctionSeries {
    fn default() -> Self {
        Self {
            invocations: 0,
            errors: 0,
            throttles: 0,
            cold_starts: 0,
            in_flight: 0,
            billed_ms: 0,
            duration: Histogram::new(DURATION_BUCKETS),
            init_duration: Histogram::new(INIT_BUCKETS),
            max_memory: Histogram::new(MEMORY_BUCKETS),
        }
    }
}

#[derive(Default)]
struct Registry {
    /// Keyed by (function, version).
    functions: BTreeMap<(String, String), FunctionSeries>,
    /// (function, condition) -> events that ended in failure.
    async_failed: BTreeMap<(String, String), u64>,
    /// (function, result) -> dead-letter deliveries.
    dead_letters: BTreeMap<(String, String), u64>,
    /// (function, destination type, result) -> destination deliveries.
    deliveries: BTreeMap<(String, String, String), u64>,
    spans_dropped: u64,
}

/// The in-memory counters and histograms.
#[derive(Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

/// `ok` or `error`, the `result` label of deliveries.
fn result_label(ok: bool) -> &'static str {
    if ok { "ok" } else { "error" }
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Registry) -> T) -> T {
        let mut r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut r)
    }

    fn series<'a>(r: &'a mut Registry, function: &str, version: &str) -> &'a mut FunctionSeries {
        r.functions
            .entry((function.to_owned(), version.to_owned()))
            .or_default()
    }

    /// An invocation that ran (to a result, a function error, a timeout or a failed init).
    pub fn invocation(
        &self,
        function: &str,
        version: &str,
        m: &InvocationMetrics,
        function_error: bool,
    ) {
        self.with(|r| {
            let s = Self::series(r, function, version);
            s.invocations += 1;
            if function_error {
                s.errors += 1;
            }
            if m.cold_start {
                s.cold_starts += 1;
            }
            s.billed_ms += m.billed_duration_ms;
            s.duration.observe(m.duration.as_secs_f64());
            if let Some((_, init)) = m.init {
                s.init_duration.observe(init.as_secs_f64());
            }
            s.max_memory.observe(m.max_memory_used_bytes as f64);
        });
    }

    /// An invocation refused for lack of concurrency (429).
    pub fn throttle(&self, function: &str, version: &str) {
        self.with(|r| Self::series(r, function, version).throttles += 1);
    }

    /// Counts an invocation in flight until the guard is dropped.
    pub fn in_flight(&self, function: &str, version: &str) -> InFlight<'_> {
        self.with(|r| Self::series(r, function, version).in_flight += 1);
        InFlight {
            metrics: self,
            function: function.to_owned(),
            version: version.to_owned(),
        }
    }

    /// An async event that ended in failure (`condition`: `RetriesExhausted`, `EventAgeExceeded`).
    pub fn async_failed(&self, function: &str, condition: &str) {
        self.with(|r| {
            *r.async_failed
                .entry((function.to_owned(), condition.to_owned()))
                .or_default() += 1;
        });
    }

    /// A delivery of an async event to the function's dead-letter queue.
    pub fn dead_lettered(&self, function: &str, ok: bool) {
        self.with(|r| {
            *r.dead_letters
                .entry((function.to_owned(), result_label(ok).to_owned()))
                .or_default() += 1;
        });
    }

    /// A delivery of an invocation record to an async destination (`kind`: `function`, `sqs`, ...).
    pub fn destination_delivered(&self, function: &str, kind: &str, ok: bool) {
        self.with(|r| {
            *r.deliveries
                .entry((
                    function.to_owned(),
                    kind.to_owned(),
                    result_label(ok).to_owned(),
                ))
                .or_default() += 1;
        });
    }

    /// A delivery of the invocation `record` (AWS's destination record, whose
    /// `requestContext.functionArn` names the function) to `destination` (an ARN).
    pub fn delivered_record(&self, record: &serde_json::Value, destination: &str, ok: bool) {
        let function = record["requestContext"]["functionArn"]
            .as_str()
            .and_then(|arn| arn.split(':').nth(6))
            .unwrap_or_default();
        let kind = match destination.split(':').nth(2) {
            Some("lambda") => "function",
            Some("sqs") => "sqs",
            Some("sns") => "sns",
            Some("events") => "eventbridge",
            _ => "unknown",
        };
        self.destination_delivered(function, kind, ok);
    }

    /// A span that was dropped because the export buffer was full.
    pub fn span_dropped(&self) {
        self.with(|r| r.spans_dropped += 1);
    }

    /// The exposition text, with the gauges read at scrape time.
    pub fn render(&self, gauges: &Gauges) -> String {
        let r = self.with(|r| {
            (
                r.functions.clone(),
                r.async_failed.clone(),
                r.dead_letters.clone(),
                r.deliveries.clone(),
                r.spans_dropped,
            )
        });
        let (functions, async_failed, dead_letters, deliveries, spans_dropped) = r;
        let mut t = Text::default();
        let fv = |k: &(String, String)| [("function", k.0.clone()), ("version", k.1.clone())];

        type Counter = fn(&FunctionSeries) -> u64;
        let counters: [(&str, &str, Counter); 4] = [
            (
                "lamina_invocations_total",
                "Invocations that ran (successful or not; throttles excluded).",
                |s| s.invocations,
            ),
            (
                "lamina_errors_total",
                "Invocations that ended in a function error (X-Amz-Function-Error).",
                |s| s.errors,
            ),
            (
                "lamina_throttles_total",
                "Invocations refused with TooManyRequestsException.",
                |s| s.throttles,
            ),
            (
                "lamina_cold_starts_total",
                "Invocations that started a new execution environment.",
                |s| s.cold_starts,
            ),
        ];
        for (name, help, get) in counters {
            t.family(name, help, "counter");
            for (k, s) in &functions {
                t.sample(name, &fv(k), get(s) as f64);
            }
        }
        t.family(
            "lamina_billed_duration_seconds_total",
            "Billed duration (REPORT line Billed Duration), seconds.",
            "counter",
        );
        for (k, s) in &functions {
            t.sample(
                "lamina_billed_duration_seconds_total",
                &fv(k),
                s.billed_ms as f64 / 1000.0,
            );
        }
        type Hist = fn(&FunctionSeries) -> &Histogram;
        let histograms: [(&str, &str, Hist); 3] = [
            (
                "lamina_duration_seconds",
                "Invocation duration (REPORT line Duration), seconds.",
                |s| &s.duration,
            ),
            (
                "lamina_init_duration_seconds",
                "Initialisation of on-demand cold starts (REPORT line Init Duration), seconds.",
                |s| &s.init_duration,
            ),
            (
                "lamina_max_memory_used_bytes",
                "Peak memory of the execution environment per invocation, bytes.",
                |s| &s.max_memory,
            ),
        ];
        for (name, help, get) in histograms {
            t.family(name, help, "histogram");
            for (k, s) in &functions {
                t.histogram(name, &fv(k), get(s));
            }
        }
        t.family(
            "lamina_concurrent_executions",
            "Invocations in flight.",
            "gauge",
        );
        for (k, s) in &functions {
            t.sample("lamina_concurrent_executions", &fv(k), s.in_flight as f64);
        }

        t.family(
            "lamina_account_concurrent_executions",
            "Invocations holding a concurrency slot, account-wide.",
            "gauge",
        );
        t.sample(
            "lamina_account_concurrent_executions",
            &[],
            f64::from(gauges.engine.in_flight),
        );
        t.family(
            "lamina_environments",
            "Execution environments that exist (live) and wait for work (idle).",
            "gauge",
        );
        t.sample(
            "lamina_environments",
            &[("state", "live".to_owned())],
            f64::from(gauges.engine.live_environments),
        );
        t.sample(
            "lamina_environments",
            &[("state", "idle".to_owned())],
            f64::from(gauges.engine.idle_environments),
        );

        let provisioned: Vec<_> = gauges
            .provisioned
            .iter()
            .map(|p| {
                let (function, qualifier) = p.target.split_once(':').unwrap_or((&p.target, ""));
                let labels = [
                    ("function", function.to_owned()),
                    ("qualifier", qualifier.to_owned()),
                ];
                let busy = p.allocated.saturating_sub(p.idle);
                (labels, p.allocated, busy)
            })
            .collect();
        t.family(
            "lamina_provisioned_concurrency_allocated",
            "Provisioned-concurrency environments initialised.",
            "gauge",
        );
        for (labels, allocated, _) in &provisioned {
            t.sample(
                "lamina_provisioned_concurrency_allocated",
                labels,
                f64::from(*allocated),
            );
        }
        t.family(
            "lamina_provisioned_concurrency_busy",
            "Provisioned-concurrency environments running an invocation.",
            "gauge",
        );
        for (labels, _, busy) in &provisioned {
            t.sample(
                "lamina_provisioned_concurrency_busy",
                labels,
                f64::from(*busy),
            );
        }
        t.family(
            "lamina_provisioned_concurrency_utilization",
            "Busy provisioned environments divided by allocated ones (0 when none).",
            "gauge",
        );
        for (labels, allocated, busy) in &provisioned {
            let u = if *allocated == 0 {
                0.0
            } else {
                f64::from(*busy) / f64::from(*allocated)
            };
            t.sample("lamina_provisioned_concurrency_utilization", labels, u);
        }

        if let Some(q) = &gauges.queue {
            t.family(
                "lamina_async_queue_depth",
                "Asynchronous events queued (due or waiting for a retry).",
                "gauge",
            );
            t.sample("lamina_async_queue_depth", &[], q.depth as f64);
            t.family(
                "lamina_async_oldest_event_age_seconds",
                "Age of the oldest queued asynchronous event (0 when none).",
                "gauge",
            );
            let age = q
                .oldest_enqueued_at_ms
                .map_or(0.0, |t| ((gauges.now_ms - t).max(0)) as f64 / 1000.0);
            t.sample("lamina_async_oldest_event_age_seconds", &[], age);
        }
        t.family(
            "lamina_async_events_failed_total",
            "Asynchronous events that ended in failure, by condition.",
            "counter",
        );
        for ((function, condition), n) in &async_failed {
            t.sample(
                "lamina_async_events_failed_total",
                &[
                    ("function", function.clone()),
                    ("condition", condition.clone()),
                ],
                *n as f64,
            );
        }
        t.family(
            "lamina_async_dead_letter_deliveries_total",
            "Failed asynchronous events sent to the function's dead-letter queue.",
            "counter",
        );
        for ((function, result), n) in &dead_letters {
            t.sample(
                "lamina_async_dead_letter_deliveries_total",
                &[("function", function.clone()), ("result", result.clone())],
                *n as f64,
            );
        }
        t.family(
            "lamina_async_destination_deliveries_total",
            "Invocation records sent to asynchronous destinations.",
            "counter",
        );
        for ((function, kind, result), n) in &deliveries {
            t.sample(
                "lamina_async_destination_deliveries_total",
                &[
                    ("function", function.clone()),
                    ("destination_type", kind.clone()),
                    ("result", result.clone()),
                ],
                *n as f64,
            );
        }
        t.family(
            "lamina_trace_spans_dropped_total",
            "Invocation spans dropped because the OTLP export buffer was full.",
            "counter",
        );
        t.sample(
            "lamina_trace_spans_dropped_total",
            &[],
            spans_dropped as f64,
        );
        t.0
    }
}

/// Keeps a function version's in-flight gauge up while it lives.
pub struct InFlight<'a> {
    metrics: &'a Metrics,
    function: String,
    version: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.metrics.with(|r| {
            let s = Metrics::series(r, &self.function, &self.version);
            s.in_flight = s.in_flight.saturating_sub(1);
        });
    }
}

/// Gauges read when scraped.
pub struct Gauges {
    pub engine: EngineStats,
    pub provisioned: Vec<ProvisionedUsage>,
    /// `None` when the store could not be read.
    pub queue: Option<QueueStats>,
    pub now_ms: i64,
}

/// Exposition text under construction.
#[derive(Default)]
struct Text(String);

/// A label value escaped for the text format (backslash, double quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A sample value as Prometheus writes it.
fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

impl Text {
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, String)], h: &Histogram) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, n) in h.counts.iter().enumerate() {
            cumulative += n;
            let le = h
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| number(*b));
            let mut l = labels.to_vec();
            l.push(("le", le));
            self.sample(&bucket, &l, cumulative as f64);
        }
        self.sample(&format!("{name}_sum"), labels, h.sum);
        self.sample(&format!("{name}_count"), labels, h.count as f64);
    }
}

/// `GET /metrics`.
pub async fn handler(State(state): State<AppState>) -> Response {
    // Invocations that already answered may still be finishing: count them too.
    state.engine.settle().await;
    let queue = match state.store.queue_stats().await {
        Ok(q) => Some(q),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the async queue for /metrics");
            None
        }
    };
    let now_ms =
        i64::try_from(lamina_types::time::now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let gauges = Gauges {
        engine: state.engine.stats(),
        provisioned: state.engine.provisioned_usage(),
        queue,
        now_ms,
    };
    let body = state.observe.metrics.render(&gauges);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use lamina_engine::InvocationStatus;

    use super::*;

    fn figures(ms: u64, cold: bool) -> InvocationMetrics {
        InvocationMetrics {
            request_id: "r".into(),
            started_at: SystemTime::now(),
            duration: Duration::from_millis(ms),
            billed_duration_ms: ms,
            memory_size_mb: 128,
            max_memory_used_bytes: 40 * 1024 * 1024,
            init: cold.then(|| (SystemTime::now(), Duration::from_millis(150))),
            cold_start: cold,
            provisioned: false,
            status: InvocationStatus::Success,
            error_type: None,
        }
    }

    fn gauges() -> Gauges {
        Gauges {
            engine: EngineStats {
                live_environments: 2,
                idle_environments: 1,
                in_flight: 1,
            },
            provisioned: vec![ProvisionedUsage {
                target: "f:live".into(),
                requested: 2,
                allocated: 2,
                idle: 1,
            }],
            queue: Some(QueueStats {
                depth: 3,
                oldest_enqueued_at_ms: Some(1_000),
                failed: 0,
            }),
            now_ms: 5_500,
        }
    }

    #[test]
    fn exposition_has_help_type_cumulative_buckets_sum_and_count() {
        let m = Metrics::default();
        m.invocation("f", "$LATEST", &figures(20, true), false);
        m.invocation("f", "$LATEST", &figures(700, false), true);
        m.throttle("f", "$LATEST");
        let guard = m.in_flight("f", "$LATEST");
        let text = m.render(&gauges());
        drop(guard);
        assert!(text.contains("# HELP lamina_invocations_total "));
        assert!(text.contains("# TYPE lamina_invocations_total counter\n"));
        assert!(text.contains("lamina_invocations_total{function=\"f\",version=\"$LATEST\"} 2\n"));
        assert!(text.contains("lamina_errors_total{function=\"f\",version=\"$LATEST\"} 1\n"));
        assert!(text.contains("lamina_throttles_total{function=\"f\",version=\"$LATEST\"} 1\n"));
        assert!(text.contains("lamina_cold_starts_total{function=\"f\",version=\"$LATEST\"} 1\n"));
        assert!(text.contains("# TYPE lamina_duration_seconds histogram\n"));
        assert!(text.contains(
            "lamina_duration_seconds_bucket{function=\"f\",version=\"$LATEST\",le=\"0.025\"} 1\n"
        ));
        assert!(text.contains(
            "lamina_duration_seconds_bucket{function=\"f\",version=\"$LATEST\",le=\"1\"} 2\n"
        ));
        assert!(text.contains(
            "lamina_duration_seconds_bucket{function=\"f\",version=\"$LATEST\",le=\"+Inf\"} 2\n"
        ));
        assert!(
            text.contains("lamina_duration_seconds_sum{function=\"f\",version=\"$LATEST\"} 0.72\n")
        );
        assert!(
            text.contains("lamina_duration_seconds_count{function=\"f\",version=\"$LATEST\"} 2\n")
        );
        assert!(text.contains(
            "lamina_init_duration_seconds_count{function=\"f\",version=\"$LATEST\"} 1\n"
        ));
        assert!(
            text.contains("lamina_concurrent_executions{function=\"f\",version=\"$LATEST\"} 1\n")
        );
        assert!(text.contains(
            "lamina_provisioned_concurrency_utilization{function=\"f\",qualifier=\"live\"} 0.5\n"
        ));
        assert!(text.contains("lamina_async_queue_depth 3\n"));
        assert!(text.contains("lamina_async_oldest_event_age_seconds 4.5\n"));
        assert!(
            m.render(&gauges())
                .contains("lamina_concurrent_executions{function=\"f\",version=\"$LATEST\"} 0\n"),
            "the guard gives the slot back"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
