//! Delivery to SQS-compatible queues: the target of async-invocation destinations
//! (`DestinationConfig.OnSuccess` / `OnFailure` with an `arn:aws:sqs:..` destination) and of
//! dead-letter queues (`DeadLetterConfig.TargetArn`).
//!
//! The operator configures one SQS-compatible endpoint ([`SqsConfig`]): moto, ElasticMQ,
//! LocalStack, or anything else that speaks the SQS API. Only plain `http://` endpoints are
//! supported for now: this crate carries no TLS stack, and self-hosted SQS-compatible servers
//! listen on plain HTTP. An `https://` endpoint is refused with [`SqsError::InvalidEndpoint`].
//!
//! ## Wire protocol
//!
//! Requests use the SQS **JSON protocol** that current SDKs use (botocore 1.44 and
//! aws-sdk-rust send it): `POST /` on the endpoint with `Content-Type: application/x-amz-json-1.0`,
//! `X-Amz-Target: AmazonSQS.<Operation>`, `x-amzn-query-mode: true` (so the server reports the
//! query-compatible error code in `x-amzn-query-error`, as botocore asks) and a JSON body
//! (ASCII-only, non-ASCII escaped as `\uXXXX` like botocore's), signed with SigV4 (service
//! `sqs`) by [`crate::sigv4::sign_request`]. Query-protocol bodies are form-encoded byte for
//! byte as botocore encodes them. Servers that rebuild the body before checking the signature
//! (moto with IAM authentication on) need both.
//!
//! Servers that predate the JSON protocol answer it with an "unknown operation" error. When
//! the first JSON call of a client gets a 400/404/405/415/501 answer that is either not an AWS
//! JSON error at all or names an unknown operation (`UnknownOperationException`,
//! `InvalidAction`, ...), the same call is retried with the **query protocol** (`Action=..`
//! form POST, XML answers), and the client keeps using the protocol that worked. A first JSON
//! call answered in the JSON protocol (success or a service error) pins JSON.
//! [`SqsClient::with_protocol`] pins one up front.
//!
//! ## Queue URLs
//!
//! A queue is named by its ARN. Its URL comes from `GetQueueUrl` (`QueueName` plus
//! `QueueOwnerAWSAccountId`), cached per ARN for the life of the client (clones share the
//! cache), so servers whose queue URLs are not `<endpoint>/<account>/<name>` work too (the
//! URLs ElasticMQ hands out depend on its version and its `node-address` setting). The request for a queue is signed for the ARN's region, so multi-region
//! servers (moto, LocalStack) look in the queue's region; requests that name no queue
//! ([`SqsClient::create_queue`]) use [`SqsConfig::region`]. A cached URL whose queue has
//! gone (`QueueDoesNotExist`) is forgotten, so the next call resolves it again.
//!
//! Each call opens one HTTP/1.1 connection (`Connection: close`) and is bounded by the
//! client's timeout (10 s by default, [`SqsClient::with_timeout`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::sigv4::sign_request;

mod error;
mod wire;

pub use error::SqsError;
use wire::*;

/// The SigV4 service name of SQS.
const SERVICE: &str = "sqs";
/// The query protocol's API version.
const QUERY_VERSION: &str = "2012-11-05";
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// How long one call may take by default (connect, send, answer).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (ten 256 KB messages, XML-escaped, fit easily).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// How much of an unexpected answer is quoted in [`SqsError::UnexpectedResponse`].
const DETAIL_LIMIT: usize = 256;

/// AWS sends at most this many bytes of the error message as the DLQ's `ErrorMessage`
/// attribute (use [`truncate_utf8`]).
pub const DLQ_ERROR_MESSAGE_LIMIT: usize = 1024;

/// Error codes with which servers refuse an operation or protocol they do not know.
const UNKNOWN_OPERATION_CODES: [&str; 8] = [
    "UnknownOperationException",
    "UnknownOperation",
    "InvalidAction",
    "MissingAction",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "NotImplemented",
    "InvalidQueryParameter",
];

