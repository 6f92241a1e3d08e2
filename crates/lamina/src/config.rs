//! Server configuration: defaults, then an optional TOML file, then environment and flags.
//! This is the one module that reads the environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use lamina_types::Limits;
use serde::Deserialize;

#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Address to listen on (port 0 picks a free port; the real one is printed).
    #[arg(long, env = "LAMINA_LISTEN", default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Where Lamina keeps its database, code and keys [default: $XDG_DATA_HOME/lamina or ~/.local/share/lamina].
    #[arg(long, env = "LAMINA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The region in ARNs and the SigV4 scope.
    #[arg(long, env = "LAMINA_REGION", default_value = "us-east-1")]
    pub region: String,
    /// The account id in ARNs.
    #[arg(long, env = "LAMINA_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,
    /// A TOML file: `[limits]` overrides the AWS default quotas, `[[principals]]` adds
    /// identities (access_key_id, secret_access_key, arn) that may only Invoke, as far as the
    /// functions' resource-based policies allow.
    #[arg(long, env = "LAMINA_CONFIG")]
    pub config: Option<PathBuf>,
    /// How long an idle execution environment is kept warm (e.g. 10m, 30s, 500ms).
    #[arg(long, env = "LAMINA_KEEP_ALIVE", default_value = "10m", value_parser = parse_duration)]
    pub keep_alive: std::time::Duration,
    /// Memory all execution environments together may use, in MB [default: 80% of the host's].
    #[arg(long, env = "LAMINA_MEMORY_BUDGET_MB")]
    pub memory_budget_mb: Option<u64>,
    /// Execution environments built ahead of any invocation (namespaces, network, `/tmp`),
    /// each waiting for a function: a cold start that finds one skips building its sandbox.
    /// 0 turns them off.
    #[arg(long, env = "LAMINA_PRESTARTED_SANDBOXES", default_value_t = 2)]
    pub prestarted_sandboxes: usize,
    /// A file holding the 64-hex-character master key (default: `master.key` in the data dir,
    /// created on first start).
    #[arg(long, env = "LAMINA_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Require SigV4 for `GET /metrics` (as `[telemetry] metrics_auth = true`).
    #[arg(long, env = "LAMINA_METRICS_AUTH")]
    pub metrics_auth: bool,
}

/// The optional configuration file. Unknown keys are refused so typos fail at start-up.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub limits: Limits,
    /// Identities besides the root, each a `[[principals]]` table.
    #[serde(default)]
    pub principals: Vec<PrincipalConfig>,
    /// Asynchronous invocation: retry timing and the SQS-compatible endpoint.
    #[serde(default)]
    pub async_invoke: lamina_api::async_invoke::AsyncConfig,
    /// `/metrics` authentication and OTLP trace export.
    #[serde(default)]
    pub telemetry: lamina_api::observe::TelemetryConfig,
    /// Prices for usage (`GET /_lamina/admin/usage`).
    #[serde(default)]
    pub billing: lamina_api::observe::BillingConfig,
}

/// An identity other than the account's root: SigV4 accepts its key pair, and it may only
/// Invoke functions whose resource-based policy allows its ARN (or its account).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// An IAM or STS identity ARN, e.g. `arn:aws:iam::111122223333:user/alice`.
    pub arn: String,
}

impl std::fmt::Debug for PrincipalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalConfig")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("arn", &self.arn)
            .finish()
    }
}

impl PrincipalConfig {
    /// The account id in the ARN.
    pub fn account_id(&self) -> Option<&str> {
        lamina_types::policy::account_of_identity(&self.arn)
    }
}

/// Checks the `[[principals]]` entries: complete, well-formed ARNs, distinct key ids.
fn check_principals(principals: &[PrincipalConfig]) -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, p) in principals.iter().enumerate() {
        let n = i + 1;
        anyhow::ensure!(
            !p.access_key_id.is_empty() && !p.secret_access_key.is_empty(),
            "principal {n}: access_key_id and secret_access_key must not be empty"
        );
        anyhow::ensure!(
            p.account_id().is_some(),
            "principal {n}: arn must be an IAM or STS identity ARN like arn:aws:iam::111122223333:user/alice, got {:?}",
            p.arn
        );
        anyhow::ensure!(
            seen.insert(p.access_key_id.as_str()),
            "principal {n}: access key id {} is listed twice",
            p.access_key_id
        );
    }
    Ok(())
}

/// Everything the server needs, resolved and validated once at start-up.
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    pub limits: Limits,
    pub master_key_file: PathBuf,
    pub keep_alive: std::time::Duration,
    pub memory_budget_mb: u64,
    pub prestarted_sandboxes: usize,
    /// Root credentials from the environment, if both variables are set.
    pub env_credentials: Option<(String, String)>,
    /// Identities besides the root (`[[principals]]`).
    pub principals: Vec<PrincipalConfig>,
    pub async_invoke: lamina_api::async_invoke::AsyncConfig,
    pub telemetry: lamina_api::observe::TelemetryConfig,
    pub billing: lamina_api::observe::BillingConfig,
}

