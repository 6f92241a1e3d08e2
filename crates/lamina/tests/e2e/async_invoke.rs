//! Asynchronous invocation: the durable queue, retries, destinations, and crash safety.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DestinationConfig, InvocationType, OnFailure, OnSuccess};
use serde_json::{Value, json};

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");
const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function";

/// A server whose async retries wait 50 ms instead of a minute.
fn fast_server(temp: &tempfile::TempDir, workers: usize) -> TestServer {
    let config = temp.path().join("lamina.toml");
    std::fs::write(
        &config,
        format!("[async_invoke]\nworkers = {workers}\n[async_invoke.retry]\nretry_delay_ms = 50\nthrottle_backoff_min_ms = 20\n"),
    )
    .unwrap();
    TestServer::start_in(
        &temp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    )
}

async fn python(client: &aws_sdk_lambda::Client, name: &str, handler: &str) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler(format!("app.{handler}"))
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

async fn send_event(client: &aws_sdk_lambda::Client, name: &str, payload: &Value) -> String {
    let out = client
        .invoke()
        .function_name(name)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
    assert!(out.payload().is_none_or(|p| p.as_ref().is_empty()));
    out.executed_version()
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Waits (bounded) until `check` holds on the function's log messages.
async fn wait_logs(
    server: &TestServer,
    function: &str,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let messages = server.log_messages(function);
        if check(&messages) {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; log of {function}: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn records(messages: &[String]) -> Vec<Value> {
    messages
        .iter()
        .filter_map(|m| m.strip_prefix("RECORD "))
        .map(|r| serde_json::from_str(r).unwrap())
        .collect()
}

/// Waits (bounded) until the queue satisfies `check`, and returns its view.
async fn wait_queue(server: &TestServer, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let q = queue(server);
        if check(&q) {
            return q;
        }
        assert!(Instant::now() < deadline, "queue never settled: {q}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn queue(server: &TestServer) -> Value {
    let (status, _, body) = signed_get(&format!("{}/_lamina/admin/async", server.endpoint));
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn events_run_and_success_records_reach_the_destination() {
    let temp = tempfile::tempdir().unwrap();
    let server = fast_server(&temp, 4);
    let client = server.client();
    python(&client, "worker", "numbered").await;
    python(&client, "sink", "record").await;
    client
        .put_function_event_invoke_config()
        .function_name("worker")
        .destination_config(
            DestinationConfig::builder()
                .on_success(
                    OnSuccess::builder()
                        .destination(format!("{ARN}:sink"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    send_event(&client, "worker", &json!({"n": 7})).await;
    let sink = wait_logs(&server, "sink", |m| !records(m).is_empty()).await;
    let record = &records(&sink)[0];
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["requestContext"]["condition"], "Success");
    assert_eq!(
        record["requestContext"]["functionArn"],
        format!("{ARN}:worker:$LATEST")
    );
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 1);
    assert_eq!(record["requestPayload"], json!({"n": 7}));
    assert_eq!(
        record["responseContext"],
        json!({"statusCode": 200, "executedVersion": "$LATEST"})
    );
    assert_eq!(record["responsePayload"], json!({"n": 7}));
    assert!(
        server
            .log_messages("worker")
            .contains(&"EVENT 7".to_owned())
    );
}

#[tokio::test]
async fn failing_events_are_retried_exactly_then_sent_to_the_failure_destination() {
    let temp = tempfile::tempdir().unwrap();
    let server = fast_server(&temp, 4);
    let client = server.client();
    python(&client, "flaky", "fail").await;
    python(&client, "graveyard", "record").await;
    let config = client
        .put_function_event_invoke_config()
        .function_name("flaky")
        .maximum_retry_attempts(2)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(
                    OnFailure::builder()
                        .destination(format!("{ARN}:graveyard"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(config.maximum_retry_attempts(), Some(2));
    send_event(&client, "flaky", &json!({"attempt": "me"})).await;
    let dead = wait_logs(&server, "graveyard", |m| !records(m).is_empty()).await;
    let record = &records(&dead)[0];
    assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responsePayload"]["errorType"], "ValueError");
    let starts = server
        .log_messages("flaky")
        .iter()
        .filter(|m| m.starts_with("START "))
        .count();
    assert_eq!(starts, 3, "1 attempt + MaximumRetryAttempts retries");
    // The record's own event leaves the queue right after the graveyard function ran.
    let q = wait_queue(&server, |q| q["Depth"] == 0).await;
    assert_eq!(q["Failed"], 1);

    client
        .update_function_event_invoke_config()
        .function_name("flaky")
        .maximum_retry_attempts(0)
        .send()
        .await
        .unwrap();
    send_event(&client, "flaky", &json!({"once": true})).await;
    wait_logs(&server, "graveyard", |m| records(m).len() == 2).await;
    let starts = server
        .log_messages("flaky")
        .iter()
        .filter(|m| m.starts_with("START "))
        .count();
    assert_eq!(starts, 4, "MaximumRetryAttempts 0 means one attempt");
}

#[tokio::test]
async fn event_invoke_config_operations_and_errors() {
    let server = TestServer::start().await;
    let client = server.client();
    python(&client, "cfg", "echo").await;
    let err = client
        .put_function_event_invoke_config()
        .function_name("cfg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "You must specify at least one of error handling or destination setting."
    );
    let err = client
        .get_function_event_invoke_config()
        .function_name("cfg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        format!("The function {ARN}:cfg:$LATEST doesn't have an EventInvokeConfig")
    );
    let err = client
        .put_function_event_invoke_config()
        .function_name("missing")
        .maximum_retry_attempts(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(message_of(&err), "The function doesn't exist.");
    let err = client
        .put_function_event_invoke_config()
        .function_name("cfg")
        .maximum_retry_attempts(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    let err = client
        .put_function_event_invoke_config()
        .function_name("cfg")
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination("arn:aws:nope").build())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");

    let put = client
        .put_function_event_invoke_config()
        .function_name("cfg")
        .maximum_event_age_in_seconds(120)
        .send()
        .await
        .unwrap();
    assert_eq!(put.maximum_event_age_in_seconds(), Some(120));
    assert_eq!(
        put.function_arn(),
        Some(format!("{ARN}:cfg:$LATEST").as_str())
    );
    let merged = client
        .update_function_event_invoke_config()
        .function_name("cfg")
        .maximum_retry_attempts(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            merged.maximum_retry_attempts(),
            merged.maximum_event_age_in_seconds()
        ),
        (Some(1), Some(120))
    );
    let listed = client
        .list_function_event_invoke_configs()
        .function_name("cfg")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.function_event_invoke_configs().len(), 1);
    client
        .delete_function_event_invoke_config()
        .function_name("cfg")
        .send()
        .await
        .unwrap();
    let err = client
        .delete_function_event_invoke_config()
        .function_name("cfg")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn event_payload_limit_and_invoke_async() {
    let temp = tempfile::tempdir().unwrap();
    let server = fast_server(&temp, 2);
    let client = server.client();
    python(&client, "n", "numbered").await;
    let big = format!("\"{}\"", "x".repeat(1_048_577));
    let err = client
        .invoke()
        .function_name("n")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(big.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "RequestEntityTooLargeException");
    assert_eq!(
        message_of(&err),
        format!(
            "{} byte payload is too large for the Event invocation type (limit 1048576 bytes)",
            big.len()
        )
    );
    let err = client
        .invoke()
        .function_name("missing")
        .invocation_type(InvocationType::Event)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");

    #[allow(deprecated)]
    let out = client
        .invoke_async()
        .function_name("n")
        .invoke_args(aws_sdk_lambda::primitives::ByteStream::from(
            br#"{"n": 42}"#.to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 202);
    wait_logs(&server, "n", |m| m.contains(&"EVENT 42".to_owned())).await;
}

#[tokio::test]
async fn a_kill_9_during_a_burst_of_1000_events_loses_none() {
    let temp = tempfile::tempdir().unwrap();
    let mut server = fast_server(&temp, 4);
    let client = server.client();
    python(&client, "burst", "numbered").await;
    let total = 1000;
    let mut sends = futures::stream::iter(0..total)
        .map(|n| {
            let client = client.clone();
            async move { send_event(&client, "burst", &json!({"n": n})).await }
        })
        .buffer_unordered(16);
    use futures::StreamExt;
    while sends.next().await.is_some() {}
    // Every event was acknowledged (durably stored). Crash in the middle of processing.
    let depth_before = queue(&server)["Depth"].as_u64().unwrap();
    server.kill();
    let server = {
        let config = temp.path().join("lamina.toml");
        TestServer::start_in(
            &temp.path().join("data"),
            &["--config", config.to_str().unwrap()],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    while queue(&server)["Depth"] != 0 {
        assert!(
            Instant::now() < deadline,
            "queue never drained: {}",
            queue(&server)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for m in server.log_messages("burst") {
        if let Some(n) = m.strip_prefix("EVENT ") {
            *seen.entry(n.parse().unwrap()).or_default() += 1;
        }
    }
    let missing: Vec<u64> = (0..total).filter(|n| !seen.contains_key(n)).collect();
    let duplicates: usize = seen.values().map(|c| c - 1).sum();
    println!(
        "kill -9 with {depth_before} of {total} events still queued: {} processed, {duplicates} duplicates",
        seen.len()
    );
    assert!(missing.is_empty(), "lost events: {missing:?}");
}

#[tokio::test]
async fn events_older_than_their_maximum_age_go_to_the_failure_destination() {
    // A failing function retried after 30 s, then after 60 s more: the second retry would run
    // past MaximumEventAgeInSeconds (60), so the event ends at the first retry with
    // EventAgeExceeded. This test takes about 30 seconds of real time.
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("lamina.toml");
    std::fs::write(&config, "[async_invoke.retry]\nretry_delay_ms = 30000\n").unwrap();
    let server = TestServer::start_in(
        &temp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let client = server.client();
    python(&client, "old", "fail").await;
    python(&client, "late", "record").await;
    client
        .put_function_event_invoke_config()
        .function_name("old")
        .maximum_event_age_in_seconds(60)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(
                    OnFailure::builder()
                        .destination(format!("{ARN}:late"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    send_event(&client, "old", &json!({"stale": true})).await;
    let late = wait_logs(&server, "late", |m| !records(m).is_empty()).await;
    let record = &records(&late)[0];
    assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
    assert_eq!(record["requestContext"]["approximateInvokeCount"], 2);
    assert_eq!(record["requestPayload"], json!({"stale": true}));
}
