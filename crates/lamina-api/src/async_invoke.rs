//! Asynchronous invocation: `Event` invokes are stored durably in the queue and answered with
//! 202; workers lease due events, invoke, retry with AWS's backoff, and deliver invocation
//! records to destinations (another function, or an SQS-compatible queue) and dead-letter
//! queues. At-least-once: an event leaves the queue only after its outcome is handled.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lamina_store::{QueueStats, StoreError};
use lamina_types::FunctionRef;
use lamina_types::async_invoke::{
    AsyncEvent, AttemptResult, Decision, EventInvokeConfig, RetryPolicy, Target, decide, expired,
    parse_destination,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::error::{ApiError, ApiResult};
use crate::functions::{arn, invoke};
use crate::state::AppState;

/// Settings of the async machinery (`[async_invoke]` in the server's config file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AsyncConfig {
    /// Retry timing (`[async_invoke.retry]`): AWS's minutes by default.
    pub retry: RetryPolicy,
    /// Base URL of the SQS-compatible server that `arn:aws:sqs:...` destinations and
    /// dead-letter queues are delivered to (e.g. `http://127.0.0.1:9324`).
    pub sqs_endpoint: Option<String>,
    /// The key pair requests to that endpoint are signed with (many self-hosted SQS servers
    /// accept any; default `lamina`/`lamina`).
    pub sqs_access_key_id: Option<String>,
    pub sqs_secret_access_key: Option<String>,
    /// Events processed at once (default 64).
    pub workers: Option<usize>,
}

/// Sends messages to SQS-compatible queues (for `arn:aws:sqs:...` destinations and
/// dead-letter queues).
#[async_trait::async_trait]
pub trait QueueSender: Send + Sync {
    /// `attributes` are (name, data type, value).
    async fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(&str, &str, &str)],
    ) -> Result<(), String>;
}

/// What the workers share.
pub struct AsyncRuntime {
    pub wake: Notify,
    pub queues: Option<Arc<dyn QueueSender>>,
}

impl AsyncRuntime {
    pub fn new(queues: Option<Arc<dyn QueueSender>>) -> Self {
        Self {
            wake: Notify::new(),
            queues,
        }
    }
}

/// A lease long enough for the longest function plus delivery; a crashed server's leases are
/// released at start-up.
const LEASE_MS: i64 = 16 * 60 * 1000;

