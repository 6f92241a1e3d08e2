//! The Lambda-compatible HTTP API of Lamina: SigV4 authentication, AWS error mapping, and one
//! module per operation family.

pub mod account;
pub mod admin;
pub mod async_invoke;
pub mod audit;
pub mod auth;
pub mod caller;
pub mod error;
pub mod functions;
pub mod layers;
pub mod logs_api;
pub mod metrics;
pub mod observe;
pub mod routes;
pub mod sigv4;
pub mod sqs;
pub mod state;
pub mod tags;
pub mod telemetry;
pub mod usage;

pub use routes::router;
pub use state::{ApiConfig, AppState, Principal, RootCredentials};

/// Resumes what a previous run left: unfinished creates and updates, the reserved
/// concurrency total, and provisioned environments.
pub async fn resume(state: &AppState) -> anyhow::Result<()> {
    for name in state.store.unsettled_functions().await? {
        functions::code::spawn_settle(state.clone(), name);
    }
    functions::concurrency::sync_reserved_total(state)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for config in state.store.list_provisioned(None).await? {
        if let Err(e) = functions::concurrency::start_provisioning(state, &config).await {
            tracing::warn!(function = %config.function_name, qualifier = %config.qualifier, error = %e, "cannot restore provisioned concurrency");
        }
    }
    Ok(())
}
