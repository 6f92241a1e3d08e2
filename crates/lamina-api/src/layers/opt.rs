//! The `/opt` of an execution environment: a function's layers extracted in order into one
//! directory, later layers replacing what earlier ones put at the same path, as on AWS.
//!
//! A merged directory is cached in the code cache as `layers-<digest>/`, where the digest
//! hashes the ordered list of the layers' CodeSha256, so functions with the same layers share
//! it and a new list never reuses an old directory. It is built once in a temporary directory
//! and renamed into place. Beside it, `layers-<digest>.list` names the blobs it was built
//! from, so it is removed when one of them is collected.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use lamina_blobs::zipsafe;
use lamina_types::model::LayerRef;
use sha2::{Digest, Sha256};

use crate::state::AppState;

const PREFIX: &str = "layers-";
const LIST_SUFFIX: &str = ".list";

/// The merged directory of `layers` in the code cache; `None` without layers.
pub fn merged_dir(code_cache: &Path, layers: &[LayerRef]) -> Option<PathBuf> {
    if layers.is_empty() {
        return None;
    }
    let mut h = Sha256::new();
    for l in layers {
        h.update(l.code_sha256_hex.as_bytes());
        h.update(b"\n");
    }
    Some(code_cache.join(format!("{PREFIX}{}", hex::encode(h.finalize()))))
}

fn list_file(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(LIST_SUFFIX);
    dir.with_file_name(name)
}

/// Builds the merged directory of `layers` unless it exists.
pub async fn ensure_merged(state: &AppState, layers: &[LayerRef]) -> anyhow::Result<()> {
    let Some(dest) = merged_dir(&state.code_cache, layers) else {
        return Ok(());
    };
    // Checked on every invoke: a stat of a cached directory entry is cheaper than a trip
    // through the blocking pool.
    if dest.is_dir() {
        return Ok(());
    }
    let mut zips = Vec::with_capacity(layers.len());
    for l in layers {
        zips.push(state.blobs.get(&l.code_sha256_hex).await?);
    }
    let shas: Vec<String> = layers.iter().map(|l| l.code_sha256_hex.clone()).collect();
    let tmp = state
        .code_cache
        .join(format!(".tmp-{}", uuid::Uuid::new_v4()));
    let limit = state.config.limits.code_unzipped_max_bytes;
    tokio::task::spawn_blocking(move || {
        let built = build(&tmp, &dest, &zips, &shas, limit);
        if tmp.exists() {
            let _ = fs::remove_dir_all(&tmp);
        }
        built
    })
    .await??;
    Ok(())
}

fn build(
    tmp: &Path,
    dest: &Path,
    zips: &[bytes::Bytes],
    shas: &[String],
    limit: u64,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(tmp)?;
    let merged = tmp.join("opt");
    fs::create_dir(&merged)?;
    fs::set_permissions(&merged, fs::Permissions::from_mode(0o755))?;
    for (i, zip) in zips.iter().enumerate() {
        let part = tmp.join(format!("layer-{i}"));
        fs::create_dir(&part)?;
        zipsafe::extract(zip, &part, limit)?;
        merge_into(&part, &merged)?;
    }
    // The list first: a merged directory never exists without it.
    fs::write(list_file(dest), shas.join("\n"))?;
    match fs::rename(&merged, dest) {
        Ok(()) => Ok(()),
        // Another invocation built the same directory first: theirs is as good as ours.
        Err(_) if dest.exists() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Moves every entry of `src` into `dst`, replacing what is there; directories present in
/// both are merged. Nothing is ever written through a symlink: an entry of `dst` is only
/// descended into when it is a real directory (`symlink_metadata`), otherwise it is replaced.
fn merge_into(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let from_dir = entry.file_type()?.is_dir();
        match fs::symlink_metadata(&to) {
            Ok(existing) if existing.is_dir() && from_dir => {
                merge_into(&from, &to)?;
                continue;
            }
            Ok(existing) if existing.is_dir() => fs::remove_dir_all(&to)?,
            Ok(_) => fs::remove_file(&to)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        fs::rename(&from, &to)?;
    }
    Ok(())
}

/// Removes the merged directories built from the blob `sha256_hex` (which was just
/// collected: no function uses them any more).
pub async fn forget_blob(code_cache: &Path, sha256_hex: &str) {
    let code_cache = code_cache.to_owned();
    let sha = sha256_hex.to_owned();
    let removed = tokio::task::spawn_blocking(move || -> io::Result<()> {
        for entry in fs::read_dir(&code_cache)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let Some(dir_name) = name
                .strip_prefix(PREFIX)
                .and_then(|n| n.strip_suffix(LIST_SUFFIX))
            else {
                continue;
            };
            let listed = fs::read_to_string(&path).unwrap_or_default();
            if listed.lines().any(|l| l == sha) {
                let dir = code_cache.join(format!("{PREFIX}{dir_name}"));
                if dir.exists() {
                    fs::remove_dir_all(&dir)?;
                }
                fs::remove_file(&path)?;
            }
        }
        Ok(())
    })
    .await;
    match removed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(blob = %sha256_hex, error = %e, "failed to remove merged layers")
        }
        Err(e) => tracing::warn!(blob = %sha256_hex, error = %e, "failed to remove merged layers"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn later_layers_replace_files_directories_and_symlinks() {
        let root = std::env::temp_dir().join(format!("lamina-merge-{}", uuid::Uuid::new_v4()));
        let (a, b, dst) = (root.join("a"), root.join("b"), root.join("dst"));
        fs::create_dir_all(&dst).unwrap();
        write(&a.join("python/shared.py"), "one");
        write(&a.join("python/only_a.py"), "a");
        write(&a.join("bin/tool"), "file in a");
        fs::create_dir_all(&a).unwrap();
        std::os::unix::fs::symlink("python", a.join("link")).unwrap();
        write(&b.join("python/shared.py"), "two");
        write(&b.join("bin"), "now a file");
        write(&b.join("link/inside"), "a real directory now");
        merge_into(&a, &dst).unwrap();
        merge_into(&b, &dst).unwrap();
        let read = |p: &str| fs::read_to_string(dst.join(p)).unwrap();
        assert_eq!(read("python/shared.py"), "two");
        assert_eq!(read("python/only_a.py"), "a");
        assert_eq!(read("bin"), "now a file");
        assert!(!fs::symlink_metadata(dst.join("link")).unwrap().is_symlink());
        assert_eq!(read("link/inside"), "a real directory now");
        assert!(
            !dst.join("python/inside").exists(),
            "nothing written through a symlink"
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn merged_dirs_are_keyed_by_the_ordered_layer_list() {
        let l = |sha: &str| LayerRef {
            arn: String::new(),
            code_sha256_hex: sha.into(),
            code_size: 1,
            unzipped_size: 1,
        };
        let cache = Path::new("/cache");
        assert_eq!(merged_dir(cache, &[]), None);
        let ab = merged_dir(cache, &[l("a"), l("b")]).unwrap();
        let ba = merged_dir(cache, &[l("b"), l("a")]).unwrap();
        assert_ne!(ab, ba);
        assert!(
            ab.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("layers-")
        );
        assert_eq!(
            list_file(&ab).file_name().unwrap().to_str().unwrap(),
            format!("{}.list", ab.file_name().unwrap().to_str().unwrap())
        );
    }
}
