//! OpenTelemetry export: one trace per invocation (a server span named after the function,
//! with an `init` child span on a cold start and an `invoke` child span), sent as OTLP/HTTP
//! JSON to the configured endpoint (`[telemetry] otlp_endpoint`, plain `http://`).
//!
//! The trace id is the X-Ray trace id the function sees in `_X_AMZN_TRACE_ID`
//! (`Root=1-<8 hex>-<24 hex>` read as 32 hex digits), and the caller's `Parent` becomes the
//! parent of the server span, so the spans join the caller's trace. Spans are buffered in
//! memory (at most [`MAX_PENDING`]; more are dropped and counted) and sent in batches by a
//! background task, never on the invoke path.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use lamina_engine::InvocationStatus;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::observe::Invoked;

/// Spans waiting to be sent, at most.
pub const MAX_PENDING: usize = 10_000;
/// Invocations per export request, at most.
const MAX_BATCH: usize = 512;
/// One export request may take this long.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where spans go: `http://host:port/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// `/v1/traces` under the configured path.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]`; the traces path `/v1/traces` is appended unless the
    /// path already ends with it (as `OTEL_EXPORTER_OTLP_ENDPOINT` works).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("OTLP endpoint {url:?} must start with http:// (TLS is not supported)")
        })?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let bad_port = || format!("OTLP endpoint {url:?} has a bad port");
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            // [::1]:4318
            let (h, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("OTLP endpoint {url:?} has a bad host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse::<u16>().map_err(|_| bad_port())?,
                None if after.is_empty() => 80,
                None => return Err(bad_port()),
            };
            (h, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad_port())?),
                None => (authority, 80),
            }
        };
        if host.is_empty() {
            return Err(format!("OTLP endpoint {url:?} has no host"));
        }
        let base = path.trim_end_matches('/');
        let path = if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            path,
        })
    }
}

/// The trace id (32 hex) and parent span id (16 hex) of an `X-Amzn-Trace-Id` header.
pub fn xray_ids(header: &str) -> (Option<String>, Option<String>) {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let mut trace = None;
    let mut parent = None;
    for part in header.split(';') {
        match part.trim().split_once('=') {
            Some(("Root", v)) => {
                let mut it = v.split('-');
                if let (Some("1"), Some(time), Some(id), None) =
                    (it.next(), it.next(), it.next(), it.next())
                    && hex(time, 8)
                    && hex(id, 24)
                {
                    trace = Some(format!("{time}{id}").to_ascii_lowercase());
                }
            }
            Some(("Parent", v)) if hex(v, 16) => parent = Some(v.to_ascii_lowercase()),
            _ => {}
        }
    }
    (trace, parent)
}

fn random_hex(n: usize) -> String {
    let mut s = uuid::Uuid::new_v4().simple().to_string();
    s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    s.truncate(n);
    s
}

