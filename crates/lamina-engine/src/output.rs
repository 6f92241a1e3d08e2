//! Captures an environment's stdout and stderr line by line into its log stream and the
//! current invocation's tail. `Output::drain` is a barrier: everything the runtime wrote before the
//! call is in the log when it returns.
//!
//! With `LogFormat: JSON`, a function whose runtime does not filter its own logs by
//! `ApplicationLogLevel` (a custom runtime) has its output filtered here, as AWS's "Log-level
//! filtering" describes: a line that is a JSON object with a `"level"` key has that level, any
//! other line (no or an invalid level, or not JSON) is INFO, and lines below the function's
//! level are dropped.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use lamina_types::model::FunctionConfig;
use lamina_types::runtime::{Family, family};
use tokio::net::unix::pipe;
use tokio::sync::watch;

use crate::logs::{LogLevel, LogStream, Tail, now_ms};

/// Where captured lines go.
pub struct Sink {
    pub log: Arc<LogStream>,
    /// The tail of the invocation in flight, if any.
    pub tail: Mutex<Option<Tail>>,
    /// The level below which the platform drops the environment's output lines (see
    /// [`application_filter`]); `None` keeps every line.
    pub application_level: Option<LogLevel>,
}

impl Sink {
    /// Writes a line to the log stream and the tail.
    pub fn line(&self, line: &str) {
        self.log.append(now_ms(), line);
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = tail.as_mut() {
            t.push(line);
        }
    }

    /// A line the environment's processes wrote: written unless the application log level
    /// filters it out.
    fn output(&self, line: &str) {
        if self
            .application_level
            .is_none_or(|min| application_line_level(line) >= min)
        {
            self.line(line);
        }
    }
}

/// The level at which the platform filters an environment's output: the function's
/// `ApplicationLogLevel` (INFO unless set) with the JSON format, for runtimes that do not filter
/// their own logs. Our Python, Node.js and Java shims filter by `AWS_LAMBDA_LOG_LEVEL` themselves
/// (their records spell levels their own way, e.g. Python's `WARNING`), so their output is kept
/// as written; the Text format is never filtered.
pub fn application_filter(config: &FunctionConfig) -> Option<LogLevel> {
    if config.log_format != "JSON" {
        return None;
    }
    match family(&config.runtime) {
        Family::Python | Family::Node | Family::Java => None,
        Family::DotNet | Family::Ruby | Family::Custom => Some(
            config
                .application_log_level
                .as_deref()
                .and_then(LogLevel::parse)
                .unwrap_or(LogLevel::Info),
        ),
    }
}

/// The level AWS gives a line of application output when it filters it: the `"level"` of a
/// JSON object (in any case: `"debug"` is DEBUG); INFO when the level is missing or invalid, or
/// the line is not a JSON object.
pub fn application_line_level(line: &str) -> LogLevel {
    if !line.trim_start().starts_with('{') {
        return LogLevel::Info;
    }
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .as_ref()
        .and_then(|v| v.get("level"))
        .and_then(serde_json::Value::as_str)
        .and_then(|l| LogLevel::parse(&l.to_ascii_uppercase()))
        .unwrap_or(LogLevel::Info)
}

/// The readers of one environment's output pipes.
pub struct Output {
    readers: Vec<Arc<Reader>>,
    /// Becomes `true` when every pipe reached end of file: the environment's processes are gone.
    pub closed: watch::Receiver<bool>,
    sink: Arc<Sink>,
}

impl Output {
    pub fn start(pipes: Vec<OwnedFd>, sink: Arc<Sink>) -> std::io::Result<Self> {
        let (closed_tx, closed) = watch::channel(false);
        let closed_tx = Arc::new(closed_tx);
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(pipes.len()));
        let mut readers = Vec::new();
        for fd in pipes {
            let reader = Arc::new(Reader {
                rx: pipe::Receiver::from_owned_fd(fd)?,
                state: Mutex::default(),
            });
            readers.push(Arc::clone(&reader));
            let sink = Arc::clone(&sink);
            let open = Arc::clone(&open);
            let closed_tx = Arc::clone(&closed_tx);
            tokio::spawn(async move {
                while reader.rx.readable().await.is_ok() && !reader.read(&sink) {}
                reader.finish(&sink);
                if open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                    let _ = closed_tx.send(true);
                }
            });
        }
        Ok(Self {
            readers,
            closed,
            sink,
        })
    }

    /// Logs everything already written to the pipes: when it returns, every line the runtime
    /// wrote before the call is in the log. Reads the pipes here, without waiting for the
    /// reader tasks.
    pub fn drain(&self) {
        for r in &self.readers {
            r.read(&self.sink);
        }
    }
}

/// One pipe, read by its task as data arrives and by [`Output::drain`] on demand.
struct Reader {
    rx: pipe::Receiver,
    state: Mutex<ReadState>,
}

#[derive(Default)]
struct ReadState {
    /// The start of a line whose end has not arrived yet.
    pending: Vec<u8>,
    eof: bool,
}