/// `x-www-form-urlencoded` as botocore writes it (Python's `urlencode`): everything but
/// `A-Z a-z 0-9 - _ . ~` is percent-encoded, and a space is `+`.
const FORM_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the operator's SQS-compatible server is, and the credentials to sign with.
#[derive(Clone)]
pub struct SqsConfig {
    /// Base URL, e.g. `http://127.0.0.1:9324` (a path prefix is kept; `https` is not
    /// supported yet).
    pub endpoint: String,
    /// Access key id the requests are signed with.
    pub access_key_id: String,
    /// Secret access key the requests are signed with.
    pub secret_access_key: String,
    /// Region for requests that name no queue (queue requests use the ARN's region).
    pub region: String,
}

impl std::fmt::Debug for SqsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .finish()
    }
}

/// The SQS wire protocols [`SqsClient`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqsProtocol {
    /// `application/x-amz-json-1.0` with `X-Amz-Target: AmazonSQS.<Operation>`.
    Json,
    /// `Action=<Operation>&Version=2012-11-05` form POSTs with XML answers.
    Query,
}

const PROTOCOL_AUTO: u8 = 0;
const PROTOCOL_JSON: u8 = 1;
const PROTOCOL_QUERY: u8 = 2;

/// One message returned by [`SqsClient::receive_messages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The id [`SqsClient::send_message`] returned when it was sent.
    pub message_id: String,
    /// Handle to delete the message or change its visibility.
    pub receipt_handle: String,
    /// The message body.
    pub body: String,
    /// Hex MD5 of the body, as the server computed it.
    pub md5_of_body: Option<String>,
    /// Message attributes by name (String and Number ones; binary values are left out).
    pub attributes: BTreeMap<String, MessageAttribute>,
}

/// A received message attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    /// `String`, `Number`, or a custom type such as `Number.int`.
    pub data_type: String,
    /// The value (absent for binary attributes).
    pub string_value: Option<String>,
}

/// A parsed `http://host[:port][/prefix]` endpoint.
#[derive(Debug, Clone)]
struct Endpoint {
    /// Host to connect to (IPv6 without brackets).
    connect_host: String,
    port: u16,
    /// `host[:port]` for messages.
    display: String,
    /// `Host` header value: lowercased, without the default port.
    host_header: String,
    /// Path requests go to: the prefix plus `/`.
    path: String,
    /// The absolute URL requests go to (what is signed).
    url: String,
}

impl Endpoint {
    fn parse(endpoint: &str) -> Result<Self, SqsError> {
        let invalid = |reason: &str| SqsError::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = endpoint.trim();
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Err(invalid(
                "expected an http:// URL, e.g. http://127.0.0.1:9324",
            ));
        };
        if scheme.eq_ignore_ascii_case("https") {
            return Err(invalid(
                "https endpoints are not supported yet (no TLS client); use the server's plain \
                 http:// endpoint",
            ));
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(invalid(
                "expected an http:// URL, e.g. http://127.0.0.1:9324",
            ));
        }
        if rest.contains(['?', '#']) {
            return Err(invalid("the endpoint must not have a query or fragment"));
        }
        let (authority, prefix) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        if authority.contains('@') {
            return Err(invalid("credentials in the endpoint URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((host, after)) = v6.split_once(']') else {
                return Err(invalid("unterminated IPv6 address"));
            };
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| invalid("bad port"))?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| invalid("bad port"))?,
        };
        let host = host.to_ascii_lowercase();
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let host_header = if port == 80 {
            bracketed.clone()
        } else {
            format!("{bracketed}:{port}")
        };
        if HeaderValue::from_str(&host_header).is_err() {
            return Err(invalid(
                "the host has characters a Host header cannot carry",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        let path = format!("{prefix}/");
        if path.parse::<http::Uri>().is_err() {
            return Err(invalid("the path is not a valid URL path"));
        }
        Ok(Self {
            connect_host: host,
            port,
            display: format!("{bracketed}:{port}"),
            url: format!("http://{host_header}{path}"),
            host_header,
            path,
        })
    }
}

/// Settings fixed at construction.
#[derive(Clone)]
struct Settings {
    endpoint: Result<Endpoint, String>,
    raw_endpoint: String,
    access_key_id: String,
    secret_access_key: String,
    region: String,
    timeout: Duration,
}

/// A client for one SQS-compatible endpoint. Cheap to clone; clones share the queue-URL cache
/// and the detected protocol.
#[derive(Clone)]
pub struct SqsClient {
    settings: Arc<Settings>,
    /// `PROTOCOL_AUTO`, `PROTOCOL_JSON` or `PROTOCOL_QUERY`.
    protocol: Arc<AtomicU8>,
    /// Queue ARN → queue URL.
    queue_urls: Arc<Mutex<HashMap<String, String>>>,
}

impl std::fmt::Debug for SqsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsClient")
            .field("endpoint", &self.settings.raw_endpoint)
            .field("region", &self.settings.region)
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}

