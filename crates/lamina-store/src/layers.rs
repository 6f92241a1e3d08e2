//! Layers: published layer versions (numbered per layer, never reused) and the permission
//! policy of each version, changed atomically with the policy's RevisionId.

use async_trait::async_trait;
use lamina_types::layer::LayerVersionRecord;

use crate::StoreError;
use crate::policies::{PolicyChange, StoredStatement};

/// Persistence of layers.
#[async_trait]
pub trait LayerStore: Send + Sync {
    /// Stores `draft` as the next version of `draft.layer_name` (its `version` is ignored) and
    /// returns it with its number: one more than the highest number the layer ever had.
    async fn publish_layer_version(
        &self,
        draft: &LayerVersionRecord,
    ) -> Result<LayerVersionRecord, StoreError>;

    async fn get_layer_version(
        &self,
        layer: &str,
        version: u64,
    ) -> Result<Option<LayerVersionRecord>, StoreError>;

    /// The existing versions of `layer` (or of every layer, `None`), by layer name, newest
    /// version first.
    async fn list_layer_versions(
        &self,
        layer: Option<&str>,
    ) -> Result<Vec<LayerVersionRecord>, StoreError>;

    /// Deletes a version and its policy, returning what was deleted.
    async fn delete_layer_version(
        &self,
        layer: &str,
        version: u64,
    ) -> Result<Option<LayerVersionRecord>, StoreError>;

    /// The statements of a version's policy in the order they were added; empty when there is
    /// no policy.
    async fn layer_policy_statements(
        &self,
        layer: &str,
        version: u64,
    ) -> Result<Vec<StoredStatement>, StoreError>;

    /// Applies `change` and moves the policy's RevisionId to `new_revision`, in one
    /// transaction; when `expected_revision` is given it must still be the current one.
    /// `LayerVersionNotFound`, `LayerPolicyRevisionMismatch`, `LayerStatementExists` and
    /// `LayerStatementNotFound` tell why nothing changed.
    async fn change_layer_policy(
        &self,
        layer: &str,
        version: u64,
        change: PolicyChange,
        expected_revision: Option<&str>,
        new_revision: &str,
    ) -> Result<(), StoreError>;
}
