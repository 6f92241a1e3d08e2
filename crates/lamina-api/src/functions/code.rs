//! Function code: checking and storing uploaded zips, unpacking them into the code cache,
//! collecting unreferenced blobs, and serving presigned downloads (`Code.Location`).

use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use lamina_blobs::zipsafe::{self, ZipError};
use lamina_types::UserError;
use lamina_types::model::{LayerRef, State as FnState, UpdateStatus};
use lamina_types::validate::{unzip_error, unzipped_too_large};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Code accepted into the blob store.
pub struct StoredCode {
    pub sha256_hex: String,
    pub size: u64,
    /// Bytes the zip unpacks to (counted while checking it).
    pub unzipped_size: u64,
}

/// Checks a zip (entry by entry, counting real bytes; with the function's `layers`, the
/// unpacked total too), enforces the account's storage limit, and stores it encrypted. Call
/// with `state.code_lock` held until the row referencing the blob is written.
pub async fn store_zip(
    state: &AppState,
    zip: Vec<u8>,
    replacing_size: u64,
    layers: &[LayerRef],
) -> ApiResult<StoredCode> {
    let limit = state.config.limits.code_unzipped_max_bytes;
    let checked = tokio::task::spawn_blocking(move || {
        let summary = zipsafe::inspect(&zip, limit);
        (zip, summary)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let (zip, summary) = checked;
    let summary = summary.map_err(|e| zip_error(e, state))?;
    crate::layers::check_combined_size(state, summary.unzipped_size, layers)?;
    let size = zip.len() as u64;
    let usage = state.store.code_usage().await?;
    let total_limit = state.config.limits.total_code_max_bytes;
    if usage.total_code_size.saturating_sub(replacing_size) + size > total_limit {
        return Err(ApiError::User(UserError::CodeStorageExceeded(
            "Code storage limit exceeded.".into(),
        )));
    }
    let sha256_hex = state.blobs.put(&zip).await?;
    Ok(StoredCode {
        sha256_hex,
        size,
        unzipped_size: summary.unzipped_size,
    })
}

/// Bytes a stored blob unpacks to (for limits that add it to other code).
pub async fn unzipped_size(state: &AppState, sha256_hex: &str) -> ApiResult<u64> {
    let zip = state.blobs.get(sha256_hex).await?;
    let limit = state.config.limits.code_unzipped_max_bytes;
    let summary = tokio::task::spawn_blocking(move || zipsafe::inspect(&zip, limit))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    summary
        .map(|s| s.unzipped_size)
        .map_err(|e| zip_error(e, state))
}

fn zip_error(e: ZipError, state: &AppState) -> ApiError {
    match e {
        ZipError::TooLarge { .. } => ApiError::User(unzipped_too_large(&state.config.limits)),
        ZipError::UnsafeEntry { name } => ApiError::invalid(format!(
            "Could not unzip uploaded file. Please check your file, then try to upload again. The entry '{name}' points outside the package."
        )),
        ZipError::Invalid => ApiError::User(unzip_error()),
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}

/// Deletes the blob and its unpacked copies when no function or layer version references it
/// any more. Call with `state.code_lock` held.
pub async fn collect_if_unreferenced(state: &AppState, sha256_hex: &str) -> ApiResult<()> {
    if state.store.code_references(sha256_hex).await? > 0 {
        return Ok(());
    }
    state.blobs.delete(sha256_hex).await?;
    let dir = state.code_cache.join(sha256_hex);
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %dir.display(), error = %e, "failed to remove unpacked code");
    }
    crate::layers::opt::forget_blob(&state.code_cache, sha256_hex).await;
    Ok(())
}

/// The directory holding the unpacked code of a blob.
pub fn unpacked_dir(code_cache: &Path, sha256_hex: &str) -> PathBuf {
    code_cache.join(sha256_hex)
}

/// Unpacks a blob into the code cache once (into a temporary directory, then renamed into
/// place, so a half-written directory is never visible).
pub async fn ensure_unpacked(state: &AppState, sha256_hex: &str) -> anyhow::Result<()> {
    let dest = unpacked_dir(&state.code_cache, sha256_hex);
    // Checked on every invoke: a stat of a cached directory entry is cheaper than a trip
    // through the blocking pool.
    if dest.is_dir() {
        return Ok(());
    }
    let zip = state.blobs.get(sha256_hex).await?;
    let tmp = state
        .code_cache
        .join(format!(".tmp-{}", uuid::Uuid::new_v4()));
    let limit = state.config.limits.code_unzipped_max_bytes;
    let tmp_clone = tmp.clone();
    let dest_clone = dest.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        std::fs::create_dir_all(&tmp_clone)?;
        let result = zipsafe::extract(&zip, &tmp_clone, limit)
            .map_err(anyhow::Error::new)
            .and_then(|_| match std::fs::rename(&tmp_clone, &dest_clone) {
                // Another settle unpacked the same code first: theirs is as good as ours.
                Err(_) if dest_clone.exists() => Ok(()),
                other => other.map_err(anyhow::Error::new),
            });
        if tmp_clone.exists() {
            let _ = std::fs::remove_dir_all(&tmp_clone);
        }
        result
    })
    .await??;
    Ok(())
}