impl ServerConfig {
    pub fn resolve(args: ServerArgs) -> anyhow::Result<Self> {
        let data_dir = match args.data_dir {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        check_principals(&file.principals).with_context(|| {
            format!(
                "in [[principals]] of {}",
                args.config.as_deref().unwrap_or(Path::new("")).display()
            )
        })?;
        if let Some(path) = &args.config
            && !file.principals.is_empty()
        {
            warn_if_readable_by_others(path);
        }
        let limits = file.limits;
        let mut telemetry = file.telemetry;
        telemetry.metrics_auth |= args.metrics_auth;
        if let Some(endpoint) = &telemetry.otlp_endpoint {
            lamina_api::telemetry::Endpoint::parse(endpoint)
                .map_err(|e| anyhow::anyhow!("[telemetry] otlp_endpoint: {e}"))?;
        }
        file.billing.validate().map_err(anyhow::Error::msg)?;
        anyhow::ensure!(
            args.account_id.len() == 12 && args.account_id.bytes().all(|b| b.is_ascii_digit()),
            "--account-id must be 12 digits, got {:?}",
            args.account_id
        );
        let region_ok = !args.region.is_empty()
            && args
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        anyhow::ensure!(
            region_ok,
            "--region must look like us-east-1, got {:?}",
            args.region
        );
        let env_credentials = match (
            std::env::var("LAMINA_ROOT_ACCESS_KEY_ID").ok(),
            std::env::var("LAMINA_ROOT_SECRET_ACCESS_KEY").ok(),
        ) {
            (Some(k), Some(s)) if !k.is_empty() && !s.is_empty() => Some((k, s)),
            (None, None) => None,
            _ => anyhow::bail!(
                "set both LAMINA_ROOT_ACCESS_KEY_ID and LAMINA_ROOT_SECRET_ACCESS_KEY, or neither"
            ),
        };
        Ok(Self {
            listen: args.listen,
            master_key_file: args
                .master_key_file
                .unwrap_or_else(|| data_dir.join("master.key")),
            data_dir,
            region: args.region,
            account_id: args.account_id,
            limits,
            keep_alive: args.keep_alive,
            memory_budget_mb: args
                .memory_budget_mb
                .unwrap_or_else(default_memory_budget_mb),
            prestarted_sandboxes: args.prestarted_sandboxes,
            env_credentials,
            principals: file.principals,
            async_invoke: file.async_invoke,
            telemetry,
            billing: file.billing,
        })
    }
}

/// The config file holds secrets once it lists principals: say so if others can read it.
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the config file lists principals with secret keys but is readable by other users: chmod 600 it"
        );
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("lamina"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("neither XDG_DATA_HOME nor HOME is set: pass --data-dir")?;
    Ok(PathBuf::from(home).join(".local/share/lamina"))
}

/// `10m`, `30s`, `500ms`, `1h`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} needs a unit: ms, s, m or h"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration"))?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m or h)")),
    };
    Ok(std::time::Duration::from_millis(ms))
}

/// 80% of the host's memory (from /proc/meminfo), or 4 GB when it cannot be read.
fn default_memory_budget_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(4096, |kb| kb / 1024 * 4 / 5)
}

fn load_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_overrides_limits_and_rejects_typos() {
        let c: FileConfig = toml::from_str("[limits]\nmemory_max_mb = 10240\n").unwrap();
        assert_eq!(c.limits.memory_max_mb, 10240);
        assert_eq!(c.limits.timeout_max_secs, 900);
        assert!(toml::from_str::<FileConfig>("[limits]\nmemory_max = 1\n").is_err());
    }

    #[test]
    fn principals_are_read_and_checked() {
        let c: FileConfig = toml::from_str(
            "[[principals]]\naccess_key_id = \"AKIAALICE\"\nsecret_access_key = \"s3cret\"\narn = \"arn:aws:iam::111122223333:user/alice\"\n",
        )
        .unwrap();
        assert_eq!(c.principals.len(), 1);
        assert_eq!(c.principals[0].account_id(), Some("111122223333"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(check_principals(&c.principals).is_ok());
        let twice = [c.principals[0].clone(), c.principals[0].clone()];
        assert!(check_principals(&twice).is_err());
        let mut bad = c.principals[0].clone();
        bad.arn = "alice".into();
        assert!(check_principals(&[bad]).is_err());
        assert!(
            toml::from_str::<FileConfig>(
                "[[principals]]\naccess_key_id = \"a\"\nsecret = \"b\"\narn = \"c\"\n"
            )
            .is_err()
        );
    }

    #[test]
    fn async_retry_timing_is_configurable() {
        let c: FileConfig = toml::from_str(
            "[async_invoke]\nsqs_endpoint = \"http://127.0.0.1:9324\"\n[async_invoke.retry]\nretry_delay_ms = 100\n",
        )
        .unwrap();
        assert_eq!(c.async_invoke.retry.retry_delay_ms, 100);
        assert_eq!(c.async_invoke.retry.throttle_backoff_min_ms, 1000);
        assert!(toml::from_str::<FileConfig>("[async_invoke]\nretry_delay = 1\n").is_err());
    }

    #[test]
    fn telemetry_and_billing_are_configurable() {
        let c: FileConfig = toml::from_str(
            "[telemetry]\nmetrics_auth = true\notlp_endpoint = \"http://127.0.0.1:4318\"\n[billing]\nprice_per_gb_second_usd = 0.00001\n",
        )
        .unwrap();
        assert!(c.telemetry.metrics_auth);
        assert_eq!(
            c.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(c.billing.price_per_gb_second_usd, 0.00001);
        assert_eq!(c.billing.price_per_million_requests_usd, 0.20);
        let d = FileConfig::default();
        assert!(!d.telemetry.metrics_auth);
        assert_eq!(d.billing.price_per_gb_second_usd, 0.000_016_666_7);
        assert!(toml::from_str::<FileConfig>("[telemetry]\notlp = \"x\"\n").is_err());
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10y").is_err());
    }
}
