//! The master key that wraps every per-blob data key.
//!
//! The key is 32 random bytes, kept in a [`SecretBox`] so it is zeroized on drop and never
//! printed by `Debug`. On disk it is stored as 64 hex characters plus a newline in a file with
//! mode `0600`.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox};

/// Length of the master key in bytes (AES-256).
pub const MASTER_KEY_LEN: usize = 32;

/// Length of the hex encoding of the master key.
const HEX_LEN: usize = MASTER_KEY_LEN * 2;

/// Why a hex string is not a valid master key. The offending characters are never included,
/// because they are part of the secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// The string does not have exactly 64 characters (after trimming whitespace).
    #[error("expected {HEX_LEN} hex characters, got {len} bytes")]
    WrongLength { len: usize },
    /// The string has the right length but contains a non-hex character.
    #[error("key contains a character that is not a hex digit")]
    NotHex,
}

/// Errors from loading, creating or parsing a [`MasterKey`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An operator-supplied key (for example from an environment variable) is malformed.
    #[error("invalid master key")]
    InvalidKey(#[source] KeyFormatError),
    /// The key file exists but does not hold a valid key.
    #[error("invalid master key in {path}")]
    InvalidKeyFile {
        path: PathBuf,
        #[source]
        source: KeyFormatError,
    },
    /// The key file exists but could not be read.
    #[error("failed to read master key file {path}")]
    ReadKeyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The directory that should hold a new key file could not be created.
    #[error("failed to create directory {path} for the master key")]
    CreateKeyDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A new key file could not be written.
    #[error("failed to write master key file {path}")]
    WriteKeyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The operating system random number generator failed.
    #[error("failed to generate a random master key")]
    GenerateKey(#[source] rand::rand_core::OsError),
}

/// The 256-bit key that wraps (encrypts) the per-object data keys.
///
/// Create it with [`MasterKey::load_or_create`] (file-based, the default for a single-node
/// deployment) or [`MasterKey::from_hex`] (operator-supplied, for example from an environment
/// variable). `Debug` never shows the key material.
pub struct MasterKey(SecretBox<[u8; MASTER_KEY_LEN]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

impl MasterKey {
    /// Loads the 32-byte key from `path` (hex-encoded, 64 chars, trailing newline allowed) or
    /// creates a random one there with mode 0600 (create parent dirs) if the file is missing.
    ///
    /// A new key file is written to a temporary file and hard-linked into place, so the key
    /// file is either complete or absent, and two processes racing to create it agree on the
    /// same key. Newly created parent directories get mode `0700`. A key file that is readable
    /// by group or others is still loaded, but a warning is logged.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match Self::load(path) {
            Err(KeyError::ReadKeyFile { source, .. }) if source.kind() == ErrorKind::NotFound => {
                Self::create(path)
            }
            other => other,
        }
    }

    /// Operator-supplied key as 64 hex chars.
    ///
    /// Upper- and lowercase digits are accepted; surrounding whitespace (such as a trailing
    /// newline) is ignored.
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        parse_hex(hex.as_bytes()).map_err(KeyError::InvalidKey)
    }

    /// A fixed, well-known key for tests. Every call returns the same key, so stores opened in
    /// different tests can read each other's data. Never use it for real data.
    #[cfg(any(test, debug_assertions))]
    pub fn for_testing() -> Self {
        Self(SecretBox::init_with_mut(
            |key: &mut [u8; MASTER_KEY_LEN]| {
                for (byte, value) in key.iter_mut().zip(0u8..) {
                    *byte = value.wrapping_mul(7).wrapping_add(0x42);
                }
            },
        ))
    }

    /// Generates a fresh random key from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        let mut key = SecretBox::new(Box::new([0u8; MASTER_KEY_LEN]));
        OsRng
            .try_fill_bytes(secrecy::ExposeSecretMut::expose_secret_mut(&mut key))
            .map_err(KeyError::GenerateKey)?;
        Ok(Self(key))
    }

    /// The raw key bytes, for the envelope-encryption code in this crate only.
    pub(crate) fn expose(&self) -> &[u8; MASTER_KEY_LEN] {
        self.0.expose_secret()
    }

    fn load(path: &Path) -> Result<Self, KeyError> {
        let contents =
            fs::read(path)
                .map(Zeroizing::new)
                .map_err(|source| KeyError::ReadKeyFile {
                    path: path.to_owned(),
                    source,
                })?;
        warn_if_permissive(path);
        parse_hex(&contents).map_err(|source| KeyError::InvalidKeyFile {
            path: path.to_owned(),
            source,
        })
    }

    fn create(path: &Path) -> Result<Self, KeyError> {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|source| KeyError::CreateKeyDir {
                    path: parent.to_owned(),
                    source,
                })?;
        }

        let key = Self::generate()?;
        let mut contents = Zeroizing::new([0u8; HEX_LEN + 1]);
        let (digits, newline) = contents.split_at_mut(HEX_LEN);
        hex::encode_to_slice(key.expose(), digits)
            .expect("a 32-byte key always encodes to exactly 64 hex digits");
        newline.fill(b'\n');

        let tmp = temp_path(path);
        let written = write_new_file(&tmp, &contents[..]);
        let linked = written
            .map_err(|source| KeyError::WriteKeyFile {
                path: tmp.clone(),
                source,
            })
            .map(|()| fs::hard_link(&tmp, path));
        // Best effort: the temporary name is random, so a leftover file never blocks anything.
        let _ = fs::remove_file(&tmp);

        match linked? {
            Ok(()) => {
                sync_dir(parent.unwrap_or(Path::new("."))).map_err(|source| {
                    KeyError::WriteKeyFile {
                        path: path.to_owned(),
                        source,
                    }
                })?;
                tracing::info!(path = %path.display(), "created a new blob-store master key");
                Ok(key)
            }
            // Another process created the key file first: use its key so we agree.
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Self::load(path),
            Err(source) => Err(KeyError::WriteKeyFile {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// Parses 64 hex digits (surrounding ASCII whitespace ignored) straight into a secret box.
fn parse_hex(input: &[u8]) -> Result<MasterKey, KeyFormatError> {
    let digits = input.trim_ascii();
    if digits.len() != HEX_LEN {
        return Err(KeyFormatError::WrongLength { len: digits.len() });
    }
    let mut key = SecretBox::new(Box::new([0u8; MASTER_KEY_LEN]));
    hex::decode_to_slice(
        digits,
        secrecy::ExposeSecretMut::expose_secret_mut(&mut key),
    )
    .map_err(|_| KeyFormatError::NotHex)?;
    Ok(MasterKey(key))
}

/// A unique sibling of `path` used to stage a new key file.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{:016x}", rand::random::<u64>()));
    path.with_file_name(name)
}

/// Creates `path` (which must not exist) with mode 0600, writes `contents` and syncs it.
fn write_new_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only remove bits, but make the mode exact regardless.
    file.set_permissions(Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes a new directory entry durable, so the key cannot vanish after a crash while data
/// encrypted with it survives.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn warn_if_permissive(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{:o}", meta.permissions().mode() & 0o777),
            "blob-store master key file is accessible by group or others; it should be mode 0600"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_key_file_with_mode_0600_and_parent_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/master.key");
        let created = MasterKey::load_or_create(&path).unwrap();

        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let contents = fs::read_to_string(&path).unwrap();
        assert_eq!(contents.len(), HEX_LEN + 1);
        assert!(contents.ends_with('\n'));
        // No staging file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);

        let loaded = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(created.expose(), loaded.expose());
    }

    #[test]
    fn loads_existing_key_with_or_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        for contents in [hex.to_owned(), format!("{hex}\n"), format!("{hex}\r\n")] {
            let path = dir.path().join("key");
            fs::write(&path, contents).unwrap();
            let key = MasterKey::load_or_create(&path).unwrap();
            assert_eq!(key.expose()[..2], [0x00, 0x11]);
            assert_eq!(key.expose()[31], 0xff);
        }
    }

    #[test]
    fn rejects_malformed_key_file_without_leaking_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(&path, "zz".repeat(32)).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(matches!(
            err,
            KeyError::InvalidKeyFile {
                source: KeyFormatError::NotHex,
                ..
            }
        ));
        assert!(!format!("{err:?}").contains("zz"));

        fs::write(&path, "abcd").unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(matches!(
            err,
            KeyError::InvalidKeyFile {
                source: KeyFormatError::WrongLength { len: 4 },
                ..
            }
        ));
    }

    #[test]
    fn from_hex_validates_input() {
        assert!(MasterKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::from_hex(&format!(" {}\n", "AB".repeat(32))).is_ok());
        assert!(matches!(
            MasterKey::from_hex("abc"),
            Err(KeyError::InvalidKey(KeyFormatError::WrongLength { len: 3 }))
        ));
        assert!(matches!(
            MasterKey::from_hex(&"g0".repeat(32)),
            Err(KeyError::InvalidKey(KeyFormatError::NotHex))
        ));
        // Multi-byte characters are counted in bytes and never panic.
        assert!(MasterKey::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn debug_does_not_show_key() {
        let key = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey([REDACTED])");
    }

    #[test]
    fn generated_keys_differ() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(
            MasterKey::for_testing().expose(),
            MasterKey::for_testing().expose()
        );
    }
}
