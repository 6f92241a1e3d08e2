//! Unit tests of the platform records: AWS's text lines and JSON records, levels.

use super::*;

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_716_222_585_008_123_456).unwrap()
}

fn report(status: Option<(&'static str, Option<&'static str>)>) -> Report<'static> {
    Report {
        request_id: "4b142fc3",
        duration_ms: 11.6421,
        memory_size_mb: 128,
        max_memory_used_mb: 67,
        init_duration_ms: Some(174.0553),
        status,
    }
}

fn init_start() -> PlatformRecord<'static> {
    PlatformRecord::InitStart {
        initialization_type: "on-demand",
        runtime_version: "python:3.12.lamina",
        runtime_version_arn: "arn:aws:lambda:us-east-1::runtime:abc",
        function_name: "f",
        function_version: "$LATEST",
        instance_id: "2024/05/20/f[$LATEST]0123",
        instance_max_memory_bytes: 134_217_728,
    }
}

#[test]
fn platform_records_keep_aws_text_lines() {
    let text = PlatformLog::TEXT;
    let r = report(Some(("timeout", None)));
    let lines: Vec<Option<String>> = [
        init_start(),
        PlatformRecord::InitRuntimeDone {
            initialization_type: "on-demand",
            error_type: None,
        },
        PlatformRecord::InitReport {
            initialization_type: "on-demand",
            duration_ms: 12.345,
            error_type: None,
        },
        PlatformRecord::InitReport {
            initialization_type: "provisioned-concurrency",
            duration_ms: 12.345,
            error_type: None,
        },
        PlatformRecord::InitReport {
            initialization_type: "on-demand",
            duration_ms: 12.345,
            error_type: Some("Runtime.ExitError"),
        },
        PlatformRecord::Start {
            request_id: "id",
            version: "$LATEST",
        },
        PlatformRecord::Timeout {
            request_id: "id",
            timeout_secs: 1.0,
        },
        PlatformRecord::RuntimeError {
            message: "RequestId: id Error: Runtime exited with error: exit status 3",
            error_type: Some("Runtime.ExitError"),
        },
        PlatformRecord::RuntimeDone {
            request_id: "id",
            duration_ms: 1.0,
            status: None,
        },
        PlatformRecord::Report(&r),
    ]
    .iter()
    .map(|rec| text.render(rec, at()))
    .collect();
    let expected = [
        Some(
            "INIT_START Runtime Version: python:3.12.lamina\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:abc",
        ),
        None,
        None,
        Some("INIT_REPORT Init Duration: 12.35 ms\tPhase: init"),
        Some(
            "INIT_REPORT Init Duration: 12.35 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError",
        ),
        Some("START RequestId: id Version: $LATEST"),
        Some("2024-05-20T16:29:45.008123456Z id Task timed out after 1.00 seconds"),
        Some("RequestId: id Error: Runtime exited with error: exit status 3\nRuntime.ExitError"),
        Some("END RequestId: id"),
        Some(
            "REPORT RequestId: 4b142fc3\tDuration: 11.64 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 67 MB\tInit Duration: 174.06 ms\tStatus: timeout\t",
        ),
    ];
    assert_eq!(lines, expected.map(|l| l.map(str::to_owned)));
}

#[test]
fn platform_records_render_as_aws_json_records() {
    let debug = PlatformLog::json(LogLevel::Debug);
    let ok = report(None);
    assert_eq!(
        debug.render(&init_start(), at()).unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"python:3.12.lamina","runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:abc","functionName":"f","functionVersion":"$LATEST","instanceId":"2024/05/20/f[$LATEST]0123","instanceMaxMemory":134217728}}"#
    );
    assert_eq!(
        debug
            .render(
                &PlatformRecord::Start {
                    request_id: "4b142fc3",
                    version: "$LATEST"
                },
                at()
            )
            .unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.start","record":{"requestId":"4b142fc3","version":"$LATEST"}}"#
    );
    assert_eq!(
        debug
            .render(
                &PlatformRecord::RuntimeDone {
                    request_id: "4b142fc3",
                    duration_ms: 11.6421,
                    status: None
                },
                at()
            )
            .unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.runtimeDone","record":{"requestId":"4b142fc3","status":"success","metrics":{"durationMs":11.642}}}"#
    );
    assert_eq!(
        debug.render(&PlatformRecord::Report(&ok), at()).unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.report","record":{"requestId":"4b142fc3","metrics":{"durationMs":11.642,"billedDurationMs":12,"memorySizeMB":128,"maxMemoryUsedMB":67,"initDurationMs":174.055},"status":"success"}}"#
    );
    let crashed = Report {
        init_duration_ms: None,
        ..report(Some(("error", Some("Runtime.ExitError"))))
    };
    assert_eq!(
        debug
            .render(&PlatformRecord::Report(&crashed), at())
            .unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.report","record":{"requestId":"4b142fc3","metrics":{"durationMs":11.642,"billedDurationMs":12,"memorySizeMB":128,"maxMemoryUsedMB":67},"status":"error","errorType":"Runtime.ExitError"}}"#
    );
    assert_eq!(
        debug
            .render(
                &PlatformRecord::InitReport {
                    initialization_type: "on-demand",
                    duration_ms: 173.7781,
                    error_type: None
                },
                at()
            )
            .unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"init","status":"success","metrics":{"durationMs":173.778}}}"#
    );
    assert_eq!(
        debug
            .render(
                &PlatformRecord::InitRuntimeDone {
                    initialization_type: "on-demand",
                    error_type: Some("Runtime.ExitError")
                },
                at()
            )
            .unwrap(),
        r#"{"time":"2024-05-20T16:29:45.008Z","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","phase":"init","status":"error","errorType":"Runtime.ExitError"}}"#
    );
    // The timeout and exit lines are text only: the JSON records carry their status.
    let timeout = PlatformRecord::Timeout {
        request_id: "id",
        timeout_secs: 1.0,
    };
    assert_eq!(debug.render(&timeout, at()), None);
    let exited = PlatformRecord::RuntimeError {
        message: "RequestId: id Error: Runtime exited without providing a reason",
        error_type: Some("Runtime.ExitError"),
    };
    assert_eq!(debug.render(&exited, at()), None);
}

