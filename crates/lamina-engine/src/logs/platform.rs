//! The platform's own records (INIT_START, START, END, REPORT and the rest): AWS's text lines
//! for `LogFormat: Text`, its JSON records for `JSON`, filtered by `SystemLogLevel`.

use lamina_types::model::FunctionConfig;
use serde::Serialize;
use time::OffsetDateTime;

/// Figures of one invocation for the REPORT line.
pub struct Report<'a> {
    pub request_id: &'a str,
    pub duration_ms: f64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u64,
    pub init_duration_ms: Option<f64>,
    /// `Status: timeout`, or `Status: error` with the error type.
    pub status: Option<(&'a str, Option<&'a str>)>,
}

impl Report<'_> {
    /// Billed duration: the duration rounded up to the millisecond.
    pub fn billed_ms(&self) -> u64 {
        self.duration_ms.max(0.0).ceil() as u64
    }

    pub fn line(&self) -> String {
        let mut s = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.request_id,
            self.duration_ms,
            self.billed_ms(),
            self.memory_size_mb,
            self.max_memory_used_mb
        );
        if let Some(init) = self.init_duration_ms {
            s.push_str(&format!("Init Duration: {init:.2} ms\t"));
        }
        if let Some((status, error_type)) = self.status {
            s.push_str(&format!("Status: {status}\t"));
            if let Some(t) = error_type {
                s.push_str(&format!("Error Type: {t}\t"));
            }
        }
        s
    }
}

/// A function's `LoggingConfig.LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// AWS's log levels, from the most detailed to the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    /// A level as `LoggingConfig` spells it (`TRACE` ... `FATAL`).
    pub fn parse(level: &str) -> Option<Self> {
        match level {
            "TRACE" => Some(Self::Trace),
            "DEBUG" => Some(Self::Debug),
            "INFO" => Some(Self::Info),
            "WARN" => Some(Self::Warn),
            "ERROR" => Some(Self::Error),
            "FATAL" => Some(Self::Fatal),
            _ => None,
        }
    }
}

/// How an environment writes its platform records: as AWS's text lines, or as JSON records
/// kept only at or above the function's `SystemLogLevel` (INFO unless set, as on AWS; the level
/// can only be set with the JSON format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformLog {
    format: LogFormat,
    level: LogLevel,
}

impl PlatformLog {
    pub const TEXT: Self = Self {
        format: LogFormat::Text,
        level: LogLevel::Trace,
    };

    pub fn json(level: LogLevel) -> Self {
        Self {
            format: LogFormat::Json,
            level,
        }
    }

    pub fn for_config(config: &FunctionConfig) -> Self {
        if config.log_format == "JSON" {
            Self::json(
                config
                    .system_log_level
                    .as_deref()
                    .and_then(LogLevel::parse)
                    .unwrap_or(LogLevel::Info),
            )
        } else {
            Self::TEXT
        }
    }

    /// The log line `record` becomes at `at`, or `None` when this format has no such line or
    /// the level filters it out.
    pub fn render(&self, record: &PlatformRecord<'_>, at: OffsetDateTime) -> Option<String> {
        match self.format {
            LogFormat::Text => record.text(at),
            LogFormat::Json if record.level() >= self.level => record.json(at),
            LogFormat::Json => None,
        }
    }
}

/// One thing the platform writes into an environment's log stream.
///
/// In the Text format these are AWS's plain lines (`INIT_START`, `START`, `END`, `REPORT`,
/// `INIT_REPORT` and the timeout and runtime-exit lines); in the JSON format they are the
/// records AWS writes to CloudWatch Logs, shaped like the Telemetry API events
/// (`{"time", "type": "platform.*", "record"}`), each at the level AWS's "system log level event
/// mapping" gives it. A record may exist in one format only: the timeout and exit lines have no
/// JSON record (`platform.runtimeDone` and `platform.report` carry the status and error type
/// instead), and `platform.initRuntimeDone` and an on-demand `platform.initReport` have no text
/// line.
pub enum PlatformRecord<'a> {
    InitStart {
        initialization_type: &'a str,
        runtime_version: &'a str,
        runtime_version_arn: &'a str,
        function_name: &'a str,
        function_version: &'a str,
        /// `YYYY/MM/DD/<function>[<version>]<32 hex>`, as AWS names the instance.
        instance_id: &'a str,
        instance_max_memory_bytes: u64,
    },
    /// The runtime finished init (its first `/next`), or failed to.
    InitRuntimeDone {
        initialization_type: &'a str,
        /// `None` on success.
        error_type: Option<&'a str>,
    },
    InitReport {
        initialization_type: &'a str,
        duration_ms: f64,
        /// `None` on success.
        error_type: Option<&'a str>,
    },
    Start {
        request_id: &'a str,
        version: &'a str,
    },
    /// The invocation ran past its timeout (text only).
    Timeout {
        request_id: &'a str,
        timeout_secs: f64,
    },
    /// The runtime could not be started or exited (text only): `RequestId: … Error: …`,
    /// followed by the error type on its own line when there is one.
    RuntimeError {
        message: &'a str,
        error_type: Option<&'a str>,
    },
    /// The invocation is over (`END`).
    RuntimeDone {
        request_id: &'a str,
        duration_ms: f64,
        /// As in [`Report::status`].
        status: Option<(&'a str, Option<&'a str>)>,
    },
    Report(&'a Report<'a>),
}

