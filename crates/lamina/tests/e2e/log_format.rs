//! `LoggingConfig` with `LogFormat: JSON`: the platform writes its records as AWS's JSON
//! records (`platform.initStart`, `platform.start`, `platform.report`, ...) filtered by
//! `SystemLogLevel`, the Python runtime writes `logging` records as JSON filtered by
//! `ApplicationLogLevel`, the platform filters a custom runtime's output by the `"level"` of
//! its JSON lines, and all of it is read back through the CloudWatch Logs SDK (JSON filter
//! patterns included) and `X-Amz-Log-Result`.

use std::io::Write;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    ApplicationLogLevel, LogFormat, LogType, LoggingConfig, SystemLogLevel,
};
use serde_json::{Value, json};

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");

async fn json_function(
    client: &aws_sdk_lambda::Client,
    name: &str,
    handler: &str,
    timeout: i32,
    logging: LoggingConfig,
) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler(format!("app.{handler}"))
        .timeout(timeout)
        .logging_config(logging)
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

struct Invoked {
    payload: Value,
    function_error: Option<String>,
    /// The decoded `X-Amz-Log-Result`.
    tail: String,
}

async fn invoke_tail(client: &aws_sdk_lambda::Client, name: &str, payload: Value) -> Invoked {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload.to_string()))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    let tail = tail_of(&out);
    Invoked {
        payload: serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap(),
        function_error: out.function_error().map(str::to_owned),
        tail,
    }
}

/// Every event of the function's only log stream, in the order written.
async fn stream_messages(logs: &aws_sdk_cloudwatchlogs::Client, group: &str) -> Vec<String> {
    let streams = logs
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1, "{streams:?}");
    let stream = streams.log_streams()[0].log_stream_name().unwrap();
    let page = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    page.events()
        .iter()
        .filter_map(|e| e.message().map(str::to_owned))
        .collect()
}

/// The messages that are JSON objects, parsed.
fn json_records<S: AsRef<str>>(messages: &[S]) -> Vec<Value> {
    messages
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m.as_ref()).ok())
        .filter(Value::is_object)
        .collect()
}

