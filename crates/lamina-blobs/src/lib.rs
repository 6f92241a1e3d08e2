//! Encrypted, content-addressed storage for function and layer code, and safe handling of
//! the user-supplied zips that code arrives in.
//!
//! * [`envelope`]: the AES-256-GCM envelope format shared by blobs and sealed values.
//! * [`key`]: the [`MasterKey`] that protects everything, loaded from (or created in) a
//!   `0600` file, or supplied as hex by the operator.
//! * [`store`]: [`BlobStore`], which keeps each blob AES-256-GCM envelope-encrypted under its
//!   SHA-256 digest and seals small values such as environment variables.
//! * [`zipsafe`]: [`inspect`] and [`extract`], which treat zips as hostile (zip bombs, path
//!   traversal, escaping symlinks, corrupt data).
//!
//! ```no_run
//! # async fn demo(zip_bytes: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
//! use lamina_blobs::{BlobStore, MasterKey};
//! use std::path::Path;
//!
//! let key = MasterKey::load_or_create(Path::new("/var/lib/lamina/master.key"))?;
//! let store = BlobStore::open_local(Path::new("/var/lib/lamina/blobs"), key)?;
//! let summary = lamina_blobs::inspect(&zip_bytes, 250 * 1024 * 1024)?;
//! let digest = store.put(&zip_bytes).await?;
//! # let _ = (summary, digest);
//! # Ok(())
//! # }
//! ```

pub mod envelope;
pub mod key;
pub mod store;
pub mod zipsafe;

pub use envelope::EnvelopeError;
pub use key::{KeyError, KeyFormatError, MASTER_KEY_LEN, MasterKey};
pub use store::{BlobError, BlobStore, sha256_hex};
pub use zipsafe::{ZipError, ZipSummary, extract, inspect};