#[test]
fn the_system_log_level_filters_json_records_as_aws_maps_them() {
    let ok = report(None);
    let timed_out = report(Some(("timeout", None)));
    let start = PlatformRecord::Start {
        request_id: "id",
        version: "$LATEST",
    };
    let done = |status| PlatformRecord::RuntimeDone {
        request_id: "id",
        duration_ms: 1.0,
        status,
    };
    let kept = |log: PlatformLog, rec: &PlatformRecord<'_>| log.render(rec, at()).is_some();

    let info = PlatformLog::json(LogLevel::Info);
    assert!(kept(info, &init_start()));
    assert!(kept(info, &start));
    assert!(kept(info, &PlatformRecord::Report(&ok)));
    assert!(!kept(info, &done(None)), "runtimeDone success is DEBUG");
    assert!(kept(info, &done(Some(("timeout", None)))));
    let on_demand = PlatformRecord::InitReport {
        initialization_type: "on-demand",
        duration_ms: 1.0,
        error_type: None,
    };
    let provisioned = PlatformRecord::InitReport {
        initialization_type: "provisioned-concurrency",
        duration_ms: 1.0,
        error_type: None,
    };
    assert!(!kept(info, &on_demand));
    assert!(kept(info, &provisioned));
    assert!(kept(PlatformLog::json(LogLevel::Debug), &on_demand));

    let warn = PlatformLog::json(LogLevel::Warn);
    assert!(!kept(warn, &init_start()));
    assert!(!kept(warn, &start));
    assert!(!kept(warn, &PlatformRecord::Report(&ok)));
    assert!(!kept(warn, &provisioned));
    assert!(kept(warn, &PlatformRecord::Report(&timed_out)));
    assert!(kept(
        warn,
        &done(Some(("error", Some("Runtime.ExitError"))))
    ));
    assert!(kept(
        warn,
        &PlatformRecord::InitReport {
            initialization_type: "on-demand",
            duration_ms: 1.0,
            error_type: Some("Runtime.ExitError"),
        }
    ));
    // Text has no levels: everything that has a line is written.
    assert!(kept(PlatformLog::TEXT, &start));
}

#[test]
fn the_platform_log_follows_the_logging_config() {
    let mut config = lamina_types::model::FunctionConfig {
        runtime: "python3.12".into(),
        handler: "app.handler".into(),
        role: String::new(),
        description: String::new(),
        timeout: 3,
        memory_size: 128,
        architectures: vec![],
        ephemeral_storage_mb: 512,
        tracing_mode: "PassThrough".into(),
        layers: vec![],
        log_format: "Text".into(),
        log_group: "/aws/lambda/f".into(),
        application_log_level: None,
        system_log_level: None,
        dead_letter_target: None,
        kms_key_arn: None,
        snap_start_apply_on: "None".into(),
        has_environment: false,
    };
    assert_eq!(PlatformLog::for_config(&config), PlatformLog::TEXT);
    config.log_format = "JSON".into();
    assert_eq!(
        PlatformLog::for_config(&config),
        PlatformLog::json(LogLevel::Info)
    );
    config.system_log_level = Some("WARN".into());
    assert_eq!(
        PlatformLog::for_config(&config),
        PlatformLog::json(LogLevel::Warn)
    );
}

#[test]
fn instance_ids_name_the_function_in_the_stream_name() {
    assert_eq!(
        instance_id("2025/01/07/[$LATEST]002cf782", "worker10"),
        "2025/01/07/worker10[$LATEST]002cf782"
    );
    assert_eq!(instance_id("odd", "f"), "odd");
}

#[test]
fn report_line_matches_aws_format() {
    let r = Report {
        request_id: "id",
        duration_ms: 26.731,
        memory_size_mb: 128,
        max_memory_used_mb: 40,
        init_duration_ms: Some(166.624),
        status: None,
    };
    assert_eq!(
        r.line(),
        "REPORT RequestId: id\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 166.62 ms\t"
    );
    let t = Report {
        status: Some(("error", Some("Runtime.ExitError"))),
        init_duration_ms: None,
        ..r
    };
    assert!(
        t.line()
            .ends_with("Status: error\tError Type: Runtime.ExitError\t")
    );
}