/// What a protocol-level call carries: the JSON body, or the query parameters (without
/// `Action` and `Version`).
struct Call {
    operation: &'static str,
    region: String,
    json: Value,
    query: Vec<(String, String)>,
}

/// A call's successful answer, in the protocol that produced it.
enum Answer {
    Json(Value),
    Xml(String),
}

/// An HTTP answer.
struct RawResponse {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl SqsClient {
    /// A client for `config.endpoint`. An unusable endpoint is reported by each call
    /// ([`SqsError::InvalidEndpoint`]), so configuration loading need not fail.
    pub fn new(config: SqsConfig) -> Self {
        let endpoint = Endpoint::parse(&config.endpoint).map_err(|e| e.to_string());
        Self {
            settings: Arc::new(Settings {
                endpoint,
                raw_endpoint: config.endpoint,
                access_key_id: config.access_key_id,
                secret_access_key: config.secret_access_key,
                region: config.region,
                timeout: DEFAULT_TIMEOUT,
            }),
            protocol: Arc::new(AtomicU8::new(PROTOCOL_AUTO)),
            queue_urls: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Bounds each call (connect, request, answer) by `timeout` instead of 10 s.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        let mut settings = (*self.settings).clone();
        settings.timeout = timeout;
        self.settings = Arc::new(settings);
        self
    }

    /// Uses `protocol` for every call, without detection or fallback.
    #[must_use]
    pub fn with_protocol(self, protocol: SqsProtocol) -> Self {
        let value = match protocol {
            SqsProtocol::Json => PROTOCOL_JSON,
            SqsProtocol::Query => PROTOCOL_QUERY,
        };
        self.protocol.store(value, Ordering::SeqCst);
        self
    }

    /// The protocol in use: `None` until the first answer told which one the server speaks.
    pub fn protocol(&self) -> Option<SqsProtocol> {
        match self.protocol.load(Ordering::SeqCst) {
            PROTOCOL_JSON => Some(SqsProtocol::Json),
            PROTOCOL_QUERY => Some(SqsProtocol::Query),
            _ => None,
        }
    }

    /// Sends one message to the queue named by `queue_arn` (`arn:aws:sqs:region:account:name`)
    /// with optional String/Number message attributes `(name, data type, value)`; for a DLQ:
    /// `RequestID` (String), `ErrorCode` (Number) and `ErrorMessage` (String, the first 1 KB:
    /// see [`truncate_utf8`]). Returns the `MessageId` the server assigned.
    pub async fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(&str, &str, &str)],
    ) -> Result<String, SqsError> {
        for (name, data_type, _) in attributes {
            let base = data_type.split('.').next().unwrap_or("");
            if name.is_empty() || !matches!(base, "String" | "Number") {
                return Err(SqsError::InvalidInput(format!(
                    "message attribute {name:?} has data type {data_type:?}; only named String \
                     and Number attributes are supported"
                )));
            }
        }
        let (region, _, _) = parse_arn(queue_arn)?;
        let queue_url = self.queue_url(queue_arn).await?;

        let mut json_attributes = Map::new();
        let mut query = vec![
            ("QueueUrl".to_owned(), queue_url.clone()),
            ("MessageBody".to_owned(), body.to_owned()),
        ];
        for (i, (name, data_type, value)) in attributes.iter().enumerate() {
            json_attributes.insert(
                (*name).to_owned(),
                json!({"DataType": data_type, "StringValue": value}),
            );
            let prefix = format!("MessageAttribute.{}", i + 1);
            query.push((format!("{prefix}.Name"), (*name).to_owned()));
            query.push((format!("{prefix}.Value.DataType"), (*data_type).to_owned()));
            query.push((format!("{prefix}.Value.StringValue"), (*value).to_owned()));
        }
        let mut json_body = json!({"QueueUrl": queue_url, "MessageBody": body});
        if !json_attributes.is_empty() {
            json_body["MessageAttributes"] = Value::Object(json_attributes);
        }
        let call = Call {
            operation: "SendMessage",
            region,
            json: json_body,
            query,
        };
        let answer = self.call_for_queue(queue_arn, call).await?;
        let message_id = match &answer {
            Answer::Json(value) => value
                .get("MessageId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            Answer::Xml(xml) => xml_text(xml, "MessageId"),
        };
        message_id.ok_or_else(|| SqsError::UnexpectedResponse {
            operation: "SendMessage",
            status: 200,
            detail: "the answer has no MessageId".to_owned(),
        })
    }

    /// The URL of the queue named by `queue_arn`, from `GetQueueUrl` (`QueueName` and
    /// `QueueOwnerAWSAccountId` from the ARN), cached per ARN.
    pub async fn queue_url(&self, queue_arn: &str) -> Result<String, SqsError> {
        let (region, account, name) = parse_arn(queue_arn)?;
        if let Some(url) = self.cached_url(queue_arn) {
            return Ok(url);
        }
        let call = Call {
            operation: "GetQueueUrl",
            region,
            json: json!({"QueueName": name, "QueueOwnerAWSAccountId": account}),
            query: vec![
                ("QueueName".to_owned(), name),
                ("QueueOwnerAWSAccountId".to_owned(), account),
            ],
        };
        let url = queue_url_of(self.call(&call).await?, "GetQueueUrl")?;
        if let Ok(mut cache) = self.queue_urls.lock() {
            cache.insert(queue_arn.to_owned(), url.clone());
        }
        Ok(url)
    }

    /// Creates a standard queue named `name` in [`SqsConfig::region`] (or returns the existing
    /// one's URL, as SQS does for identical attributes) and returns its URL. Used by tests and
    /// operator tooling; Lamina itself only sends to queues that exist.
    pub async fn create_queue(&self, name: &str) -> Result<String, SqsError> {
        let call = Call {
            operation: "CreateQueue",
            region: self.settings.region.clone(),
            json: json!({"QueueName": name}),
            query: vec![("QueueName".to_owned(), name.to_owned())],
        };
        queue_url_of(self.call(&call).await?, "CreateQueue")
    }

    /// Receives up to `max_messages` (1-10) messages with all their message attributes,
    /// waiting up to `wait_seconds` (0-20) for the first one (long polling). The messages stay
    /// in the queue, invisible for the queue's visibility timeout. Used by tests and tooling.
    pub async fn receive_messages(
        &self,
        queue_arn: &str,
        max_messages: u8,
        wait_seconds: u8,
    ) -> Result<Vec<ReceivedMessage>, SqsError> {
        let (region, _, _) = parse_arn(queue_arn)?;
        let queue_url = self.queue_url(queue_arn).await?;
        let call = Call {
            operation: "ReceiveMessage",
            region,
            json: json!({
                "QueueUrl": queue_url,
                "MaxNumberOfMessages": max_messages,
                "WaitTimeSeconds": wait_seconds,
                "MessageAttributeNames": ["All"],
            }),
            query: vec![
                ("QueueUrl".to_owned(), queue_url.clone()),
                ("MaxNumberOfMessages".to_owned(), max_messages.to_string()),
                ("WaitTimeSeconds".to_owned(), wait_seconds.to_string()),
                ("MessageAttributeName.1".to_owned(), "All".to_owned()),
            ],
        };
        let extra = Duration::from_secs(u64::from(wait_seconds));
        match self.call_for_queue_with(queue_arn, call, extra).await? {
            Answer::Json(value) => Ok(messages_from_json(&value)),
            Answer::Xml(xml) => Ok(messages_from_xml(&xml)),
        }
    }

    fn cached_url(&self, queue_arn: &str) -> Option<String> {
        self.queue_urls
            .lock()
            .ok()
            .and_then(|cache| cache.get(queue_arn).cloned())
    }

    /// A call about one queue: a "queue does not exist" answer forgets its cached URL.
    async fn call_for_queue(&self, queue_arn: &str, call: Call) -> Result<Answer, SqsError> {
        self.call_for_queue_with(queue_arn, call, Duration::ZERO)
            .await
    }

    async fn call_for_queue_with(
        &self,
        queue_arn: &str,
        call: Call,
        extra_time: Duration,
    ) -> Result<Answer, SqsError> {
        let result = self.call_with(&call, extra_time).await;
        if let Err(e) = &result
            && e.is_queue_missing()
            && let Ok(mut cache) = self.queue_urls.lock()
        {
            cache.remove(queue_arn);
        }
        result
    }

    async fn call(&self, call: &Call) -> Result<Answer, SqsError> {
        self.call_with(call, Duration::ZERO).await
    }

    /// Runs a call in the protocol in use, detecting it on the first call (see the module
    /// documentation).
    async fn call_with(&self, call: &Call, extra_time: Duration) -> Result<Answer, SqsError> {
        let endpoint = match &self.settings.endpoint {
            Ok(endpoint) => endpoint,
            Err(reason) => {
                return Err(SqsError::InvalidEndpoint {
                    endpoint: self.settings.raw_endpoint.clone(),
                    reason: reason.clone(),
                });
            }
        };
        match self.protocol.load(Ordering::SeqCst) {
            PROTOCOL_JSON => self.call_json(endpoint, call, extra_time).await,
            PROTOCOL_QUERY => self.call_query(endpoint, call, extra_time).await,
            _ => match self.call_json(endpoint, call, extra_time).await {
                Err(e) if e.suggests_json_unsupported() => {
                    tracing::debug!(error = %e, "SQS endpoint refused the JSON protocol; trying the query protocol");
                    let result = self.call_query(endpoint, call, extra_time).await;
                    if matches!(result, Ok(_) | Err(SqsError::Service { .. })) {
                        self.pin(PROTOCOL_QUERY);
                    }
                    result
                }
                result => {
                    if matches!(result, Ok(_) | Err(SqsError::Service { .. })) {
                        self.pin(PROTOCOL_JSON);
                    }
                    result
                }
            },
        }
    }

    fn pin(&self, protocol: u8) {
        // Only the first detection counts; `with_protocol` may have pinned one already.
        let _ = self.protocol.compare_exchange(
            PROTOCOL_AUTO,
            protocol,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    async fn call_json(
        &self,
        endpoint: &Endpoint,
        call: &Call,
        extra_time: Duration,
    ) -> Result<Answer, SqsError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        let target = HeaderValue::from_str(&format!("AmazonSQS.{}", call.operation))
            .map_err(|_| SqsError::InvalidInput("bad operation name".to_owned()))?;
        headers.insert("x-amz-target", target);
        headers.insert("x-amzn-query-mode", HeaderValue::from_static("true"));
        let body = ascii_json(&call.json).into_bytes();
        let response = self.post(endpoint, call, headers, body, extra_time).await?;
        if (200..300).contains(&response.status) {
            if response.body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Answer::Json(json!({})));
            }
            return serde_json::from_slice(&response.body)
                .map(Answer::Json)
                .map_err(|e| SqsError::UnexpectedResponse {
                    operation: call.operation,
                    status: response.status,
                    detail: format!("the answer is not JSON ({e}): {}", snippet(&response.body)),
                });
        }
        Err(json_error(call.operation, &response))
    }

