//! Log group metadata for the CloudWatch Logs-compatible API: creation time and retention.
//! The log events are not here: they are files in the data dir that the engine appends to.

use async_trait::async_trait;

use crate::StoreError;

/// One log group's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupRecord {
    pub name: String,
    /// Milliseconds since the epoch.
    pub creation_time_ms: i64,
    /// Days events are kept; `None` keeps them forever.
    pub retention_in_days: Option<u32>,
}

/// Persistence of log group metadata.
#[async_trait]
pub trait LogStore: Send + Sync {
    /// Records a group; `false` (and nothing changed) if it already exists.
    async fn create_log_group(&self, name: &str, creation_time_ms: i64)
    -> Result<bool, StoreError>;
    async fn get_log_group(&self, name: &str) -> Result<Option<LogGroupRecord>, StoreError>;
    /// Groups in name order whose name starts with `prefix`, after the name `after`, at most
    /// `limit` of them.
    async fn list_log_groups(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupRecord>, StoreError>;
    /// Every group's name (to find groups that exist on disk but are not recorded yet).
    async fn log_group_names(&self) -> Result<Vec<String>, StoreError>;
    /// Whether there was a group to delete.
    async fn delete_log_group(&self, name: &str) -> Result<bool, StoreError>;
    /// Sets (`Some`) or removes (`None`) a group's retention; `false` if there is no such group.
    async fn put_log_retention(&self, name: &str, days: Option<u32>) -> Result<bool, StoreError>;
}
