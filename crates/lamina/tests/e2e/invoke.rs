//! Invoke through the SDK: sandboxed Python functions, warm reuse, failures and limits.

use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, InvocationType, LogType};
use base64::Engine;
use serde_json::{Value, json};

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");

/// Creates a Python function from the fixture with `handler` and waits until it is Active.
async fn python_function(
    client: &aws_sdk_lambda::Client,
    name: &str,
    handler: &str,
    timeout: i32,
    memory: i32,
) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler(format!("app.{handler}"))
        .timeout(timeout)
        .memory_size(memory)
        .environment(Environment::builder().variables("MY_SETTING", "on").build())
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

struct Invoked {
    payload: Value,
    function_error: Option<String>,
    log: String,
    version: Option<String>,
}

async fn invoke(client: &aws_sdk_lambda::Client, name: &str, payload: Value) -> Invoked {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload.to_string()))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    let log = tail_of(&out);
    Invoked {
        payload: serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap(),
        function_error: out.function_error().map(str::to_owned),
        log,
        version: out.executed_version().map(str::to_owned),
    }
}

#[tokio::test]
async fn python_function_runs_sandboxed_and_stays_warm() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "echo", "echo", 3, 256).await;

    let first = invoke(&client, "echo", json!({"hello": "world"})).await;
    assert_eq!(first.function_error, None);
    assert_eq!(first.version.as_deref(), Some("$LATEST"));
    let p = &first.payload;
    assert_eq!(p["event"], json!({"hello": "world"}));
    assert_eq!(p["count"], 1);
    assert_eq!(p["function_name"], "echo");
    assert_eq!(p["memory"], 256);
    assert_eq!(
        p["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
    assert_ne!(p["uid"], 0, "functions never run as root");
    let vars = &p["vars"];
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(vars["LAMBDA_TASK_ROOT"], "/var/task");
    assert_eq!(vars["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/echo");
    assert_eq!(vars["TZ"], ":UTC");
    assert_eq!(vars["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
    assert_eq!(vars["MY_SETTING"], "on");
    assert!(
        vars["_X_AMZN_TRACE_ID"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-")
    );
    let stream = vars["AWS_LAMBDA_LOG_STREAM_NAME"].as_str().unwrap();
    assert!(stream.contains("/[$LATEST]"), "{stream}");

    let request_id = p["request_id"].as_str().unwrap();
    let lines: Vec<&str> = first.log.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("INIT_START Runtime Version: python:3.12")),
        "{}",
        first.log
    );
    assert!(lines.contains(&format!("START RequestId: {request_id} Version: $LATEST").as_str()));
    assert!(lines.contains(&"echo {\"hello\": \"world\"}"));
    assert!(lines.contains(&format!("END RequestId: {request_id}").as_str()));
    let report = lines.iter().find(|l| l.starts_with("REPORT")).unwrap();
    assert!(
        report.starts_with(&format!("REPORT RequestId: {request_id}\tDuration: ")),
        "{report}"
    );
    assert!(
        report.contains("\tMemory Size: 256 MB\tMax Memory Used: "),
        "{report}"
    );
    assert!(
        report.contains("\tInit Duration: "),
        "cold start reports init: {report}"
    );

    let second = invoke(&client, "echo", json!({"n": 2})).await;
    assert_eq!(
        second.payload["count"], 2,
        "module state survives in the warm environment"
    );
    assert_eq!(second.payload["env"], first.payload["env"]);
    assert!(
        !second.log.contains("Init Duration"),
        "warm invoke has no init: {}",
        second.log
    );
    assert!(!second.log.contains("INIT_START"));
}

#[tokio::test]
async fn new_configuration_never_reuses_an_old_environment() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "cfg", "echo", 3, 128).await;
    let before = invoke(&client, "cfg", json!({})).await;
    client
        .update_function_configuration()
        .function_name("cfg")
        .environment(
            Environment::builder()
                .variables("MY_SETTING", "changed")
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_settled(&client, "cfg").await;
    let after = invoke(&client, "cfg", json!({})).await;
    assert_eq!(after.payload["vars"]["MY_SETTING"], "changed");
    assert_ne!(after.payload["env"], before.payload["env"]);
    assert_eq!(after.payload["count"], 1);
}

#[tokio::test]
async fn handler_errors_are_unhandled_function_errors() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "fail", "fail", 3, 128).await;
    let r = invoke(&client, "fail", json!({})).await;
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.payload["errorType"], "ValueError");
    assert_eq!(r.payload["errorMessage"], "something went wrong");
    assert!(r.payload["stackTrace"].is_array());
}