impl Reader {
    /// Logs the complete lines the pipe holds now; returns true at end of file.
    fn read(&self, sink: &Sink) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.eof {
            return true;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.rx.try_read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let pending = &mut state.pending;
                    pending.extend_from_slice(&chunk[..n]);
                    let mut start = 0;
                    while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
                        sink.output(&String::from_utf8_lossy(&pending[start..start + pos]));
                        start += pos + 1;
                    }
                    pending.drain(..start);
                    // Bound a line without a newline so a runtime cannot grow memory forever.
                    if pending.len() > 256 * 1024 {
                        sink.output(&String::from_utf8_lossy(pending));
                        pending.clear();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        state.eof = true;
        true
    }

    /// Logs a last line without a newline, once the pipe is closed.
    fn finish(&self, sink: &Sink) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.eof = true;
        if !state.pending.is_empty() {
            sink.output(&String::from_utf8_lossy(&state.pending));
            state.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_its_json_level_else_info() {
        for (line, level) in [
            (
                r#"{"level": "debug", "msg": "my debug log", "timestamp": "2024-11-02T16:51:31.587199Z"}"#,
                LogLevel::Debug,
            ),
            (r#"{"level":"TRACE"}"#, LogLevel::Trace),
            (r#"  {"msg":"x","level":"Warn"} "#, LogLevel::Warn),
            (
                r#"{"level":"error","nested":{"level":"debug"}}"#,
                LogLevel::Error,
            ),
            (r#"{"level":"FATAL"}"#, LogLevel::Fatal),
            // Missing or invalid levels, and lines that are not JSON objects, are INFO.
            (r#"{"msg":"no level"}"#, LogLevel::Info),
            (r#"{"log_level":"ERROR"}"#, LogLevel::Info),
            (r#"{"level":"WARNING"}"#, LogLevel::Info),
            (r#"{"level":50}"#, LogLevel::Info),
            (r#"{"level":"error""#, LogLevel::Info),
            (r#"["level","error"]"#, LogLevel::Info),
            ("ERROR something failed", LogLevel::Info),
            ("", LogLevel::Info),
        ] {
            assert_eq!(application_line_level(line), level, "{line}");
        }
    }

    fn config(runtime: &str, format: &str, level: Option<&str>) -> FunctionConfig {
        FunctionConfig {
            runtime: runtime.into(),
            handler: "h".into(),
            role: "r".into(),
            description: String::new(),
            timeout: 3,
            memory_size: 128,
            architectures: vec!["x86_64".into()],
            ephemeral_storage_mb: 512,
            tracing_mode: "PassThrough".into(),
            layers: Vec::new(),
            log_format: format.into(),
            log_group: "/aws/lambda/f".into(),
            application_log_level: level.map(str::to_owned),
            system_log_level: None,
            dead_letter_target: None,
            kms_key_arn: None,
            snap_start_apply_on: "None".into(),
            has_environment: false,
        }
    }

    #[test]
    fn only_json_custom_runtimes_are_filtered_by_the_platform() {
        let custom = |format, level| application_filter(&config("provided.al2023", format, level));
        assert_eq!(custom("Text", None), None);
        assert_eq!(custom("JSON", None), Some(LogLevel::Info));
        assert_eq!(custom("JSON", Some("WARN")), Some(LogLevel::Warn));
        assert_eq!(
            application_filter(&config("go1.x", "JSON", Some("DEBUG"))),
            Some(LogLevel::Debug)
        );
        for shim in ["python3.12", "nodejs20.x", "java21"] {
            assert_eq!(
                application_filter(&config(shim, "JSON", Some("WARN"))),
                None
            );
        }
    }

    #[test]
    fn the_sink_drops_output_below_the_level_but_never_platform_lines() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink {
            log: Arc::new(LogStream::create(dir.path(), "/g", "s").unwrap()),
            tail: Mutex::new(Some(Tail::default())),
            application_level: Some(LogLevel::Warn),
        };
        sink.line(r#"{"type":"platform.start","record":{}}"#);
        for l in [
            r#"{"level":"DEBUG","msg":"d"}"#,
            r#"{"level":"INFO","msg":"i"}"#,
            r#"{"level":"WARN","msg":"w"}"#,
            r#"{"level":"ERROR","msg":"e"}"#,
            "plain",
        ] {
            sink.output(l);
        }
        let expected = [
            r#"{"type":"platform.start","record":{}}"#,
            r#"{"level":"WARN","msg":"w"}"#,
            r#"{"level":"ERROR","msg":"e"}"#,
        ];
        let stored = std::fs::read_to_string(crate::logs::stream_path(dir.path(), "/g", "s"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<crate::logs::StoredEvent>(l)
                    .unwrap()
                    .message
            })
            .collect::<Vec<_>>();
        assert_eq!(stored, expected);
        let tail = sink.tail.lock().unwrap().take().unwrap().encode();
        let tail =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, tail).unwrap();
        assert_eq!(String::from_utf8(tail).unwrap(), expected.join("\n") + "\n");

        let unfiltered = Sink {
            log: Arc::new(LogStream::create(dir.path(), "/g", "t").unwrap()),
            tail: Mutex::new(None),
            application_level: None,
        };
        unfiltered.output(r#"{"level":"DEBUG"}"#);
        let stored =
            std::fs::read_to_string(crate::logs::stream_path(dir.path(), "/g", "t")).unwrap();
        assert_eq!(stored.lines().count(), 1);
    }
}
