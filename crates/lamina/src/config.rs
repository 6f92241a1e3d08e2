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
    /// A TOML file with a `[limits]` section overriding the AWS default quotas.
    #[arg(long, env = "LAMINA_CONFIG")]
    pub config: Option<PathBuf>,
    /// How long an idle execution environment is kept warm (e.g. 10m, 30s, 500ms).
    #[arg(long, env = "LAMINA_KEEP_ALIVE", default_value = "10m", value_parser = parse_duration)]
    pub keep_alive: std::time::Duration,
    /// Memory all execution environments together may use, in MB [default: 80% of the host's].
    #[arg(long, env = "LAMINA_MEMORY_BUDGET_MB")]
    pub memory_budget_mb: Option<u64>,
    /// A file holding the 64-hex-character master key (default: `master.key` in the data dir,
    /// created on first start).
    #[arg(long, env = "LAMINA_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// The optional configuration file. Unknown keys are refused so typos fail at start-up.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub limits: Limits,
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
    /// Root credentials from the environment, if both variables are set.
    pub env_credentials: Option<(String, String)>,
}

impl ServerConfig {
    pub fn resolve(args: ServerArgs) -> anyhow::Result<Self> {
        let data_dir = match args.data_dir {
            Some(d) => d,
            None => default_data_dir()?,
        };
        let limits = match &args.config {
            Some(path) => load_file(path)?.limits,
            None => Limits::default(),
        };
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
            env_credentials,
        })
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
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10y").is_err());
    }
}
