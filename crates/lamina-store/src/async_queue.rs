//! The durable queue of asynchronous invocations and the event invoke configs.

use async_trait::async_trait;
use lamina_types::async_invoke::{AsyncEvent, EventInvokeConfig};

use crate::StoreError;

/// Queue depth and health, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub depth: u64,
    /// Enqueue time of the oldest event still queued (epoch ms).
    pub oldest_enqueued_at_ms: Option<i64>,
    /// Events that ended in failure.
    pub failed: u64,
}

/// At-least-once queue: events are leased to a worker, and come back when the lease expires
/// or the server restarts, until they are completed or failed.
#[async_trait]
pub trait AsyncStore: Send + Sync {
    /// Stores an event durably (the payload is sealed at rest).
    async fn enqueue(&self, event: &AsyncEvent) -> Result<(), StoreError>;
    /// Leases up to `limit` events due at `now_ms` until `now_ms + lease_ms`.
    async fn lease_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<AsyncEvent>, StoreError>;
    /// The earliest time an event becomes due, if any is queued.
    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError>;
    /// Puts an event back with new counters and due time, unleased.
    async fn reschedule(&self, event: &AsyncEvent) -> Result<(), StoreError>;
    /// Removes a processed event.
    async fn complete(&self, id: &str) -> Result<(), StoreError>;
    /// Removes an event that ended in failure, and records it.
    async fn fail(
        &self,
        event: &AsyncEvent,
        condition: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Ends every lease (at start-up: the leases of a dead process are void).
    async fn release_leases(&self) -> Result<(), StoreError>;
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;

    async fn put_event_invoke_config(&self, config: &EventInvokeConfig) -> Result<(), StoreError>;
    async fn event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError>;
    async fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError>;
    /// Whether there was one to delete.
    async fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError>;
}
