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
}

impl AppState {
    pub fn new(
        config: ApiConfig,
        store: SharedStore,
        blobs: BlobStore,
        code_cache: PathBuf,
        engine: Arc<Engine>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                blobs,
                code_cache,
                code_lock: tokio::sync::Mutex::new(()),
                engine,
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
