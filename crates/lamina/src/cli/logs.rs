//! `lamina logs NAME [--follow] [--since 10m] [--filter PATTERN]`: a function's log events
//! through CloudWatch Logs FilterLogEvents on its log group (`/aws/lambda/NAME`, or the
//! function's `LoggingConfig.LogGroup`). `--follow` polls every second like
//! `aws logs tail --follow`, starting each poll a little before the newest event seen and
//! skipping event ids already printed.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use clap::Args;
use serde_json::json;

use super::client::{Client, Connection, sdk_error};
use super::progress::Progress;
use super::{Output, OutputArg, since};

/// How often `--follow` polls.
const POLL: Duration = Duration::from_secs(1);
/// How far before the newest event seen a poll starts, so that an event written late (by
/// another environment, with an earlier timestamp) is still found; ids make it print once.
const OVERLAP_MS: i64 = 5_000;

#[derive(Args)]
pub struct LogsArgs {
    /// Function name (or ARN), or a log group name starting with `/`.
    pub name: String,
    /// Keep printing new events as they arrive (Ctrl-C to stop).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How far back to start: 30s, 10m, 2h, 7d, a date (2025-01-31) or an RFC 3339 time.
    #[arg(long, short = 's', default_value = "10m")]
    pub since: String,
    /// A CloudWatch Logs filter pattern: terms, "quoted phrases", or { $.level = "ERROR" }.
    #[arg(long)]
    pub filter: Option<String>,
    /// `text` prints `TIME STREAM MESSAGE`; `json` one JSON object per event and line.
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub connection: Connection,
}

/// The log group of `name`: given as is when it starts with `/`, else the function's own.
async fn log_group(client: &Client, name: &str) -> String {
    if name.starts_with('/') {
        return name.to_owned();
    }
    let lambda = client.lambda(true);
    match lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(c) => {
            if let Some(group) = c.logging_config().and_then(|l| l.log_group()) {
                return group.to_owned();
            }
            format!("/aws/lambda/{}", c.function_name().unwrap_or(name))
        }
        // A deleted function's logs stay; a name is enough to find them.
        Err(_) => format!("/aws/lambda/{}", plain_name(name)),
    }
}

/// `NAME` out of `NAME`, `NAME:QUALIFIER` or a function ARN.
fn plain_name(name: &str) -> &str {
    if let Some(rest) = name.strip_prefix("arn:") {
        // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        return rest.split(':').nth(5).unwrap_or(name);
    }
    name.split(':').next().unwrap_or(name)
}

/// What one fetch found.
enum Fetched {
    Events(Vec<FilteredLogEvent>),
    /// The log group does not exist (yet).
    NoGroup,
}

/// Every page of events from `start_ms` on.
async fn fetch(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start_ms: i64,
    filter: Option<&str>,
    progress: Option<&Progress>,
) -> anyhow::Result<Fetched> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_filter_pattern(filter.map(str::to_owned))
            .set_next_token(token.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Fetched::NoGroup);
            }
            Err(e) => return Err(sdk_error(e)),
        };
        if let Some(p) = progress {
            p.add(page.events().len() as u64);
        }
        events.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(Fetched::Events(events)),
        }
    }
}

/// The part of a Lambda stream name (`2025/01/31/[$LATEST]<32 hex>`) that tells environments
/// apart: the first 8 hex digits.
fn short_stream(stream: &str) -> &str {
    match stream.rsplit_once(']') {
        Some((_, id)) if !id.is_empty() => id.get(..8).unwrap_or(id),
        _ => stream,
    }
}

fn render(event: &FilteredLogEvent, output: Output) -> String {
    let message = event.message().unwrap_or_default();
    let message = message.strip_suffix('\n').unwrap_or(message);
    let message = message.strip_suffix('\r').unwrap_or(message);
    match output {
        Output::Json => json!({
            "timestamp": event.timestamp(),
            "logStreamName": event.log_stream_name(),
            "message": message,
            "eventId": event.event_id(),
            "ingestionTime": event.ingestion_time(),
        })
        .to_string(),
        // Lambda's runtimes write a multi-line record (a traceback) as one event with `\r`
        // between its lines: show them as lines.
        Output::Text => format!(
            "{} {} {}",
            since::timestamp(event.timestamp().unwrap_or_default()),
            short_stream(event.log_stream_name().unwrap_or_default()),
            message.replace("\r\n", "\n").replace('\r', "\n    "),
        ),
    }
}

pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let start = since::millis(since::parse(&args.since, time::OffsetDateTime::now_utc())?);
    let group = log_group(&client, &args.name).await;
    let logs = client.logs();
    let output = args.output.output;
    let filter = args.filter.as_deref();

    if !args.follow {
        let progress = Progress::start("fetching log events", None);
        let fetched = fetch(&logs, &group, start, filter, Some(&progress)).await;
        progress.done();
        match fetched? {
            Fetched::NoGroup => eprintln!("no log group {group} (the function has not run yet?)"),
            Fetched::Events(events) => {
                let mut text = String::new();
                for e in &events {
                    text.push_str(&render(e, output));
                    text.push('\n');
                }
                if !text.is_empty() {
                    super::out(&text)?;
                }
            }
        }
        return Ok(());
    }

    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut from = start;
    let mut warned = false;
    loop {
        match fetch(&logs, &group, from, filter, None).await? {
            Fetched::NoGroup if !warned => {
                warned = true;
                eprintln!("waiting for log group {group} ...");
            }
            Fetched::NoGroup => {}
            Fetched::Events(events) => {
                let mut newest = from;
                for e in &events {
                    let ts = e.timestamp().unwrap_or_default();
                    newest = newest.max(ts);
                    let Some(id) = e.event_id() else { continue };
                    if seen.insert(id.to_owned(), ts).is_none() {
                        super::out(&render(e, output))?;
                    }
                }
                from = from.max(newest - OVERLAP_MS);
                seen.retain(|_, ts| *ts >= from);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_streams() {
        assert_eq!(plain_name("f"), "f");
        assert_eq!(plain_name("f:prod"), "f");
        assert_eq!(
            plain_name("arn:aws:lambda:us-east-1:000000000000:function:f:1"),
            "f"
        );
        assert_eq!(
            short_stream("2025/01/31/[$LATEST]0123456789abcdef0123456789abcdef"),
            "01234567"
        );
        assert_eq!(short_stream("custom"), "custom");
    }

    #[test]
    fn events_render_as_text_and_json() {
        let e = FilteredLogEvent::builder()
            .timestamp(1_767_225_601_234)
            .log_stream_name("2026/01/01/[$LATEST]abcdef0123456789abcdef0123456789")
            .message("hello\n")
            .event_id("42")
            .build();
        assert_eq!(
            render(&e, Output::Text),
            "2026-01-01T00:00:01.234Z abcdef01 hello"
        );
        let v: serde_json::Value = serde_json::from_str(&render(&e, Output::Json)).unwrap();
        let traceback = FilteredLogEvent::builder()
            .timestamp(0)
            .log_stream_name("s")
            .message("[ERROR] boom\rTraceback:\r  File x\n")
            .build();
        assert_eq!(
            render(&traceback, Output::Text),
            "1970-01-01T00:00:00.000Z s [ERROR] boom\n    Traceback:\n      File x"
        );
        assert_eq!(v["message"], "hello");
        assert_eq!(v["eventId"], "42");
    }
}
