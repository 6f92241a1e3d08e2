//! Errors of the SQS client.

use super::*;

/// Why an SQS call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqsError {
    /// The queue ARN is not `arn:<partition>:sqs:<region>:<12-digit account>:<queue name>`.
    #[error("not an SQS queue ARN: {0:?} (expected arn:aws:sqs:<region>:<account>:<queue>)")]
    InvalidArn(String),
    /// The configured endpoint cannot be used (not `http://`, no host, bad port).
    #[error("invalid SQS endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request itself is invalid (e.g. a message attribute data type other than
    /// `String`/`Number`, or a value that cannot go into a header).
    #[error("invalid SQS request: {0}")]
    InvalidInput(String),
    /// No TCP connection to the endpoint (refused, unresolvable host, unreachable).
    #[error("cannot connect to the SQS endpoint {endpoint}: {source}")]
    Connect {
        /// `host:port` that was tried.
        endpoint: String,
        /// The connect error.
        #[source]
        source: std::io::Error,
    },
    /// The endpoint did not answer within the client's timeout.
    #[error("the SQS endpoint {endpoint} did not answer {operation} within {timeout:?}")]
    Timeout {
        /// `host:port` of the endpoint.
        endpoint: String,
        /// The SQS operation, e.g. `SendMessage`.
        operation: &'static str,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// The HTTP exchange broke (connection reset, malformed HTTP, answer too large).
    #[error("HTTP exchange with the SQS endpoint {endpoint} failed during {operation}: {message}")]
    Http {
        /// `host:port` of the endpoint.
        endpoint: String,
        /// The SQS operation.
        operation: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The server answered with an SQS error.
    #[error("SQS {operation} failed with HTTP {status}: {code}: {message}")]
    Service {
        /// The SQS operation.
        operation: &'static str,
        /// HTTP status of the answer.
        status: u16,
        /// The error code as the query protocol (and botocore's `Error.Code`) reports it, e.g.
        /// `AWS.SimpleQueueService.NonExistentQueue`; the JSON error type when the server gave
        /// no query-compatible code.
        code: String,
        /// The JSON protocol's error type without its namespace, e.g. `QueueDoesNotExist`
        /// (`None` for query-protocol answers).
        error_type: Option<String>,
        /// The server's message (may be empty).
        message: String,
        /// `Some(true)` when the server blamed the request (`Sender`), `Some(false)` when it
        /// blamed itself (`Receiver`), `None` when it did not say.
        sender_fault: Option<bool>,
    },
    /// The server answered something that is neither a result nor an SQS error.
    #[error("unexpected answer to SQS {operation} (HTTP {status}): {detail}")]
    UnexpectedResponse {
        /// The SQS operation.
        operation: &'static str,
        /// HTTP status of the answer.
        status: u16,
        /// What was unexpected, with the start of the body.
        detail: String,
    },
}

impl SqsError {
    /// The SQS error code, for [`SqsError::Service`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when the server said the queue does not exist (query code
    /// `AWS.SimpleQueueService.NonExistentQueue`, JSON type `QueueDoesNotExist`).
    pub fn is_queue_missing(&self) -> bool {
        match self {
            Self::Service {
                code, error_type, ..
            } => {
                code == "AWS.SimpleQueueService.NonExistentQueue"
                    || code == "QueueDoesNotExist"
                    || error_type.as_deref() == Some("QueueDoesNotExist")
            }
            _ => false,
        }
    }

    /// True for failures that may succeed if tried again later: no connection, a timeout, a
    /// broken exchange, a server-side (5xx) error or throttling. False for bad input, a bad
    /// endpoint, and errors the server blames on the request (a missing queue, say).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } | Self::Http { .. } => true,
            Self::Service {
                status,
                code,
                sender_fault,
                ..
            } => {
                *status >= 500
                    || *status == 429
                    || *sender_fault == Some(false)
                    || code.contains("Throttl")
                    || code == "RequestThrottled"
                    || code == "ServiceUnavailable"
            }
            Self::UnexpectedResponse { status, .. } => *status >= 500 || *status == 429,
            Self::InvalidArn(_) | Self::InvalidEndpoint { .. } | Self::InvalidInput(_) => false,
        }
    }

    /// Whether a failed JSON call suggests the server does not speak the JSON protocol.
    pub(super) fn suggests_json_unsupported(&self) -> bool {
        let status = match self {
            Self::Service { status, .. } | Self::UnexpectedResponse { status, .. } => *status,
            _ => return false,
        };
        if !matches!(status, 400 | 404 | 405 | 415 | 501) {
            return false;
        }
        match self {
            Self::UnexpectedResponse { .. } => true,
            Self::Service {
                code, error_type, ..
            } => [Some(code.as_str()), error_type.as_deref()]
                .into_iter()
                .flatten()
                .any(|c| UNKNOWN_OPERATION_CODES.contains(&c)),
            _ => false,
        }
    }
}