fn now_ms() -> i64 {
    i64::try_from(lamina_types::time::now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// Stores an event for `fref` durably and wakes the workers. Returns the request id.
pub async fn enqueue(
    state: &AppState,
    fref: &FunctionRef,
    payload: &[u8],
    trace_id: &str,
) -> ApiResult<String> {
    let now = now_ms();
    let request_id = uuid::Uuid::new_v4().to_string();
    let event = AsyncEvent {
        id: request_id.clone(),
        function_name: fref.name.clone(),
        qualifier: fref.qualifier.clone().unwrap_or_else(|| "$LATEST".into()),
        payload: payload.to_vec(),
        request_id: request_id.clone(),
        trace_id: trace_id.to_owned(),
        enqueued_at_ms: now,
        failed_attempts: 0,
        invokes: 0,
        next_attempt_at_ms: now,
        throttles: 0,
    };
    state.store.enqueue(&event).await?;
    state.async_runtime.wake.notify_one();
    Ok(request_id)
}

/// Starts the workers: they run until the process ends.
pub fn spawn_workers(state: AppState) {
    tokio::spawn(async move {
        if let Err(e) = state.store.release_leases().await {
            tracing::error!(error = %e, "cannot release async leases");
        }
        let workers = state.config.async_invoke.workers.unwrap_or(64).max(1);
        let permits = Arc::new(Semaphore::new(workers));
        loop {
            let available = permits.available_permits();
            let leased = if available == 0 {
                Ok(Vec::new())
            } else {
                state.store.lease_due(now_ms(), LEASE_MS, available).await
            };
            match leased {
                Ok(events) => {
                    for event in events {
                        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                            return;
                        };
                        let state = state.clone();
                        tokio::spawn(async move {
                            process(&state, event).await;
                            drop(permit);
                            state.async_runtime.wake.notify_one();
                        });
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot lease async events"),
            }
            // Sleep until woken (new event, a worker finished) or the next event is due.
            let wait = match state.store.next_due_ms().await {
                Ok(Some(due)) => Duration::from_millis(
                    u64::try_from((due - now_ms()).clamp(1, 1000)).unwrap_or(1000),
                ),
                _ => Duration::from_secs(1),
            };
            let _ = tokio::time::timeout(wait, state.async_runtime.wake.notified()).await;
        }
    });
}

/// The event invoke config for an event's qualifier (AWS's defaults when none).
async fn config_for(state: &AppState, event: &AsyncEvent) -> Result<EventInvokeConfig, StoreError> {
    Ok(state
        .store
        .event_invoke_config(&event.function_name, &event.qualifier)
        .await?
        .unwrap_or_else(|| EventInvokeConfig {
            function_name: event.function_name.clone(),
            qualifier: event.qualifier.clone(),
            maximum_retry_attempts: None,
            maximum_event_age_seconds: None,
            destinations: Default::default(),
            last_modified: 0,
        }))
}

/// The outcome of one attempt, as the destinations need it.
struct Attempt {
    result: AttemptResult,
    response: Option<(Bytes, String, bool)>,
}

async fn attempt(state: &AppState, event: &AsyncEvent) -> Result<Attempt, ApiError> {
    let fref = FunctionRef {
        name: event.function_name.clone(),
        qualifier: (event.qualifier != "$LATEST").then(|| event.qualifier.clone()),
        region: None,
        account: None,
    };
    match invoke::run(
        state,
        &fref,
        Bytes::from(event.payload.clone()),
        None,
        event.trace_id.clone(),
        // Finish the invocation (END/REPORT and every output line logged) before the event
        // leaves the queue, so a crash never drops the record of an event it has processed.
        true,
    )
    .await
    {
        Ok(r) => Ok(Attempt {
            result: if r.function_error {
                AttemptResult::FunctionError
            } else {
                AttemptResult::Success
            },
            response: Some((r.payload, r.executed_version, r.function_error)),
        }),
        Err(ApiError::TooManyRequests { .. } | ApiError::Service(_) | ApiError::Internal(_)) => {
            Ok(Attempt {
                result: AttemptResult::Throttled,
                response: None,
            })
        }
        // The function or qualifier is gone (or not Active any more): nothing can run it.
        Err(e) => Err(e),
    }
}

async fn process(state: &AppState, mut event: AsyncEvent) {
    if let Err(e) = try_process(state, &mut event).await {
        tracing::error!(event = %event.id, function = %event.function_name, error = %e, "async event processing failed; it will be retried");
        event.throttles += 1;
        event.next_attempt_at_ms = now_ms() + 1000;
        if let Err(e) = state.store.reschedule(&event).await {
            tracing::error!(event = %event.id, error = %e, "cannot reschedule async event");
        }
    }
}

async fn try_process(state: &AppState, event: &mut AsyncEvent) -> anyhow::Result<()> {
    let config = config_for(state, event).await?;
    let now = now_ms();
    if expired(event, config.max_age_ms(), now) {
        return fail(state, event, &config, "EventAgeExceeded", None).await;
    }
    if state
        .store
        .reserved_concurrency(&event.function_name)
        .await?
        == Some(0)
    {
        // Reserved concurrency 0: straight to the failure handling, without retries.
        return fail(state, event, &config, "RetriesExhausted", None).await;
    }
    let attempt = match attempt(state, event).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(event = %event.id, function = %event.function_name, error = %e, "async event cannot run; dropped");
            return fail(state, event, &config, "RetriesExhausted", None).await;
        }
    };
    match attempt.result {
        AttemptResult::Success | AttemptResult::FunctionError => {
            event.invokes += 1;
            event.throttles = 0;
        }
        AttemptResult::Throttled => event.throttles += 1,
    }
    if attempt.result == AttemptResult::FunctionError {
        event.failed_attempts += 1;
    }
    let policy = &state.config.async_invoke.retry;
    match decide(
        event,
        attempt.result,
        config.retries(),
        config.max_age_ms(),
        policy,
        now_ms(),
    ) {
        Decision::Done => {
            if let Some(dest) = &config.destinations.on_success.destination {
                let record = record(state, event, "Success", attempt.response.as_ref());
                deliver(state, dest, &record).await;
            }
            state.store.complete(&event.id).await?;
        }
        Decision::RetryAt(at) => {
            event.next_attempt_at_ms = at;
            state.store.reschedule(event).await?;
        }
        Decision::Fail(condition) => {
            fail(state, event, &config, condition, attempt.response.as_ref()).await?;
        }
    }
    Ok(())
}

/// Ends an event in failure: the on-failure destination gets the invocation record, the
/// function's dead-letter queue the original event.
async fn fail(
    state: &AppState,
    event: &AsyncEvent,
    config: &EventInvokeConfig,
    condition: &'static str,
    response: Option<&(Bytes, String, bool)>,
) -> anyhow::Result<()> {
    if let Some(dest) = &config.destinations.on_failure.destination {
        let record = record(state, event, condition, response);
        deliver(state, dest, &record).await;
    }
    let dead_letter = state
        .store
        .get_function(&event.function_name)
        .await?
        .and_then(|f| f.config.dead_letter_target);
    if let Some(dlq) = dead_letter {
        let message = response
            .map(|(p, ..)| {
                String::from_utf8_lossy(p)
                    .chars()
                    .take(1024)
                    .collect::<String>()
            })
            .unwrap_or_else(|| condition.to_owned());
        deliver_dead_letter(state, &dlq, event, &message).await;
    }
    tracing::info!(event = %event.id, function = %event.function_name, condition, "async event failed");
    state
        .observe
        .metrics
        .async_failed(&event.function_name, condition);
    state.store.fail(event, condition, now_ms()).await?;
    Ok(())
}

/// AWS's invocation record for destinations.
fn record(
    state: &AppState,
    event: &AsyncEvent,
    condition: &str,
    response: Option<&(Bytes, String, bool)>,
) -> Value {
    let payload = |b: &[u8]| {
        serde_json::from_slice::<Value>(b).unwrap_or_else(|_| json!(String::from_utf8_lossy(b)))
    };
    let timestamp = lamina_types::time::now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut record = json!({
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": format!("{}:{}", arn(state, &event.function_name), event.qualifier),
            "condition": condition,
            "approximateInvokeCount": event.invokes,
        },
        "requestPayload": payload(&event.payload),
    });
    if let Some((body, version, function_error)) = response {
        let mut context = json!({ "statusCode": 200, "executedVersion": version });
        if *function_error {
            context["functionError"] = json!("Unhandled");
        }
        record["responseContext"] = context;
        record["responsePayload"] = payload(body);
    }
    record
}

