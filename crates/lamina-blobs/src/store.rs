//! The encrypted, content-addressed blob store.
//!
//! Blobs (function and layer code zips) are addressed by the lowercase hex SHA-256 of their
//! plaintext and stored envelope-encrypted (see [`crate::envelope`]) at
//! `blobs/<first 2 hex digits>/<64 hex digits>` in an [`ObjectStore`]. The digest is the
//! associated data of the payload, so a stored object cannot be moved to another address and
//! still decrypt. After decryption the digest is checked once more.
//!
//! Hashing and encryption of large blobs run on Tokio's blocking thread pool so they do not
//! stall the async workers.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};

use crate::envelope::{self, EnvelopeError, MAGIC_BLOB, MAGIC_SEALED};
use crate::key::MasterKey;

/// Longest digest text kept in an [`BlobError::InvalidDigest`] error.
const MAX_REPORTED_DIGEST_LEN: usize = 80;

/// Errors from the blob store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The root directory could not be created.
    #[error("failed to create blob store root {path}")]
    CreateRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The object store could not be opened on the root directory.
    #[error("failed to open blob store at {path}")]
    OpenStore {
        path: PathBuf,
        #[source]
        source: object_store::Error,
    },
    /// The digest is not 64 lowercase hex characters (it is truncated here if very long).
    #[error("invalid blob digest {digest:?}: expected 64 lowercase hex characters")]
    InvalidDigest { digest: String },
    /// No blob is stored under this digest.
    #[error("blob {digest} not found")]
    NotFound { digest: String },
    /// The object store failed to write the blob.
    #[error("failed to write blob {digest}")]
    WriteBlob {
        digest: String,
        #[source]
        source: object_store::Error,
    },
    /// The object store failed to read the blob.
    #[error("failed to read blob {digest}")]
    ReadBlob {
        digest: String,
        #[source]
        source: object_store::Error,
    },
    /// The object store failed to delete the blob.
    #[error("failed to delete blob {digest}")]
    DeleteBlob {
        digest: String,
        #[source]
        source: object_store::Error,
    },
    /// Encrypting the blob failed.
    #[error("failed to encrypt blob {digest}")]
    EncryptBlob {
        digest: String,
        #[source]
        source: EnvelopeError,
    },
    /// The stored blob could not be decrypted: wrong master key or tampered data.
    #[error("failed to decrypt blob {digest}")]
    DecryptBlob {
        digest: String,
        #[source]
        source: EnvelopeError,
    },
    /// The decrypted blob does not hash to its address.
    #[error("blob {digest} decrypted to content with digest {actual}")]
    DigestMismatch { digest: String, actual: String },
    /// The background task hashing or encrypting a blob failed (panicked or was cancelled).
    #[error("background crypto task for a blob failed")]
    CryptoTask(#[source] tokio::task::JoinError),
    /// Sealing a small value failed.
    #[error("failed to seal value")]
    SealValue(#[source] EnvelopeError),
    /// A sealed value could not be opened: wrong master key, wrong context or tampered data.
    #[error("failed to open sealed value")]
    OpenValue(#[source] EnvelopeError),
}

/// An encrypted, content-addressed store for code zips, plus sealing of small values.
///
/// Cloning is cheap; clones share the object store and the master key.
#[derive(Clone, Debug)]
pub struct BlobStore {
    objects: Arc<dyn ObjectStore>,
    key: Arc<MasterKey>,
}

impl BlobStore {
    /// Blobs live under `root` (created if missing) through object_store's LocalFileSystem.
    ///
    /// A newly created root directory gets mode `0700`.
    pub fn open_local(root: &Path, key: MasterKey) -> Result<Self, BlobError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|source| BlobError::CreateRoot {
                path: root.to_owned(),
                source,
            })?;
        let local =
            LocalFileSystem::new_with_prefix(root).map_err(|source| BlobError::OpenStore {
                path: root.to_owned(),
                source,
            })?;
        Ok(Self::with_object_store(Arc::new(local), key))
    }

    /// Uses any [`ObjectStore`] as the backend (for example S3 or an in-memory store in tests).
    pub fn with_object_store(objects: Arc<dyn ObjectStore>, key: MasterKey) -> Self {
        Self {
            objects,
            key: Arc::new(key),
        }
    }

    /// Stores `data` encrypted, keyed by its SHA-256 (lowercase hex), idempotent. Returns the hex digest.
    ///
    /// If a blob with the same digest already exists it is left untouched.
    pub async fn put(&self, data: &[u8]) -> Result<String, BlobError> {
        let data = Bytes::copy_from_slice(data);
        let (digest, data) = blocking(move || (sha256_hex(&data), data)).await?;
        let path = object_path(&digest);

        match self.objects.head(&path).await {
            Ok(_) => return Ok(digest),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(BlobError::WriteBlob { digest, source }),
        }

        let key = Arc::clone(&self.key);
        let context = digest.clone();
        let sealed = blocking(move || envelope::seal(&key, MAGIC_BLOB, context.as_bytes(), &data))
            .await?
            .map_err(|source| BlobError::EncryptBlob {
                digest: digest.clone(),
                source,
            })?;

        let options = PutOptions::from(PutMode::Create);
        match self
            .objects
            .put_opts(&path, PutPayload::from(sealed), options)
            .await
        {
            // A concurrent put of the same content won the race; both stored the same plaintext.
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {
                tracing::debug!(%digest, "stored blob");
                Ok(digest)
            }
            Err(source) => Err(BlobError::WriteBlob { digest, source }),
        }
    }

    /// Returns the decrypted plaintext; verifies the digest after decryption (BlobError::NotFound if missing).
    pub async fn get(&self, sha256_hex: &str) -> Result<Bytes, BlobError> {
        let digest = validate_digest(sha256_hex)?;
        let path = object_path(&digest);
        let sealed = match self.objects.get(&path).await {
            Ok(result) => result.bytes().await,
            Err(err) => Err(err),
        }
        .map_err(|source| match source {
            object_store::Error::NotFound { .. } => BlobError::NotFound {
                digest: digest.clone(),
            },
            source => BlobError::ReadBlob {
                digest: digest.clone(),
                source,
            },
        })?;

        let key = Arc::clone(&self.key);
        blocking(move || {
            let plaintext =
                envelope::open(&key, MAGIC_BLOB, digest.as_bytes(), &sealed).map_err(|source| {
                    BlobError::DecryptBlob {
                        digest: digest.clone(),
                        source,
                    }
                })?;
            let actual = self::sha256_hex(&plaintext);
            if actual != digest {
                return Err(BlobError::DigestMismatch { digest, actual });
            }
            Ok(Bytes::from(plaintext))
        })
        .await?
    }

    /// Deletes the blob; deleting a missing blob succeeds (idempotent).
    pub async fn delete(&self, sha256_hex: &str) -> Result<(), BlobError> {
        let digest = validate_digest(sha256_hex)?;
        match self.objects.delete(&object_path(&digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(BlobError::DeleteBlob { digest, source }),
        }
    }

    /// Returns whether a blob with this digest is stored, without decrypting it.
    pub async fn contains(&self, sha256_hex: &str) -> Result<bool, BlobError> {
        let digest = validate_digest(sha256_hex)?;
        match self.objects.head(&object_path(&digest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(BlobError::ReadBlob { digest, source }),
        }
    }

    /// Envelope-encrypts a small value (used for environment variables at rest). Output is self-contained bytes.
    ///
    /// Equivalent to [`BlobStore::seal_with_context`] with an empty context.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, BlobError> {
        self.seal_with_context(plaintext, b"")
    }

    /// Opens a value produced by [`BlobStore::seal`].
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, BlobError> {
        self.open_with_context(sealed, b"")
    }

    /// Like [`BlobStore::seal`], but binds the ciphertext to `context` (for example a function
    /// ARN), so it only opens with the same context and cannot be copied to another record.
    pub fn seal_with_context(
        &self,
        plaintext: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, BlobError> {
        envelope::seal(&self.key, MAGIC_SEALED, context, plaintext).map_err(BlobError::SealValue)
    }

    /// Opens a value produced by [`BlobStore::seal_with_context`] with the same `context`.
    pub fn open_with_context(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, BlobError> {
        envelope::open(&self.key, MAGIC_SEALED, context, sealed).map_err(BlobError::OpenValue)
    }
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The object path of a blob: `blobs/<first 2 hex>/<hex>`. `digest` must be validated.
fn object_path(digest: &str) -> ObjectPath {
    let shard = digest.get(..2).unwrap_or_default();
    ObjectPath::from(format!("blobs/{shard}/{digest}"))
}

/// Accepts exactly 64 lowercase hex digits, so a digest can never name another path.
fn validate_digest(digest: &str) -> Result<String, BlobError> {
    let valid = digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if valid {
        Ok(digest.to_owned())
    } else {
        Err(BlobError::InvalidDigest {
            digest: digest.chars().take(MAX_REPORTED_DIGEST_LEN).collect(),
        })
    }
}

/// Runs CPU-heavy work on the blocking pool.
async fn blocking<T, F>(work: F) -> Result<T, BlobError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(BlobError::CryptoTask)
}

#[cfg(test)]
mod tests;
