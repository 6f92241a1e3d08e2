//! Unit tests of request validation: AWS's defaults, constraints and messages.

use super::*;

fn request() -> CreateFunctionRequest {
    serde_json::from_value(serde_json::json!({
        "FunctionName": "f",
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/lambda",
        "Handler": "app.handler",
        "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
    }))
    .unwrap()
}

fn create_err(f: impl FnOnce(&mut CreateFunctionRequest)) -> UserError {
    let mut r = request();
    f(&mut r);
    create(r, "f", &Limits::default()).unwrap_err()
}

#[test]
fn minimal_request_gets_aws_defaults() {
    let f = create(request(), "f", &Limits::default()).unwrap();
    assert_eq!(f.config.timeout, 3);
    assert_eq!(f.config.memory_size, 128);
    assert_eq!(f.config.architectures, vec!["x86_64"]);
    assert_eq!(f.config.ephemeral_storage_mb, 512);
    assert_eq!(f.config.log_group, "/aws/lambda/f");
    assert!(!f.config.has_environment);
}

#[test]
fn framework_errors_are_reported_together() {
    let e = create_err(|r| {
        r.timeout = Some(901);
        r.memory_size = Some(10241);
    });
    assert_eq!(
        e.to_string(),
        "2 validation errors detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900; Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 3008"
    );
    let e = create_err(|r| r.role = Some("r1".into()));
    assert_eq!(
        e.to_string(),
        r"1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
    );
    let e = create_err(|r| r.architectures = Some(vec!["x86_64".into(), "arm64".into()]));
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"
    );
}

#[test]
fn environment_is_measured_as_compact_json() {
    // {"KK":"<v>"} is 9 bytes of framing.
    let ok = BTreeMap::from([("KK".to_owned(), "x".repeat(4096 - 9))]);
    let mut r = request();
    r.environment = Some(crate::model::Environment {
        variables: Some(ok),
    });
    assert!(create(r, "f", &Limits::default()).is_ok());
    let e = create_err(|r| {
        r.environment = Some(crate::model::Environment {
            variables: Some(BTreeMap::from([("KK".to_owned(), "x".repeat(4088))])),
        })
    });
    assert!(e.to_string().starts_with("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"KK\":\"xxx"));
    let e = create_err(|r| {
        r.environment = Some(crate::model::Environment {
            variables: Some(BTreeMap::from([("AWS_REGION".to_owned(), "x".into())])),
        })
    });
    assert!(
        e.to_string()
            .ends_with("Reserved keys used in this request: AWS_REGION")
    );
}

#[test]
fn runtime_rules() {
    assert!(
        create_err(|r| r.runtime = Some("python3.7".into()))
            .to_string()
            .starts_with("The runtime parameter of python3.7 is no longer supported")
    );
    assert!(matches!(
        create_err(|r| r.runtime = Some("cobol".into())),
        UserError::InvalidParameterValue(_)
    ));
    assert_eq!(
        create_err(|r| r.memory_size = Some(200)),
        UserError::InvalidParameterValue(
            "'MemorySize' value failed to satisfy constraint: Member must be a multiple of 64"
                .into()
        )
    );
}

#[test]
fn code_sources_other_than_zip_are_refused_clearly() {
    let e = create_err(|r| {
        r.code = Some(crate::model::FunctionCode {
            s3_bucket: Some("b".into()),
            s3_key: Some("k".into()),
            ..Default::default()
        })
    });
    assert!(
        e.to_string()
            .starts_with("S3Bucket/S3Key code sources need")
    );
    assert_eq!(
        create_err(|r| r.code.as_mut().unwrap().zip_file = Some("!!".into())),
        unzip_error()
    );
}

#[test]
fn too_many_tags_and_layers() {
    let tags: BTreeMap<_, _> = (0..51).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    assert_eq!(
        create_err(|r| r.tags = Some(tags)).to_string(),
        "Number of tags exceeds resource tag limit."
    );
    let layers = (0..6)
        .map(|i| format!("arn:aws:lambda:us-east-1:000000000000:layer:l{i}:1"))
        .collect();
    assert_eq!(
        create_err(|r| r.layers = Some(layers)).to_string(),
        "Cannot reference more than 5 layers."
    );
}

fn logging(v: serde_json::Value) -> Option<LoggingConfig> {
    Some(serde_json::from_value(v).unwrap())
}

fn levels(c: &FunctionConfig) -> (Option<&str>, Option<&str>) {
    (
        c.application_log_level.as_deref(),
        c.system_log_level.as_deref(),
    )
}