/// Delivers an invocation record; a failed delivery is logged (the event's outcome stands).
async fn deliver(state: &AppState, destination: &str, record: &Value) {
    let body = record.to_string();
    let delivered = match parse_destination(destination) {
        Ok(Target::Function { name, qualifier }) => {
            let fref = FunctionRef {
                name,
                qualifier,
                region: None,
                account: None,
            };
            enqueue(
                state,
                &fref,
                body.as_bytes(),
                &uuid::Uuid::new_v4().to_string(),
            )
            .await
            .map(drop)
            .map_err(|e| e.to_string())
        }
        Ok(Target::Sqs) => send_sqs(state, destination, &body, &[]).await,
        Ok(_) | Err(_) => Err("unsupported destination".to_owned()),
    };
    let ok = delivered.is_ok();
    state
        .observe
        .metrics
        .delivered_record(record, destination, ok);
    if let Err(e) = delivered {
        tracing::warn!(destination, error = %e, "async destination delivery failed");
    }
}

async fn deliver_dead_letter(state: &AppState, target: &str, event: &AsyncEvent, message: &str) {
    let body = String::from_utf8_lossy(&event.payload).into_owned();
    let attributes = [
        ("RequestID", "String", event.request_id.as_str()),
        ("ErrorCode", "Number", "200"),
        ("ErrorMessage", "String", message),
    ];
    let delivered = match parse_destination(target) {
        Ok(Target::Sqs) => send_sqs(state, target, &body, &attributes).await,
        _ => Err("dead-letter queues must be SQS queues".to_owned()),
    };
    let ok = delivered.is_ok();
    state
        .observe
        .metrics
        .dead_lettered(&event.function_name, ok);
    if let Err(e) = delivered {
        tracing::warn!(target, error = %e, "dead-letter delivery failed");
    }
}

/// Sends to the configured SQS-compatible server.
async fn send_sqs(
    state: &AppState,
    queue_arn: &str,
    body: &str,
    attributes: &[(&str, &str, &str)],
) -> Result<(), String> {
    let Some(client) = &state.async_runtime.queues else {
        return Err(format!(
            "no SQS-compatible endpoint is configured ([async_invoke] sqs_endpoint) for {queue_arn}"
        ));
    };
    client.send_message(queue_arn, body, attributes).await
}

/// Queue depth, oldest event age and failures, for `GET /_lamina/admin/async`.
pub async fn stats(state: &AppState) -> ApiResult<Value> {
    let QueueStats {
        depth,
        oldest_enqueued_at_ms,
        failed,
    } = state.store.queue_stats().await?;
    let age = oldest_enqueued_at_ms.map_or(0, |t| (now_ms() - t).max(0) / 1000);
    Ok(json!({ "Depth": depth, "OldestEventAgeSeconds": age, "Failed": failed }))
}
