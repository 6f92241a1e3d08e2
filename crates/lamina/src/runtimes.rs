//! The runtime shims embedded at build time, written out once per content into the data dir
//! (`runtimes/<digest>/`), which every execution environment mounts at `/var/runtime`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/runtimes.rs"));
}

/// Writes the shims under `data_dir/runtimes/<digest>` (if not there yet) and returns that dir.
pub fn install(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let mut h = Sha256::new();
    for (path, bytes) in embedded::FILES {
        h.update(path.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    let digest = hex::encode(h.finalize());
    let base = data_dir.join("runtimes");
    let dir = base.join(&digest[..16]);
    if dir.exists() {
        return Ok(dir);
    }
    let tmp = base.join(format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for (path, bytes) in embedded::FILES {
        let target = tmp.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
    }
    std::fs::create_dir_all(&tmp)?;
    precompile_python(&tmp.join("python"));
    // Readable by the unprivileged function user through the bind mount.
    set_modes(&tmp)?;
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => Ok(dir),
        Err(_) if dir.exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dir)
        }
        Err(e) => Err(e).with_context(|| format!("installing runtimes into {}", dir.display())),
    }
}

/// Byte-compiles the Python shim's modules with the interpreter the sandboxes use, since
/// `/var/runtime` is read-only there and every cold start would compile them again.
fn precompile_python(dir: &Path) {
    let python = Path::new("/usr/bin/python3");
    if !python.exists() || !dir.exists() {
        return;
    }
    let compiled = std::process::Command::new(python)
        .args(["-m", "compileall", "-q"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status();
    if !compiled.is_ok_and(|s| s.success()) {
        tracing::warn!(dir = %dir.display(), "could not precompile the Python runtime shim");
    }
}

fn set_modes(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            set_modes(&path)?;
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}
