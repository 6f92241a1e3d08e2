//! Lamina's metadata store: the [`Store`] trait and its SQLite implementation.
//!
//! Secrets (environment variables) never reach the database in the clear: the store seals them
//! with the [`Sealer`] it is given before writing and opens them after reading.

mod async_queue;
mod layers;
mod logs;
mod policies;
mod settings;
mod sqlite;
mod usage;

use std::sync::Arc;

use async_trait::async_trait;
use lamina_types::model::{AliasRecord, FunctionRecord, ProvisionedConfig, VersionRecord};

pub use async_queue::{AsyncStore, QueueStats};
pub use layers::LayerStore;
pub use logs::{LogGroupRecord, LogStore};
pub use policies::{LATEST, PolicyChange, PolicyStore, StoredStatement};
pub use settings::SettingsStore;
pub use sqlite::SqliteStore;
pub use usage::{AuditEntry, AuditStore, UsageRecord, UsageStore};

/// Errors of the metadata store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("function {name} already exists")]
    AlreadyExists { name: String },
    #[error("function {name} not found")]
    NotFound { name: String },
    #[error("revision of function {name} changed concurrently")]
    RevisionMismatch { name: String },
    #[error("policy of function {name} already has statement {sid}")]
    StatementExists { name: String, sid: String },
    #[error("policy of function {name} has no statement {sid}")]
    StatementNotFound { name: String, sid: String },
    #[error("layer version {layer}:{version} not found")]
    LayerVersionNotFound { layer: String, version: u64 },
    #[error("policy of layer version {layer}:{version} changed concurrently")]
    LayerPolicyRevisionMismatch { layer: String, version: u64 },
    #[error("policy of layer version {layer}:{version} already has statement {sid}")]
    LayerStatementExists {
        layer: String,
        version: u64,
        sid: String,
    },
    #[error("policy of layer version {layer}:{version} has no statement {sid}")]
    LayerStatementNotFound {
        layer: String,
        version: u64,
        sid: String,
    },
    #[error("failed to open database {path}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("failed to apply migration {version}")]
    Migrate {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database query failed")]
    Query(#[from] rusqlite::Error),
    #[error("stored row of {name} is corrupt")]
    Corrupt {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to seal or open the environment of {name}")]
    Seal {
        name: String,
        #[source]
        source: SealError,
    },
    #[error("database worker failed")]
    Worker(#[from] tokio::task::JoinError),
}

/// A failure of the [`Sealer`].
pub type SealError = Box<dyn std::error::Error + Send + Sync>;

/// Encrypts small values at rest (implemented by the blob layer's envelope encryption).
pub trait Sealer: Send + Sync {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError>;
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError>;
}

/// Account-wide code usage, for limits and `GetAccountSettings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CodeUsage {
    pub function_count: u64,
    pub total_code_size: u64,
}

/// Metadata persistence. Every mutation is atomic; updates are compare-and-swap on `RevisionId`.
#[async_trait]
pub trait Store:
    PolicyStore
    + SettingsStore
    + LayerStore
    + AsyncStore
    + UsageStore
    + AuditStore
    + LogStore
    + Send
    + Sync
{
    /// Inserts a new function; `AlreadyExists` if the name is taken.
    async fn create_function(&self, rec: &FunctionRecord) -> Result<(), StoreError>;
    async fn get_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError>;
    /// Functions ordered by name, starting after `after`.
    async fn list_functions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionRecord>, StoreError>;
    /// Replaces a function if its stored revision is still `expected_revision`.
    async fn update_function(
        &self,
        rec: &FunctionRecord,
        expected_revision: &str,
    ) -> Result<(), StoreError>;
    /// Deletes a function, returning what was deleted.
    async fn delete_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError>;
    async fn code_usage(&self) -> Result<CodeUsage, StoreError>;
    /// How many functions use the code blob `sha256_hex`.
    async fn code_references(&self, sha256_hex: &str) -> Result<u64, StoreError>;
    /// Publishes `$LATEST` as the next version (with revision `new_revision`) if its revision
    /// is still `expected_revision`.
    async fn publish_version(
        &self,
        name: &str,
        expected_revision: &str,
        description: Option<&str>,
        new_revision: &str,
    ) -> Result<VersionRecord, StoreError>;
    async fn get_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError>;
    /// The highest published version that still exists.
    async fn latest_version(&self, name: &str) -> Result<Option<VersionRecord>, StoreError>;
    /// Versions in number order, after `after`.
    async fn list_versions(
        &self,
        name: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<VersionRecord>, StoreError>;
    async fn delete_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError>;
    /// Creates an alias (`expected_revision` None: `AlreadyExists` if taken) or replaces it
    /// (compare-and-swap on its revision).
    async fn put_alias(
        &self,
        alias: &AliasRecord,
        expected_revision: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn get_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError>;
    /// A function's aliases in name order.
    async fn list_aliases(&self, function: &str) -> Result<Vec<AliasRecord>, StoreError>;
    async fn delete_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError>;
    /// A function's reserved concurrency, if set.
    async fn reserved_concurrency(&self, name: &str) -> Result<Option<u32>, StoreError>;
    /// Sets (Some) or removes (None) a function's reserved concurrency.
    async fn put_reserved_concurrency(
        &self,
        name: &str,
        reserved: Option<u32>,
    ) -> Result<(), StoreError>;
    /// The sum of all functions' reserved concurrency.
    async fn reserved_concurrency_total(&self) -> Result<u32, StoreError>;
    async fn put_provisioned(&self, config: &ProvisionedConfig) -> Result<(), StoreError>;
    async fn get_provisioned(
        &self,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError>;
    /// One function's provisioned-concurrency configurations, or everyone's (`None`).
    async fn list_provisioned(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError>;
    /// Whether a configuration was there to delete.
    async fn delete_provisioned(&self, name: &str, qualifier: &str) -> Result<bool, StoreError>;
    /// Names of functions whose creation or update has not finished (to resume after a restart).
    async fn unsettled_functions(&self) -> Result<Vec<String>, StoreError>;
}

/// A shareable store.
pub type SharedStore = Arc<dyn Store>;
