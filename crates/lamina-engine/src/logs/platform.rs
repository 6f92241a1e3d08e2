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
#[path = "platform_tests.rs"]
mod tests;
