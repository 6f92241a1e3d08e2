//! Reserved and provisioned concurrency.

use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{LogType, ProvisionedConcurrencyStatusEnum};
use serde_json::{Value, json};

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");

async fn python(client: &aws_sdk_lambda::Client, name: &str, handler: &str) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler(format!("app.{handler}"))
        .timeout(10)
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

fn environments(server: &TestServer) -> Value {
    let (status, _, body) = signed_get(&format!("{}/_lamina/admin/environments", server.endpoint));
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

/// The `Reason` AWS puts in a 429 body.
fn throttle_reason<E>(
    err: &aws_sdk_lambda::error::SdkError<E, aws_sdk_lambda::config::http::HttpResponse>,
) -> String {
    let body: Value =
        serde_json::from_slice(err.raw_response().unwrap().body().bytes().unwrap()).unwrap();
    body["Reason"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn reserved_concurrency_is_stored_reported_and_validated() {
    let server = TestServer::start().await;
    let client = server.client();
    python(&client, "r", "echo").await;
    let put = client
        .put_function_concurrency()
        .function_name("r")
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    assert_eq!(put.reserved_concurrent_executions(), Some(5));
    let got = client
        .get_function_concurrency()
        .function_name("r")
        .send()
        .await
        .unwrap();
    assert_eq!(got.reserved_concurrent_executions(), Some(5));
    let f = client
        .get_function()
        .function_name("r")
        .send()
        .await
        .unwrap();
    assert_eq!(
        f.concurrency().unwrap().reserved_concurrent_executions(),
        Some(5)
    );
    let settings = client.get_account_settings().send().await.unwrap();
    assert_eq!(
        settings
            .account_limit()
            .unwrap()
            .unreserved_concurrent_executions(),
        Some(995)
    );

    let err = client
        .put_function_concurrency()
        .function_name("r")
        .reserved_concurrent_executions(901)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert_eq!(
        message_of(&err),
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
    );
    let err = client
        .put_function_concurrency()
        .function_name("r:1")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."
    );

    client
        .delete_function_concurrency()
        .function_name("r")
        .send()
        .await
        .unwrap();
    let got = client
        .get_function_concurrency()
        .function_name("r")
        .send()
        .await
        .unwrap();
    assert_eq!(got.reserved_concurrent_executions(), None);
}

#[tokio::test]
async fn reserved_zero_throttles_and_reserved_one_throttles_the_second_overlapping_invoke() {
    let server = TestServer::start().await;
    let client = server.client();
    python(&client, "zero", "echo").await;
    python(&client, "one", "sleep").await;
    client
        .put_function_concurrency()
        .function_name("zero")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let err = client
        .invoke()
        .function_name("zero")
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "TooManyRequestsException");
    assert_eq!(
        throttle_reason(&err),
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );

    client
        .put_function_concurrency()
        .function_name("one")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap();
    let busy = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .invoke()
                .function_name("one")
                .payload(Blob::new(r#"{"seconds": 2}"#))
                .send()
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while environments(&server)["InFlight"] != 1 {
        assert!(Instant::now() < deadline, "first invoke never started");
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
    assert_eq!(
        throttle_reason(&err),
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    let first = busy.await.unwrap().unwrap();
    assert_eq!(first.function_error(), None);
}

#[tokio::test]
async fn provisioned_environments_exist_before_the_first_invoke() {
    let server = TestServer::start().await;
    let client = server.client();
    python(&client, "pc", "echo").await;
    client
        .publish_version()
        .function_name("pc")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("pc")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();

    let err = client
        .put_provisioned_concurrency_config()
        .function_name("pc")
        .qualifier("$LATEST")
        .provisioned_concurrent_executions(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    );
    let err = client
        .get_provisioned_concurrency_config()
        .function_name("pc")
        .qualifier("live")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&err),
        "ProvisionedConcurrencyConfigNotFoundException"
    );

    let put = client
        .put_provisioned_concurrency_config()
        .function_name("pc")
        .qualifier("live")
        .provisioned_concurrent_executions(2)
        .send()
        .await
        .unwrap();
    assert_eq!(put.requested_provisioned_concurrent_executions(), Some(2));
    assert_eq!(
        put.status(),
        Some(&ProvisionedConcurrencyStatusEnum::InProgress)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = client
            .get_provisioned_concurrency_config()
            .function_name("pc")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        if got.status() == Some(&ProvisionedConcurrencyStatusEnum::Ready) {
            assert_eq!(got.allocated_provisioned_concurrent_executions(), Some(2));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "provisioned concurrency never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        environments(&server)["Idle"],
        2,
        "two environments are up before any invoke"
    );
    let listed = client
        .list_provisioned_concurrency_configs()
        .function_name("pc")
        .send()
        .await
        .unwrap();
    let configs = listed.provisioned_concurrency_configs();
    assert_eq!(configs.len(), 1);
    assert_eq!(
        configs[0].function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:pc:live")
    );

    let out = client
        .invoke()
        .function_name("pc:live")
        .payload(Blob::new("{}"))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    let log = tail_of(&out);
    assert!(
        !log.contains("Init Duration"),
        "no cold start on a provisioned environment: {log}"
    );
    let payload: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        payload["vars"]["AWS_LAMBDA_INITIALIZATION_TYPE"],
        json!("provisioned-concurrency")
    );
    assert_eq!(out.executed_version(), Some("1"));

    client
        .delete_provisioned_concurrency_config()
        .function_name("pc")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        environments(&server)["Idle"],
        0,
        "deleting the config releases its environments"
    );
}

/// Polls until the alias's provisioned concurrency is READY with `n` idle environments.
async fn wait_provisioned(server: &TestServer, client: &aws_sdk_lambda::Client, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = client
            .get_provisioned_concurrency_config()
            .function_name("pcr")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        let ready = got.status() == Some(&ProvisionedConcurrencyStatusEnum::Ready);
        if ready && environments(server)["Idle"] == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "provisioned concurrency never came back: {got:?} {}",
            environments(server)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_crashed_provisioned_environment_is_replaced() {
    let server = TestServer::start().await;
    let client = server.client();
    python(&client, "pcr", "crash_if_asked").await;
    client
        .publish_version()
        .function_name("pcr")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("pcr")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    client
        .put_provisioned_concurrency_config()
        .function_name("pcr")
        .qualifier("live")
        .provisioned_concurrent_executions(1)
        .send()
        .await
        .unwrap();
    wait_provisioned(&server, &client, 1).await;

    let crashed = client
        .invoke()
        .function_name("pcr:live")
        .payload(Blob::new(r#"{"crash": true}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(crashed.function_error(), Some("Unhandled"));
    // A new provisioned environment takes the crashed one's place...
    wait_provisioned(&server, &client, 1).await;
    // ...initialised ahead of the next invoke.
    let out = client
        .invoke()
        .function_name("pcr:live")
        .payload(Blob::new("{}"))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    let log = tail_of(&out);
    assert!(!log.contains("Init Duration"), "{log}");
    let payload: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(
        payload["vars"]["AWS_LAMBDA_INITIALIZATION_TYPE"],
        json!("provisioned-concurrency")
    );
}
