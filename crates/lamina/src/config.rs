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
}
