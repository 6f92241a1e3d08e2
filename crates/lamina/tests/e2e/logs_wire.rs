//! The CloudWatch Logs API's wire rules: requests signed for the `logs` service (not `lambda`)
//! and errors in the JSON 1.1 shape.

use serde_json::{Value, json};

use crate::harness::*;

/// A request signed by hand for `service` (unsigned without one): (status, headers, JSON body).
fn signed(
    server: &TestServer,
    method: &str,
    path: &str,
    target: Option<&str>,
    body: &Value,
    service: Option<&str>,
) -> (u16, Vec<(String, String)>, Value) {
    let body = if method == "GET" {
        String::new()
    } else {
        body.to_string()
    };
    let url = format!("{}{path}", server.endpoint);
    let mut headers = axum::http::HeaderMap::new();
    if let Some(target) = target {
        headers.insert("x-amz-target", target.parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-amz-json-1.1".parse().unwrap(),
        );
    }
    if let Some(service) = service {
        lamina_api::sigv4::sign_request(
            &method.parse().unwrap(),
            &url,
            &mut headers,
            body.as_bytes(),
            ACCESS_KEY,
            SECRET_KEY,
            "us-east-1",
            service,
            time::OffsetDateTime::now_utc(),
        );
    }
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, headers, body) = raw_request(method, &url, &refs, body.as_bytes());
    (status, headers, serde_json::from_slice(&body).unwrap())
}

fn logs_request(
    server: &TestServer,
    target: &str,
    body: &Value,
    service: Option<&str>,
) -> (u16, Vec<(String, String)>, Value) {
    signed(server, "POST", "/", Some(target), body, service)
}

#[tokio::test]
async fn logs_requests_are_signed_for_logs_and_fail_in_the_json_1_1_shape() {
    let server = TestServer::start().await;
    let describe = "Logs_20140328.DescribeLogGroups";

    let (status, headers, body) = logs_request(&server, describe, &json!({}), Some("logs"));
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/x-amz-json-1.1")
    );
    assert_eq!(body, json!({ "logGroups": [] }));

    // Signed for Lambda: refused with the scope message, in the JSON 1.1 shape.
    let (status, _, body) = logs_request(&server, describe, &json!({}), Some("lambda"));
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidSignatureException");
    assert_eq!(
        body["message"],
        "Credential should be scoped to correct service: 'logs'. "
    );
    let (status, _, body) = logs_request(&server, describe, &json!({}), None);
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    // A Lambda call signed for Logs is refused the other way round, in Lambda's shape.
    let (status, headers, body) = signed(
        &server,
        "GET",
        "/2015-03-31/functions",
        None,
        &json!({}),
        Some("logs"),
    );
    assert_eq!(status, 403);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amzn-errortype" && v == "InvalidSignatureException")
    );
    assert_eq!(
        body["message"],
        "Credential should be scoped to correct service: 'lambda'. "
    );
    assert!(body.get("__type").is_none());

    let (status, _, body) = logs_request(&server, "Logs_20140328.Nope", &json!({}), Some("logs"));
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
    let (status, _, body) = logs_request(
        &server,
        "Logs_20140328.GetLogEvents",
        &json!({"logGroupName": "/none", "logStreamName": "s"}),
        Some("logs"),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."})
    );
    let (status, _, body) = logs_request(
        &server,
        "Logs_20140328.FilterLogEvents",
        &json!({"logGroupName": "/none", "filterPattern": "{ $.a = "}),
        Some("logs"),
    );
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
    let (status, _, body) = logs_request(&server, describe, &json!({"limit": "x"}), Some("logs"));
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");

    // The Lambda API keeps its REST-JSON errors.
    let err = server
        .client()
        .get_function()
        .function_name("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "ResourceNotFoundException");
}
