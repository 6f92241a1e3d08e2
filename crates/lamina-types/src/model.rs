//! The function model: what the API receives, what the store keeps, and what the API returns.
//! Wire types use AWS's PascalCase member names and accept (and ignore) members they don't know.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `Code` in CreateFunction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCode {
    /// Base64 of the zip.
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub variables: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    pub target_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStart {
    pub apply_on: Option<String>,
}

/// The CreateFunction request body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionRequest {
    pub function_name: Option<String>,
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub code: Option<FunctionCode>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub publish: Option<bool>,
    pub package_type: Option<String>,
    pub dead_letter_config: Option<DeadLetterConfig>,
    pub environment: Option<Environment>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Option<TracingConfig>,
    pub tags: Option<BTreeMap<String, String>>,
    pub layers: Option<Vec<String>>,
    pub architectures: Option<Vec<String>>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub snap_start: Option<SnapStart>,
    pub logging_config: Option<LoggingConfig>,
}

/// The UpdateFunctionConfiguration request body (every member optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionConfigurationRequest {
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub dead_letter_config: Option<DeadLetterConfig>,
    pub environment: Option<Environment>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Option<TracingConfig>,
    pub revision_id: Option<String>,
    pub layers: Option<Vec<String>>,
    pub ephemeral_storage: Option<EphemeralStorage>,
    pub snap_start: Option<SnapStart>,
    pub logging_config: Option<LoggingConfig>,
}

/// The UpdateFunctionCode request body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionCodeRequest {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
    pub publish: Option<bool>,
    pub dry_run: Option<bool>,
    pub revision_id: Option<String>,
    pub architectures: Option<Vec<String>>,
}

/// `State` of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Pending,
    Active,
    Inactive,
    Failed,
}

/// `LastUpdateStatus` of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateStatus {
    Successful,
    Failed,
    InProgress,
}

/// Everything about one function version except its code bytes and environment values,
/// which the store keeps sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub timeout: u32,
    pub memory_size: u32,
    pub architectures: Vec<String>,
    pub ephemeral_storage_mb: u32,
    pub tracing_mode: String,
    /// The layer versions the function uses, in merge order, resolved when it was configured
    /// (a function keeps a layer version it references after the version is deleted).
    pub layers: Vec<LayerRef>,
    pub log_format: String,
    pub log_group: String,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub dead_letter_target: Option<String>,
    pub kms_key_arn: Option<String>,
    pub snap_start_apply_on: String,
    /// Whether the caller supplied `Environment` (AWS then echoes it back, even when empty).
    pub has_environment: bool,
}

/// The `ApplicationLogLevel` and `SystemLogLevel` a function with the JSON log format has when
/// the caller did not choose them, as AWS applies and returns them.
pub const DEFAULT_LOG_LEVEL: &str = "INFO";

impl FunctionConfig {
    /// Applies AWS's rule for the log levels: with the JSON format both levels are set (INFO
    /// unless chosen); the Text format has none.
    pub fn normalise_log_levels(&mut self) {
        if self.log_format == "JSON" {
            for level in [&mut self.application_log_level, &mut self.system_log_level] {
                level.get_or_insert_with(|| DEFAULT_LOG_LEVEL.to_owned());
            }
        } else {
            self.application_log_level = None;
            self.system_log_level = None;
        }
    }

    /// `LoggingConfig` as AWS returns it: the format and log group, and with the JSON format
    /// both levels (INFO unless chosen, also for a configuration stored before the levels were
    /// normalised); the same rule as [`FunctionConfig::normalise_log_levels`].
    pub fn logging_config(&self) -> LoggingConfig {
        let json = self.log_format == "JSON";
        let shown = |level: &Option<String>| {
            json.then(|| level.as_deref().unwrap_or(DEFAULT_LOG_LEVEL).to_owned())
        };
        LoggingConfig {
            log_format: Some(self.log_format.clone()),
            application_log_level: shown(&self.application_log_level),
            system_log_level: shown(&self.system_log_level),
            log_group: Some(self.log_group.clone()),
        }
    }
}

/// One layer version a function uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// The layer version ARN.
    pub arn: String,
    /// Lowercase hex SHA-256 of the layer's zip: its blob key. (The store finds the functions
    /// that keep a blob alive by this member's serialised form.)
    pub code_sha256_hex: String,
    pub code_size: u64,
    pub unzipped_size: u64,
}

/// A stored function (its `$LATEST`), with the environment decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRecord {
    pub name: String,
    pub config: FunctionConfig,
    pub environment: BTreeMap<String, String>,
    /// Lowercase hex SHA-256 of the zip: the blob key.
    pub code_sha256_hex: String,
    pub code_size: u64,
    pub revision_id: String,
    pub last_modified: String,
    pub state: State,
    pub last_update_status: UpdateStatus,
    pub tags: BTreeMap<String, String>,
}

/// `FunctionConfiguration` as AWS returns it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    pub function_name: String,
    pub function_arn: String,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    pub code_size: u64,
    pub description: String,
    pub timeout: u32,
    pub memory_size: u32,
    pub last_modified: String,
    pub code_sha256: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    #[serde(rename = "KMSKeyArn", skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: TracingConfig,
    pub revision_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<Layer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status: Option<UpdateStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason_code: Option<String>,
    pub package_type: String,
    pub architectures: Vec<String>,
    pub ephemeral_storage: EphemeralStorage,
    pub snap_start: SnapStartResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_version_config: Option<RuntimeVersionConfig>,
    pub logging_config: LoggingConfig,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Layer {
    pub arn: String,
    pub code_size: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapStartResponse {
    pub apply_on: String,
    pub optimization_status: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeVersionConfig {
    pub runtime_version_arn: String,
}

/// A published, immutable version of a function: a snapshot of `$LATEST` at publish time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    pub version: u64,
    pub function: FunctionRecord,
}

/// An alias: a name for a version, optionally sending a share of invocations to a second one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub function_name: String,
    pub name: String,
    pub function_version: String,
    pub description: String,
    /// Additional version and the share of invocations it gets (0.0 to 1.0).
    pub routing: BTreeMap<String, f64>,
    /// Whether the caller gave `RoutingConfig` (AWS echoes it back only then).
    pub has_routing: bool,
    pub revision_id: String,
}

/// A provisioned-concurrency configuration of one version or alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedConfig {
    pub function_name: String,
    pub qualifier: String,
    pub requested: u32,
    pub last_modified: String,
}