fn nanos(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// What one invocation's spans are made of.
#[derive(Debug, Clone)]
pub struct InvocationSpan {
    trace_id: String,
    parent_span_id: Option<String>,
    function: String,
    version: String,
    region: String,
    invoked_arn: String,
    request_id: String,
    /// The whole invocation as the API saw it (ns since the epoch).
    began: u128,
    ended: u128,
    invoke: (u128, u128),
    init: Option<(u128, u128)>,
    cold_start: bool,
    memory_size_mb: u32,
    /// `Some(error type)` for a failed invocation (`""` when unknown).
    error: Option<String>,
}

impl InvocationSpan {
    pub fn of(region: &str, inv: &Invoked<'_>) -> Self {
        let (trace, parent) = xray_ids(inv.trace_header);
        let m = inv.metrics;
        let invoke_start = nanos(m.started_at);
        let init = m.init.map(|(start, d)| {
            let s = nanos(start);
            (s, s + d.as_nanos())
        });
        let failed = inv.function_error || m.status != InvocationStatus::Success;
        Self {
            trace_id: trace.unwrap_or_else(|| random_hex(32)),
            parent_span_id: parent,
            function: inv.function.to_owned(),
            version: inv.version.to_owned(),
            region: region.to_owned(),
            invoked_arn: inv.invoked_arn.to_owned(),
            request_id: inv.request_id.to_owned(),
            began: nanos(inv.began),
            ended: nanos(inv.ended),
            invoke: (invoke_start, invoke_start + m.duration.as_nanos()),
            init,
            cold_start: m.cold_start,
            memory_size_mb: m.memory_size_mb,
            error: failed.then(|| m.error_type.clone().unwrap_or_default()),
        }
    }

    /// The OTLP JSON spans: the server span, then `init` (cold starts) and `invoke`.
    fn to_otlp(&self) -> Vec<Value> {
        let attr = |k: &str, v: Value| json!({ "key": k, "value": v });
        let string = |s: &str| json!({ "stringValue": s });
        let root_id = random_hex(16);
        let start = self
            .init
            .map_or(self.began, |(s, _)| s.min(self.began))
            .min(self.invoke.0);
        let end = self.ended.max(self.invoke.1);
        let mut attributes = vec![
            attr("faas.name", string(&self.function)),
            attr("faas.version", string(&self.version)),
            attr("faas.coldstart", json!({ "boolValue": self.cold_start })),
            attr("faas.invocation_id", string(&self.request_id)),
            attr(
                "faas.max_memory",
                json!({ "intValue": (u64::from(self.memory_size_mb) * 1024 * 1024).to_string() }),
            ),
            attr("cloud.region", string(&self.region)),
            attr("cloud.resource_id", string(&self.invoked_arn)),
        ];
        let status = match &self.error {
            Some(t) => {
                if !t.is_empty() {
                    attributes.push(attr("error.type", string(t)));
                }
                json!({ "code": 2, "message": t })
            }
            None => json!({ "code": 0 }),
        };
        let mut root = json!({
            "traceId": self.trace_id,
            "spanId": root_id,
            "name": self.function,
            "kind": 2,
            "startTimeUnixNano": start.to_string(),
            "endTimeUnixNano": end.to_string(),
            "attributes": attributes,
            "status": status,
        });
        if let Some(p) = &self.parent_span_id {
            root["parentSpanId"] = json!(p);
        }
        let child = |name: &str, (s, e): (u128, u128)| {
            json!({
                "traceId": self.trace_id,
                "spanId": random_hex(16),
                "parentSpanId": root_id,
                "name": name,
                "kind": 1,
                "startTimeUnixNano": s.to_string(),
                "endTimeUnixNano": e.to_string(),
                "attributes": [attr("faas.name", string(&self.function))],
            })
        };
        let mut spans = vec![root];
        if let Some(init) = self.init {
            spans.push(child("init", init));
        }
        spans.push(child("invoke", self.invoke));
        spans
    }
}

/// The OTLP/HTTP JSON `ExportTraceServiceRequest` for a batch of invocations.
pub fn export_request(batch: &[InvocationSpan]) -> Value {
    let spans: Vec<Value> = batch.iter().flat_map(InvocationSpan::to_otlp).collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [
                { "key": "service.name", "value": { "stringValue": "lamina" } },
                { "key": "cloud.provider", "value": { "stringValue": "lamina" } },
            ]},
            "scopeSpans": [{
                "scope": { "name": "lamina", "version": env!("CARGO_PKG_VERSION") },
                "spans": spans,
            }],
        }],
    })
}

/// Buffers invocation spans and sends them to the OTLP endpoint.
pub struct SpanExporter {
    endpoint: Endpoint,
    pending: Mutex<Vec<InvocationSpan>>,
    wake: Notify,
    /// One export at a time, so `flush` returns only when everything before it was sent.
    sending: tokio::sync::Mutex<()>,
}

impl SpanExporter {
    pub fn new(url: &str) -> Result<Self, String> {
        Ok(Self {
            endpoint: Endpoint::parse(url)?,
            pending: Mutex::new(Vec::new()),
            wake: Notify::new(),
            sending: tokio::sync::Mutex::new(()),
        })
    }

    /// Queues an invocation's spans; false when the buffer is full and they were dropped.
    pub fn record(&self, span: InvocationSpan) -> bool {
        {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if p.len() >= MAX_PENDING {
                return false;
            }
            p.push(span);
        }
        self.wake.notify_one();
        true
    }

    /// Sends spans as they come, until the process ends.
    pub async fn run(&self) {
        loop {
            self.wake.notified().await;
            self.flush().await;
        }
    }

