//! `lamina_api::sqs` against a real SQS-compatible server: `moto_server` (moto, pinned in
//! `tests/python/requirements.txt`, installed into `<repo>/.venv` by `scripts/test`), started by
//! each test on 127.0.0.1 with an ephemeral port (`-p 0`; the port is read from its
//! `Running on http://127.0.0.1:<port>` line, no sleeping).
//!
//! The executable is `$MOTO_SERVER` or `<repo>/.venv/bin/moto_server`. When it is missing the
//! tests that need it fail with instructions, unless `LAMINA_SKIP_MOTO=1` is set, in which case
//! they say they are skipped (the tests that need no server still run).
//!
//! A small recording proxy sits between client and server where a test needs to see which
//! operations went over the wire (queue-URL caching) or to play a server that does not speak
//! the JSON protocol (fallback to the query protocol). Both live in `sqs_support/`.

#![allow(clippy::unwrap_used)] // tests and their helpers: a failed step should panic

mod sqs_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method};
use lamina_api::sigv4::sign_request;
use lamina_api::sqs::{
    DLQ_ERROR_MESSAGE_LIMIT, ReceivedMessage, SqsClient, SqsConfig, SqsError, SqsProtocol,
    truncate_utf8,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use sqs_support::{JsonMode, Moto, Proxy, read_request};

/// moto's default account (every access key maps to it unless STS says otherwise).
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

// ---- helpers ------------------------------------------------------------------------------

fn client(endpoint: &str) -> SqsClient {
    client_with(
        endpoint,
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    )
}

fn client_with(endpoint: &str, access_key_id: &str, secret: &str) -> SqsClient {
    SqsClient::new(SqsConfig {
        endpoint: endpoint.to_owned(),
        access_key_id: access_key_id.to_owned(),
        secret_access_key: secret.to_owned(),
        region: REGION.to_owned(),
    })
    .with_timeout(Duration::from_secs(30))
}

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

/// Receives until `count` messages arrived (moto may hand them out over several calls).
async fn receive(client: &SqsClient, queue_arn: &str, count: usize) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut messages = Vec::new();
    while messages.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} messages arrived",
            messages.len()
        );
        messages.extend(client.receive_messages(queue_arn, 10, 1).await.unwrap());
    }
    assert_eq!(messages.len(), count, "{messages:#?}");
    messages
}

fn attribute<'a>(message: &'a ReceivedMessage, name: &str) -> (&'a str, &'a str) {
    let attribute = message
        .attributes
        .get(name)
        .unwrap_or_else(|| panic!("no attribute {name} in {message:#?}"));
    (
        attribute.data_type.as_str(),
        attribute.string_value.as_deref().unwrap_or("<none>"),
    )
}

/// A body with what tends to break encodings: JSON quotes, XML specials, CR/LF, non-ASCII.
const AWKWARD_BODY: &str = "{\"k\": \"v w\", \"xml\": \"<a>&amp;</a>\", \"q\": \"'\"}\r\n\
                            line 2 \u{e9}\u{20ac}\u{1f600} +%20&=";

/// Sends the DLQ-shaped message and a plain one, receives both and checks them.
async fn round_trip(client: &SqsClient, queue: &str) {
    let queue_arn = arn(queue);
    let long_error = format!("Error: {}", "\u{e9}".repeat(700));
    let error_message = truncate_utf8(&long_error, DLQ_ERROR_MESSAGE_LIMIT);
    assert!(error_message.len() <= 1024 && error_message.len() > 1000);
    let first = client
        .send_message(
            &queue_arn,
            AWKWARD_BODY,
            &[
                ("RequestID", "String", "5f1c0a3e-request"),
                ("ErrorCode", "Number", "500"),
                ("ErrorMessage", "String", error_message),
            ],
        )
        .await
        .unwrap();
    let second = client.send_message(&queue_arn, "plain", &[]).await.unwrap();
    assert_ne!(first, second);

    let messages = receive(client, &queue_arn, 2).await;
    let dlq = messages.iter().find(|m| m.message_id == first).unwrap();
    assert_eq!(dlq.body, AWKWARD_BODY);
    assert!(!dlq.receipt_handle.is_empty());
    assert_eq!(dlq.attributes.len(), 3, "{dlq:#?}");
    assert_eq!(attribute(dlq, "RequestID"), ("String", "5f1c0a3e-request"));
    assert_eq!(attribute(dlq, "ErrorCode"), ("Number", "500"));
    assert_eq!(attribute(dlq, "ErrorMessage"), ("String", error_message));
    let plain = messages.iter().find(|m| m.message_id == second).unwrap();
    assert_eq!(plain.body, "plain");
    assert!(plain.attributes.is_empty());
    // The server's MD5 of what it stored matches what was sent.
    assert_eq!(
        plain.md5_of_body.as_deref(),
        Some("ac7938d40cfc2307e2bf325d28e7884e")
    );
}

