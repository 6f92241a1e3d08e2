//! What every handler shares: the store, the blobs, the code cache and the server settings.

use std::path::PathBuf;
use std::sync::Arc;

use lamina_blobs::BlobStore;
use lamina_engine::Engine;
use lamina_store::SharedStore;
use lamina_types::Limits;

/// The root credentials every request is verified against.
#[derive(Clone)]
pub struct RootCredentials {
    pub access_key_id: String,
    pub secret_access_key: secrecy::SecretString,
}

/// An identity other than the root, from the config file's `[[principals]]`: it may only
/// Invoke, and only functions whose resource-based policy allows it.
#[derive(Clone)]
pub struct Principal {
    pub access_key_id: String,
    pub secret_access_key: secrecy::SecretString,
    /// e.g. `arn:aws:iam::111122223333:user/alice`.
    pub arn: String,
    /// The account in `arn`.
    pub account_id: String,
}

/// Server settings the API needs.
#[derive(Clone)]
pub struct ApiConfig {
    pub region: String,
    pub account_id: String,
    pub limits: Limits,
    pub credentials: RootCredentials,
    /// Further identities accepted by SigV4 (Invoke only).
    pub principals: Vec<Principal>,
    /// Retries, backoff and the SQS-compatible endpoint of asynchronous invocation.
    pub async_invoke: crate::async_invoke::AsyncConfig,
    /// `/metrics` authentication and OTLP export (`[telemetry]`).
    pub telemetry: crate::observe::TelemetryConfig,
    /// Prices usage is costed at (`[billing]`).
    pub billing: crate::observe::BillingConfig,
    /// How long presigned code download URLs stay valid.
    pub presign_expiry_secs: u32,
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub config: ApiConfig,
    pub store: SharedStore,
    pub blobs: BlobStore,
    /// Extracted code, one directory per CodeSha256 (hex), so cold starts never unzip.
    pub code_cache: PathBuf,
    /// Serialises "store a blob and reference it" against "unreference and collect a blob",
    /// so a blob is never collected between its upload and the row that references it.
    pub code_lock: tokio::sync::Mutex<()>,
    /// Runs invocations in execution environments.
    pub engine: Arc<Engine>,
    /// The asynchronous invocation workers' shared state.
    pub async_runtime: crate::async_invoke::AsyncRuntime,
    /// Metrics, usage and traces of invocations.
    pub observe: crate::observe::Observability,
}

impl AppState {
    pub fn new(
        config: ApiConfig,
        store: SharedStore,
        blobs: BlobStore,
        code_cache: PathBuf,
        engine: Arc<Engine>,
        queues: Option<Arc<dyn crate::async_invoke::QueueSender>>,
    ) -> Self {
        let observe = crate::observe::Observability::new(&config.telemetry);
        Self {
            inner: Arc::new(Inner {
                observe,
                config,
                store,
                blobs,
                code_cache,
                code_lock: tokio::sync::Mutex::new(()),
                engine,
                async_runtime: crate::async_invoke::AsyncRuntime::new(queues),
            }),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
