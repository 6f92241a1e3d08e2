//! TagResource, UntagResource and ListTags through the SDK, with AWS's errors.

use std::collections::HashMap;

use crate::aws_errors::assert_error;
use crate::harness::*;

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:tagged";
const TAGGABLE_PATTERN: &str = r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})";

async fn tags_of(client: &aws_sdk_lambda::Client, arn: &str) -> HashMap<String, String> {
    client
        .list_tags()
        .resource(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .cloned()
        .unwrap_or_default()
}

async fn revision(client: &aws_sdk_lambda::Client, name: &str) -> String {
    client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap()
        .revision_id()
        .unwrap()
        .to_owned()
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn tags_are_added_overwritten_removed_and_change_the_revision() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "tagged", python_zip())
        .tags("key_a", "value_a")
        .send()
        .await
        .unwrap();
    wait_settled(&client, "tagged").await;
    assert_eq!(tags_of(&client, ARN).await, map(&[("key_a", "value_a")]));

    let before = revision(&client, "tagged").await;
    let tagged = client
        .tag_resource()
        .resource(ARN)
        .tags("key_b", "value_b")
        .tags("key_c", "value_c")
        .send()
        .await;
    assert!(tagged.is_ok(), "{tagged:?}");
    let after = revision(&client, "tagged").await;
    assert_ne!(
        before, after,
        "tagging gives the function a new RevisionId, as on AWS"
    );
    let expected = map(&[
        ("key_a", "value_a"),
        ("key_b", "value_b"),
        ("key_c", "value_c"),
    ]);
    assert_eq!(tags_of(&client, ARN).await, expected);
    let got = client
        .get_function()
        .function_name("tagged")
        .send()
        .await
        .unwrap();
    assert_eq!(got.tags().cloned().unwrap(), expected);

    client
        .tag_resource()
        .resource(ARN)
        .tags("key_c", "value_x")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&client, ARN).await["key_c"], "value_x");

    client
        .untag_resource()
        .resource(ARN)
        .tag_keys("key_b")
        .tag_keys("key_c")
        .tag_keys("never_set")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&client, ARN).await, map(&[("key_a", "value_a")]));
    client
        .untag_resource()
        .resource(ARN)
        .tag_keys("key_a")
        .send()
        .await
        .unwrap();
    assert!(tags_of(&client, ARN).await.is_empty());
    let got = client
        .get_function()
        .function_name("tagged")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.tags(),
        None,
        "GetFunction omits Tags when there are none"
    );

    client
        .delete_function()
        .function_name("tagged")
        .send()
        .await
        .unwrap();
    assert_error(
        client.list_tags().resource(ARN).send().await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {ARN}"),
    );
}

#[tokio::test]
async fn tag_errors_match_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "tagged", python_zip())
        .send()
        .await
        .unwrap();

    assert_error(
        client
            .tag_resource()
            .resource("arn:aws:something")
            .tags("a", "b")
            .send()
            .await,
        400,
        "ValidationException",
        &format!(
            "1 validation error detected: Value 'arn:aws:something' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: {TAGGABLE_PATTERN}"
        ),
    );
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:doesnotexist";
    assert_error(
        client
            .tag_resource()
            .resource(missing)
            .tags("a", "b")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {missing}"),
    );
    for qualified in [
        format!("{ARN}:$LATEST"),
        format!("{ARN}:1"),
        format!("{missing}:prod"),
    ] {
        assert_error(
            client
                .tag_resource()
                .resource(&qualified)
                .tags("a", "b")
                .send()
                .await,
            400,
            "InvalidParameterValueException",
            "Tags on function aliases and versions are not supported. Please specify a function ARN.",
        );
    }
    assert_error(
        client
            .tag_resource()
            .resource(ARN)
            .set_tags(Some(HashMap::new()))
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "An error occurred and the request cannot be processed.",
    );
    assert_error(
        client
            .untag_resource()
            .resource(ARN)
            .set_tag_keys(Some(vec![]))
            .send()
            .await,
        400,
        "ValidationException",
        "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
    );
    assert_error(
        client
            .untag_resource()
            .resource(missing)
            .tag_keys("a")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {missing}"),
    );

    let too_many: HashMap<String, String> = (0..51)
        .map(|i| (format!("{i}_key"), format!("{i}_value")))
        .collect();
    assert_error(
        client
            .tag_resource()
            .resource(ARN)
            .set_tags(Some(too_many))
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "Number of tags exceeds resource tag limit.",
    );
    let fifty: HashMap<String, String> = (0..50)
        .map(|i| (format!("{i}_key"), format!("{i}_value")))
        .collect();
    client
        .tag_resource()
        .resource(ARN)
        .set_tags(Some(fifty.clone()))
        .send()
        .await
        .unwrap();
    assert_error(
        client
            .tag_resource()
            .resource(ARN)
            .tags("one_more", "v")
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "Number of tags exceeds resource tag limit.",
    );
    // Overwriting an existing key stays within the limit.
    client
        .tag_resource()
        .resource(ARN)
        .tags("0_key", "new")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&client, ARN).await.len(), 50);
    assert_error(
        client
            .tag_resource()
            .resource(ARN)
            .tags("aws:reserved", "v")
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "Tag keys with the prefix 'aws:' are reserved for AWS use.",
    );
    assert_error(
        client
            .list_tags()
            .resource("arn:aws:lambda:eu-central-1:000000000000:function:tagged")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')",
    );
}
