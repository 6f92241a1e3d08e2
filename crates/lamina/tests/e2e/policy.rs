//! AddPermission, GetPolicy and RemovePermission through the SDK, with AWS's renderings and
//! errors (Invoke by other principals: `principals.rs`).

use serde_json::{Value, json};

use crate::aws_errors::assert_error;
use crate::harness::*;

pub(crate) const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:guarded";
const STALE: &str = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id";

async fn revision(client: &aws_sdk_lambda::Client, name: &str, qualifier: Option<&str>) -> String {
    client
        .get_function_configuration()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .revision_id()
        .unwrap()
        .to_owned()
}

pub(crate) async fn guarded(client: &aws_sdk_lambda::Client) {
    create_request(client, "guarded", python_zip())
        .send()
        .await
        .unwrap();
    wait_settled(client, "guarded").await;
}

#[tokio::test]
async fn permissions_render_as_aws_does_and_move_the_revision() {
    let server = TestServer::start().await;
    let client = server.client();
    guarded(&client).await;
    let created = revision(&client, "guarded", None).await;

    let added = client
        .add_permission()
        .function_name("guarded")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::my-bucket")
        .source_account("123456789012")
        .send()
        .await
        .unwrap();
    let s3 = format!(
        r#"{{"Sid":"s3","Effect":"Allow","Principal":{{"Service":"s3.amazonaws.com"}},"Action":"lambda:InvokeFunction","Resource":"{ARN}","Condition":{{"StringEquals":{{"AWS:SourceAccount":"123456789012"}},"ArnLike":{{"AWS:SourceArn":"arn:aws:s3:::my-bucket"}}}}}}"#
    );
    assert_eq!(added.statement(), Some(s3.as_str()));

    let policy = client
        .get_policy()
        .function_name("guarded")
        .send()
        .await
        .unwrap();
    let after_add = revision(&client, "guarded", None).await;
    assert_ne!(
        after_add, created,
        "AddPermission gives the function a new RevisionId"
    );
    assert_eq!(policy.revision_id(), Some(after_add.as_str()));
    assert_eq!(
        policy.policy().unwrap(),
        format!(r#"{{"Version":"2012-10-17","Id":"default","Statement":[{s3}]}}"#)
    );

    // An account id becomes its root; an identity ARN stays; "*" is a bare string.
    let account = client
        .add_permission()
        .function_name(ARN)
        .statement_id("xaccount")
        .action("lambda:InvokeFunction")
        .principal("210987654321")
        .revision_id(&after_add)
        .send()
        .await
        .unwrap();
    assert_eq!(
        account.statement().unwrap(),
        format!(
            r#"{{"Sid":"xaccount","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::210987654321:root"}},"Action":"lambda:InvokeFunction","Resource":"{ARN}"}}"#
        )
    );
    let url = client
        .add_permission()
        .function_name("guarded")
        .statement_id("urlPermission")
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .source_arn("arn:aws:s3:::test-bucket")
        .source_account("111111111111")
        .principal_org_id("o-1234567890")
        .function_url_auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        url.statement().unwrap(),
        format!(
            r#"{{"Sid":"urlPermission","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"{ARN}","Condition":{{"StringEquals":{{"lambda:FunctionUrlAuthType":"NONE","aws:PrincipalOrgID":"o-1234567890","AWS:SourceAccount":"111111111111"}},"ArnLike":{{"AWS:SourceArn":"arn:aws:s3:::test-bucket"}}}}}}"#
        )
    );
    let alexa = client
        .add_permission()
        .function_name("guarded")
        .statement_id("alexaSkill")
        .action("lambda:InvokeFunction")
        .principal("alexa-appkit.amazon.com")
        .event_source_token("amzn1.ask.skill.xxxxxxxx-xxxx")
        .send()
        .await
        .unwrap();
    assert_eq!(
        alexa.statement().unwrap(),
        format!(
            r#"{{"Sid":"alexaSkill","Effect":"Allow","Principal":{{"Service":"alexa-appkit.amazon.com"}},"Action":"lambda:InvokeFunction","Resource":"{ARN}","Condition":{{"StringEquals":{{"lambda:EventSourceToken":"amzn1.ask.skill.xxxxxxxx-xxxx"}}}}}}"#
        )
    );

    let doc: Value = serde_json::from_str(
        client
            .get_policy()
            .function_name("guarded")
            .qualifier("$LATEST")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    let sids: Vec<&str> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["s3", "xaccount", "urlPermission", "alexaSkill"]);

    let before_remove = revision(&client, "guarded", None).await;
    client
        .remove_permission()
        .function_name("guarded")
        .statement_id("s3")
        .revision_id(&before_remove)
        .send()
        .await
        .unwrap();
    assert_ne!(revision(&client, "guarded", None).await, before_remove);
    for sid in ["xaccount", "urlPermission", "alexaSkill"] {
        client
            .remove_permission()
            .function_name("guarded")
            .statement_id(sid)
            .send()
            .await
            .unwrap();
    }
    assert_error(
        client.get_policy().function_name("guarded").send().await,
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
}

#[tokio::test]
async fn permission_errors_match_aws() {
    let server = TestServer::start().await;
    let client = server.client();
    guarded(&client).await;
    let add = |sid: &str, action: &str, principal: &str| {
        client
            .add_permission()
            .function_name("guarded")
            .statement_id(sid)
            .action(action)
            .principal(principal)
    };

    assert_error(
        add("example.com", "lambda:InvokeFunction", "s3.amazonaws.com")
            .send()
            .await,
        400,
        "ValidationException",
        "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
    );
    assert_error(
        add(
            &"a".repeat(101),
            "lambda:InvokeFunction",
            "s3.amazonaws.com",
        )
        .send()
        .await,
        400,
        "ValidationException",
        &format!(
            "1 validation error detected: Value '{}' at 'statementId' failed to satisfy constraint: Member must have length less than or equal to 100",
            "a".repeat(101)
        ),
    );
    assert_error(
        add("s", "s3:GetObject", "*").send().await,
        400,
        "ValidationException",
        "1 validation error detected: Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
    );
    assert_error(
        add("s", "lambda:FlyToTheMoon", "*").send().await,
        400,
        "InvalidParameterValueException",
        "The provided action is invalid. Please check the action and try again.",
    );
    assert_error(
        add("s", "lambda:InvokeFunction", "invalid.nonaws.com")
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "The provided principal was invalid. Please check the principal and try again.",
    );
    assert_error(
        add("s", "lambda:InvokeFunction", "*")
            .source_account("12345")
            .send()
            .await,
        400,
        "ValidationException",
        r"1 validation error detected: Value '12345' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \d{12}",
    );
    assert_error(
        add("s3", "lambda:InvokeFunction", "s3.amazonaws.com")
            .qualifier("$LATEST")
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "We currently do not support adding policies for $LATEST.",
    );
    assert_error(
        client
            .add_permission()
            .function_name("guarded:alias-not-42")
            .qualifier("42")
            .statement_id("s3")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await,
        400,
        "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier.",
    );
    assert_error(
        add("s3", "lambda:InvokeFunction", "s3.amazonaws.com")
            .qualifier("invalid-qualifier-with-?-char")
            .send()
            .await,
        400,
        "ValidationException",
        "1 validation error detected: Value 'invalid-qualifier-with-?-char' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
    );
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:doesnotexist";
    assert_error(
        client
            .add_permission()
            .function_name("doesnotexist")
            .statement_id("s3")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {missing}"),
    );
    assert_error(
        add("s3", "lambda:InvokeFunction", "s3.amazonaws.com")
            .qualifier("42")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {ARN}:42"),
    );
    assert_error(
        client
            .add_permission()
            .function_name("guarded:alias-doesnotexist")
            .statement_id("s3")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Cannot find alias arn: {ARN}:alias-doesnotexist"),
    );
    assert_error(
        client
            .get_policy()
            .function_name("doesnotexist")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Function not found: {missing}"),
    );
    assert_error(
        client.get_policy().function_name("guarded").send().await,
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
    assert_error(
        client
            .get_policy()
            .function_name("guarded")
            .qualifier("77")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
    assert_error(
        client
            .remove_permission()
            .function_name("guarded")
            .statement_id("s3")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        "No policy is associated with the given resource.",
    );
    assert_error(
        client
            .remove_permission()
            .function_name("doesnotexist")
            .statement_id("s3")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("No policy found for: {missing}"),
    );

    assert_error(
        add("s3", "lambda:InvokeFunction", "s3.amazonaws.com")
            .revision_id("wrong")
            .send()
            .await,
        412,
        "PreconditionFailedException",
        STALE,
    );
    add("s3", "lambda:InvokeFunction", "s3.amazonaws.com")
        .send()
        .await
        .unwrap();
    assert_error(
        add("s3", "lambda:InvokeFunction", "sns.amazonaws.com")
            .send()
            .await,
        409,
        "ResourceConflictException",
        "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement.",
    );
    assert_error(
        client
            .remove_permission()
            .function_name("guarded")
            .statement_id("non-existent")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        "Statement non-existent is not found in resource policy.",
    );
    assert_error(
        client
            .remove_permission()
            .function_name("guarded")
            .statement_id("s3")
            .revision_id("wrong")
            .send()
            .await,
        412,
        "PreconditionFailedException",
        STALE,
    );
    assert_error(
        client
            .remove_permission()
            .function_name("guarded")
            .statement_id("s3")
            .qualifier("alias-doesnotexist")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        &format!("Cannot find alias arn: {ARN}:alias-doesnotexist"),
    );

    // The policy document is limited to 20 KB.
    let mut n = 0;
    let err = loop {
        n += 1;
        let r = add(
            &format!("statement-{n}"),
            "lambda:InvokeFunction",
            "s3.amazonaws.com",
        )
        .source_arn(format!("arn:aws:s3:::{}", "b".repeat(200)))
        .send()
        .await;
        match r {
            Ok(_) => assert!(n < 200, "the policy never hit its limit"),
            Err(e) => break e,
        }
    };
    let (status, code, message) = crate::aws_errors::error_of(&err);
    assert_eq!(
        (status, code.as_str()),
        (400, "PolicyLengthExceededException")
    );
    assert!(
        message.starts_with("The final policy size (")
            && message.ends_with(") is bigger than the limit (20480)."),
        "{message}"
    );
}

#[tokio::test]
async fn versions_and_aliases_have_their_own_policies() {
    let server = TestServer::start().await;
    let client = server.client();
    guarded(&client).await;
    client
        .add_permission()
        .function_name("guarded")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .unwrap();
    client
        .publish_version()
        .function_name("guarded")
        .send()
        .await
        .unwrap();
    assert_error(
        client
            .get_policy()
            .function_name("guarded")
            .qualifier("1")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
    let v1_before = revision(&client, "guarded", Some("1")).await;
    let added = client
        .add_permission()
        .function_name(format!("{ARN}:1"))
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .revision_id(&v1_before)
        .send()
        .await
        .unwrap();
    let stmt: Value = serde_json::from_str(added.statement().unwrap()).unwrap();
    assert_eq!(stmt["Resource"], json!(format!("{ARN}:1")));
    let v1_policy = client
        .get_policy()
        .function_name("guarded")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    let v1_after = revision(&client, "guarded", Some("1")).await;
    assert_ne!(
        v1_after, v1_before,
        "a version's policy moves the version's RevisionId"
    );
    assert_eq!(v1_policy.revision_id(), Some(v1_after.as_str()));

    let alias = client
        .create_alias()
        .function_name("guarded")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    assert_error(
        client
            .add_permission()
            .function_name("guarded")
            .qualifier("live")
            .statement_id("s3")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .revision_id("wrong")
            .send()
            .await,
        412,
        "PreconditionFailedException",
        STALE,
    );
    client
        .add_permission()
        .function_name("guarded:live")
        .qualifier("live")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .revision_id(alias.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    let alias_policy = client
        .get_policy()
        .function_name("guarded")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let alias_now = client
        .get_alias()
        .function_name("guarded")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_ne!(alias_now.revision_id(), alias.revision_id());
    assert_eq!(alias_policy.revision_id(), alias_now.revision_id());
    assert!(
        alias_policy
            .policy()
            .unwrap()
            .contains(&format!("{ARN}:live"))
    );

    // Deleting an alias deletes its policy: a new alias of that name starts without one.
    client
        .delete_alias()
        .function_name("guarded")
        .name("live")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("guarded")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    assert_error(
        client
            .get_policy()
            .function_name("guarded")
            .qualifier("live")
            .send()
            .await,
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
}

#[tokio::test]
async fn deleting_a_function_deletes_its_policy_and_settings() {
    let server = TestServer::start().await;
    let client = server.client();
    guarded(&client).await;
    client
        .add_permission()
        .function_name("guarded")
        .statement_id("s3")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .unwrap();
    client
        .put_function_recursion_config()
        .function_name("guarded")
        .recursive_loop(aws_sdk_lambda::types::RecursiveLoop::Allow)
        .send()
        .await
        .unwrap();
    client
        .put_runtime_management_config()
        .function_name("guarded")
        .update_runtime_on(aws_sdk_lambda::types::UpdateRuntimeOn::FunctionUpdate)
        .send()
        .await
        .unwrap();
    client
        .delete_function()
        .function_name("guarded")
        .send()
        .await
        .unwrap();
    guarded(&client).await;
    assert_error(
        client.get_policy().function_name("guarded").send().await,
        404,
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    );
    let recursion = client
        .get_function_recursion_config()
        .function_name("guarded")
        .send()
        .await
        .unwrap();
    assert_eq!(recursion.recursive_loop().unwrap().as_str(), "Terminate");
    let runtime = client
        .get_runtime_management_config()
        .function_name("guarded")
        .send()
        .await
        .unwrap();
    assert_eq!(runtime.update_runtime_on().unwrap().as_str(), "Auto");
}