#[tokio::test]
async fn timeouts_reset_the_environment_and_the_next_invoke_works() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "slow", "sleep", 1, 128).await;
    let r = invoke(&client, "slow", json!({"seconds": 5})).await;
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.payload["errorType"], "Sandbox.Timedout");
    let msg = r.payload["errorMessage"].as_str().unwrap();
    assert!(
        msg.starts_with("RequestId: ")
            && msg.ends_with(" Error: Task timed out after 1.00 seconds"),
        "{msg}"
    );
    assert!(
        r.log
            .contains("Duration: 1000.00 ms\tBilled Duration: 1000 ms"),
        "{}",
        r.log
    );
    assert!(r.log.contains("Status: timeout"), "{}", r.log);

    let ok = invoke(&client, "slow", json!({"seconds": 0})).await;
    assert_eq!(ok.function_error, None, "{:?}", ok.payload);
    assert_ne!(ok.payload["env"], Value::Null);
}

#[tokio::test]
async fn a_crashing_runtime_is_reported_and_replaced() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "crash", "crash", 3, 128).await;
    let r = invoke(&client, "crash", json!({})).await;
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.payload["errorType"], "Runtime.ExitError");
    let msg = r.payload["errorMessage"].as_str().unwrap();
    assert!(
        msg.ends_with("Error: Runtime exited with error: exit status 3"),
        "{msg}"
    );
    assert!(r.log.contains("about to exit"));
    assert!(
        r.log
            .contains("Status: error\tError Type: Runtime.ExitError"),
        "{}",
        r.log
    );
    // The next invoke gets a fresh environment (and crashes the same way, cleanly).
    let again = invoke(&client, "crash", json!({})).await;
    assert_eq!(again.payload["errorType"], "Runtime.ExitError");
}

#[tokio::test]
async fn memory_is_capped_at_memory_size() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "oom", "oom", 10, 128).await;
    let r = invoke(&client, "oom", json!({})).await;
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        r.payload["errorType"], "Runtime.OutOfMemory",
        "{:?}",
        r.payload
    );
    assert!(
        r.payload["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: signal: killed")
    );
    assert!(r.log.contains("Max Memory Used: 128 MB"), "{}", r.log);
}

#[tokio::test]
async fn oversized_responses_become_function_errors() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "big", "big", 10, 256).await;
    let r = invoke(&client, "big", json!({})).await;
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        r.payload,
        json!({"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).", "errorType": "Function.ResponseSizeTooLarge"})
    );
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "bomb", "forkbomb", 2, 128).await;
    python_function(&client, "fine", "echo", 3, 128).await;
    let r = invoke(&client, "bomb", json!({})).await;
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.payload["errorType"], "Sandbox.Timedout");
    // The platform and other functions are unharmed.
    let ok = invoke(&client, "fine", json!({"still": "alive"})).await;
    assert_eq!(ok.payload["event"], json!({"still": "alive"}));
}

#[tokio::test]
async fn environments_are_isolated_from_each_other_and_the_host() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "writer", "tmp_write", 3, 128).await;
    python_function(&client, "reader", "tmp_read", 3, 128).await;
    python_function(&client, "look", "look_around", 3, 128).await;
    let written = invoke(&client, "writer", json!({})).await;
    assert_eq!(written.function_error, None);
    let read = invoke(&client, "reader", json!({})).await;
    assert_eq!(
        read.payload["found"],
        Value::Null,
        "another environment's /tmp is invisible"
    );

    let look = invoke(&client, "look", json!({})).await;
    let pids = look.payload["pids"].as_array().unwrap();
    assert!(
        pids.len() <= 4,
        "only the environment's own processes: {pids:?}"
    );
    assert_eq!(look.payload["writable"]["/var/task/new.txt"], false);
    assert_eq!(look.payload["writable"]["/etc/new.txt"], false);
    assert_eq!(look.payload["writable"]["/tmp/new.txt"], true);
}

