//! Validation of function requests, with AWS's error types and messages. AWS checks framework
//! constraints first (all of them, reported together as one `ValidationException`), then the
//! service rules (`InvalidParameterValueException`, one at a time); so do we.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

use crate::error::UserError;
use crate::limits::Limits;
use crate::model::{
    CreateFunctionRequest, EphemeralStorage, FunctionConfig, FunctionRecord, LoggingConfig,
    UpdateFunctionConfigurationRequest,
};
use crate::runtime;

const ROLE_PATTERN: &str = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+";
const HANDLER_PATTERN: &str = r"[^\s]+";
const ENV_KEY_PATTERN: &str = r"[a-zA-Z]([a-zA-Z0-9_])+";
const KMS_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()";

static ROLE_RE: LazyLock<Regex> = LazyLock::new(|| anchored(ROLE_PATTERN));
static HANDLER_RE: LazyLock<Regex> = LazyLock::new(|| anchored(HANDLER_PATTERN));
static ENV_KEY_RE: LazyLock<Regex> = LazyLock::new(|| anchored(ENV_KEY_PATTERN));
static KMS_RE: LazyLock<Regex> = LazyLock::new(|| anchored(KMS_PATTERN));

fn anchored(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(&format!("^(?:{pattern})$")).expect("static pattern compiles")
}

/// Environment keys a function may not set (the runtime sets them).
const RESERVED_ENV_KEYS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_XRAY_DAEMON_PORT",
    "AWS_XRAY_TRACE_ID",
];

/// A validated CreateFunction request.
#[derive(Debug, Clone)]
pub struct NewFunction {
    /// The configuration, with no layers yet: the API resolves [`NewFunction::layers`].
    pub config: FunctionConfig,
    /// The layer version ARNs asked for (in merge order).
    pub layers: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub zip: Vec<u8>,
    pub publish: bool,
}

/// Collects framework (`ValidationException`) constraint failures.
#[derive(Default)]
struct Constraints(Vec<String>);

impl Constraints {
    fn fail(&mut self, value: &str, field: &str, constraint: &str) {
        self.0.push(UserError::constraint(value, field, constraint));
    }

