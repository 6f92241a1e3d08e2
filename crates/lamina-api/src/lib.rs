//! The Lambda-compatible HTTP API of Lamina: SigV4 authentication, AWS error mapping, and one
//! module per operation family.

pub mod account;
pub mod admin;
pub mod auth;
pub mod error;
pub mod functions;
pub mod routes;
pub mod sigv4;
pub mod state;

pub use routes::router;
pub use state::{ApiConfig, AppState, RootCredentials};

/// Resumes creates and updates that a previous run left unfinished.
pub async fn resume_unsettled(state: &AppState) -> Result<(), lamina_store::StoreError> {
    for name in state.store.unsettled_functions().await? {
        functions::code::spawn_settle(state.clone(), name);
    }
    Ok(())
}