    async fn call_query(
        &self,
        endpoint: &Endpoint,
        call: &Call,
        extra_time: Duration,
    ) -> Result<Answer, SqsError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE));
        let mut pairs: Vec<(&str, &str)> =
            vec![("Action", call.operation), ("Version", QUERY_VERSION)];
        pairs.extend(call.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let body = form_encode(&pairs).into_bytes();
        let response = self.post(endpoint, call, headers, body, extra_time).await?;
        let text = String::from_utf8_lossy(&response.body).into_owned();
        if (200..300).contains(&response.status) {
            return Ok(Answer::Xml(text));
        }
        Err(xml_error(call.operation, response.status, &text))
    }

    /// Signs and POSTs `body` to the endpoint over a fresh connection.
    async fn post(
        &self,
        endpoint: &Endpoint,
        call: &Call,
        mut headers: HeaderMap,
        body: Vec<u8>,
        extra_time: Duration,
    ) -> Result<RawResponse, SqsError> {
        let settings = &self.settings;
        let host = HeaderValue::from_str(&endpoint.host_header)
            .map_err(|_| SqsError::InvalidInput("bad Host header".to_owned()))?;
        headers.insert(HOST, host);
        sign_request(
            &Method::POST,
            &endpoint.url,
            &mut headers,
            &body,
            &settings.access_key_id,
            &settings.secret_access_key,
            &call.region,
            SERVICE,
            OffsetDateTime::now_utc(),
        );
        if !headers.contains_key(http::header::AUTHORIZATION) {
            return Err(SqsError::InvalidInput(
                "the access key id or region has characters a header cannot carry".to_owned(),
            ));
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("lamina/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(CONNECTION, HeaderValue::from_static("close"));

        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = endpoint.path.parse().map_err(|e: http::uri::InvalidUri| {
            SqsError::InvalidEndpoint {
                endpoint: settings.raw_endpoint.clone(),
                reason: e.to_string(),
            }
        })?;
        *request.headers_mut() = headers;

        let timeout = settings.timeout.saturating_add(extra_time);
        let exchange = exchange(endpoint, call.operation, request);
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SqsError::Timeout {
                endpoint: endpoint.display.clone(),
                operation: call.operation,
                timeout,
            }),
        }
    }
}

