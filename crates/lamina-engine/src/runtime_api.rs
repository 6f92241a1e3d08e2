//! The Runtime API (2018-06-01) served to one execution environment, on the listener the
//! sandbox created inside that environment's own network namespace: no other environment can
//! reach it. The server is a thin adapter: it hands invocations to the runtime's pending
//! `/next` and reports what the runtime says as [`RuntimeEvent`]s to the environment's driver.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

/// The largest buffered response a runtime may post: 6 MiB + 100 bytes, as RAPID enforces.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// One event for the runtime's `/next`.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: u64,
    pub invoked_function_arn: String,
    pub trace_id: String,
    /// Decoded client context JSON (the Invoke API's header is base64).
    pub client_context: Option<String>,
}

/// What the runtime told the platform.
#[derive(Debug)]
pub enum RuntimeEvent {
    /// The runtime called `/next`: init is done, or the previous invocation is finished.
    Ready,
    Response {
        request_id: String,
        body: Bytes,
        content_type: Option<String>,
    },
    Error {
        request_id: String,
        body: Bytes,
    },
    /// The response was over [`MAX_RESPONSE_BYTES`]; the runtime got a 413.
    ResponseTooLarge {
        request_id: String,
    },
    InitError {
        body: Bytes,
    },
}

struct ApiState {
    invocations: Mutex<mpsc::Receiver<Invocation>>,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    /// The invocation in flight, so responses for another id are refused.
    current: std::sync::Mutex<Option<String>>,
}

/// The platform's end of one environment's Runtime API.
pub struct RuntimeApi {
    pub invocations: mpsc::Sender<Invocation>,
    pub events: mpsc::UnboundedReceiver<RuntimeEvent>,
    state: Arc<ApiState>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves the Runtime API on `listener` until dropped.
    pub fn serve(listener: std::net::TcpListener) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (inv_tx, inv_rx) = mpsc::channel(1);
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let state = Arc::new(ApiState {
            invocations: Mutex::new(inv_rx),
            events: ev_tx,
            current: std::sync::Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .route("/2018-06-01/ping", get(|| async { "pong" }))
            // Bodies are read with explicit bounds in the handlers.
            .layer(DefaultBodyLimit::disable())
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::debug!(error = %e, "runtime api server ended");
            }
        });
        Ok(Self {
            invocations: inv_tx,
            events: ev_rx,
            state,
            server,
        })
    }

    /// Marks `request_id` as the invocation in flight.
    pub fn set_current(&self, request_id: Option<String>) {
        *self.state.current.lock().unwrap_or_else(|p| p.into_inner()) = request_id;
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn status_ok() -> Response {
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        "{\"status\":\"OK\"}\n",
    )
        .into_response()
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errorMessage": message, "errorType": error_type })),
    )
        .into_response()
}

async fn next(State(state): State<Arc<ApiState>>) -> Response {
    let _ = state.events.send(RuntimeEvent::Ready);
    let mut rx = state.invocations.lock().await;
    let Some(inv) = rx.recv().await else {
        // The environment is being torn down.
        return runtime_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        );
    };
    drop(rx);
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("lambda-runtime-aws-request-id", &inv.request_id);
    put("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        &inv.invoked_function_arn,
    );
    put("lambda-runtime-trace-id", &inv.trace_id);
    if let Some(cc) = &inv.client_context {
        put("lambda-runtime-client-context", cc);
    }
    put("content-type", "application/json");
    (StatusCode::OK, headers, inv.payload).into_response()
}

/// The runtime's answer when `id` is not the invocation in flight.
fn check_id(state: &ApiState, id: &str) -> Option<Response> {
    let current = state.current.lock().unwrap_or_else(|p| p.into_inner());
    (current.as_deref() != Some(id)).then(|| {
        runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        )
    })
}

async fn response(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(r) = check_id(&state, &id) {
        return r;
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await else {
        let _ = state
            .events
            .send(RuntimeEvent::ResponseTooLarge { request_id: id });
        return runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
        );
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = state.events.send(RuntimeEvent::Response {
        request_id: id,
        body,
        content_type,
    });
    status_ok()
}

async fn error(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Response {
    if let Some(r) = check_id(&state, &id) {
        return r;
    }
    let body = axum::body::to_bytes(body, MAX_RESPONSE_BYTES)
        .await
        .unwrap_or_else(|_| {
            Bytes::from_static(
                b"{\"errorMessage\":\"error body too large\",\"errorType\":\"Runtime.Unknown\"}",
            )
        });
    let _ = state.events.send(RuntimeEvent::Error {
        request_id: id,
        body,
    });
    status_ok()
}

async fn init_error(State(state): State<Arc<ApiState>>, body: axum::body::Body) -> Response {
    let body = axum::body::to_bytes(body, MAX_RESPONSE_BYTES)
        .await
        .unwrap_or_default();
    let _ = state.events.send(RuntimeEvent::InitError { body });
    status_ok()
}
