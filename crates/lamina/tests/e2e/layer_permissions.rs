//! Layer version permissions (AddLayerVersionPermission, GetLayerVersionPolicy,
//! RemoveLayerVersionPermission) through the SDK, with AWS's shapes and errors.

use serde_json::{Value, json};

use crate::harness::*;
use crate::layers::{REGION_ACCOUNT, publish};

#[tokio::test]
async fn layer_version_permissions_follow_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    let v1 = publish(&client, "shared", &[("a.txt", "a")]).await;
    let version_arn = v1.layer_version_arn().unwrap().to_owned();

    let err = client
        .get_layer_version_policy()
        .layer_name("shared")
        .version_number(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "No policy is associated with the given resource."
    );

    let s1 = client
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("s1")
        .action("lambda:GetLayerVersion")
        .principal("*")
        .send()
        .await
        .unwrap();
    assert_eq!(
        s1.statement().unwrap(),
        format!(
            r#"{{"Sid":"s1","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"{version_arn}"}}"#
        )
    );
    let policy = client
        .get_layer_version_policy()
        .layer_name("shared")
        .version_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(policy.revision_id(), s1.revision_id());
    assert_eq!(
        policy.policy().unwrap(),
        format!(
            r#"{{"Version":"2012-10-17","Id":"default","Statement":[{}]}}"#,
            s1.statement().unwrap()
        )
    );

    let err = client
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("s2")
        .action("lambda:GetLayerVersion")
        .principal("*")
        .revision_id("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "PreconditionFailedException");
    assert_eq!(
        message_of(&err),
        "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"
    );
    let err = client
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("s1")
        .action("lambda:GetLayerVersion")
        .principal("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceConflictException");
    assert_eq!(
        message_of(&err),
        "The statement id (s1) provided already exists. Please provide a new statement id, or remove the existing statement."
    );
    let err = client
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("s3")
        .action("*")
        .principal("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ValidationException");
    assert_eq!(
        message_of(&err),
        "1 validation error detected: Value '*' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion"
    );
    for (layer, version, arn) in [
        (
            "shared-doesnotexist",
            1,
            format!("{REGION_ACCOUNT}:layer:shared-doesnotexist:1"),
        ),
        ("shared", 2, format!("{REGION_ACCOUNT}:layer:shared:2")),
    ] {
        let expected = format!("Layer version {arn} does not exist.");
        let err = client
            .add_layer_version_permission()
            .layer_name(layer)
            .version_number(version)
            .statement_id("sx")
            .action("lambda:GetLayerVersion")
            .principal("*")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code_of(&err), "ResourceNotFoundException");
        assert_eq!(message_of(&err), expected);
        let err = client
            .get_layer_version_policy()
            .layer_name(layer)
            .version_number(version)
            .send()
            .await
            .unwrap_err();
        assert_eq!(message_of(&err), expected);
        let err = client
            .remove_layer_version_permission()
            .layer_name(layer)
            .version_number(version)
            .statement_id("s1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(message_of(&err), expected);
    }

    // An account principal and an organization, with the current revision.
    let s2 = client
        .add_layer_version_permission()
        .layer_name(v1.layer_arn().unwrap())
        .version_number(1)
        .statement_id("s2")
        .action("lambda:GetLayerVersion")
        .principal("223456789012")
        .revision_id(s1.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    let statement: Value = serde_json::from_str(s2.statement().unwrap()).unwrap();
    assert_eq!(
        statement["Principal"],
        json!({"AWS": "arn:aws:iam::223456789012:root"})
    );
    let org = client
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("org")
        .action("lambda:GetLayerVersion")
        .principal("*")
        .organization_id("o-t194hfs8cz")
        .send()
        .await
        .unwrap();
    assert!(
        org.statement()
            .unwrap()
            .ends_with(r#""Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-t194hfs8cz"}}}"#)
    );

    let err = client
        .remove_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("doesnotexist")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
    assert_eq!(
        message_of(&err),
        "Statement doesnotexist is not found in resource policy."
    );
    let err = client
        .remove_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("s1")
        .revision_id("wrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "PreconditionFailedException");
    client
        .remove_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("s2")
        .revision_id(org.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    let after = client
        .get_layer_version_policy()
        .layer_name("shared")
        .version_number(1)
        .send()
        .await
        .unwrap();
    assert_ne!(after.revision_id(), org.revision_id());
    let doc: Value = serde_json::from_str(after.policy().unwrap()).unwrap();
    let sids: Vec<&str> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["s1", "org"]);
}
