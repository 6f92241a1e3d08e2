//! Validation errors, with AWS's types and messages, through the SDK.

use std::collections::HashMap;

use aws_sdk_lambda::types::{Architecture, Environment, EphemeralStorage, Runtime};

use crate::harness::*;

#[tokio::test]
async fn each_invalid_parameter_gets_awss_error() {
    let server = TestServer::start().await;
    let client = server.client();
    let long_name = "a".repeat(65);
    let cases: Vec<(&str, _, &str, String)> = vec![
        (
            "memory over the limit",
            create_request(&client, "m", python_zip()).memory_size(10241),
            "ValidationException",
            "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 3008".into(),
        ),
        (
            "memory not a multiple of 64",
            create_request(&client, "m", python_zip()).memory_size(200),
            "InvalidParameterValueException",
            "'MemorySize' value failed to satisfy constraint: Member must be a multiple of 64".into(),
        ),
        (
            "timeout over 900",
            create_request(&client, "t", python_zip()).timeout(901),
            "ValidationException",
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900".into(),
        ),
        (
            "ephemeral storage over 10240",
            create_request(&client, "e", python_zip()).ephemeral_storage(EphemeralStorage::builder().size(10241).build().unwrap()),
            "ValidationException",
            "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value less than or equal to 10240".into(),
        ),
        (
            "bad role",
            create_request(&client, "r", python_zip()).role("r1"),
            "ValidationException",
            r"1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+".into(),
        ),
        (
            "two architectures",
            create_request(&client, "a", python_zip()).architectures(Architecture::X8664).architectures(Architecture::Arm64),
            "ValidationException",
            "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1".into(),
        ),
        (
            "deprecated runtime",
            create_request(&client, "d", python_zip()).runtime(Runtime::Python37),
            "InvalidParameterValueException",
            "The runtime parameter of python3.7 is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.".into(),
        ),
        (
            "unknown runtime",
            create_request(&client, "u", python_zip()).runtime(Runtime::from("cobol85")),
            "InvalidParameterValueException",
            "Value cobol85 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2] or be a valid ARN".into(),
        ),
        (
            "name longer than 64",
            create_request(&client, &long_name, python_zip()),
            "InvalidParameterValueException",
            format!("1 validation error detected: Value '{long_name}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"),
        ),
        (
            "reserved environment key",
            create_request(&client, "env", python_zip()).environment(Environment::builder().variables("AWS_REGION", "x").build()),
            "InvalidParameterValueException",
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION".into(),
        ),
        (
            "environment over 4 KB",
            create_request(&client, "env", python_zip()).environment(Environment::builder().variables("BIG", "x".repeat(4088)).build()),
            "InvalidParameterValueException",
            format!("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {{\"BIG\":\"{}\"}}", "x".repeat(4088)),
        ),
        (
            "not a zip",
            create_request(&client, "z", b"definitely not a zip".to_vec()),
            "InvalidParameterValueException",
            "Could not unzip uploaded file. Please check your file, then try to upload again.".into(),
        ),
        (
            "more than 50 tags",
            create_request(&client, "tags", python_zip()).set_tags(Some((0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect::<HashMap<_, _>>())),
            "InvalidParameterValueException",
            "Number of tags exceeds resource tag limit.".into(),
        ),
    ];
    for (what, request, code, message) in cases {
        let err = request.send().await.expect_err(what);
        assert_eq!(code_of(&err), code, "{what}");
        assert_eq!(message_of(&err), message, "{what}");
    }
    let listed = client.list_functions().send().await.unwrap();
    assert!(
        listed.functions().is_empty(),
        "no invalid request created anything"
    );
}

#[tokio::test]
async fn a_4096_byte_environment_is_accepted() {
    let server = TestServer::start().await;
    let client = server.client();
    // {"BIG":"<v>"} has 10 bytes of framing.
    create_request(&client, "env", python_zip())
        .environment(
            Environment::builder()
                .variables("BIG", "x".repeat(4086))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn names_in_other_regions_and_bad_patterns_are_refused() {
    let server = TestServer::start().await;
    let client = server.client();
    let err = client
        .get_function()
        .function_name("arn:aws:lambda:eu-central-1:000000000000:function:f")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')"
    );

    let err = client
        .get_function()
        .function_name("my-function!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    assert!(message_of(&err).starts_with("1 validation error detected: Value 'my-function!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: "));

    let err = client
        .get_function()
        .function_name("f:1")
        .qualifier("2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "The derived qualifier from the function name does not match the specified qualifier."
    );
}

#[tokio::test]
async fn unsafe_zip_entries_are_refused() {
    let server = TestServer::start().await;
    let client = server.client();
    let evil = zip_of(&[("../evil.py", "x = 1\n")]);
    let err = create_request(&client, "evil", evil)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert!(
        message_of(&err).starts_with("Could not unzip uploaded file."),
        "{}",
        message_of(&err)
    );
}
