//! Versions and aliases through the SDK, and through Invoke.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, FunctionVersion};

use crate::harness::*;

fn returning(value: &str) -> Vec<u8> {
    zip_of(&[(
        "app.py",
        &format!("def handler(event, context):\n    return {value:?}\n"),
    )])
}

async fn call(client: &aws_sdk_lambda::Client, name: &str) -> (String, String) {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), None);
    let body: String = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    (body, out.executed_version().unwrap().to_owned())
}

async fn update_code(client: &aws_sdk_lambda::Client, name: &str, value: &str) {
    client
        .update_function_code()
        .function_name(name)
        .zip_file(Blob::new(returning(value)))
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

#[tokio::test]
async fn published_versions_are_immutable_snapshots() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "v", returning("one"))
        .send()
        .await
        .unwrap();
    wait_settled(&client, "v").await;

    let v1 = client
        .publish_version()
        .function_name("v")
        .description("first")
        .send()
        .await
        .unwrap();
    assert_eq!(v1.version(), Some("1"));
    assert_eq!(
        v1.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:v:1")
    );
    assert_eq!(v1.description(), Some("first"));
    let again = client
        .publish_version()
        .function_name("v")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.version(),
        Some("1"),
        "publishing an unchanged $LATEST is idempotent"
    );

    update_code(&client, "v", "two").await;
    let v2 = client
        .publish_version()
        .function_name("v")
        .send()
        .await
        .unwrap();
    assert_eq!(v2.version(), Some("2"));

    assert_eq!(call(&client, "v:1").await, ("one".into(), "1".into()));
    assert_eq!(call(&client, "v:2").await, ("two".into(), "2".into()));
    assert_eq!(call(&client, "v").await, ("two".into(), "$LATEST".into()));
    let q = client
        .invoke()
        .function_name("v")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    assert_eq!(q.executed_version(), Some("1"));

    let listed = client
        .list_versions_by_function()
        .function_name("v")
        .send()
        .await
        .unwrap();
    let versions: Vec<_> = listed
        .versions()
        .iter()
        .filter_map(|c| c.version())
        .collect();
    assert_eq!(versions, ["$LATEST", "1", "2"]);
    assert_eq!(
        listed.versions()[0].function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:v:$LATEST")
    );

    let got = client
        .get_function_configuration()
        .function_name("v")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    assert_eq!(got.version(), Some("1"));
    assert_eq!(got.description(), Some("first"));

    let all = client
        .list_functions()
        .function_version(FunctionVersion::All)
        .send()
        .await
        .unwrap();
    let all: Vec<_> = all.functions().iter().filter_map(|f| f.version()).collect();
    assert_eq!(all, ["$LATEST", "1", "2"]);

    let err = client
        .get_function()
        .function_name("v:9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message_of(&err),
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:v:9"
    );
}

#[tokio::test]
async fn publish_checks_code_sha_and_revision() {
    let server = TestServer::start().await;
    let client = server.client();
    let created = create_request(&client, "p", returning("x"))
        .send()
        .await
        .unwrap();
    let settled = wait_settled(&client, "p").await;
    let sha = settled.code_sha256().unwrap();
    let err = client
        .publish_version()
        .function_name("p")
        .code_sha256("bogus")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidParameterValueException");
    assert_eq!(
        message_of(&err),
        format!(
            "CodeSHA256 (bogus) is different from current CodeSHA256 in $LATEST ({sha}). Please try again with the CodeSHA256 in $LATEST."
        )
    );
    let err = client
        .publish_version()
        .function_name("p")
        .revision_id(created.revision_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "PreconditionFailedException");
    let ok = client
        .publish_version()
        .function_name("p")
        .code_sha256(sha)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.version(), Some("1"));
}

#[tokio::test]
async fn publish_on_create_and_on_code_update() {
    let server = TestServer::start().await;
    let client = server.client();
    let created = create_request(&client, "pub", returning("a"))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(created.version(), Some("1"));
    assert_eq!(
        created.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:pub")
    );
    wait_settled(&client, "pub").await;
    let updated = client
        .update_function_code()
        .function_name("pub")
        .zip_file(Blob::new(returning("b")))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.version(), Some("2"));
    wait_settled(&client, "pub").await;
    assert_eq!(call(&client, "pub:1").await.0, "a");
    assert_eq!(call(&client, "pub:2").await.0, "b");
}