/// The platform records (those with a `platform.*` type).
fn platform_records(records: &[Value]) -> Vec<&Value> {
    records
        .iter()
        .filter(|r| {
            r["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("platform."))
        })
        .collect()
}

fn types(records: &[&Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_owned())
        .collect()
}

/// `2024-05-20T16:29:45.008Z`, as AWS writes a record's `time`.
fn is_record_time(t: &Value) -> bool {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.as_str()
        .is_some_and(|s| time::PrimitiveDateTime::parse(s, &fmt).is_ok())
}

#[tokio::test]
async fn json_logging_writes_platform_and_application_records_as_aws_does() {
    let server = TestServer::start().await;
    let lambda = server.client();
    let logs = server.logs_client();
    json_function(
        &lambda,
        "jsonlogs",
        "structured_logs",
        3,
        LoggingConfig::builder()
            .log_format(LogFormat::Json)
            .application_log_level(ApplicationLogLevel::Warn)
            .system_log_level(SystemLogLevel::Info)
            .build(),
    )
    .await;

    let cold = invoke_tail(&lambda, "jsonlogs", json!({"n": 1})).await;
    assert_eq!(cold.function_error, None, "{:?}", cold.payload);
    let warm = invoke_tail(&lambda, "jsonlogs", json!({"n": 2})).await;
    let ids = [
        cold.payload["request_id"].as_str().unwrap().to_owned(),
        warm.payload["request_id"].as_str().unwrap().to_owned(),
    ];

    let group = "/aws/lambda/jsonlogs";
    let messages = stream_messages(&logs, group).await;
    let records = json_records(&messages);
    let platform = platform_records(&records);

    // At INFO: initStart, then start and report per invocation. The DEBUG records
    // (initRuntimeDone, an on-demand initReport, a successful runtimeDone) are not written,
    // and neither is any text platform line.
    assert_eq!(
        types(&platform),
        [
            "platform.initStart",
            "platform.start",
            "platform.report",
            "platform.start",
            "platform.report"
        ],
        "{messages:#?}"
    );
    for m in &messages {
        for text in [
            "INIT_START",
            "START RequestId",
            "END RequestId",
            "REPORT RequestId",
        ] {
            assert!(!m.starts_with(text), "text platform line in JSON mode: {m}");
        }
    }
    assert!(
        platform.iter().all(|r| is_record_time(&r["time"])),
        "{platform:#?}"
    );
    assert!(platform.iter().all(|r| r.as_object().unwrap().len() == 3));

    let init = &platform[0]["record"];
    assert_eq!(init["initializationType"], "on-demand");
    assert_eq!(init["phase"], "init");
    assert!(
        init["runtimeVersion"]
            .as_str()
            .unwrap()
            .starts_with("python:3.12")
    );
    assert!(
        init["runtimeVersionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:lambda:us-east-1::runtime:")
    );
    assert_eq!(init["functionName"], "jsonlogs");
    assert_eq!(init["functionVersion"], "$LATEST");
    assert!(
        init["instanceId"]
            .as_str()
            .unwrap()
            .contains("/jsonlogs[$LATEST]"),
        "{init}"
    );
    assert_eq!(init["instanceMaxMemory"], 128 * 1024 * 1024);

    for (i, id) in ids.iter().enumerate() {
        let start = &platform[1 + 2 * i]["record"];
        assert_eq!(start, &json!({"requestId": id, "version": "$LATEST"}));
        let report = &platform[2 + 2 * i]["record"];
        assert_eq!(report["requestId"], id.as_str());
        assert_eq!(report["status"], "success");
        let metrics = &report["metrics"];
        assert!(metrics["durationMs"].as_f64().unwrap() > 0.0);
        let billed = metrics["billedDurationMs"].as_u64().unwrap();
        assert!(billed as f64 >= metrics["durationMs"].as_f64().unwrap());
        assert_eq!(metrics["memorySizeMB"], 128);
        assert!(metrics["maxMemoryUsedMB"].as_u64().unwrap() > 0);
        // Init Duration only on the cold start, as in the text REPORT line.
        assert_eq!(metrics.get("initDurationMs").is_some(), i == 0, "{report}");
    }

    // The application: logging records as JSON at WARN and above, print as plain text.
    let app: Vec<&Value> = records
        .iter()
        .filter(|r| r.get("level").is_some())
        .collect();
    assert_eq!(app.len(), 4, "{messages:#?}");
    for (i, id) in ids.iter().enumerate() {
        let warned = app[2 * i];
        assert_eq!(warned["level"], "WARNING");
        assert_eq!(warned["message"], format!("warned {}", i + 1));
        assert_eq!(warned["logger"], "root");
        assert_eq!(warned["requestId"], id.as_str());
        let failed = app[2 * i + 1];
        assert_eq!(failed["level"], "ERROR");
        assert_eq!(failed["message"], "order failed");
        assert_eq!(failed["logger"], "orders");
        assert_eq!(failed["order"], 7);
        assert_eq!(failed["requestId"], id.as_str());
    }
    assert_eq!(messages.iter().filter(|m| *m == "plain print").count(), 2);
    assert!(!messages.iter().any(|m| m.contains("info dropped")));

    // A JSON filter pattern finds the reports.
    let reports = logs
        .filter_log_events()
        .log_group_name(group)
        .filter_pattern(r#"{ $.type = "platform.report" }"#)
        .send()
        .await
        .unwrap();
    let found: Vec<Value> = reports
        .events()
        .iter()
        .map(|e| serde_json::from_str(e.message().unwrap()).unwrap())
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0]["record"]["requestId"], ids[0].as_str());
    assert_eq!(found[1]["record"]["requestId"], ids[1].as_str());
    let nested = logs
        .filter_log_events()
        .log_group_name(group)
        .filter_pattern(r#"{ $.record.metrics.memorySizeMB = 128 && $.record.status = "success" }"#)
        .send()
        .await
        .unwrap();
    assert_eq!(nested.events().len(), 2);

    // X-Amz-Log-Result carries the same JSON records, one per line.
    let cold_tail: Vec<&str> = cold.tail.lines().collect();
    let tail_platform = json_records(&cold_tail);
    assert_eq!(
        types(&platform_records(&tail_platform)),
        ["platform.initStart", "platform.start", "platform.report"],
        "{}",
        cold.tail
    );
    let warm_tail: Vec<&str> = warm.tail.lines().collect();
    let warm_records = json_records(&warm_tail);
    let warm_platform = platform_records(&warm_records);
    assert_eq!(
        types(&warm_platform),
        ["platform.start", "platform.report"],
        "{}",
        warm.tail
    );
    assert_eq!(warm_platform[1]["record"]["requestId"], ids[1].as_str());
    assert!(warm_tail.contains(&"plain print"), "{}", warm.tail);
}

#[tokio::test]
async fn system_log_level_warn_keeps_only_the_records_of_failures() {
    let server = TestServer::start().await;
    let lambda = server.client();
    let logs = server.logs_client();
    json_function(
        &lambda,
        "jsonwarn",
        "sleep",
        1,
        LoggingConfig::builder()
            .log_format(LogFormat::Json)
            .system_log_level(SystemLogLevel::Warn)
            .build(),
    )
    .await;

    // A successful invocation writes no platform record at WARN.
    let ok = invoke_tail(&lambda, "jsonwarn", json!({"seconds": 0})).await;
    assert_eq!(ok.function_error, None, "{:?}", ok.payload);
    let ok_tail: Vec<&str> = ok.tail.lines().collect();
    assert!(
        platform_records(&json_records(&ok_tail)).is_empty(),
        "{}",
        ok.tail
    );

    // A timeout is reported by runtimeDone and report records with status "timeout" (WARN),
    // instead of the text "Task timed out" line.
    let timed_out = invoke_tail(&lambda, "jsonwarn", json!({"seconds": 5})).await;
    assert_eq!(timed_out.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(timed_out.payload["errorType"], "Sandbox.Timedout");

    let messages = stream_messages(&logs, "/aws/lambda/jsonwarn").await;
    let records = json_records(&messages);
    let platform = platform_records(&records);
    assert_eq!(
        types(&platform),
        ["platform.runtimeDone", "platform.report"],
        "{messages:#?}"
    );
    let done = &platform[0]["record"];
    assert_eq!(done["status"], "timeout");
    assert!(done.get("errorType").is_none());
    let report = &platform[1]["record"];
    assert_eq!(report["status"], "timeout");
    assert_eq!(report["requestId"], done["requestId"]);
    assert_eq!(report["metrics"]["durationMs"], 1000.0);
    assert_eq!(report["metrics"]["billedDurationMs"], 1000);
    assert!(
        !messages.iter().any(|m| m.contains("Task timed out")),
        "{messages:#?}"
    );

    let tail: Vec<&str> = timed_out.tail.lines().collect();
    assert_eq!(
        types(&platform_records(&json_records(&tail))),
        ["platform.runtimeDone", "platform.report"],
        "{}",
        timed_out.tail
    );
}

/// A custom runtime (`provided.al2023`) whose `bootstrap` speaks the Runtime API and, per
/// invocation, writes JSON lines at every level (in AWS's own casings and others), JSON lines
/// with a missing or invalid level, a plain line, and one JSON line on stderr.
const LEVELS_BOOTSTRAP: &str = r#"#!/usr/bin/python3
import json, os, sys, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"

def line(level, message):
    record = {"timestamp": "2024-11-02T16:51:31.587199Z", "message": "app: " + message}
    if level is not None:
        record["level"] = level
    print(json.dumps(record), flush=True)

while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    line("TRACE", "trace")
    line("debug", "debug")
    line("INFO", "info")
    line("warn", "warn")
    line("ERROR", "error")
    line("Fatal", "fatal")
    line(None, "no level")
    line("WARNING", "invalid level")
    print("app: plain line", flush=True)
    print(json.dumps({"level": "ERROR", "message": "app: stderr error"}), file=sys.stderr, flush=True)
    done = urllib.request.Request(api + request_id + "/response", data=b"{}", method="POST")
    urllib.request.urlopen(done).read()
"#;

/// The zip of [`LEVELS_BOOTSTRAP`], executable.
fn levels_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    w.start_file("bootstrap", opts).unwrap();
    w.write_all(LEVELS_BOOTSTRAP.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// The `message` of a JSON line, or the line itself.
fn app_message(line: &str) -> String {
    serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| line.to_owned())
}

/// Creates the custom-runtime function, invokes it once, and returns the application lines
/// (by message) of its log stream and of the invocation's tail.
async fn custom_runtime_lines(
    server: &TestServer,
    name: &str,
    logging: LoggingConfig,
) -> (Vec<String>, Vec<String>) {
    let lambda = server.client();
    create_request(&lambda, name, levels_zip())
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .logging_config(logging)
        .send()
        .await
        .unwrap();
    wait_settled(&lambda, name).await;
    let invoked = invoke_tail(&lambda, name, json!({})).await;
    assert_eq!(invoked.function_error, None, "{:?}", invoked.payload);
    let app = |lines: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        lines
            .map(app_message)
            .filter(|m| m.starts_with("app: "))
            .collect()
    };
    let messages = stream_messages(&server.logs_client(), &format!("/aws/lambda/{name}")).await;
    (
        app(&mut messages.iter().map(String::as_str)),
        app(&mut invoked.tail.lines()),
    )
}

/// The messages without the stderr one, whose order against stdout is not fixed; asserts
/// whether the stderr line is among them.
fn stdout_messages(mut lines: Vec<String>, stderr_kept: bool) -> Vec<String> {
    let before = lines.len();
    lines.retain(|m| m != "app: stderr error");
    assert_eq!(before - lines.len(), usize::from(stderr_kept), "{lines:?}");
    lines
}

#[tokio::test]
async fn the_platform_filters_a_custom_runtime_by_the_level_of_its_json_lines() {
    let server = TestServer::start().await;

    // At WARN: the JSON lines at WARN and above (any casing) are kept; DEBUG and INFO lines,
    // lines without a valid level and the plain line (all INFO) are dropped, from the stream
    // and from the tail alike.
    let (stream, tail) = custom_runtime_lines(
        &server,
        "customwarn",
        LoggingConfig::builder()
            .log_format(LogFormat::Json)
            .application_log_level(ApplicationLogLevel::Warn)
            .build(),
    )
    .await;
    let kept = ["app: warn", "app: error", "app: fatal"];
    assert_eq!(stdout_messages(stream, true), kept);
    assert_eq!(stdout_messages(tail, true), kept);

    // JSON without a level: INFO, as AWS defaults it (and shows it).
    let (stream, _) = custom_runtime_lines(
        &server,
        "custominfo",
        LoggingConfig::builder().log_format(LogFormat::Json).build(),
    )
    .await;
    assert_eq!(
        stdout_messages(stream, true),
        [
            "app: info",
            "app: warn",
            "app: error",
            "app: fatal",
            "app: no level",
            "app: invalid level",
            "app: plain line"
        ]
    );
    let shown = server
        .client()
        .get_function_configuration()
        .function_name("custominfo")
        .send()
        .await
        .unwrap();
    let shown = shown.logging_config().unwrap();
    assert_eq!(
        shown.application_log_level(),
        Some(&ApplicationLogLevel::Info)
    );
    assert_eq!(shown.system_log_level(), Some(&SystemLogLevel::Info));

    // The Text format is never filtered.
    let (stream, _) = custom_runtime_lines(
        &server,
        "customtext",
        LoggingConfig::builder().log_format(LogFormat::Text).build(),
    )
    .await;
    assert_eq!(
        stdout_messages(stream, true),
        [
            "app: trace",
            "app: debug",
            "app: info",
            "app: warn",
            "app: error",
            "app: fatal",
            "app: no level",
            "app: invalid level",
            "app: plain line"
        ]
    );
}
