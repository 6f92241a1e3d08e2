//! Resource-based policies: the statements of each function's policy, per qualifier
//! (`$LATEST`, a version number or an alias), changed atomically with the RevisionId of what
//! they are attached to (AWS's GetPolicy reports that RevisionId, and AddPermission and
//! RemovePermission change it).

use async_trait::async_trait;

use crate::StoreError;

/// The qualifier the unqualified function's policy is stored under.
pub const LATEST: &str = "$LATEST";

/// One statement as stored: its id and its JSON exactly as AddPermission rendered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    pub sid: String,
    pub json: String,
}

/// A change to one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChange {
    /// Appends a statement; `StatementExists` if its id is taken in this policy.
    Add(StoredStatement),
    /// Removes a statement; `StatementNotFound` if there is none with this id.
    Remove { sid: String },
}

/// Persistence of resource-based policies.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The statements of the policy of `function` at `qualifier`, in the order they were
    /// added; empty when there is no policy.
    async fn policy_statements(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Vec<StoredStatement>, StoreError>;

    /// Applies `change` and moves the RevisionId of `function` at `qualifier` from
    /// `expected_revision` to `new_revision`, in one transaction. `NotFound` when the target
    /// does not exist, `RevisionMismatch` when its revision moved on.
    async fn change_policy(
        &self,
        function: &str,
        qualifier: &str,
        change: PolicyChange,
        expected_revision: &str,
        new_revision: &str,
    ) -> Result<(), StoreError>;
}