    /// Sends everything buffered (a failed batch is logged and dropped).
    pub async fn flush(&self) {
        let _one = self.sending.lock().await;
        loop {
            let batch: Vec<InvocationSpan> = {
                let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                let n = p.len().min(MAX_BATCH);
                p.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let body = export_request(&batch).to_string();
            match tokio::time::timeout(EXPORT_TIMEOUT, post(&self.endpoint, body)).await {
                Ok(Ok(status)) if (200..300).contains(&status) => {}
                Ok(Ok(status)) => {
                    tracing::warn!(
                        status,
                        spans = batch.len(),
                        "the OTLP endpoint refused spans"
                    );
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, spans = batch.len(), "cannot export spans");
                }
                Err(_) => tracing::warn!(spans = batch.len(), "span export timed out"),
            }
        }
    }
}

/// POSTs a JSON body over a new HTTP/1.1 connection; returns the status.
async fn post(endpoint: &Endpoint, body: String) -> Result<u16, String> {
    let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| format!("connecting to {}:{}: {e}", endpoint.host, endpoint.port))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let host = if endpoint.port == 80 {
        endpoint.host.clone()
    } else {
        format!("{}:{}", endpoint.host, endpoint.port)
    };
    let request = http::Request::post(endpoint.path.as_str())
        .header(HOST, host)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, body.len())
        .header(CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        // Read (a bounded part of) the answer so the connection ends cleanly.
        let _ = Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await;
        Ok(status)
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lamina_engine::InvocationMetrics;

    use super::*;

    #[test]
    fn endpoints_get_the_traces_path() {
        let e = Endpoint::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("127.0.0.1", 4318, "/v1/traces")
        );
        assert_eq!(
            Endpoint::parse("http://collector/otlp/").unwrap().path,
            "/otlp/v1/traces"
        );
        assert_eq!(Endpoint::parse("http://collector").unwrap().port, 80);
        assert_eq!(
            Endpoint::parse("http://h:1/v1/traces").unwrap().path,
            "/v1/traces"
        );
        assert!(Endpoint::parse("https://h:4318").is_err());
        assert!(Endpoint::parse("http://h:port").is_err());
    }

    #[test]
    fn xray_root_becomes_the_trace_id_and_parent_the_parent_span() {
        let (t, p) =
            xray_ids("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
        assert_eq!(t.as_deref(), Some("5759e988bd862e3fe1be46a994272793"));
        assert_eq!(p.as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!(xray_ids("Root=1-xyz-abc"), (None, None));
        assert_eq!(xray_ids("garbage"), (None, None));
    }

    #[test]
    fn a_cold_invocation_has_a_server_span_with_init_and_invoke_children() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let m = InvocationMetrics {
            request_id: "r".into(),
            started_at: t0 + Duration::from_millis(200),
            duration: Duration::from_millis(30),
            billed_duration_ms: 30,
            memory_size_mb: 128,
            max_memory_used_bytes: 1,
            init: Some((t0 + Duration::from_millis(10), Duration::from_millis(180))),
            cold_start: true,
            provisioned: false,
            status: InvocationStatus::Success,
            error_type: None,
        };
        let inv = Invoked {
            function: "f",
            version: "$LATEST",
            invoked_arn: "arn:aws:lambda:us-east-1:000000000000:function:f",
            request_id: "r",
            trace_header: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            began: t0,
            ended: t0 + Duration::from_millis(240),
            function_error: false,
            metrics: &m,
        };
        let body = export_request(&[InvocationSpan::of("us-east-1", &inv)]);
        let spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap();
        assert_eq!(spans.len(), 3);
        let root = &spans[0];
        assert_eq!(root["traceId"], "5759e988bd862e3fe1be46a994272793");
        assert_eq!(root["parentSpanId"], "53995c3f42cd8ad8");
        assert_eq!(root["name"], "f");
        assert_eq!(root["startTimeUnixNano"], "1700000000000000000");
        assert_eq!(root["endTimeUnixNano"], "1700000000240000000");
        let attrs = root["attributes"].as_array().unwrap();
        let get = |k: &str| attrs.iter().find(|a| a["key"] == k).unwrap()["value"].clone();
        assert_eq!(get("faas.coldstart")["boolValue"], true);
        assert_eq!(get("faas.version")["stringValue"], "$LATEST");
        assert_eq!(get("cloud.region")["stringValue"], "us-east-1");
        assert_eq!(spans[1]["name"], "init");
        assert_eq!(spans[1]["parentSpanId"], root["spanId"]);
        assert_eq!(spans[1]["endTimeUnixNano"], "1700000000190000000");
        assert_eq!(spans[2]["name"], "invoke");
        assert_eq!(spans[2]["startTimeUnixNano"], "1700000000200000000");
    }
}
