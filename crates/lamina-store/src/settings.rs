//! Function settings kept beside the configuration: the recursion config (function-wide) and
//! the runtime management config (per version).

use async_trait::async_trait;
use lamina_types::settings::RuntimeManagement;

use crate::StoreError;

/// Persistence of function settings. Writes fail with `NotFound` when the function (or the
/// version) does not exist.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// `RecursiveLoop`, if it was ever put.
    async fn recursion_config(&self, function: &str) -> Result<Option<String>, StoreError>;
    async fn put_recursion_config(
        &self,
        function: &str,
        recursive_loop: &str,
    ) -> Result<(), StoreError>;
    /// The runtime management config of `function` at `qualifier`, if it was ever put.
    async fn runtime_management_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<RuntimeManagement>, StoreError>;
    async fn put_runtime_management_config(
        &self,
        function: &str,
        qualifier: &str,
        config: &RuntimeManagement,
    ) -> Result<(), StoreError>;
}
