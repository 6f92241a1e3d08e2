//! The Lambda quotas Lamina enforces. All are configurable; the defaults are the classic ones.

use serde::{Deserialize, Serialize};

/// Limits enforced by the control plane and reported by `GetAccountSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub memory_min_mb: u32,
    pub memory_max_mb: u32,
    /// Memory must be a multiple of this (64 MB in classic Lambda).
    pub memory_step_mb: u32,
    pub timeout_max_secs: u32,
    pub ephemeral_min_mb: u32,
    pub ephemeral_max_mb: u32,
    /// Customer environment variables, measured as compact JSON in UTF-8 bytes.
    pub env_vars_max_bytes: usize,
    pub code_zipped_max_bytes: u64,
    pub code_unzipped_max_bytes: u64,
    /// Largest request body accepted for CreateFunction/UpdateFunctionCode.
    pub request_body_max_bytes: u64,
    /// Total code storage per account (`TotalCodeSize`).
    pub total_code_max_bytes: u64,
    pub concurrent_executions: u32,
    /// Unreserved concurrency that must always remain.
    pub min_unreserved_concurrency: u32,
    pub tags_max: usize,
    pub layers_max: usize,
    /// Largest payload of an asynchronous (`Event`) invocation.
    pub async_payload_max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_min_mb: 128,
            memory_max_mb: 3008,
            memory_step_mb: 64,
            timeout_max_secs: 900,
            ephemeral_min_mb: 512,
            ephemeral_max_mb: 10240,
            env_vars_max_bytes: 4096,
            code_zipped_max_bytes: 52_428_800,
            code_unzipped_max_bytes: 262_144_000,
            request_body_max_bytes: 70_167_211,
            total_code_max_bytes: 80_530_636_800,
            concurrent_executions: 1000,
            min_unreserved_concurrency: 100,
            tags_max: 50,
            layers_max: 5,
            async_payload_max_bytes: 1_048_576,
        }
    }
}