/// The `status` of a JSON record and its `errorType`, from a [`Report`]-style status.
fn status_of<'a>(status: Option<(&'a str, Option<&'a str>)>) -> (&'a str, Option<&'a str>) {
    status.unwrap_or(("success", None))
}

fn init_status(error_type: Option<&str>) -> &'static str {
    if error_type.is_some() {
        "error"
    } else {
        "success"
    }
}

/// Milliseconds as AWS writes them in JSON records (at most three decimals).
fn millis(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// `2024-05-20T16:29:45.008Z`: the `time` of a JSON record.
fn record_time(at: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000Z"))
}

#[derive(Serialize)]
struct Envelope<R> {
    time: String,
    #[serde(rename = "type")]
    kind: &'static str,
    record: R,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitStartRecord<'a> {
    initialization_type: &'a str,
    phase: &'static str,
    runtime_version: &'a str,
    runtime_version_arn: &'a str,
    function_name: &'a str,
    function_version: &'a str,
    instance_id: &'a str,
    instance_max_memory: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitRuntimeDoneRecord<'a> {
    initialization_type: &'a str,
    phase: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitReportRecord<'a> {
    initialization_type: &'a str,
    phase: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    metrics: DurationMetrics,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DurationMetrics {
    duration_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartRecord<'a> {
    request_id: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeDoneRecord<'a> {
    request_id: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
    metrics: DurationMetrics,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportRecord<'a> {
    request_id: &'a str,
    metrics: ReportMetrics,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_type: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportMetrics {
    duration_ms: f64,
    billed_duration_ms: u64,
    #[serde(rename = "memorySizeMB")]
    memory_size_mb: u32,
    #[serde(rename = "maxMemoryUsedMB")]
    max_memory_used_mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    init_duration_ms: Option<f64>,
}

fn envelope<R: Serialize>(at: OffsetDateTime, kind: &'static str, record: R) -> Option<String> {
    serde_json::to_string(&Envelope {
        time: record_time(at),
        kind,
        record,
    })
    .ok()
}

impl PlatformRecord<'_> {
    /// The level AWS's system log level event mapping gives the record.
    pub fn level(&self) -> LogLevel {
        match self {
            Self::InitStart {
                runtime_version, ..
            } => {
                if runtime_version.is_empty() {
                    LogLevel::Debug
                } else {
                    LogLevel::Info
                }
            }
            Self::InitRuntimeDone { error_type, .. } => {
                if error_type.is_some() {
                    LogLevel::Warn
                } else {
                    LogLevel::Debug
                }
            }
            Self::InitReport {
                initialization_type,
                error_type,
                ..
            } => {
                if error_type.is_some() {
                    LogLevel::Warn
                } else if *initialization_type == "on-demand" {
                    LogLevel::Debug
                } else {
                    LogLevel::Info
                }
            }
            Self::Start { .. } => LogLevel::Info,
            Self::Timeout { .. } | Self::RuntimeError { .. } => LogLevel::Warn,
            Self::RuntimeDone { status, .. } => {
                if status.is_some() {
                    LogLevel::Warn
                } else {
                    LogLevel::Debug
                }
            }
            Self::Report(r) => {
                if r.status.is_some() {
                    LogLevel::Warn
                } else {
                    LogLevel::Info
                }
            }
        }
    }

    /// AWS's text line, if the record has one.
    pub fn text(&self, at: OffsetDateTime) -> Option<String> {
        match self {
            Self::InitStart {
                runtime_version,
                runtime_version_arn,
                ..
            } => Some(format!(
                "INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_version_arn}"
            )),
            Self::InitRuntimeDone { .. } => None,
            Self::InitReport {
                initialization_type,
                duration_ms,
                error_type,
            } => match error_type {
                Some(t) => Some(format!(
                    "INIT_REPORT Init Duration: {duration_ms:.2} ms\tPhase: init\tStatus: error\tError Type: {t}"
                )),
                // An on-demand init is reported in the first REPORT line (Init Duration).
                None if *initialization_type == "on-demand" => None,
                None => Some(format!(
                    "INIT_REPORT Init Duration: {duration_ms:.2} ms\tPhase: init"
                )),
            },
            Self::Start {
                request_id,
                version,
            } => Some(format!("START RequestId: {request_id} Version: {version}")),
            Self::Timeout {
                request_id,
                timeout_secs,
            } => Some(format!(
                "{} {request_id} Task timed out after {timeout_secs:.2} seconds",
                at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            )),
            Self::RuntimeError {
                message,
                error_type,
            } => Some(match error_type {
                Some(t) => format!("{message}\n{t}"),
                None => (*message).to_owned(),
            }),
            Self::RuntimeDone { request_id, .. } => Some(format!("END RequestId: {request_id}")),
            Self::Report(r) => Some(r.line()),
        }
    }

    /// AWS's JSON record, if the record has one.
    pub fn json(&self, at: OffsetDateTime) -> Option<String> {
        match self {
            Self::InitStart {
                initialization_type,
                runtime_version,
                runtime_version_arn,
                function_name,
                function_version,
                instance_id,
                instance_max_memory_bytes,
            } => envelope(
                at,
                "platform.initStart",
                InitStartRecord {
                    initialization_type,
                    phase: "init",
                    runtime_version,
                    runtime_version_arn,
                    function_name,
                    function_version,
                    instance_id,
                    instance_max_memory: *instance_max_memory_bytes,
                },
            ),
            Self::InitRuntimeDone {
                initialization_type,
                error_type,
            } => envelope(
                at,
                "platform.initRuntimeDone",
                InitRuntimeDoneRecord {
                    initialization_type,
                    phase: "init",
                    status: init_status(*error_type),
                    error_type: *error_type,
                },
            ),
            Self::InitReport {
                initialization_type,
                duration_ms,
                error_type,
            } => envelope(
                at,
                "platform.initReport",
                InitReportRecord {
                    initialization_type,
                    phase: "init",
                    status: init_status(*error_type),
                    error_type: *error_type,
                    metrics: DurationMetrics {
                        duration_ms: millis(*duration_ms),
                    },
                },
            ),
            Self::Start {
                request_id,
                version,
            } => envelope(
                at,
                "platform.start",
                StartRecord {
                    request_id,
                    version,
                },
            ),
            Self::Timeout { .. } | Self::RuntimeError { .. } => None,
            Self::RuntimeDone {
                request_id,
                duration_ms,
                status,
            } => {
                let (status, error_type) = status_of(*status);
                envelope(
                    at,
                    "platform.runtimeDone",
                    RuntimeDoneRecord {
                        request_id,
                        status,
                        error_type,
                        metrics: DurationMetrics {
                            duration_ms: millis(*duration_ms),
                        },
                    },
                )
            }
            Self::Report(r) => {
                let (status, error_type) = status_of(r.status);
                envelope(
                    at,
                    "platform.report",
                    ReportRecord {
                        request_id: r.request_id,
                        metrics: ReportMetrics {
                            duration_ms: millis(r.duration_ms),
                            billed_duration_ms: r.billed_ms(),
                            memory_size_mb: r.memory_size_mb,
                            max_memory_used_mb: r.max_memory_used_mb,
                            init_duration_ms: r.init_duration_ms.map(millis),
                        },
                        status,
                        error_type,
                    },
                )
            }
        }
    }
}

/// AWS's instance id for an environment: its stream name with the function's name after the
/// date (`2025/01/07/[$LATEST]002c…` becomes `2025/01/07/my-fn[$LATEST]002c…`).
pub fn instance_id(stream: &str, function_name: &str) -> String {
    match stream.char_indices().nth(11) {
        Some((i, _)) if stream[..i].ends_with('/') => {
            format!("{}{function_name}{}", &stream[..i], &stream[i..])
        }
        _ => stream.to_owned(),
    }
}

#[cfg(test)]
mod tests {
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
            Some(
                "RequestId: id Error: Runtime exited with error: exit status 3\nRuntime.ExitError",
            ),
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
}
