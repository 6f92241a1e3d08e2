//! `lamina functions`: every function as a table (name, runtime, memory, timeout, last
//! modified, state) fitted to the terminal, or JSON with `--output json`.
//!
//! ListFunctions leaves the state out (as AWS does), so each function's state comes from
//! GetFunctionConfiguration, a few at a time, with a progress bar when there are many.

use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus};
use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

use super::client::{Connection, sdk_error};
use super::progress::Progress;
use super::table::{Align, Table, terminal_width};
use super::{Output, OutputArg, since};

/// GetFunctionConfiguration calls in flight at once.
const PARALLEL: usize = 8;

#[derive(Args)]
pub struct FunctionsArgs {
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub connection: Connection,
}

/// A function as listed, with its state when it could be read.
struct Row {
    config: FunctionConfiguration,
    /// From GetFunctionConfiguration (None: the function went away meanwhile).
    full: Option<FunctionConfiguration>,
}

impl Row {
    fn state(&self) -> Option<&str> {
        self.full
            .as_ref()
            .and_then(|f| f.state())
            .map(|s| s.as_str())
    }

    fn last_update(&self) -> Option<&LastUpdateStatus> {
        self.full.as_ref().and_then(|f| f.last_update_status())
    }

    /// The state as a person reads it: `Active`, `Active (updating)`, ...
    fn state_text(&self) -> String {
        let Some(state) = self.state() else {
            return "-".to_owned();
        };
        match self.last_update() {
            Some(LastUpdateStatus::InProgress) => format!("{state} (updating)"),
            Some(LastUpdateStatus::Failed) => format!("{state} (update failed)"),
            _ => state.to_owned(),
        }
    }

    fn json(&self) -> Value {
        let c = &self.config;
        json!({
            "FunctionName": c.function_name(),
            "FunctionArn": c.function_arn(),
            "Runtime": c.runtime().map(|r| r.as_str()),
            "Handler": c.handler(),
            "PackageType": c.package_type().map(|p| p.as_str()),
            "MemorySize": c.memory_size(),
            "Timeout": c.timeout(),
            "CodeSize": c.code_size(),
            "Description": c.description(),
            "LastModified": c.last_modified(),
            "Version": c.version(),
            "State": self.state(),
            "LastUpdateStatus": self.last_update().map(|s| s.as_str()),
        })
    }
}

pub async fn run(args: FunctionsArgs) -> anyhow::Result<()> {
    let lambda = args.connection.connect()?.lambda(true);

    let mut configs = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = lambda
            .list_functions()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(sdk_error)?;
        configs.extend(page.functions().iter().cloned());
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
            _ => break,
        }
    }

    let progress = Progress::start("reading functions", Some(configs.len() as u64));
    let rows: Vec<Row> = futures::stream::iter(configs)
        .map(|config| {
            let lambda = lambda.clone();
            let progress = &progress;
            async move {
                let full = match config.function_name() {
                    Some(name) => lambda
                        .get_function_configuration()
                        .function_name(name)
                        .send()
                        .await
                        .ok()
                        .map(|o| {
                            FunctionConfiguration::builder()
                                .set_state(o.state().cloned())
                                .set_last_update_status(o.last_update_status().cloned())
                                .build()
                        }),
                    None => None,
                };
                progress.add(1);
                Row { config, full }
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    progress.done();

    match args.output.output {
        Output::Json => {
            super::out_json(&json!({ "Functions": rows.iter().map(Row::json).collect::<Vec<_>>() }))
        }
        Output::Text => {
            if rows.is_empty() {
                eprintln!("no functions");
                return Ok(());
            }
            super::out(&table(&rows).render(terminal_width()))?;
            Ok(())
        }
    }
}

fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(&[
        ("NAME", Align::Left),
        ("RUNTIME", Align::Left),
        ("MEMORY", Align::Right),
        ("TIMEOUT", Align::Right),
        ("LAST MODIFIED", Align::Left),
        ("STATE", Align::Left),
    ]);
    for r in rows {
        let c = &r.config;
        let runtime = match (c.runtime(), c.package_type()) {
            (Some(rt), _) => rt.as_str().to_owned(),
            (None, Some(p)) => p.as_str().to_lowercase(),
            (None, None) => "-".to_owned(),
        };
        t.row(vec![
            c.function_name().unwrap_or("-").to_owned(),
            runtime,
            c.memory_size()
                .map_or_else(|| "-".to_owned(), |m| format!("{m} MB")),
            c.timeout()
                .map_or_else(|| "-".to_owned(), |s| format!("{s} s")),
            c.last_modified()
                .map_or_else(|| "-".to_owned(), since::short_time),
            r.state_text(),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::types::{Runtime, State};

    use super::*;

    #[test]
    fn rows_show_state_and_update() {
        let row = Row {
            config: FunctionConfiguration::builder()
                .function_name("hello")
                .runtime(Runtime::Python312)
                .memory_size(128)
                .timeout(3)
                .last_modified("2026-01-01T10:11:12.000+0000")
                .build(),
            full: Some(
                FunctionConfiguration::builder()
                    .state(State::Active)
                    .last_update_status(LastUpdateStatus::InProgress)
                    .build(),
            ),
        };
        let text = table(std::slice::from_ref(&row)).render(None);
        assert!(text.starts_with("NAME "), "{text}");
        assert!(
            text.contains(
                "hello  python3.12  128 MB      3 s  2026-01-01 10:11:12  Active (updating)"
            ),
            "{text}"
        );
        assert_eq!(row.json()["State"], "Active");
        assert_eq!(row.json()["Runtime"], "python3.12");
    }
}