/// Applies an UpdateFunctionConfiguration `LoggingConfig` to `config`.
fn update_logging(
    config: &FunctionConfig,
    v: serde_json::Value,
) -> Result<FunctionConfig, UserError> {
    let current = FunctionRecord {
        name: "f".into(),
        config: config.clone(),
        environment: BTreeMap::new(),
        code_sha256_hex: String::new(),
        code_size: 0,
        revision_id: String::new(),
        last_modified: String::new(),
        state: crate::model::State::Active,
        last_update_status: crate::model::UpdateStatus::Successful,
        tags: BTreeMap::new(),
    };
    let req = UpdateFunctionConfigurationRequest {
        logging_config: logging(v),
        ..Default::default()
    };
    update_configuration(&current, &req, &Limits::default()).map(|(c, _)| c)
}

#[test]
fn json_log_format_gets_info_levels_unless_chosen() {
    let text = create(request(), "f", &Limits::default()).unwrap().config;
    assert_eq!(text.log_format, "Text");
    assert_eq!(levels(&text), (None, None));

    let mut r = request();
    r.logging_config = logging(serde_json::json!({"LogFormat": "JSON"}));
    let json = create(r, "f", &Limits::default()).unwrap().config;
    assert_eq!(levels(&json), (Some("INFO"), Some("INFO")));

    let mut r = request();
    r.logging_config = logging(serde_json::json!({"LogFormat": "JSON", "SystemLogLevel": "WARN"}));
    let c = create(r, "f", &Limits::default()).unwrap().config;
    assert_eq!(levels(&c), (Some("INFO"), Some("WARN")));
    assert_eq!(
        serde_json::to_value(c.logging_config()).unwrap(),
        serde_json::json!({
            "LogFormat": "JSON",
            "ApplicationLogLevel": "INFO",
            "SystemLogLevel": "WARN",
            "LogGroup": "/aws/lambda/f",
        })
    );
}

#[test]
fn the_system_log_level_is_one_of_three() {
    let err = create_err(|r| {
        r.logging_config =
            logging(serde_json::json!({"LogFormat": "JSON", "SystemLogLevel": "ERROR"}));
    });
    assert_eq!(
        err.to_string(),
        "1 validation error detected: Value 'ERROR' at 'loggingConfig.systemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, WARN]"
    );
    let mut r = request();
    r.logging_config =
        logging(serde_json::json!({"LogFormat": "JSON", "ApplicationLogLevel": "FATAL"}));
    assert!(create(r, "f", &Limits::default()).is_ok());
}

#[test]
fn log_levels_need_the_json_format() {
    let refused = UserError::InvalidParameterValue(
        "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"JSON\" and try again.".into(),
    );
    for v in [
        serde_json::json!({"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"}),
        serde_json::json!({"SystemLogLevel": "WARN"}),
    ] {
        assert_eq!(
            create_err(|r| r.logging_config = logging(v.clone())),
            refused
        );
        let text = create(request(), "f", &Limits::default()).unwrap().config;
        assert_eq!(update_logging(&text, v).unwrap_err(), refused);
    }
}

#[test]
fn updating_the_log_format_sets_the_levels_anew() {
    let text = create(request(), "f", &Limits::default()).unwrap().config;
    // Text -> JSON: INFO unless given.
    let json = update_logging(&text, serde_json::json!({"LogFormat": "JSON"})).unwrap();
    assert_eq!(levels(&json), (Some("INFO"), Some("INFO")));
    let debug = update_logging(
        &text,
        serde_json::json!({"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}),
    )
    .unwrap();
    assert_eq!(levels(&debug), (Some("DEBUG"), Some("INFO")));
    // A request without the format keeps them (and the format).
    let group = update_logging(&debug, serde_json::json!({"LogGroup": "/custom/g"})).unwrap();
    assert_eq!(group.log_format, "JSON");
    assert_eq!(group.log_group, "/custom/g");
    assert_eq!(levels(&group), (Some("DEBUG"), Some("INFO")));
    // Naming JSON again resets what the request leaves out.
    let again = update_logging(
        &debug,
        serde_json::json!({"LogFormat": "JSON", "SystemLogLevel": "WARN"}),
    )
    .unwrap();
    assert_eq!(levels(&again), (Some("INFO"), Some("WARN")));
    // JSON -> Text drops them.
    let back = update_logging(&debug, serde_json::json!({"LogFormat": "Text"})).unwrap();
    assert_eq!(back.log_format, "Text");
    assert_eq!(levels(&back), (None, None));
    assert_eq!(
        serde_json::to_value(back.logging_config()).unwrap(),
        serde_json::json!({"LogFormat": "Text", "LogGroup": "/aws/lambda/f"})
    );
}

#[test]
fn a_json_configuration_stored_without_levels_shows_info() {
    let mut c = create(request(), "f", &Limits::default()).unwrap().config;
    c.log_format = "JSON".into();
    let shown = c.logging_config();
    assert_eq!(shown.application_log_level.as_deref(), Some("INFO"));
    assert_eq!(shown.system_log_level.as_deref(), Some("INFO"));
}
