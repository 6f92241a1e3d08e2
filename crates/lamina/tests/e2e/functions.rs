//! The function lifecycle through the SDK.

use std::time::Duration;

use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, LastUpdateStatus, State};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::harness::*;

#[tokio::test]
async fn created_function_becomes_active_and_reads_back_in_every_name_form() {
    let server = TestServer::start().await;
    let client = server.client();
    let zip = python_zip();
    let created = create_request(&client, "hello", zip.clone())
        .description("says hello")
        .timeout(10)
        .memory_size(256)
        .environment(Environment::builder().variables("GREETING", "hi").build())
        .send()
        .await
        .unwrap();
    assert_eq!(created.state(), Some(&State::Pending));
    assert_eq!(
        created.state_reason_code().map(|c| c.as_str()),
        Some("Creating")
    );
    assert_eq!(created.version(), Some("$LATEST"));
    assert_eq!(
        created.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:hello")
    );
    assert_eq!(created.code_size(), zip.len() as i64);
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    assert_eq!(created.code_sha256(), Some(sha.as_str()));
    let last_modified = created.last_modified().unwrap();
    assert_eq!(last_modified.len(), "2025-11-25T02:26:54.123+0000".len());
    assert!(last_modified.ends_with("+0000"), "{last_modified}");

    client
        .wait_until_function_active_v2()
        .function_name("hello")
        .wait(Duration::from_secs(30))
        .await
        .unwrap();

    for form in [
        "hello",
        "000000000000:function:hello",
        "arn:aws:lambda:us-east-1:000000000000:function:hello",
    ] {
        let got = client
            .get_function()
            .function_name(form)
            .send()
            .await
            .unwrap();
        let c = got.configuration().unwrap();
        assert_eq!(c.function_name(), Some("hello"));
        assert_eq!(c.state(), Some(&State::Active));
        assert_eq!(c.last_update_status(), Some(&LastUpdateStatus::Successful));
        assert_eq!(c.memory_size(), Some(256));
        assert_eq!(c.timeout(), Some(10));
        assert_eq!(
            c.environment()
                .unwrap()
                .variables()
                .unwrap()
                .get("GREETING")
                .map(String::as_str),
            Some("hi")
        );
    }
    let latest = client
        .get_function_configuration()
        .function_name("hello")
        .qualifier("$LATEST")
        .send()
        .await
        .unwrap();
    assert_eq!(
        latest.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:hello:$LATEST")
    );
}

#[tokio::test]
async fn code_location_downloads_the_uploaded_zip() {
    let server = TestServer::start().await;
    let client = server.client();
    let zip = python_zip();
    create_request(&client, "dl", zip.clone())
        .send()
        .await
        .unwrap();
    let got = client
        .get_function()
        .function_name("dl")
        .send()
        .await
        .unwrap();
    let code = got.code().unwrap();
    assert_eq!(code.repository_type(), Some("S3"));
    let (status, headers, body) = raw_request("GET", code.location().unwrap(), &[], b"");
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(k, _)| k == "x-amzn-requestid"));
    assert_eq!(body, zip);
}

#[tokio::test]
async fn list_functions_paginates_in_name_order() {
    let server = TestServer::start().await;
    let client = server.client();
    for name in ["c", "a", "e", "b", "d"] {
        create_request(&client, name, python_zip())
            .send()
            .await
            .unwrap();
    }
    let first = client.list_functions().max_items(2).send().await.unwrap();
    let names: Vec<_> = first
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(
        first.functions()[0].state().is_none(),
        "ListFunctions omits State"
    );
    let all: Vec<String> = client
        .list_functions()
        .max_items(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|f| f.function_name().map(str::to_owned))
        .collect();
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn updates_change_revision_and_refuse_stale_revisions() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "upd", python_zip())
        .send()
        .await
        .unwrap();
    let before = wait_settled(&client, "upd").await;

    let updated = client
        .update_function_configuration()
        .function_name("upd")
        .memory_size(512)
        .revision_id(before.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    assert_eq!(updated.memory_size(), Some(512));
    assert_ne!(updated.revision_id(), before.revision_id());
    client
        .wait_until_function_updated_v2()
        .function_name("upd")
        .wait(Duration::from_secs(30))
        .await
        .unwrap();

    let stale = client
        .update_function_configuration()
        .function_name("upd")
        .timeout(30)
        .revision_id(before.revision_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&stale), "PreconditionFailedException");
    assert_eq!(
        message_of(&stale),
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    );

    let new_zip = zip_of(&[("app.py", "def handler(e, c):\n    return 2\n")]);
    let code = client
        .update_function_code()
        .function_name("upd")
        .zip_file(Blob::new(new_zip.clone()))
        .send()
        .await
        .unwrap();
    let sha = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&new_zip));
    assert_eq!(code.code_sha256(), Some(sha.as_str()));
    let settled = wait_settled(&client, "upd").await;
    assert_eq!(
        settled.memory_size(),
        Some(512),
        "configuration kept across code update"
    );
    assert_eq!(settled.code_sha256(), Some(sha.as_str()));
}

#[tokio::test]
async fn deleted_function_is_gone_and_duplicate_create_conflicts() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "dup", python_zip())
        .send()
        .await
        .unwrap();
    let err = create_request(&client, "dup", python_zip())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceConflictException");
    assert_eq!(message_of(&err), "Function already exist: dup");

    let latest = client
        .delete_function()
        .function_name("dup")
        .qualifier("$LATEST")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&latest),
        "$LATEST version cannot be deleted without deleting the function."
    );

    client
        .delete_function()
        .function_name("dup")
        .send()
        .await
        .unwrap();
    let err = client
        .get_function()
        .function_name("dup")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:dup"
    );
    let err = client
        .delete_function()
        .function_name("dup")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
}

#[tokio::test]
async fn account_settings_report_limits_and_usage() {
    let server = TestServer::start().await;
    let client = server.client();
    let zip = python_zip();
    create_request(&client, "one", zip.clone())
        .send()
        .await
        .unwrap();
    let s = client.get_account_settings().send().await.unwrap();
    let limit = s.account_limit().unwrap();
    assert_eq!(limit.total_code_size(), 80_530_636_800);
    assert_eq!(limit.code_size_zipped(), 52_428_800);
    assert_eq!(limit.code_size_unzipped(), 262_144_000);
    assert_eq!(limit.concurrent_executions(), 1000);
    let usage = s.account_usage().unwrap();
    assert_eq!(usage.function_count(), 1);
    assert_eq!(usage.total_code_size(), zip.len() as i64);
}

#[tokio::test]
async fn s3_code_sources_are_refused_clearly() {
    let server = TestServer::start().await;
    let client = server.client();
    let err = client
        .create_function()
        .function_name("s3")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .code(
            FunctionCode::builder()
                .s3_bucket("b")
                .s3_key("k.zip")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert!(
        message_of(&err).starts_with("S3Bucket/S3Key code sources need"),
        "{}",
        message_of(&err)
    );
}