/// Finishes a create or update in the background: unpacks the code, then marks the function
/// `Active` / `Successful` (or `Failed`). Also run at start-up for anything left unsettled.
pub fn spawn_settle(state: AppState, name: String) {
    tokio::spawn(async move {
        if let Err(e) = settle(&state, &name).await {
            tracing::error!(function = %name, error = ?e, "failed to settle function");
        }
    });
}

async fn settle(state: &AppState, name: &str) -> anyhow::Result<()> {
    loop {
        let Some(rec) = state.store.get_function(name).await? else {
            return Ok(());
        };
        if rec.state != FnState::Pending && rec.last_update_status != UpdateStatus::InProgress {
            return Ok(());
        }
        let unpacked = match ensure_unpacked(state, &rec.code_sha256_hex).await {
            Ok(()) => crate::layers::opt::ensure_merged(state, &rec.config.layers).await,
            Err(e) => Err(e),
        };
        let mut next = rec.clone();
        match &unpacked {
            Ok(()) => {
                next.state = FnState::Active;
                next.last_update_status = UpdateStatus::Successful;
            }
            Err(e) => {
                tracing::error!(function = %name, error = ?e, "failed to unpack code");
                if rec.state == FnState::Pending {
                    next.state = FnState::Failed;
                } else {
                    next.last_update_status = UpdateStatus::Failed;
                }
            }
        }
        next.revision_id = super::new_revision();
        match state.store.update_function(&next, &rec.revision_id).await {
            Err(lamina_store::StoreError::RevisionMismatch { .. }) => continue,
            Err(lamina_store::StoreError::NotFound { .. }) => return Ok(()),
            other => return other.map_err(Into::into),
        }
    }
}

/// `GET /_lamina/code/{sha256}`: the target of `Code.Location` (authenticated by the presigned
/// query, like an S3 presigned URL). Only code some function uses can be downloaded.
pub async fn download(
    State(state): State<AppState>,
    UrlPath(sha256_hex): UrlPath<String>,
) -> ApiResult<Response> {
    let valid = sha256_hex.len() == 64 && sha256_hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid || state.store.code_references(&sha256_hex).await? == 0 {
        return Err(ApiError::not_found(
            "The resource you requested does not exist.",
        ));
    }
    let zip = state.blobs.get(&sha256_hex).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "application/zip"
            .parse()
            .map_err(|e: http::header::InvalidHeaderValue| ApiError::Internal(e.into()))?,
    );
    Ok((headers, zip).into_response())
}

/// The presigned `Code.Location` of a blob, on the host the client used to reach us.
pub fn location(state: &AppState, headers: &HeaderMap, sha256_hex: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let creds = &state.config.credentials;
    crate::sigv4::presign_get(
        &format!("http://{host}"),
        &format!("/_lamina/code/{sha256_hex}"),
        &creds.access_key_id,
        secrecy::ExposeSecret::expose_secret(&creds.secret_access_key),
        &state.config.region,
        "lambda",
        lamina_types::time::now(),
        state.config.presign_expiry_secs,
    )
}