#[tokio::test]
async fn concurrent_invokes_scale_out_to_separate_environments() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "par", "sleep", 10, 128).await;
    let started = Instant::now();
    let calls = (0..4).map(|_| {
        let client = client.clone();
        async move { invoke(&client, "par", json!({"seconds": 1})).await }
    });
    let results = futures::future::join_all(calls).await;
    let elapsed = started.elapsed();
    let mut envs: Vec<&str> = results
        .iter()
        .map(|r| r.payload["env"].as_str().unwrap())
        .collect();
    envs.sort_unstable();
    envs.dedup();
    assert_eq!(
        envs.len(),
        4,
        "each concurrent invoke had its own environment"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "ran in parallel, took {elapsed:?}"
    );
}

#[tokio::test]
async fn invoke_errors_match_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "e", "echo", 3, 128).await;

    let err = client
        .invoke()
        .function_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing:$LATEST"
    );

    let err = client
        .invoke()
        .function_name("e")
        .payload(Blob::new("not json"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidRequestContentException");
    assert!(message_of(&err).starts_with(
        "Could not parse request body into json: Could not parse payload into json: "
    ));

    let big = format!("\"{}\"", "x".repeat(6_291_456));
    let err = client
        .invoke()
        .function_name("e")
        .payload(Blob::new(big))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "RequestEntityTooLargeException");
    assert_eq!(
        message_of(&err),
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    );

    let dry = client
        .invoke()
        .function_name("e")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status_code(), 204);

    let queued = client
        .invoke()
        .function_name("e")
        .invocation_type(InvocationType::Event)
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status_code(), 202);
}

#[tokio::test]
async fn client_context_reaches_the_function() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "cc", "echo", 3, 128).await;
    let context = base64::engine::general_purpose::STANDARD
        .encode(r#"{"custom":{"tenant":"acme"},"client":{},"env":{}}"#);
    let out = client
        .invoke()
        .function_name("cc")
        .client_context(context)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    let payload: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(payload["client_context"], json!({"tenant": "acme"}));
}

/// The operator view of the engine: live and idle environments.
fn environments(server: &TestServer) -> Value {
    let url = format!("{}/_lamina/admin/environments", server.endpoint);
    let (status, _, body) = signed_get(&url);
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn idle_environments_are_reaped_after_the_keep_alive() {
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(&temp.path().join("data"), &["--keep-alive", "300ms"]);
    let client = server.client();
    python_function(&client, "reap", "echo", 3, 128).await;
    invoke(&client, "reap", json!({})).await;
    // Observe the reaper (bounded): the environment goes away without any invoke.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let e = environments(&server);
        if e["Live"] == 0 && e["Idle"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "environment never reaped: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = invoke(&client, "reap", json!({})).await;
    assert!(
        again.log.contains("Init Duration"),
        "a reaped function starts cold"
    );
}

#[tokio::test]
async fn invokes_over_the_concurrency_limit_are_throttled() {
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("lamina.toml");
    std::fs::write(&config, "[limits]\nconcurrent_executions = 1\n").unwrap();
    let server = TestServer::start_in(
        &temp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let client = server.client();
    python_function(&client, "one", "sleep", 10, 128).await;
    let busy = {
        let client = client.clone();
        tokio::spawn(async move { invoke(&client, "one", json!({"seconds": 2})).await })
    };
    // Wait until the first invocation holds the only slot.
    let deadline = Instant::now() + Duration::from_secs(20);
    while environments(&server)["InFlight"] != 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = client
        .invoke()
        .function_name("one")
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "TooManyRequestsException");
    assert_eq!(message_of(&err), "Rate Exceeded.");
    let raw = err.raw_response().unwrap();
    let body: Value = serde_json::from_slice(raw.body().bytes().unwrap()).unwrap();
    assert_eq!(body["Reason"], "ConcurrentInvocationLimitExceeded");
    assert_eq!(busy.await.unwrap().function_error, None);
}
