//! Usage for billing (per UTC day, function, version and memory size) and the audit log of
//! control-plane changes.

use async_trait::async_trait;

use crate::StoreError;

/// Requests and billed milliseconds of one function version at one memory size on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub function_name: String,
    /// `$LATEST` or a version number.
    pub version: String,
    pub memory_mb: u32,
    pub requests: u64,
    /// The sum of the REPORT lines' Billed Duration.
    pub billed_ms: u64,
}

/// Usage totals, added to in batches.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds each record's requests and billed milliseconds to its row (one transaction).
    async fn add_usage(&self, records: &[UsageRecord]) -> Result<(), StoreError>;
    /// Rows of `since` (`YYYY-MM-DD`) and later, or all, ordered by day, function, version
    /// and memory size.
    async fn usage_since(&self, since: Option<&str>) -> Result<Vec<UsageRecord>, StoreError>;
}

/// One state-changing control-plane call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Strictly increasing (microseconds since the epoch, bumped on ties).
    pub seq: i64,
    /// When the call was answered (epoch ms).
    pub at_ms: i64,
    /// The `x-amzn-RequestId` the caller got.
    pub request_id: String,
    pub access_key_id: String,
    /// The caller's ARN.
    pub principal: String,
    /// The AWS operation (`CreateFunction`, ...).
    pub operation: String,
    /// The resource's ARN, or the request path.
    pub resource: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The AWS error type of a failed call.
    pub error_type: Option<String>,
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The newest `limit` entries, newest first.
    async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}