#[tokio::test]
async fn deleting_versions() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "d", returning("a"))
        .publish(true)
        .send()
        .await
        .unwrap();
    wait_settled(&client, "d").await;
    client
        .create_alias()
        .function_name("d")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let err = client
        .delete_function()
        .function_name("d")
        .qualifier("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceConflictException");
    assert_eq!(
        message_of(&err),
        "Unable to delete version because the following aliases reference it: [live]"
    );
    client
        .delete_alias()
        .function_name("d")
        .name("live")
        .send()
        .await
        .unwrap();
    client
        .delete_function()
        .function_name("d")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    let err = client
        .get_function()
        .function_name("d:1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    // Deleting a version that is already gone is a no-op, as on AWS.
    client
        .delete_function()
        .function_name("d")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    client
        .get_function()
        .function_name("d")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn aliases_lifecycle_and_errors() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "a", returning("one"))
        .publish(true)
        .send()
        .await
        .unwrap();
    wait_settled(&client, "a").await;
    update_code(&client, "a", "two").await;
    client
        .publish_version()
        .function_name("a")
        .send()
        .await
        .unwrap();

    let created = client
        .create_alias()
        .function_name("a")
        .name("prod")
        .function_version("1")
        .description("production")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.alias_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:a:prod")
    );
    assert!(created.routing_config().is_none());
    assert_eq!(call(&client, "a:prod").await, ("one".into(), "1".into()));
    let conf = client
        .get_function_configuration()
        .function_name("a")
        .qualifier("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(
        conf.function_arn(),
        Some("arn:aws:lambda:us-east-1:000000000000:function:a:prod")
    );
    assert_eq!(conf.version(), Some("1"));

    let dup = client
        .create_alias()
        .function_name("a")
        .name("prod")
        .function_version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&dup), "ResourceConflictException");
    assert_eq!(
        message_of(&dup),
        "Alias already exists: arn:aws:lambda:us-east-1:000000000000:function:a:prod"
    );

    let numeric = client
        .create_alias()
        .function_name("a")
        .name("2024")
        .function_version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&numeric), "ValidationException");
    assert_eq!(
        message_of(&numeric),
        "1 validation error detected: Value '2024' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
    );

    let routing = |pairs: &[(&str, f64)]| {
        let mut b = AliasRoutingConfiguration::builder();
        for (v, w) in pairs {
            b = b.additional_version_weights(*v, *w);
        }
        b.build()
    };
    let cases = [
        ("1", routing(&[("2", 0.5), ("3", 0.5)]), "InvalidParameterValueException", "Number of items in AdditionalVersionWeights cannot be greater than 1".to_owned()),
        ("1", routing(&[("1", 0.5)]), "InvalidParameterValueException", "Invalid function version 1. Function version 1 is already included in routing configuration.".to_owned()),
        ("$LATEST", routing(&[("1", 0.5)]), "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version".to_owned()),
        ("1", routing(&[("2", 2.0)]), "ValidationException", "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]".to_owned()),
    ];
    for (version, rc, code, message) in cases {
        let err = client
            .create_alias()
            .function_name("a")
            .name("weighted")
            .function_version(version)
            .routing_config(rc)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), code);
        assert_eq!(message_of(&err), message);
    }

    let stale = client
        .update_alias()
        .function_name("a")
        .name("prod")
        .function_version("2")
        .revision_id("not-the-revision")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&stale), "PreconditionFailedException");
    let moved = client
        .update_alias()
        .function_name("a")
        .name("prod")
        .function_version("2")
        .revision_id(created.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(moved.revision_id(), created.revision_id());
    assert_eq!(call(&client, "a:prod").await, ("two".into(), "2".into()));

    client
        .create_alias()
        .function_name("a")
        .name("beta")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let listed = client
        .list_aliases()
        .function_name("a")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = listed.aliases().iter().filter_map(|a| a.name()).collect();
    assert_eq!(names, ["beta", "prod"]);
    let filtered = client
        .list_aliases()
        .function_name("a")
        .function_version("2")
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.aliases().len(), 1);

    client
        .delete_alias()
        .function_name("a")
        .name("beta")
        .send()
        .await
        .unwrap();
    client
        .delete_alias()
        .function_name("a")
        .name("beta")
        .send()
        .await
        .unwrap();
    let err = client
        .get_alias()
        .function_name("a")
        .name("beta")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "Alias not found: arn:aws:lambda:us-east-1:000000000000:function:a:beta"
    );
}

#[tokio::test]
async fn weighted_alias_splits_traffic() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "w", returning("one"))
        .publish(true)
        .send()
        .await
        .unwrap();
    wait_settled(&client, "w").await;
    update_code(&client, "w", "two").await;
    client
        .publish_version()
        .function_name("w")
        .send()
        .await
        .unwrap();
    let rc = AliasRoutingConfiguration::builder()
        .additional_version_weights("2", 0.3)
        .build();
    let alias = client
        .create_alias()
        .function_name("w")
        .name("canary")
        .function_version("1")
        .routing_config(rc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        alias
            .routing_config()
            .unwrap()
            .additional_version_weights()
            .unwrap()
            .get("2"),
        Some(&0.3)
    );
    let n = 300;
    let mut second = 0;
    for _ in 0..n {
        let (body, version) = call(&client, "w:canary").await;
        match version.as_str() {
            "2" => {
                assert_eq!(body, "two");
                second += 1;
            }
            "1" => assert_eq!(body, "one"),
            other => panic!("unexpected version {other}"),
        }
    }
    // Binomial(300, 0.3): mean 90, standard deviation 7.9; five deviations either side.
    assert!(
        (50..=130).contains(&second),
        "version 2 got {second} of {n}"
    );
}
