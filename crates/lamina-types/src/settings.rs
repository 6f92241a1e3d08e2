//! Function settings outside the configuration: recursive loop detection
//! (Put/GetFunctionRecursionConfig) and runtime management (Put/GetRuntimeManagementConfig),
//! with AWS's shapes and validation.

use serde::{Deserialize, Serialize};

use crate::constraints::{Constraints, Pattern, anchored};
use crate::error::UserError;

/// `RecursiveLoop` values, in the model's order.
pub const RECURSIVE_LOOP_VALUES: &[&str] = &["Allow", "Terminate"];
/// What a function without a recursion config reports.
pub const RECURSIVE_LOOP_DEFAULT: &str = "Terminate";
/// `UpdateRuntimeOn` values, in the model's order.
pub const UPDATE_RUNTIME_ON_VALUES: &[&str] = &["Auto", "Manual", "FunctionUpdate"];
/// What a function without a runtime management config reports.
pub const UPDATE_RUNTIME_ON_DEFAULT: &str = "Auto";

/// `UnqualifiedFunctionName`: what the recursion config operations accept.
pub const UNQUALIFIED_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)";
static UNQUALIFIED_NAME_RE: Pattern = Pattern::new(|| anchored(UNQUALIFIED_NAME_PATTERN));

/// Refuses a qualified (or otherwise non-matching) name where only a function may be named.
pub fn check_unqualified_name(name: &str) -> Result<(), UserError> {
    let mut c = Constraints::default();
    c.length(name, "functionName", 1, 140);
    c.pattern(
        name,
        "functionName",
        &UNQUALIFIED_NAME_RE,
        UNQUALIFIED_NAME_PATTERN,
    );
    c.finish()
}

const RUNTIME_VERSION_ARN_PATTERN: &str = r"((arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}::runtime:.+)|(arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:runtime/[A-Za-z0-9_.-]{1,128}/version/[A-Za-z0-9_.-]{1,128}))";
static RUNTIME_VERSION_ARN_RE: Pattern = Pattern::new(|| anchored(RUNTIME_VERSION_ARN_PATTERN));

/// The PutFunctionRecursionConfig body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecursionConfigRequest {
    pub recursive_loop: Option<String>,
}

impl RecursionConfigRequest {
    /// The validated `RecursiveLoop`.
    pub fn recursive_loop(&self) -> Result<String, UserError> {
        let mut c = Constraints::default();
        match &self.recursive_loop {
            None => c.null("recursiveLoop"),
            Some(v) => c.one_of(v, "recursiveLoop", RECURSIVE_LOOP_VALUES),
        }
        c.finish()?;
        Ok(self.recursive_loop.clone().unwrap_or_default())
    }
}

/// The PutRuntimeManagementConfig body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeManagementRequest {
    pub update_runtime_on: Option<String>,
    pub runtime_version_arn: Option<String>,
}

/// A function version's runtime management configuration, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeManagement {
    /// `Auto`, `Manual` or `FunctionUpdate`.
    pub update_runtime_on: String,
    /// Set exactly when `update_runtime_on` is `Manual`.
    pub runtime_version_arn: Option<String>,
}

impl Default for RuntimeManagement {
    fn default() -> Self {
        Self {
            update_runtime_on: UPDATE_RUNTIME_ON_DEFAULT.to_owned(),
            runtime_version_arn: None,
        }
    }
}

impl RuntimeManagementRequest {
    /// Framework constraints first (together), then the rule tying the ARN to `Manual`.
    pub fn validate(&self) -> Result<RuntimeManagement, UserError> {
        let mut c = Constraints::default();
        match &self.update_runtime_on {
            None => c.null("updateRuntimeOn"),
            Some(v) => c.one_of(v, "updateRuntimeOn", UPDATE_RUNTIME_ON_VALUES),
        }
        if let Some(arn) = &self.runtime_version_arn {
            c.length(arn, "runtimeVersionArn", 26, 2048);
            c.pattern(
                arn,
                "runtimeVersionArn",
                &RUNTIME_VERSION_ARN_RE,
                RUNTIME_VERSION_ARN_PATTERN,
            );
        }
        c.finish()?;
        let mode = self.update_runtime_on.clone().unwrap_or_default();
        match (mode.as_str(), &self.runtime_version_arn) {
            ("Manual", None) => Err(UserError::InvalidParameterValue(
                "RuntimeVersionArn must be specified when UpdateRuntimeOn is Manual.".into(),
            )),
            ("Auto" | "FunctionUpdate", Some(_)) => Err(UserError::InvalidParameterValue(format!(
                "RuntimeVersionArn can only be specified when UpdateRuntimeOn is Manual, not {mode}."
            ))),
            _ => Ok(RuntimeManagement {
                update_runtime_on: mode,
                runtime_version_arn: self.runtime_version_arn.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_loop_is_required_and_an_enum() {
        let ok = RecursionConfigRequest {
            recursive_loop: Some("Allow".into()),
        };
        assert_eq!(ok.recursive_loop().unwrap(), "Allow");
        assert_eq!(
            RecursionConfigRequest::default()
                .recursive_loop()
                .unwrap_err()
                .to_string(),
            "1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: Member must not be null"
        );
        let bad = RecursionConfigRequest {
            recursive_loop: Some("Sometimes".into()),
        };
        assert_eq!(
            bad.recursive_loop().unwrap_err().to_string(),
            "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]"
        );
    }

    #[test]
    fn only_unqualified_names_are_accepted_where_required() {
        assert!(check_unqualified_name("f").is_ok());
        assert!(check_unqualified_name("arn:aws:lambda:us-east-1:000000000000:function:f").is_ok());
        assert_eq!(
            check_unqualified_name("f:1").unwrap_err().to_string(),
            format!(
                "1 validation error detected: Value 'f:1' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {UNQUALIFIED_NAME_PATTERN}"
            )
        );
    }

    #[test]
    fn manual_needs_a_runtime_version_and_only_manual_takes_one() {
        let arn = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef";
        let req = |mode: &str, arn: Option<&str>| RuntimeManagementRequest {
            update_runtime_on: Some(mode.into()),
            runtime_version_arn: arn.map(str::to_owned),
        };
        assert_eq!(
            req("Manual", Some(arn)).validate().unwrap(),
            RuntimeManagement {
                update_runtime_on: "Manual".into(),
                runtime_version_arn: Some(arn.into())
            }
        );
        assert!(matches!(
            req("Manual", None).validate(),
            Err(UserError::InvalidParameterValue(_))
        ));
        assert!(matches!(
            req("Auto", Some(arn)).validate(),
            Err(UserError::InvalidParameterValue(_))
        ));
        assert_eq!(
            req("FunctionUpdate", None).validate().unwrap(),
            RuntimeManagement {
                update_runtime_on: "FunctionUpdate".into(),
                runtime_version_arn: None
            }
        );
        let e = req("Sometimes", Some("arn:aws:nope"))
            .validate()
            .unwrap_err();
        assert!(
            e.to_string().starts_with("3 validation errors detected: Value 'Sometimes' at 'updateRuntimeOn' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]; Value 'arn:aws:nope' at 'runtimeVersionArn' failed to satisfy constraint: Member must have length greater than or equal to 26"),
            "{e}"
        );
    }
}