/// Aborts the connection task when the exchange ends or is cancelled by the timeout.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One HTTP/1.1 request over a new TCP connection.
async fn exchange(
    endpoint: &Endpoint,
    operation: &'static str,
    request: Request<Full<Bytes>>,
) -> Result<RawResponse, SqsError> {
    let http_error = |message: String| SqsError::Http {
        endpoint: endpoint.display.clone(),
        operation,
        message,
    };
    let stream = tokio::net::TcpStream::connect((endpoint.connect_host.as_str(), endpoint.port))
        .await
        .map_err(|source| SqsError::Connect {
            endpoint: endpoint.display.clone(),
            source,
        })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http_error(e.to_string()))?;
    let _driver = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "SQS connection ended with an error");
        }
    }));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| http_error(e.to_string()))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| http_error(format!("reading the answer: {e}")))?
        .to_bytes();
    Ok(RawResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// Parses `arn:<partition>:sqs:<region>:<account>:<queue name>` into region, account and
/// queue name. The partition must start with `aws`, the account is 12 digits, the name is
/// 1-80 characters of `A-Z a-z 0-9 - _` (a FIFO queue's ends in `.fifo`).
pub fn parse_queue_arn(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "sqs", region, account, name] = parts[..] else {
        return None;
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let name_ok = name.len() <= 80
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (partition.starts_with("aws") && region_ok && account_ok && name_ok)
        .then(|| (region.to_owned(), account.to_owned(), name.to_owned()))
}

fn parse_arn(arn: &str) -> Result<(String, String, String), SqsError> {
    parse_queue_arn(arn).ok_or_else(|| SqsError::InvalidArn(arn.to_owned()))
}

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a character boundary
/// (AWS's DLQ `ErrorMessage` attribute is the first 1 KB, [`DLQ_ERROR_MESSAGE_LIMIT`]).
pub fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Async destinations and dead-letter queues are delivered through this client.
#[async_trait::async_trait]
impl crate::async_invoke::QueueSender for SqsClient {
    async fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(&str, &str, &str)],
    ) -> Result<(), String> {
        SqsClient::send_message(self, queue_arn, body, attributes)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests;
