//! Put/GetFunctionRecursionConfig and Put/GetRuntimeManagementConfig through the SDK.

use aws_sdk_lambda::types::{RecursiveLoop, UpdateRuntimeOn};

use crate::aws_errors::assert_error;
use crate::harness::*;

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:tuned";
const MISSING: &str = "arn:aws:lambda:us-east-1:000000000000:function:doesnotexist";
const UNQUALIFIED_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)";
const RUNTIME_ARN: &str = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn tuned(client: &aws_sdk_lambda::Client) {
    create_request(client, "tuned", python_zip())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn recursion_config_defaults_to_terminate_and_is_stored() {
    let server = TestServer::start().await;
    let client = server.client();
    tuned(&client).await;
    let get = || {
        client
            .get_function_recursion_config()
            .function_name("tuned")
            .send()
    };
    assert_eq!(
        get().await.unwrap().recursive_loop(),
        Some(&RecursiveLoop::Terminate)
    );
    let put = client
        .put_function_recursion_config()
        .function_name(ARN)
        .recursive_loop(RecursiveLoop::Allow)
        .send()
        .await
        .unwrap();
    assert_eq!(put.recursive_loop(), Some(&RecursiveLoop::Allow));
    assert_eq!(
        get().await.unwrap().recursive_loop(),
        Some(&RecursiveLoop::Allow)
    );
    client
        .put_function_recursion_config()
        .function_name("tuned")
        .recursive_loop(RecursiveLoop::Terminate)
        .send()
        .await
        .unwrap();
    assert_eq!(
        get().await.unwrap().recursive_loop(),
        Some(&RecursiveLoop::Terminate)
    );
}

#[tokio::test]
async fn recursion_config_errors_match_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    tuned(&client).await;
    assert_error(
        client
            .put_function_recursion_config()
            .function_name("tuned")
            .recursive_loop(RecursiveLoop::from("Sometimes"))
            .send()
            .await,
        400,
        "ValidationException",
        "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]",
    );
    assert_error(
        client
            .get_function_recursion_config()
            .function_name("tuned:1")
            .send()
            .await,
        400,
        "ValidationException",
        &format!(
            "1 validation error detected: Value 'tuned:1' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {UNQUALIFIED_PATTERN}"
        ),
    );
    assert_error(
        client
            .get_function_recursion_config()
            .function_name("doesnotexist")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {MISSING}"),
    );
    assert_error(
        client
            .put_function_recursion_config()
            .function_name("doesnotexist")
            .recursive_loop(RecursiveLoop::Allow)
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {MISSING}"),
    );
}

#[tokio::test]
async fn runtime_management_config_is_stored_per_version() {
    let server = TestServer::start().await;
    let client = server.client();
    tuned(&client).await;
    let default = client
        .get_runtime_management_config()
        .function_name("tuned")
        .send()
        .await
        .unwrap();
    assert_eq!(default.update_runtime_on(), Some(&UpdateRuntimeOn::Auto));
    assert_eq!(default.function_arn(), Some(ARN));
    assert_eq!(default.runtime_version_arn(), None);

    let manual = client
        .put_runtime_management_config()
        .function_name("tuned")
        .update_runtime_on(UpdateRuntimeOn::Manual)
        .runtime_version_arn(RUNTIME_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(manual.update_runtime_on(), &UpdateRuntimeOn::Manual);
    assert_eq!(manual.function_arn(), ARN);
    assert_eq!(manual.runtime_version_arn(), Some(RUNTIME_ARN));
    let latest = client
        .get_runtime_management_config()
        .function_name("tuned")
        .qualifier("$LATEST")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.update_runtime_on(), Some(&UpdateRuntimeOn::Manual));
    assert_eq!(
        latest.function_arn(),
        Some(format!("{ARN}:$LATEST").as_str())
    );
    assert_eq!(latest.runtime_version_arn(), Some(RUNTIME_ARN));

    // A published version has its own setting.
    wait_settled(&client, "tuned").await;
    client
        .publish_version()
        .function_name("tuned")
        .send()
        .await
        .unwrap();
    let v1 = client
        .get_runtime_management_config()
        .function_name("tuned:1")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.update_runtime_on(), Some(&UpdateRuntimeOn::Auto));
    assert_eq!(v1.function_arn(), Some(format!("{ARN}:1").as_str()));
    client
        .put_runtime_management_config()
        .function_name("tuned")
        .qualifier("1")
        .update_runtime_on(UpdateRuntimeOn::FunctionUpdate)
        .send()
        .await
        .unwrap();
    let again = client
        .get_runtime_management_config()
        .function_name("tuned")
        .send()
        .await
        .unwrap();
    assert_eq!(again.update_runtime_on(), Some(&UpdateRuntimeOn::Manual));
}

#[tokio::test]
async fn runtime_management_config_errors_match_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    tuned(&client).await;
    let put = |mode: UpdateRuntimeOn| {
        client
            .put_runtime_management_config()
            .function_name("tuned")
            .update_runtime_on(mode)
    };
    assert_error(
        put(UpdateRuntimeOn::Manual).send().await,
        400,
        "InvalidParameterValueException",
        "RuntimeVersionArn must be specified when UpdateRuntimeOn is Manual.",
    );
    assert_error(
        put(UpdateRuntimeOn::Auto)
            .runtime_version_arn(RUNTIME_ARN)
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "RuntimeVersionArn can only be specified when UpdateRuntimeOn is Manual, not Auto.",
    );
    assert_error(
        put(UpdateRuntimeOn::from("Sometimes")).send().await,
        400,
        "ValidationException",
        "1 validation error detected: Value 'Sometimes' at 'updateRuntimeOn' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]",
    );
    assert_error(
        put(UpdateRuntimeOn::Manual)
            .runtime_version_arn("arn:aws:lambda:us-east-1::function:not-a-runtime")
            .send()
            .await,
        400,
        "ValidationException",
        r"1 validation error detected: Value 'arn:aws:lambda:us-east-1::function:not-a-runtime' at 'runtimeVersionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ((arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}::runtime:.+)|(arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:runtime/[A-Za-z0-9_.-]{1,128}/version/[A-Za-z0-9_.-]{1,128}))",
    );
    assert_error(
        client
            .get_runtime_management_config()
            .function_name("doesnotexist")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {MISSING}"),
    );
    assert_error(
        put(UpdateRuntimeOn::Auto).qualifier("7").send().await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {ARN}:7"),
    );
}
