//! The terminal commands: `lamina invoke`, `logs`, `functions`, `usage`, `audit` and `top`.
//!
//! They talk to a running server over HTTP with the same SigV4 credentials the AWS CLI uses
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, `AWS_REGION`), through
//! the AWS SDKs for the Lambda and CloudWatch Logs APIs and presigned GETs for Lamina's own
//! operator endpoints ([`client`]). One file per command; [`table`], [`progress`] and
//! [`json`] are the shared output helpers.

mod audit;
mod client;
mod functions;
mod invoke;
mod json;
mod logs;
mod progress;
mod prom;
mod since;
mod table;
mod top;
mod usage;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

/// The terminal subcommands (wired into `lamina`'s own `Command`).
#[derive(Subcommand)]
pub enum CliCommand {
    /// Invoke a function and print its response.
    Invoke(invoke::InvokeArgs),
    /// Print a function's logs (CloudWatch Logs FilterLogEvents on /aws/lambda/NAME).
    Logs(logs::LogsArgs),
    /// List functions as a table.
    Functions(functions::FunctionsArgs),
    /// Requests, GB-seconds and cost per function, version and day.
    Usage(usage::UsageArgs),
    /// Recent state-changing API calls, newest first.
    Audit(audit::AuditArgs),
    /// Live per-function invocations, errors, concurrency and latency.
    Top(top::TopArgs),
}

/// How listing commands print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    #[default]
    Text,
    /// JSON, for scripts.
    Json,
}

/// `--output`, shared by the listing commands.
#[derive(Args, Clone, Copy, Debug)]
pub struct OutputArg {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Runs a terminal command on a small single-threaded runtime.
pub fn run(command: CliCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async move {
        match command {
            CliCommand::Invoke(a) => invoke::run(a).await,
            CliCommand::Logs(a) => logs::run(a).await.map(|()| ExitCode::SUCCESS),
            CliCommand::Functions(a) => functions::run(a).await.map(|()| ExitCode::SUCCESS),
            CliCommand::Usage(a) => usage::run(a).await.map(|()| ExitCode::SUCCESS),
            CliCommand::Audit(a) => audit::run(a).await.map(|()| ExitCode::SUCCESS),
            CliCommand::Top(a) => top::run(a).await.map(|()| ExitCode::SUCCESS),
        }
    });
    // `lamina logs | head` closes the pipe early: that is not an error.
    match result {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

/// Writes `text` (and a newline) to stdout, reporting a closed pipe as an error instead of
/// panicking like `println!`.
pub fn out(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()
}

/// Prints a JSON value, pretty.
pub fn out_json(value: &serde_json::Value) -> anyhow::Result<()> {
    out(&serde_json::to_string_pretty(value)?)?;
    Ok(())
}
