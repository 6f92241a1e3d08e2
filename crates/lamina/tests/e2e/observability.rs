//! Observability: Prometheus metrics, usage for billing, the audit log and OTLP trace export.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, InvocationType};
use prometheus_parse::{Scrape, Value as Prom};
use serde_json::{Value, json};

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");

async fn python(client: &aws_sdk_lambda::Client, name: &str, handler: &str) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler(format!("app.{handler}"))
        .timeout(10)
        .memory_size(128)
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

async fn invoke(client: &aws_sdk_lambda::Client, name: &str) -> bool {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    out.function_error().is_some()
}

/// Scrapes `/metrics` without signing.
fn scrape(server: &TestServer) -> Scrape {
    let (status, headers, body) =
        raw_request("GET", &format!("{}/metrics", server.endpoint), &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        content_type,
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(body).unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

fn labels_match(sample: &prometheus_parse::Sample, labels: &[(&str, &str)]) -> bool {
    labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v))
}

/// The value of a counter, gauge or untyped sample (`_sum`, `_count`), or None.
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == metric && labels_match(x, labels))
        .find_map(|x| match x.value {
            Prom::Counter(v) | Prom::Gauge(v) | Prom::Untyped(v) => Some(v),
            _ => None,
        })
}

/// The `+Inf` bucket of a histogram.
fn histogram_total(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == metric && labels_match(x, labels))
        .find_map(|x| match &x.value {
            Prom::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map(|b| b.count),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no histogram {metric} {labels:?}"))
}

/// (version, billed ms, memory MB) of every REPORT line of a function.
fn reports(server: &TestServer, function: &str) -> Vec<(String, u64, u64)> {
    // Invocations are answered before their REPORT line is written: the operator endpoints
    // wait for every answered invocation to finish first.
    let (status, _) = signed_json(server, "/_lamina/admin/environments");
    assert_eq!(status, 200);
    let mut version = String::new();
    let mut out = Vec::new();
    for line in server.log_messages(function) {
        if let Some(rest) = line.strip_prefix("START RequestId: ") {
            version = rest.split("Version: ").nth(1).unwrap().trim().to_owned();
        }
        if line.starts_with("REPORT ") {
            let field = |name: &str| -> u64 {
                line.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            out.push((
                version.clone(),
                field("Billed Duration: "),
                field("Memory Size: "),
            ));
        }
    }
    out
}

fn signed_json(server: &TestServer, path: &str) -> (u16, Value) {
    let (status, _, body) = signed_get(&format!("{}{path}", server.endpoint));
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn metrics_and_usage_count_every_invocation_and_match_the_report_lines() {
    let server = TestServer::start().await;
    let client = server.client();
    python(&client, "echo", "echo").await;
    python(&client, "boom", "fail").await;
    python(&client, "zero", "echo").await;
    client
        .put_function_concurrency()
        .function_name("zero")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();

    for _ in 0..3 {
        assert!(!invoke(&client, "echo").await);
    }
    client
        .publish_version()
        .function_name("echo")
        .send()
        .await
        .unwrap();
    assert!(!invoke(&client, "echo:1").await);
    for _ in 0..2 {
        assert!(invoke(&client, "boom").await, "fail raises");
    }
    for _ in 0..2 {
        let err = client
            .invoke()
            .function_name("zero")
            .payload(Blob::new("{}"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "TooManyRequestsException");
    }

    let m = scrape(&server);
    let latest = |f: &'static str| [("function", f), ("version", "$LATEST")];
    let v1 = [("function", "echo"), ("version", "1")];
    assert!(
        m.docs.contains_key("lamina_invocations_total"),
        "HELP lines"
    );
    let count = |name: &str, labels: &[(&str, &str)]| value(&m, name, labels).unwrap_or(0.0);
    assert_eq!(count("lamina_invocations_total", &latest("echo")), 3.0);
    assert_eq!(count("lamina_invocations_total", &v1), 1.0);
    assert_eq!(count("lamina_invocations_total", &latest("boom")), 2.0);
    assert_eq!(count("lamina_invocations_total", &latest("zero")), 0.0);
    assert_eq!(count("lamina_errors_total", &latest("echo")), 0.0);
    assert_eq!(count("lamina_errors_total", &latest("boom")), 2.0);
    assert_eq!(count("lamina_throttles_total", &latest("zero")), 2.0);
    assert_eq!(count("lamina_throttles_total", &latest("echo")), 0.0);
    assert_eq!(count("lamina_cold_starts_total", &latest("echo")), 1.0);
    assert_eq!(count("lamina_cold_starts_total", &v1), 1.0);
    assert_eq!(count("lamina_cold_starts_total", &latest("boom")), 1.0);
    assert_eq!(count("lamina_concurrent_executions", &latest("echo")), 0.0);
    for (labels, n) in [
        (&latest("echo")[..], 3.0),
        (&v1[..], 1.0),
        (&latest("boom")[..], 2.0),
    ] {
        assert_eq!(histogram_total(&m, "lamina_duration_seconds", labels), n);
        assert_eq!(count("lamina_duration_seconds_count", labels), n);
        assert_eq!(
            histogram_total(&m, "lamina_max_memory_used_bytes", labels),
            n
        );
        assert_eq!(
            histogram_total(&m, "lamina_init_duration_seconds", labels),
            1.0
        );
    }
    assert_eq!(count("lamina_account_concurrent_executions", &[]), 0.0);
    assert_eq!(count("lamina_async_queue_depth", &[]), 0.0);
    assert!(value(&m, "lamina_async_oldest_event_age_seconds", &[]).is_some());

    // Billed durations: the metrics and the usage rows agree with the REPORT lines.
    let echo_reports = reports(&server, "echo");
    let boom_reports = reports(&server, "boom");
    assert_eq!(echo_reports.len(), 4, "{echo_reports:?}");
    assert_eq!(boom_reports.len(), 2, "{boom_reports:?}");
    let billed = |r: &[(String, u64, u64)], v: &str| -> u64 {
        r.iter().filter(|x| x.0 == v).map(|x| x.1).sum()
    };
    assert!(echo_reports.iter().all(|r| r.2 == 128));
    let echo_latest_ms = billed(&echo_reports, "$LATEST");
    assert!(
        (count("lamina_billed_duration_seconds_total", &latest("echo"))
            - echo_latest_ms as f64 / 1000.0)
            .abs()
            < 1e-9
    );

    let (status, usage) = signed_json(&server, "/_lamina/admin/usage");
    assert_eq!(status, 200, "{usage}");
    let rows = usage["Usage"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{usage}");
    let today = {
        let t = time::OffsetDateTime::now_utc();
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    let expected: BTreeMap<(&str, &str), (u64, u64)> = [
        (("boom", "$LATEST"), (2, billed(&boom_reports, "$LATEST"))),
        (("echo", "$LATEST"), (3, echo_latest_ms)),
        (("echo", "1"), (1, billed(&echo_reports, "1"))),
    ]
    .into();
    for row in rows {
        let key = (
            row["FunctionName"].as_str().unwrap(),
            row["Version"].as_str().unwrap(),
        );
        let (requests, billed_ms) = expected[&key];
        assert_eq!(row["Date"], today.as_str());
        assert_eq!(row["Requests"], requests, "{row}");
        assert_eq!(row["BilledDurationMs"], billed_ms, "{row}");
        assert_eq!(row["MemorySize"], 128);
        let gbs = billed_ms as f64 / 1000.0 * 128.0 / 1024.0;
        assert!(
            (row["GBSeconds"].as_f64().unwrap() - gbs).abs() < 1e-12,
            "{row}"
        );
        let cost = requests as f64 * 0.20 / 1e6 + gbs * 0.000_016_666_7;
        assert!(
            (row["CostUSD"].as_f64().unwrap() - cost).abs() < 1e-15,
            "{row}"
        );
    }
    assert_eq!(usage["Total"]["Requests"], 6);
    let (status, later) = signed_json(&server, "/_lamina/admin/usage?since=2999-01-01");
    assert_eq!(status, 200);
    assert_eq!(later["Usage"], json!([]));
    let (status, _) = signed_json(&server, "/_lamina/admin/usage?since=yesterday");
    assert_eq!(status, 400);

    // An async event that can never run is counted as failed.
    client
        .invoke()
        .function_name("zero")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    let failed = [("function", "zero"), ("condition", "RetriesExhausted")];
    let deadline = Instant::now() + Duration::from_secs(10);
    while value(
        &scrape(&server),
        "lamina_async_events_failed_total",
        &failed,
    ) != Some(1.0)
    {
        assert!(
            Instant::now() < deadline,
            "the async failure was never counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_need_a_signature_when_metrics_auth_is_set() {
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(&temp.path().join("data"), &["--metrics-auth"]);
    let url = format!("{}/metrics", server.endpoint);
    let (status, _, _) = raw_request("GET", &url, &[], b"");
    assert_eq!(status, 403);
    let (status, _, body) = signed_get(&url);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("# TYPE lamina_invocations_total counter")
    );
}

#[tokio::test]
async fn the_audit_log_records_each_mutating_call_but_no_reads_invokes_or_secrets() {
    const ENV_CANARIES: [&str; 2] = ["canary-create-7f3a9c2e", "canary-update-51d2e8b4"];
    const TAG_CANARY: &str = "canary-tag-0b6e44d1";
    let server = TestServer::start().await;
    let client = server.client();
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:audited";
    create_request(&client, "audited", zip_of(&[("app.py", APP)]))
        .handler("app.echo")
        .environment(
            Environment::builder()
                .variables("SECRET", ENV_CANARIES[0])
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_settled(&client, "audited").await;
    client
        .update_function_configuration()
        .function_name("audited")
        .environment(
            Environment::builder()
                .variables("SECRET", ENV_CANARIES[1])
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_settled(&client, "audited").await;
    client
        .tag_resource()
        .resource(arn)
        .tags("team", TAG_CANARY)
        .send()
        .await
        .unwrap();
    client.list_tags().resource(arn).send().await.unwrap();
    client
        .untag_resource()
        .resource(arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    client
        .publish_version()
        .function_name("audited")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("audited")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    client
        .get_alias()
        .function_name("audited")
        .name("live")
        .send()
        .await
        .unwrap();
    client
        .put_function_concurrency()
        .function_name("audited")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    client
        .delete_function_concurrency()
        .function_name("audited")
        .send()
        .await
        .unwrap();
    client
        .add_permission()
        .function_name("audited")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .unwrap();
    client
        .get_policy()
        .function_name("audited")
        .send()
        .await
        .unwrap();
    client
        .remove_permission()
        .function_name("audited")
        .statement_id("s3")
        .send()
        .await
        .unwrap();
    assert!(!invoke(&client, "audited").await);
    client.list_functions().send().await.unwrap();
    client
        .get_function()
        .function_name("audited")
        .send()
        .await
        .unwrap();
    let err = client
        .delete_function()
        .function_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");

    let (status, audit) = signed_json(&server, "/_lamina/admin/audit?limit=100");
    assert_eq!(status, 200, "{audit}");
    let entries = audit["Entries"].as_array().unwrap();
    let ops: Vec<&str> = entries
        .iter()
        .map(|e| e["Operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "DeleteFunction",
            "RemovePermission",
            "AddPermission",
            "DeleteFunctionConcurrency",
            "PutFunctionConcurrency",
            "CreateAlias",
            "PublishVersion",
            "UntagResource",
            "TagResource",
            "UpdateFunctionConfiguration",
            "CreateFunction",
        ],
        "newest first, no reads, no Invoke: {audit:#}"
    );
    for e in entries {
        assert_eq!(e["AccessKeyId"], ACCESS_KEY);
        assert_eq!(e["Principal"], "arn:aws:iam::000000000000:root");
        assert!(e["Time"].as_str().unwrap().ends_with('Z'), "{e}");
        assert_eq!(e["RequestId"].as_str().unwrap().len(), 36, "{e}");
    }
    let by_op = |op: &str| entries.iter().find(|e| e["Operation"] == op).unwrap();
    assert_eq!(by_op("CreateFunction")["Resource"], arn);
    assert_eq!(by_op("CreateFunction")["StatusCode"], 201);
    assert_eq!(by_op("TagResource")["Resource"], arn);
    assert_eq!(by_op("CreateAlias")["Resource"], arn);
    assert_eq!(by_op("UpdateFunctionConfiguration")["StatusCode"], 200);
    assert_eq!(
        by_op("UpdateFunctionConfiguration")["ErrorType"],
        Value::Null
    );
    let failed = by_op("DeleteFunction");
    assert_eq!(
        failed["Resource"],
        "arn:aws:lambda:us-east-1:000000000000:function:nope"
    );
    assert_eq!(failed["StatusCode"], 404);
    assert_eq!(failed["ErrorType"], "ResourceNotFoundException");
    let (_, limited) = signed_json(&server, "/_lamina/admin/audit?limit=2");
    assert_eq!(limited["Entries"].as_array().unwrap().len(), 2);

    let text = audit.to_string();
    for canary in ENV_CANARIES.iter().chain([&TAG_CANARY]) {
        assert!(!text.contains(canary), "{canary} leaked into the audit log");
    }
    // The database as a whole (the audit table included) holds no environment value.
    let mut db = Vec::new();
    for file in ["lamina.db", "lamina.db-wal"] {
        if let Ok(bytes) = std::fs::read(server.data_dir.join(file)) {
            db.extend(bytes);
        }
    }
    let contains = |needle: &str| db.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contains("UpdateFunctionConfiguration"),
        "the scan sees the audit table"
    );
    for canary in ENV_CANARIES {
        assert!(
            !contains(canary),
            "{canary} is in the database in the clear"
        );
    }
}

/// A tiny OTLP/HTTP receiver: answers 200 to every POST and hands over (path, body).
fn otlp_receiver() -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
            if tx.send((path, String::from_utf8(body).unwrap())).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[tokio::test]
async fn each_invocation_is_exported_as_an_otlp_trace_under_the_callers_trace_id() {
    let (port, spans_rx) = otlp_receiver();
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("lamina.toml");
    std::fs::write(
        &config,
        format!("[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let server = TestServer::start_in(
        &temp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let client = server.client();
    python(&client, "traced", "echo").await;
    let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    for _ in 0..2 {
        let out = client
            .invoke()
            .function_name("traced")
            .payload(Blob::new("{}"))
            .customize()
            .mutate_request(move |r| {
                r.headers_mut().insert("x-amzn-trace-id", header);
            })
            .send()
            .await
            .unwrap();
        let payload: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
        assert_eq!(
            payload["vars"]["_X_AMZN_TRACE_ID"], header,
            "the caller's trace header reaches the function"
        );
    }

    let mut spans: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while spans.iter().filter(|s| s["kind"] == 2).count() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let (path, body) = spans_rx
            .recv_timeout(left)
            .expect("the OTLP receiver got both invocations within 10 s");
        assert_eq!(path, "/v1/traces");
        let body: Value = serde_json::from_str(&body).unwrap();
        for rs in body["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                spans.extend(ss["spans"].as_array().unwrap().iter().cloned());
            }
        }
    }
    let roots: Vec<&Value> = spans.iter().filter(|s| s["kind"] == 2).collect();
    let attr = |span: &Value, key: &str| -> Value {
        span["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"].clone())
            .unwrap_or(Value::Null)
    };
    for (i, root) in roots.iter().enumerate() {
        assert_eq!(root["traceId"], "5759e988bd862e3fe1be46a994272793");
        assert_eq!(root["parentSpanId"], "53995c3f42cd8ad8");
        assert_eq!(root["name"], "traced");
        assert_eq!(attr(root, "faas.name")["stringValue"], "traced");
        assert_eq!(attr(root, "faas.version")["stringValue"], "$LATEST");
        assert_eq!(attr(root, "cloud.region")["stringValue"], "us-east-1");
        assert_eq!(attr(root, "faas.coldstart")["boolValue"], i == 0);
        let children: Vec<&str> = spans
            .iter()
            .filter(|s| s["parentSpanId"] == root["spanId"])
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if i == 0 {
            &["init", "invoke"]
        } else {
            &["invoke"]
        };
        assert_eq!(children, expected);
        let start: u128 = root["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        let end: u128 = root["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
        assert!(start < end);
    }
}

#[tokio::test]
async fn usage_recorded_just_before_a_clean_shutdown_is_kept() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    let client = server.client();
    python(&client, "kept", "echo").await;
    for _ in 0..2 {
        assert!(!invoke(&client, "kept").await);
    }
    let billed: u64 = reports(&server, "kept").iter().map(|r| r.1).sum();
    // Stopped at once: what the 1 s flush has not written yet is written at shutdown.
    server.stop();
    let server = TestServer::start_in(&data, &[]);
    let (status, usage) = signed_json(&server, "/_lamina/admin/usage");
    assert_eq!(status, 200);
    let rows = usage["Usage"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{usage}");
    assert_eq!(rows[0]["FunctionName"], "kept");
    assert_eq!(rows[0]["Requests"], 2);
    assert_eq!(rows[0]["BilledDurationMs"], billed);
}