/// A signed query-protocol POST (for IAM, which has no JSON protocol) over a raw connection.
async fn signed_query(addr: SocketAddr, service: &str, params: &[(&str, &str)]) -> (u16, String) {
    let body = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    headers.insert("host", HeaderValue::from_str(&addr.to_string()).unwrap());
    sign_request(
        &Method::POST,
        &format!("http://{addr}/"),
        &mut headers,
        body.as_bytes(),
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        REGION,
        service,
        time::OffsetDateTime::now_utc(),
    );
    let mut request = String::from("POST / HTTP/1.1\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn xml_field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len());
    let end = xml.find(&format!("</{tag}>"));
    match (start, end) {
        (Some(s), Some(e)) if s <= e => xml[s..e].to_owned(),
        _ => panic!("no <{tag}> in {xml}"),
    }
}

fn assert_queue_missing(err: &SqsError, json: bool) {
    match err {
        SqsError::Service {
            operation,
            status,
            code,
            error_type,
            message,
            sender_fault,
        } => {
            assert_eq!(*operation, "GetQueueUrl");
            assert_eq!(*status, 400);
            assert_eq!(code, "AWS.SimpleQueueService.NonExistentQueue");
            if json {
                assert_eq!(error_type.as_deref(), Some("QueueDoesNotExist"));
            }
            assert!(message.contains("does not exist"), "{message}");
            assert_eq!(*sender_fault, Some(true));
        }
        other => panic!("expected a NonExistentQueue service error, got {other:?}"),
    }
    assert!(err.is_queue_missing());
    assert!(!err.is_retryable());
    assert_eq!(err.code(), Some("AWS.SimpleQueueService.NonExistentQueue"));
}

// ---- tests against moto -------------------------------------------------------------------

/// The JSON protocol end to end: create, send with the DLQ attributes, receive them back; the
/// queue URL is looked up once per ARN.
#[tokio::test]
async fn json_protocol_delivers_body_and_attributes() {
    let Some(moto) = Moto::start() else { return };
    let proxy = Proxy::start(moto.addr, JsonMode::Forward).await;
    let client = client(&proxy.endpoint());
    assert_eq!(client.protocol(), None);
    let url = client.create_queue("lamina-dlq").await.unwrap();
    assert_eq!(url, format!("{}/{ACCOUNT}/lamina-dlq", proxy.endpoint()));
    assert_eq!(client.protocol(), Some(SqsProtocol::Json));

    round_trip(&client, "lamina-dlq").await;

    let seen = proxy.seen();
    assert_eq!(
        seen[..4],
        [
            "json:CreateQueue",
            "json:GetQueueUrl",
            "json:SendMessage",
            "json:SendMessage"
        ],
        "{seen:?}"
    );
    assert!(
        seen[4..].iter().all(|op| op == "json:ReceiveMessage"),
        "{seen:?}"
    );
    assert_eq!(
        client.queue_url(&arn("lamina-dlq")).await.unwrap(),
        url,
        "cached"
    );
    assert_eq!(proxy.seen().len(), seen.len(), "no second GetQueueUrl");
}

/// The query protocol (form POST, XML answers) end to end, straight to moto.
#[tokio::test]
async fn query_protocol_delivers_body_and_attributes() {
    let Some(moto) = Moto::start() else { return };
    let client = client(&moto.endpoint()).with_protocol(SqsProtocol::Query);
    assert_eq!(client.protocol(), Some(SqsProtocol::Query));
    client.create_queue("lamina-query").await.unwrap();
    round_trip(&client, "lamina-query").await;
}

/// A server that refuses the JSON protocol makes the client fall back to the query protocol
/// and stay there.
#[tokio::test]
async fn falls_back_to_the_query_protocol() {
    let Some(moto) = Moto::start() else { return };
    for (mode, queue) in [
        (JsonMode::UnknownOperation, "fallback-unknown-op"),
        (JsonMode::NotFound, "fallback-not-found"),
    ] {
        client(&moto.endpoint()).create_queue(queue).await.unwrap();
        let proxy = Proxy::start(moto.addr, mode).await;
        let client = client(&proxy.endpoint());
        round_trip(&client, queue).await;
        assert_eq!(client.protocol(), Some(SqsProtocol::Query));
        let seen = proxy.seen();
        assert_eq!(
            seen[..4],
            [
                "json:GetQueueUrl",
                "query:GetQueueUrl",
                "query:SendMessage",
                "query:SendMessage"
            ],
            "{seen:?}"
        );
        assert!(
            seen[4..].iter().all(|op| op == "query:ReceiveMessage"),
            "{seen:?}"
        );
    }
}

/// A queue that does not exist is an error with SQS's code, in both protocols; a cached URL
/// whose queue has gone is looked up again.
#[tokio::test]
async fn missing_queue_is_an_error_with_its_code() {
    let Some(moto) = Moto::start() else { return };
    let json = client(&moto.endpoint());
    let err = json
        .send_message(&arn("no-such-queue"), "x", &[])
        .await
        .unwrap_err();
    assert_queue_missing(&err, true);
    assert_eq!(
        json.protocol(),
        Some(SqsProtocol::Json),
        "a service error pins JSON"
    );
    assert!(
        err.to_string().starts_with(
            "SQS GetQueueUrl failed with HTTP 400: AWS.SimpleQueueService.NonExistentQueue"
        ),
        "{err}"
    );

    let query = client(&moto.endpoint()).with_protocol(SqsProtocol::Query);
    let err = query
        .send_message(&arn("no-such-queue"), "x", &[])
        .await
        .unwrap_err();
    assert_queue_missing(&err, false);

    // The ARN's account and region are what GetQueueUrl asks for.
    let other_region = format!("arn:aws:sqs:eu-west-1:{ACCOUNT}:lamina-dlq");
    json.create_queue("lamina-dlq").await.unwrap();
    json.send_message(&arn("lamina-dlq"), "ok", &[])
        .await
        .unwrap();
    let err = json
        .send_message(&other_region, "x", &[])
        .await
        .unwrap_err();
    assert!(err.is_queue_missing(), "{err:?}");

    // A queue deleted after its URL was cached: the send fails with the code (SendMessage this
    // time) and the next send looks the URL up again.
    let proxy = Proxy::start(moto.addr, JsonMode::Forward).await;
    let cached = client(&proxy.endpoint());
    cached
        .send_message(&arn("lamina-dlq"), "1", &[])
        .await
        .unwrap();
    let (status, _) = raw_post(moto.addr, "/moto-api/reset").await;
    assert_eq!(status, 200);
    let err = cached
        .send_message(&arn("lamina-dlq"), "2", &[])
        .await
        .unwrap_err();
    assert!(err.is_queue_missing(), "{err:?}");
    assert!(
        matches!(
            err,
            SqsError::Service {
                operation: "SendMessage",
                ..
            }
        ),
        "{err:?}"
    );
    cached.create_queue("lamina-dlq").await.unwrap();
    cached
        .send_message(&arn("lamina-dlq"), "3", &[])
        .await
        .unwrap();
    assert_eq!(
        proxy.seen(),
        [
            "json:GetQueueUrl",
            "json:SendMessage",
            "json:SendMessage",
            "json:CreateQueue",
            "json:GetQueueUrl",
            "json:SendMessage"
        ]
    );
    let messages = receive(&cached, &arn("lamina-dlq"), 1).await;
    assert_eq!(messages[0].body, "3");
}

/// moto with IAM authentication on recomputes every SigV4 signature with botocore: what
/// `sign_request` produces is accepted in both protocols, and a wrong secret is refused.
#[tokio::test]
async fn moto_verifies_our_signatures() {
    // The first three actions (IAM setup) are not authenticated; everything after is.
    let Some(moto) = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]) else {
        return;
    };
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#;
    for params in [
        &[("Action", "CreateUser"), ("UserName", "lamina")][..],
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "lamina"),
            ("PolicyName", "sqs"),
            ("PolicyDocument", policy),
        ],
    ] {
        let mut params = params.to_vec();
        params.push(("Version", "2010-05-08"));
        let (status, body) = signed_query(moto.addr, "iam", &params).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = signed_query(
        moto.addr,
        "iam",
        &[
            ("Action", "CreateAccessKey"),
            ("UserName", "lamina"),
            ("Version", "2010-05-08"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let key_id = xml_field(&body, "AccessKeyId");
    let secret = xml_field(&body, "SecretAccessKey");

    let json = client_with(&moto.endpoint(), &key_id, &secret);
    json.create_queue("signed").await.unwrap();
    round_trip(&json, "signed").await;
    assert_eq!(json.protocol(), Some(SqsProtocol::Json));

    let query = client_with(&moto.endpoint(), &key_id, &secret).with_protocol(SqsProtocol::Query);
    round_trip(&query, "signed").await;

    for protocol in [SqsProtocol::Json, SqsProtocol::Query] {
        let wrong =
            client_with(&moto.endpoint(), &key_id, "not-the-secret").with_protocol(protocol);
        let err = wrong
            .send_message(&arn("signed"), "x", &[])
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("SignatureDoesNotMatch"),
            "{protocol:?}: {err:?}"
        );
        assert!(
            matches!(err, SqsError::Service { status: 403, .. }),
            "{err:?}"
        );
    }
}

// ---- tests without a server ---------------------------------------------------------------

/// A POST with no body over a raw connection: (status, body).
async fn raw_post(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// Nothing listens on the endpoint: a connect error, retryable, naming the endpoint.
#[tokio::test]
async fn unreachable_endpoint_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client(&format!("http://{addr}"));
    let err = client
        .send_message(&arn("q"), "x", &[("RequestID", "String", "r")])
        .await
        .unwrap_err();
    assert!(matches!(err, SqsError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert_eq!(
        client.protocol(),
        None,
        "nothing was learnt about the protocol"
    );

    let unresolvable = client_with("http://lamina-sqs.invalid:9324", "AKID", "s");
    let err = unresolvable
        .send_message(&arn("q"), "x", &[])
        .await
        .unwrap_err();
    assert!(matches!(err, SqsError::Connect { .. }), "{err:?}");
}

/// A server that accepts and never answers: a timeout, retryable. One that answers garbage:
/// an unexpected-response or HTTP error, never a panic or a hang.
#[tokio::test]
async fn silent_or_broken_servers_are_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.push(stream);
        }
    });
    let silent = client(&format!("http://{addr}")).with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = silent.send_message(&arn("q"), "x", &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            SqsError::Timeout {
                operation: "GetQueueUrl",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5));
    held.abort();

    for answer in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"[..],
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nboom",
        b"not http at all\r\n\r\n",
        b"",
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = read_request(&mut stream).await;
                let _ = stream.write_all(answer).await;
            }
        });
        let err = client(&format!("http://{addr}"))
            .send_message(&arn("q"), "x", &[])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SqsError::UnexpectedResponse { .. } | SqsError::Http { .. }
            ),
            "{:?}: {err:?}",
            String::from_utf8_lossy(answer)
        );
        server.abort();
    }
}
