//! The function operations, one file each, and what they share: name resolution, the
//! AWS view of a function, and request-body parsing.

pub mod aliases;
pub mod code;
pub mod concurrency;
pub mod create;
pub mod delete;
pub mod event_config;
pub mod get;
pub mod invoke;
pub mod list;
pub mod policy;
pub mod resolve;
pub mod settings;
pub mod update;
pub mod versions;

use base64::Engine;
use bytes::Bytes;
use lamina_types::arn::{NameUse, function_arn};
use lamina_types::model::{
    DeadLetterConfig, EphemeralStorage, FunctionConfiguration, FunctionRecord,
    RuntimeVersionConfig, SnapStartResponse, State, TracingConfig, UpdateStatus,
};
use lamina_types::{FunctionRef, UserError};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Parses a JSON request body; an empty body is the empty object.
pub fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::InvalidRequestContent(format!("Could not parse request body into json: {e}"))
    })
}

/// Parses a function name from the path in any of AWS's forms.
pub fn function_ref(state: &AppState, raw: &str, usage: NameUse) -> ApiResult<FunctionRef> {
    Ok(FunctionRef::parse(
        raw,
        usage,
        &state.config.region,
        &state.config.account_id,
    )?)
}

/// The unqualified ARN of a function of this server.
pub fn arn(state: &AppState, name: &str) -> String {
    function_arn(&state.config.region, &state.config.account_id, name)
}

/// `Function not found: <arn>[:qualifier]`.
pub fn not_found(state: &AppState, name: &str, qualifier: Option<&str>) -> ApiError {
    let mut target = arn(state, name);
    if let Some(q) = qualifier {
        target.push(':');
        target.push_str(q);
    }
    ApiError::not_found(format!("Function not found: {target}"))
}

/// Loads a function or fails with AWS's not-found message.
pub async fn load(state: &AppState, name: &str) -> ApiResult<FunctionRecord> {
    state
        .store
        .get_function(name)
        .await?
        .ok_or_else(|| not_found(state, name, None))
}

/// AWS's `CodeSha256`: base64 of the SHA-256 digest.
pub fn code_sha256_b64(hex_digest: &str) -> String {
    let raw = hex::decode(hex_digest).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// A fresh `RevisionId`.
pub fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Refuses a stale `RevisionId`.
pub fn check_revision(rec: &FunctionRecord, given: Option<&str>) -> ApiResult<()> {
    match given {
        Some(r) if r != rec.revision_id => Err(ApiError::User(UserError::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
        ))),
        _ => Ok(()),
    }
}

/// Refuses a change while the function is still being created or updated.
pub fn check_settled(state: &AppState, rec: &FunctionRecord) -> ApiResult<()> {
    if rec.state == State::Pending {
        return Err(ApiError::conflict(
            "The operation cannot be performed at this time. The function is currently in the following state: Pending",
        ));
    }
    if rec.last_update_status == UpdateStatus::InProgress {
        return Err(ApiError::conflict(format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}",
            arn(state, &rec.name)
        )));
    }
    Ok(())
}

/// Which members a configuration view carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Get/Create/Update: everything, with state fields.
    Full,
    /// ListFunctions: no state fields and no runtime version.
    List,
}

/// The AWS `FunctionConfiguration` of a record. `qualifier` selects the qualified ARN form;
/// `version` is `$LATEST` or the published version the record is.
pub fn configuration(
    state: &AppState,
    rec: &FunctionRecord,
    qualifier: Option<&str>,
    version: &str,
    view: View,
) -> FunctionConfiguration {
    let c = &rec.config;
    let mut function_arn = arn(state, &rec.name);
    if let Some(q) = qualifier {
        function_arn.push(':');
        function_arn.push_str(q);
    }
    let full = view == View::Full;
    let (state_reason, state_reason_code) = match rec.state {
        State::Pending => (
            Some("The function is being created.".to_owned()),
            Some("Creating".to_owned()),
        ),
        State::Failed => (
            Some("The function could not be created: its code could not be unpacked.".to_owned()),
            Some("InvalidZipFileException".to_owned()),
        ),
        State::Active | State::Inactive => (None, None),
    };
    let (update_reason, update_reason_code) = match rec.last_update_status {
        UpdateStatus::InProgress => (
            Some("The function is being created.".to_owned()),
            Some("Creating".to_owned()),
        ),
        UpdateStatus::Failed => (
            Some("The function could not be updated: its code could not be unpacked.".to_owned()),
            Some("InvalidZipFileException".to_owned()),
        ),
        UpdateStatus::Successful => (None, None),
    };
    // A function that is still being created has no update status yet, as on AWS.
    let show_update = full && rec.state != State::Pending;
    FunctionConfiguration {
        function_name: rec.name.clone(),
        function_arn,
        runtime: c.runtime.clone(),
        role: c.role.clone(),
        handler: c.handler.clone(),
        code_size: rec.code_size,
        description: c.description.clone(),
        timeout: c.timeout,
        memory_size: c.memory_size,
        last_modified: rec.last_modified.clone(),
        code_sha256: code_sha256_b64(&rec.code_sha256_hex),
        version: version.to_owned(),
        environment: c.has_environment.then(|| lamina_types::model::Environment {
            variables: Some(rec.environment.clone()),
        }),
        dead_letter_config: c.dead_letter_target.clone().map(|t| DeadLetterConfig {
            target_arn: Some(t),
        }),
        kms_key_arn: c.kms_key_arn.clone(),
        tracing_config: TracingConfig {
            mode: Some(c.tracing_mode.clone()),
        },
        revision_id: rec.revision_id.clone(),
        layers: (!c.layers.is_empty()).then(|| {
            c.layers
                .iter()
                .map(|l| lamina_types::model::Layer {
                    arn: l.arn.clone(),
                    code_size: l.code_size,
                })
                .collect()
        }),
        state: full.then_some(rec.state),
        state_reason: state_reason.filter(|_| full),
        state_reason_code: state_reason_code.filter(|_| full),
        last_update_status: show_update.then_some(rec.last_update_status),
        last_update_status_reason: update_reason.filter(|_| show_update),
        last_update_status_reason_code: update_reason_code.filter(|_| show_update),
        package_type: "Zip".to_owned(),
        architectures: c.architectures.clone(),
        ephemeral_storage: EphemeralStorage {
            size: Some(i64::from(c.ephemeral_storage_mb)),
        },
        snap_start: SnapStartResponse {
            apply_on: c.snap_start_apply_on.clone(),
            optimization_status: "Off".to_owned(),
        },
        runtime_version_config: full.then(|| RuntimeVersionConfig {
            runtime_version_arn: runtime_version_arn(&state.config.region, &c.runtime),
        }),
        // With JSON both levels are shown, INFO unless chosen, as on AWS.
        logging_config: c.logging_config(),
    }
}

/// `arn:aws:lambda:<region>::runtime:<64 hex>`, stable per runtime identifier.
pub fn runtime_version_arn(region: &str, runtime: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!("lamina-runtime:{runtime}")));
    format!("arn:aws:lambda:{region}::runtime:{digest}")
}
