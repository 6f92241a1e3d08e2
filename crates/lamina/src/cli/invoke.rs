//! `lamina invoke NAME [--payload JSON|@file] [--qualifier Q] [--tail]`: a synchronous Invoke
//! whose response is printed (pretty when it is JSON). A function error is printed on stderr
//! and makes the command exit with status 1; `--tail` prints the end of the invocation's log
//! on stderr.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine;
use clap::Args;
use serde_json::Value;

use super::client::{Connection, sdk_error};
use super::json;

#[derive(Args)]
pub struct InvokeArgs {
    /// Function name, ARN, or `name:qualifier`.
    pub name: String,
    /// The event: JSON text, `@FILE` to read it from a file, or `@-` for stdin.
    #[arg(long, short = 'p', value_name = "JSON|@FILE")]
    pub payload: Option<String>,
    /// A version or alias.
    #[arg(long, short = 'q')]
    pub qualifier: Option<String>,
    /// Print the end of the invocation's log (the last 4 KB) on stderr.
    #[arg(long, short = 't')]
    pub tail: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// The payload bytes `--payload` names.
fn payload(arg: &str) -> anyhow::Result<Vec<u8>> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading the payload from stdin")?;
            Ok(buf)
        }
        Some(path) => std::fs::read(path).with_context(|| format!("reading the payload {path}")),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

pub async fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let body = args.payload.as_deref().map(payload).transpose()?;
    let client = args.connection.connect()?.lambda(false);
    let mut request = client
        .invoke()
        .function_name(&args.name)
        .set_qualifier(args.qualifier.clone());
    if let Some(body) = body {
        request = request.payload(Blob::new(body));
    }
    if args.tail {
        request = request.log_type(LogType::Tail);
    }
    let out = request.send().await.map_err(sdk_error)?;

    if let Some(log) = out.log_result() {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(log)
            .context("the log tail is not base64")?;
        eprint!("{}", String::from_utf8_lossy(&decoded));
        if !decoded.ends_with(b"\n") && !decoded.is_empty() {
            eprintln!();
        }
    }
    let bytes = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    if let Some(kind) = out.function_error() {
        eprintln!("{}", describe_error(kind, bytes));
        return Ok(ExitCode::FAILURE);
    }
    if !bytes.is_empty() {
        match json::pretty(bytes) {
            Some(text) => super::out(&text)?,
            None => super::out(&String::from_utf8_lossy(bytes))?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A function error (`X-Amz-Function-Error` and the error payload) as lines for a person.
fn describe_error(kind: &str, payload: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(payload).ok();
    let Some(obj) = parsed.as_ref().and_then(Value::as_object) else {
        return format!(
            "function error ({kind}): {}",
            String::from_utf8_lossy(payload)
        );
    };
    let error_type = obj.get("errorType").and_then(Value::as_str);
    let message = obj.get("errorMessage").and_then(Value::as_str);
    let mut text = format!("function error ({kind})");
    match (error_type, message) {
        (Some(t), Some(m)) => text.push_str(&format!(": {t}: {m}")),
        (Some(t), None) => text.push_str(&format!(": {t}")),
        (None, Some(m)) => text.push_str(&format!(": {m}")),
        (None, None) => text.push_str(&format!(": {}", String::from_utf8_lossy(payload))),
    }
    if let Some(trace) = obj.get("stackTrace").and_then(Value::as_array) {
        for frame in trace {
            let frame = match frame {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            for line in frame.lines() {
                text.push_str("\n  ");
                text.push_str(line.trim_end());
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_read_like_a_traceback() {
        let text = describe_error(
            "Unhandled",
            br#"{"errorMessage":"boom","errorType":"ValueError","stackTrace":["  File \"/var/task/app.py\", line 2, in h\n    raise ValueError('boom')\n"]}"#,
        );
        assert_eq!(
            text,
            "function error (Unhandled): ValueError: boom\n    File \"/var/task/app.py\", line 2, in h\n      raise ValueError('boom')"
        );
        assert_eq!(
            describe_error("Unhandled", b"oops"),
            "function error (Unhandled): oops"
        );
    }

    #[test]
    fn payload_from_text_or_file() {
        assert_eq!(payload("{\"a\":1}").unwrap(), b"{\"a\":1}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, "[1]").unwrap();
        assert_eq!(payload(&format!("@{}", path.display())).unwrap(), b"[1]");
        assert!(payload("@/nonexistent/event.json").is_err());
    }
}
