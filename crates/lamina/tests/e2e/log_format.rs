//! `LoggingConfig` with `LogFormat: JSON`: the platform writes its records as AWS's JSON
//! records (`platform.initStart`, `platform.start`, `platform.report`, ...) filtered by
//! `SystemLogLevel`, the Python runtime writes `logging` records as JSON filtered by
//! `ApplicationLogLevel`, and both are read back through the CloudWatch Logs SDK (JSON filter
//! patterns included) and `X-Amz-Log-Result`.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    ApplicationLogLevel, LogFormat, LogType, LoggingConfig, SystemLogLevel,
};
use base64::Engine;
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
    let tail = out
        .log_result()
        .map(|l| {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(l).unwrap()).unwrap()
        })
        .unwrap_or_default();
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
