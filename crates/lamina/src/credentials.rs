//! Root credentials: from the environment, or generated once and kept in the data dir (0600).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use rand::Rng;
use rand::distr::Alphanumeric;

/// Where the pair lives.
const FILE: &str = "credentials";

/// Returns the root key pair and whether it was generated just now (and must be shown).
pub fn load_or_generate(
    data_dir: &Path,
    from_env: Option<(String, String)>,
) -> anyhow::Result<((String, String), bool)> {
    if let Some(pair) = from_env {
        return Ok((pair, false));
    }
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut lines = text.lines();
            let (Some(key), Some(secret)) = (lines.next(), lines.next()) else {
                anyhow::bail!(
                    "{} is malformed: expected the key id and secret on two lines",
                    path.display()
                );
            };
            Ok(((key.trim().to_owned(), secret.trim().to_owned()), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut rng = rand::rng();
            let key: String = (0..16)
                .map(|_| rng.sample(Alphanumeric).to_ascii_uppercase() as char)
                .collect();
            let key = format!("LKIA{key}");
            let secret: String = (0..40).map(|_| rng.sample(Alphanumeric) as char).collect();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            writeln!(file, "{key}\n{secret}")
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(((key, secret), true))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generated_once_then_reused_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (first, fresh) = load_or_generate(dir.path(), None).unwrap();
        assert!(fresh);
        assert!(first.0.starts_with("LKIA") && first.0.len() == 20 && first.1.len() == 40);
        let (again, fresh) = load_or_generate(dir.path(), None).unwrap();
        assert!(!fresh);
        assert_eq!(first, again);
        let mode = std::fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
