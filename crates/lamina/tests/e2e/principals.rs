//! Invoke by principals other than the root (`[[principals]]`), allowed only by a function's
//! resource-based policy, with AWS's AccessDenied messages.

use aws_sdk_lambda::primitives::Blob;
use serde_json::{Value, json};

use crate::aws_errors::assert_error;
use crate::harness::*;
use crate::policy::{ARN, guarded};

const ALICE_KEY: &str = "LKIAALICEALICEALICE1";
const ALICE_SECRET: &str = "alice-secret-for-lamina-e2e-tests-000001";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB_KEY: &str = "LKIABOBBOBBOBBOBBOB1";
const BOB_SECRET: &str = "bob-secret-for-lamina-e2e-tests-00000001";
const BOB: &str = "arn:aws:iam::444455556666:user/bob";

/// A server whose config file lists alice and bob besides the root.
fn server_with_principals() -> (TestServer, tempfile::TempDir) {
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("lamina.toml");
    std::fs::write(
        &config,
        format!(
            "[[principals]]\naccess_key_id = \"{ALICE_KEY}\"\nsecret_access_key = \"{ALICE_SECRET}\"\narn = \"{ALICE}\"\n\n\
             [[principals]]\naccess_key_id = \"{BOB_KEY}\"\nsecret_access_key = \"{BOB_SECRET}\"\narn = \"{BOB}\"\n"
        ),
    )
    .unwrap();
    // It holds secrets: the server warns when others can read it.
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let server = TestServer::start_in(
        &temp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    (server, temp)
}

async fn invoke_as(
    client: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<Value, (u16, String, String)> {
    client
        .invoke()
        .function_name(name)
        .payload(Blob::new(r#"{"from":"caller"}"#))
        .send()
        .await
        .map(|out| serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap())
        .map_err(|e| crate::aws_errors::error_of(&e))
}

fn denied(who: &str, resource: &str) -> (u16, String, String) {
    (
        403,
        "AccessDeniedException".to_owned(),
        format!(
            "User: {who} is not authorized to perform: lambda:InvokeFunction on resource: {resource} because no resource-based policy allows the lambda:InvokeFunction action"
        ),
    )
}

#[tokio::test]
async fn other_principals_invoke_only_what_a_policy_allows_them() {
    let (server, _temp) = server_with_principals();
    let root = server.client();
    let alice = server.client_with(ALICE_KEY, ALICE_SECRET);
    let bob = server.client_with(BOB_KEY, BOB_SECRET);
    guarded(&root).await;

    assert_eq!(invoke_as(&alice, "guarded").await, Err(denied(ALICE, ARN)));
    // A function that does not exist is denied the same way: no policy allows it.
    assert_eq!(
        invoke_as(&alice, "nothing-here").await,
        Err(denied(
            ALICE,
            "arn:aws:lambda:us-east-1:000000000000:function:nothing-here"
        ))
    );
    // Everything but Invoke is refused outright.
    assert_error(
        alice.list_functions().send().await,
        403,
        "AccessDeniedException",
        &format!(
            "User: {ALICE} is not authorized to perform: lambda:ListFunctions on resource: * because no identity-based policy allows the lambda:ListFunctions action"
        ),
    );
    assert_error(
        alice
            .add_permission()
            .function_name("guarded")
            .statement_id("self-service")
            .action("lambda:InvokeFunction")
            .principal(ALICE)
            .send()
            .await,
        403,
        "AccessDeniedException",
        &format!(
            "User: {ALICE} is not authorized to perform: lambda:AddPermission on resource: {ARN} because no identity-based policy allows the lambda:AddPermission action"
        ),
    );

    root.add_permission()
        .function_name("guarded")
        .statement_id("alice")
        .action("lambda:InvokeFunction")
        .principal(ALICE)
        .send()
        .await
        .unwrap();
    let out = invoke_as(&alice, "guarded").await.unwrap();
    assert_eq!(out, json!({"from": "caller"}));
    assert_eq!(
        invoke_as(&alice, ARN).await.unwrap(),
        json!({"from": "caller"})
    );
    assert_eq!(invoke_as(&bob, "guarded").await, Err(denied(BOB, ARN)));
    // `guarded:$LATEST` is the function itself, so the function's policy applies.
    assert_eq!(
        invoke_as(&alice, "guarded:$LATEST").await,
        Ok(json!({"from": "caller"}))
    );

    // A statement with a condition never matches a direct call.
    root.add_permission()
        .function_name("guarded")
        .statement_id("bob-from-s3")
        .action("lambda:InvokeFunction")
        .principal(BOB)
        .source_account("444455556666")
        .send()
        .await
        .unwrap();
    assert_eq!(invoke_as(&bob, "guarded").await, Err(denied(BOB, ARN)));
    // Bob's whole account, by account id.
    root.add_permission()
        .function_name("guarded")
        .statement_id("bobs-account")
        .action("lambda:*")
        .principal("444455556666")
        .send()
        .await
        .unwrap();
    assert!(invoke_as(&bob, "guarded").await.is_ok());

    root.remove_permission()
        .function_name("guarded")
        .statement_id("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(invoke_as(&alice, "guarded").await, Err(denied(ALICE, ARN)));
    root.add_permission()
        .function_name("guarded")
        .statement_id("everyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    assert!(invoke_as(&alice, "guarded").await.is_ok());

    // Versions carry their own policy.
    root.publish_version()
        .function_name("guarded")
        .send()
        .await
        .unwrap();
    assert_eq!(
        invoke_as(&alice, "guarded:1").await,
        Err(denied(ALICE, &format!("{ARN}:1")))
    );
    root.add_permission()
        .function_name("guarded:1")
        .statement_id("alice-v1")
        .action("lambda:InvokeFunction")
        .principal(ALICE)
        .send()
        .await
        .unwrap();
    assert!(invoke_as(&alice, "guarded:1").await.is_ok());
}