    fn range(&mut self, value: i64, field: &str, min: i64, max: i64) {
        if value < min {
            self.fail(
                &value.to_string(),
                field,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.fail(
                &value.to_string(),
                field,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    fn max_len(&mut self, value: &str, field: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(
                value,
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn finish(self) -> Result<(), UserError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(UserError::Validation(self.0))
        }
    }
}

/// The mutable configuration members shared by Create and UpdateFunctionConfiguration.
struct ConfigInput<'a> {
    runtime: Option<&'a str>,
    role: Option<&'a str>,
    handler: Option<&'a str>,
    description: Option<&'a str>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    ephemeral: Option<&'a EphemeralStorage>,
    tracing_mode: Option<&'a str>,
    environment: Option<&'a BTreeMap<String, String>>,
    layers: Option<&'a [String]>,
    kms_key_arn: Option<&'a str>,
    logging: Option<&'a LoggingConfig>,
}

fn check_framework(input: &ConfigInput<'_>, limits: &Limits, c: &mut Constraints) {
    if let Some(role) = input.role
        && !ROLE_RE.is_match(role)
    {
        c.fail(
            role,
            "role",
            &format!("Member must satisfy regular expression pattern: {ROLE_PATTERN}"),
        );
    }
    if let Some(handler) = input.handler {
        c.max_len(handler, "handler", 128);
        if !HANDLER_RE.is_match(handler) {
            c.fail(
                handler,
                "handler",
                &format!("Member must satisfy regular expression pattern: {HANDLER_PATTERN}"),
            );
        }
    }
    if let Some(d) = input.description {
        c.max_len(d, "description", 256);
    }
    if let Some(t) = input.timeout {
        c.range(t, "timeout", 1, i64::from(limits.timeout_max_secs));
    }
    if let Some(m) = input.memory_size {
        c.range(
            m,
            "memorySize",
            i64::from(limits.memory_min_mb),
            i64::from(limits.memory_max_mb),
        );
    }
    if let Some(size) = input.ephemeral.and_then(|e| e.size) {
        c.range(
            size,
            "ephemeralStorage.size",
            i64::from(limits.ephemeral_min_mb),
            i64::from(limits.ephemeral_max_mb),
        );
    }
    if let Some(mode) = input.tracing_mode
        && mode != "Active"
        && mode != "PassThrough"
    {
        c.fail(
            mode,
            "tracingConfig.mode",
            "Member must satisfy enum value set: [Active, PassThrough]",
        );
    }
    if let Some(env) = input.environment {
        for key in env.keys() {
            if !ENV_KEY_RE.is_match(key) {
                c.fail(
                    &format!("[{key}]"),
                    "environment.variables",
                    &format!(
                        "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: {ENV_KEY_PATTERN}]"
                    ),
                );
            }
        }
    }
    if let Some(failure) = input.layers.and_then(crate::layer::check_function_layers) {
        c.0.push(failure);
    }
    if let Some(kms) = input.kms_key_arn
        && !KMS_RE.is_match(kms)
    {
        c.fail(
            kms,
            "kMSKeyArn",
            &format!("Member must satisfy regular expression pattern: {KMS_PATTERN}"),
        );
    }
    if let Some(logging) = input.logging {
        if let Some(f) = &logging.log_format
            && f != "Text"
            && f != "JSON"
        {
            c.fail(
                f,
                "loggingConfig.logFormat",
                "Member must satisfy enum value set: [Text, JSON]",
            );
        }
        // The service model's enums: the system level has only three.
        let application: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
        let system: &[&str] = &["DEBUG", "INFO", "WARN"];
        for (field, value, allowed) in [
            (
                "loggingConfig.applicationLogLevel",
                &logging.application_log_level,
                application,
            ),
            (
                "loggingConfig.systemLogLevel",
                &logging.system_log_level,
                system,
            ),
        ] {
            if let Some(v) = value
                && !allowed.contains(&v.as_str())
            {
                c.fail(
                    v,
                    field,
                    &format!(
                        "Member must satisfy enum value set: [{}]",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }
}

fn check_service(input: &ConfigInput<'_>, limits: &Limits) -> Result<(), UserError> {
    if let Some(rt) = input.runtime {
        if runtime::is_deprecated(rt) {
            return Err(UserError::InvalidParameterValue(
                runtime::deprecated_runtime_message(rt),
            ));
        }
        if !runtime::is_accepted(rt) {
            return Err(UserError::InvalidParameterValue(
                runtime::invalid_runtime_message(rt),
            ));
        }
    }
    if let Some(m) = input.memory_size {
        let step = i64::from(limits.memory_step_mb.max(1));
        if m % step != 0 {
            return Err(UserError::InvalidParameterValue(format!(
                "'MemorySize' value failed to satisfy constraint: Member must be a multiple of {step}"
            )));
        }
    }
    if let Some(env) = input.environment {
        check_environment(env, limits)?;
    }
    // Whether each layer version exists (and the other per-layer rules) is checked by the API
    // against the store, after these rules.
    if let Some(layers) = input.layers
        && layers.len() > limits.layers_max
    {
        return Err(UserError::InvalidParameterValue(format!(
            "Cannot reference more than {} layers.",
            limits.layers_max
        )));
    }
    if let Some(logging) = input.logging
        && logging.log_format.as_deref() != Some("JSON")
        && (logging.application_log_level.is_some() || logging.system_log_level.is_some())
    {
        return Err(UserError::InvalidParameterValue(
            "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"JSON\" and try again.".into(),
        ));
    }
    Ok(())
}

/// Reserved keys, then the 4 KB limit measured as AWS measures it (compact JSON, UTF-8 bytes).
fn check_environment(env: &BTreeMap<String, String>, limits: &Limits) -> Result<(), UserError> {
    let reserved: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|k| RESERVED_ENV_KEYS.contains(k))
        .collect();
    if !reserved.is_empty() {
        return Err(UserError::InvalidParameterValue(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    let measured = serde_json::to_string(env).unwrap_or_default();
    if measured.len() > limits.env_vars_max_bytes {
        return Err(UserError::InvalidParameterValue(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

fn check_architectures(archs: Option<&[String]>, c: &mut Constraints) {
    let Some(archs) = archs else { return };
    let shown = format!("[{}]", archs.join(", "));
    if archs.len() > 1 {
        c.fail(
            &shown,
            "architectures",
            "Member must have length less than or equal to 1",
        );
    } else if archs.is_empty() {
        c.fail(
            &shown,
            "architectures",
            "Member must have length greater than or equal to 1",
        );
    } else if archs.iter().any(|a| a != "x86_64" && a != "arm64") {
        c.fail(
            &shown,
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
        );
    }
}

/// Tag limits: count first (service rule), then key and value lengths.
pub fn check_tags(tags: &BTreeMap<String, String>, limits: &Limits) -> Result<(), UserError> {
    if tags.len() > limits.tags_max {
        return Err(UserError::InvalidParameterValue(
            "Number of tags exceeds resource tag limit.".into(),
        ));
    }
    let mut c = Constraints::default();
    for (k, v) in tags {
        if k.is_empty() {
            c.fail(k, "tags", "Map keys must satisfy constraint: [Member must have length greater than or equal to 1]");
        }
        if k.chars().count() > 128 {
            c.fail(k, "tags", "Map keys must satisfy constraint: [Member must have length less than or equal to 128]");
        }
        if v.chars().count() > 256 {
            c.fail(v, "tags", "Map value must satisfy constraint: [Member must have length less than or equal to 256]");
        }
        if k.starts_with("aws:") {
            return Err(UserError::InvalidParameterValue(
                "Tag keys with the prefix 'aws:' are reserved for AWS use.".into(),
            ));
        }
    }
    c.finish()
}

/// Decodes and size-checks an uploaded zip (`ZipFile`, base64). The zip's contents are checked
/// by the blob layer, which reads it entry by entry.
pub fn decode_zip(b64: &str, limits: &Limits) -> Result<Vec<u8>, UserError> {
    let zip = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| unzip_error())?;
    if zip.len() as u64 > limits.code_zipped_max_bytes {
        return Err(UserError::EntityTooLarge(format!(
            "Zipped size must be smaller than {} bytes",
            limits.code_zipped_max_bytes
        )));
    }
    Ok(zip)
}

/// AWS's message for anything that is not a zip it can read.
pub fn unzip_error() -> UserError {
    UserError::InvalidParameterValue(
        "Could not unzip uploaded file. Please check your file, then try to upload again.".into(),
    )
}

/// AWS's message for an unzipped package over the limit.
pub fn unzipped_too_large(limits: &Limits) -> UserError {
    UserError::InvalidParameterValue(format!(
        "Unzipped size must be smaller than {} bytes",
        limits.code_unzipped_max_bytes
    ))
}

/// Refuses code sources other than a direct zip upload, which Lamina does not have yet.
pub fn check_code_source(
    zip_file: Option<&str>,
    s3_bucket: Option<&str>,
    s3_key: Option<&str>,
    image_uri: Option<&str>,
) -> Result<(), UserError> {
    if image_uri.is_some() {
        return Err(UserError::InvalidParameterValue(
            "Lamina runs Zip deployment packages only: container images (ImageUri) are not supported."
                .into(),
        ));
    }
    if s3_bucket.is_some() || s3_key.is_some() {
        return Err(UserError::InvalidParameterValue(
            "S3Bucket/S3Key code sources need an S3-compatible code source, and none is configured on this Lamina server. Upload the package as ZipFile instead.".into(),
        ));
    }
    if zip_file.is_none() {
        return Err(UserError::InvalidParameterValue(
            "Please provide a source for function code.".into(),
        ));
    }
    Ok(())
}

/// Validates a CreateFunction request and fills in AWS's defaults.
pub fn create(
    req: CreateFunctionRequest,
    name: &str,
    limits: &Limits,
) -> Result<NewFunction, UserError> {
    let env = req.environment.as_ref().and_then(|e| e.variables.as_ref());
    let input = ConfigInput {
        runtime: req.runtime.as_deref(),
        role: req.role.as_deref(),
        handler: req.handler.as_deref(),
        description: req.description.as_deref(),
        timeout: req.timeout,
        memory_size: req.memory_size,
        ephemeral: req.ephemeral_storage.as_ref(),
        tracing_mode: req.tracing_config.as_ref().and_then(|t| t.mode.as_deref()),
        environment: env,
        layers: req.layers.as_deref(),
        kms_key_arn: req.kms_key_arn.as_deref(),
        logging: req.logging_config.as_ref(),
    };
    let mut c = Constraints::default();
    if req.role.is_none() {
        c.fail("null", "role", "Member must not be null");
    }
    check_framework(&input, limits, &mut c);
    check_architectures(req.architectures.as_deref(), &mut c);
    c.finish()?;
    if let Some(p) = &req.package_type
        && p != "Zip"
    {
        return Err(UserError::InvalidParameterValue(
            "Lamina runs Zip deployment packages only: PackageType must be Zip.".into(),
        ));
    }
    let (Some(runtime), Some(handler)) = (req.runtime.clone(), req.handler.clone()) else {
        return Err(UserError::InvalidParameterValue(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.".into(),
        ));
    };
    check_service(&input, limits)?;
    let tags = req.tags.clone().unwrap_or_default();
    check_tags(&tags, limits)?;
    let code = req.code.clone().unwrap_or_default();
    check_code_source(
        code.zip_file.as_deref(),
        code.s3_bucket.as_deref(),
        code.s3_key.as_deref(),
        code.image_uri.as_deref(),
    )?;
    let zip = decode_zip(code.zip_file.as_deref().unwrap_or_default(), limits)?;
    let logging = req.logging_config.clone().unwrap_or_default();
    let mut config = FunctionConfig {
        runtime,
        handler,
        role: req.role.unwrap_or_default(),
        description: req.description.unwrap_or_default(),
        timeout: clamp_u32(req.timeout.unwrap_or(3)),
        memory_size: clamp_u32(req.memory_size.unwrap_or(128)),
        architectures: req
            .architectures
            .unwrap_or_else(|| vec!["x86_64".to_owned()]),
        ephemeral_storage_mb: clamp_u32(req.ephemeral_storage.and_then(|e| e.size).unwrap_or(512)),
        tracing_mode: req
            .tracing_config
            .and_then(|t| t.mode)
            .unwrap_or_else(|| "PassThrough".to_owned()),
        layers: Vec::new(),
        log_format: logging.log_format.unwrap_or_else(|| "Text".to_owned()),
        log_group: logging
            .log_group
            .unwrap_or_else(|| format!("/aws/lambda/{name}")),
        application_log_level: logging.application_log_level,
        system_log_level: logging.system_log_level,
        dead_letter_target: req.dead_letter_config.and_then(|d| d.target_arn),
        kms_key_arn: req.kms_key_arn,
        snap_start_apply_on: req
            .snap_start
            .and_then(|s| s.apply_on)
            .unwrap_or_else(|| "None".to_owned()),
        has_environment: req.environment.is_some(),
    };
    config.normalise_log_levels();
    Ok(NewFunction {
        config,
        layers: req.layers.unwrap_or_default(),
        environment: env.cloned().unwrap_or_default(),
        tags,
        zip,
        publish: req.publish.unwrap_or(false),
    })
}

/// Validates an UpdateFunctionConfiguration request and applies it to `current`, except
/// `Layers`, which the API resolves against the store.
pub fn update_configuration(
    current: &FunctionRecord,
    req: &UpdateFunctionConfigurationRequest,
    limits: &Limits,
) -> Result<(FunctionConfig, BTreeMap<String, String>), UserError> {
    let env = req
        .environment
        .as_ref()
        .map(|e| e.variables.clone().unwrap_or_default());
    let input = ConfigInput {
        runtime: req.runtime.as_deref(),
        role: req.role.as_deref(),
        handler: req.handler.as_deref(),
        description: req.description.as_deref(),
        timeout: req.timeout,
        memory_size: req.memory_size,
        ephemeral: req.ephemeral_storage.as_ref(),
        tracing_mode: req.tracing_config.as_ref().and_then(|t| t.mode.as_deref()),
        environment: env.as_ref(),
        layers: req.layers.as_deref(),
        kms_key_arn: req.kms_key_arn.as_deref(),
        logging: req.logging_config.as_ref(),
    };
    let mut c = Constraints::default();
    check_framework(&input, limits, &mut c);
    c.finish()?;
    check_service(&input, limits)?;

    let mut config = current.config.clone();
    if let Some(v) = &req.runtime {
        config.runtime.clone_from(v);
    }
    if let Some(v) = &req.role {
        config.role.clone_from(v);
    }
    if let Some(v) = &req.handler {
        config.handler.clone_from(v);
    }
    if let Some(v) = &req.description {
        config.description.clone_from(v);
    }
    if let Some(v) = req.timeout {
        config.timeout = clamp_u32(v);
    }
    if let Some(v) = req.memory_size {
        config.memory_size = clamp_u32(v);
    }
    if let Some(v) = req.ephemeral_storage.as_ref().and_then(|e| e.size) {
        config.ephemeral_storage_mb = clamp_u32(v);
    }
    if let Some(v) = req.tracing_config.as_ref().and_then(|t| t.mode.clone()) {
        config.tracing_mode = v;
    }
    if let Some(d) = &req.dead_letter_config {
        config.dead_letter_target = d.target_arn.clone().filter(|t| !t.is_empty());
    }
    if let Some(k) = &req.kms_key_arn {
        config.kms_key_arn = Some(k.clone()).filter(|k| !k.is_empty());
    }
    if let Some(s) = req.snap_start.as_ref().and_then(|s| s.apply_on.clone()) {
        config.snap_start_apply_on = s;
    }
    if let Some(l) = &req.logging_config {
        if let Some(f) = &l.log_format {
            // Naming the format sets the levels anew, as on AWS: those the request gives, INFO
            // for the others with JSON (switching to Text drops them; they cannot be given with
            // it). Levels cannot come without `LogFormat: JSON` (`check_service`), so a request
            // that leaves the format out keeps them.
            config.log_format.clone_from(f);
            config
                .application_log_level
                .clone_from(&l.application_log_level);
            config.system_log_level.clone_from(&l.system_log_level);
        }
        if let Some(g) = &l.log_group {
            config.log_group.clone_from(g);
        }
    }
    config.normalise_log_levels();
    let environment = match env {
        Some(env) => {
            config.has_environment = true;
            env
        }
        None => current.environment.clone(),
    };
    Ok((config, environment))
}

/// Checks the `Architectures` of an UpdateFunctionCode request.
pub fn code_architectures(archs: Option<&[String]>) -> Result<(), UserError> {
    let mut c = Constraints::default();
    check_architectures(archs, &mut c);
    c.finish()
}

fn clamp_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
