//! `lamina audit [--limit N]`: the newest state-changing API calls first, from
//! `GET /_lamina/admin/audit`.

use clap::Args;
use serde_json::Value;

use super::client::Connection;
use super::table::{Align, Table, terminal_width};
use super::{Output, OutputArg, since};

#[derive(Args)]
pub struct AuditArgs {
    /// How many entries (1 to 10000).
    #[arg(long, short = 'n', default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub connection: Connection,
}

/// A Lambda ARN without its `arn:aws:lambda:REGION:ACCOUNT:` prefix (`function:NAME[:Q]`,
/// `layer:NAME:N`): one server has one region and account.
fn short_resource(resource: &str) -> &str {
    if resource.starts_with("arn:")
        && let Some((i, _)) = resource.match_indices(':').nth(4)
    {
        return &resource[i + 1..];
    }
    resource
}

fn table(audit: &Value) -> Table {
    let mut t = Table::new(&[
        ("TIME", Align::Left),
        ("OPERATION", Align::Left),
        ("RESOURCE", Align::Left),
        ("STATUS", Align::Right),
        ("ERROR", Align::Left),
        ("CALLER", Align::Left),
    ]);
    let entries = audit["Entries"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for e in entries {
        let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
        let caller = e["Principal"]
            .as_str()
            .filter(|p| !p.is_empty())
            .or_else(|| e["AccessKeyId"].as_str())
            .unwrap_or("-")
            .to_owned();
        t.row(vec![
            since::short_time(&text("Time")),
            text("Operation"),
            short_resource(&text("Resource")).to_owned(),
            e["StatusCode"]
                .as_u64()
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            text("ErrorType"),
            caller,
        ]);
    }
    t
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let audit = client
        .get_json(&format!("/_lamina/admin/audit?limit={}", args.limit))
        .await?;
    match args.output.output {
        Output::Json => super::out_json(&audit),
        Output::Text => {
            let t = table(&audit);
            if t.is_empty() {
                eprintln!("no audit entries");
                return Ok(());
            }
            super::out(&t.render(terminal_width()))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resources_lose_the_arn_prefix() {
        assert_eq!(
            short_resource("arn:aws:lambda:us-east-1:000000000000:function:f:prod"),
            "function:f:prod"
        );
        assert_eq!(short_resource("/2015-03-31/nope"), "/2015-03-31/nope");
        assert_eq!(short_resource("arn:aws:x"), "arn:aws:x");
    }

    #[test]
    fn entries_become_rows() {
        let audit = json!({"Entries": [{
            "Time": "2026-01-01T10:11:12.5Z", "RequestId": "r", "AccessKeyId": "LKIA",
            "Principal": "arn:aws:iam::000000000000:root", "Operation": "CreateFunction",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:f",
            "StatusCode": 201, "ErrorType": null,
        }]});
        let text = table(&audit).render(None);
        assert!(
            text.contains("2026-01-01 10:11:12  CreateFunction"),
            "{text}"
        );
        assert!(text.contains("  201  "), "{text}");
        assert!(
            text.trim_end().ends_with("arn:aws:iam::000000000000:root"),
            "{text}"
        );
    }
}
