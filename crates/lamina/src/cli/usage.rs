//! `lamina usage [--since 7d|YYYY-MM-DD]`: requests, GB-seconds and cost per function,
//! version, memory size and UTC day, and their totals, from `GET /_lamina/admin/usage`.

use clap::Args;
use serde_json::Value;

use super::client::Connection;
use super::table::{Align, Table, terminal_width};
use super::{Output, OutputArg, since};

#[derive(Args)]
pub struct UsageArgs {
    /// First day included: a date (2025-01-31) or a duration back from now (7d, 24h)
    /// [default: everything].
    #[arg(long, short = 's')]
    pub since: Option<String>,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub connection: Connection,
}

/// A dollar amount with two significant digits when it is under a cent.
pub fn usd(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "$0".to_owned();
    }
    if x >= 0.01 {
        return format!("${x:.2}");
    }
    let decimals = ((-x.log10()).ceil() as usize + 1).min(12);
    format!("${x:.decimals$}")
}

fn gb_seconds(x: f64) -> String {
    if x == 0.0 {
        "0".to_owned()
    } else if x < 0.001 {
        format!("{x:.6}")
    } else {
        format!("{x:.3}")
    }
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "-".to_owned(),
    }
}

fn table(usage: &Value) -> Table {
    let mut t = Table::new(&[
        ("DATE", Align::Left),
        ("FUNCTION", Align::Left),
        ("VERSION", Align::Left),
        ("MEMORY", Align::Right),
        ("REQUESTS", Align::Right),
        ("GB-SECONDS", Align::Right),
        ("COST", Align::Right),
    ]);
    let rows = usage["Usage"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for r in rows {
        t.row(vec![
            r["Date"].as_str().unwrap_or("-").to_owned(),
            r["FunctionName"].as_str().unwrap_or("-").to_owned(),
            r["Version"].as_str().unwrap_or("-").to_owned(),
            format!("{} MB", num(&r["MemorySize"])),
            num(&r["Requests"]),
            gb_seconds(r["GBSeconds"].as_f64().unwrap_or(0.0)),
            usd(r["CostUSD"].as_f64().unwrap_or(0.0)),
        ]);
    }
    let total = &usage["Total"];
    t.row(vec![
        "TOTAL".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        num(&total["Requests"]),
        gb_seconds(total["GBSeconds"].as_f64().unwrap_or(0.0)),
        usd(total["CostUSD"].as_f64().unwrap_or(0.0)),
    ]);
    t
}

pub async fn run(args: UsageArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let path = match &args.since {
        Some(s) => format!(
            "/_lamina/admin/usage?since={}",
            since::day(since::parse(s, time::OffsetDateTime::now_utc())?)
        ),
        None => "/_lamina/admin/usage".to_owned(),
    };
    let usage = client.get_json(&path).await?;
    match args.output.output {
        Output::Json => super::out_json(&usage),
        Output::Text => {
            if usage["Usage"].as_array().is_none_or(Vec::is_empty) {
                eprintln!("no usage recorded");
                return Ok(());
            }
            let mut text = table(&usage).render(terminal_width());
            if let Some(p) = usage.get("Prices") {
                text.push_str(&format!(
                    "\nprices: {} per million requests, {} per GB-second\n",
                    usd(p["PerMillionRequestsUSD"].as_f64().unwrap_or(0.0)),
                    p["PerGBSecondUSD"]
                        .as_f64()
                        .map_or_else(|| "-".to_owned(), |x| format!("${x}")),
                ));
            }
            super::out(&text)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dollars() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(12.345), "$12.35");
        assert_eq!(usd(0.000_000_408), "$0.00000041");
        assert_eq!(usd(0.004), "$0.0040");
    }

    #[test]
    fn rows_and_totals() {
        let usage = json!({
            "Usage": [{"Date": "2026-01-01", "FunctionName": "f", "Version": "$LATEST",
                       "MemorySize": 128, "Requests": 3, "BilledDurationMs": 300,
                       "GBSeconds": 0.0375, "CostUSD": 0.000_001_225}],
            "Total": {"Requests": 3, "GBSeconds": 0.0375, "CostUSD": 0.000_001_225},
        });
        let text = table(&usage).render(None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].starts_with("2026-01-01  f"), "{text}");
        assert!(
            lines[1].ends_with("128 MB         3       0.037  $0.0000012"),
            "{text}"
        );
        assert!(lines[2].starts_with("TOTAL"), "{text}");
    }
}
