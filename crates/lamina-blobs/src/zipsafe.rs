//! Hostile-input-safe inspection and extraction of code zips.
//!
//! Function and layer zips come from users, so nothing in them is trusted:
//!
//! * **Sizes** in local and central headers are ignored. Every entry is decompressed and the
//!   real output bytes are counted; work stops as soon as the running total exceeds the limit,
//!   so a zip bomb costs at most `max_unzipped` bytes of decompression.
//! * **Names** with `..` components, absolute paths, NUL bytes, backslashes or Windows drive
//!   prefixes are rejected, as are two entries for the same path and entries below a file or
//!   symlink entry.
//! * **Symlinks** (unix mode `S_IFLNK` in the external attributes) must have a relative target
//!   that, following the archive's other symlinks, stays inside the root. They are created
//!   only after every entry has been checked, and no file is ever written through a symlink.
//! * **Integrity**: anything that does not parse as a zip, an unsupported or encrypted entry,
//!   corrupt compressed data or a CRC mismatch is [`ZipError::Invalid`].
//!
//! Extracted files get mode `0644` plus the entry's executable bits (`mode & 0o111`);
//! directories get `0755`. Other permission bits, owners, timestamps and special file types
//! are not reproduced.

mod tree;

use std::collections::HashSet;
use std::fmt::Display;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::{self, Cursor, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zip::ZipArchive;
use zip::read::ZipFile;

use self::tree::{MAX_SYMLINK_TARGET, Node, SymlinkChecker, Tree};

/// Bytes decompressed per read.
const CHUNK: usize = 64 * 1024;

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

/// Result of a successful [`inspect`] or [`extract`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipSummary {
    /// Total decompressed bytes of all entries (file contents and symlink targets), as
    /// actually counted while decompressing.
    pub unzipped_size: u64,
    /// Number of entries in the archive, including directories and symlinks.
    pub entries: usize,
}

/// Why a zip was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZipError {
    /// Not a zip, or a corrupt, encrypted or unsupported entry, or a CRC mismatch.
    #[error("not a valid zip archive")]
    Invalid,
    /// The decompressed contents exceed the limit.
    #[error("zip archive unzips to more than {limit} bytes")]
    TooLarge { limit: u64 },
    /// An entry would land outside the root, clash with another entry, or is a symlink that
    /// points outside the root. `name` is the entry name as stored in the archive.
    #[error("zip entry {name:?} is unsafe")]
    UnsafeEntry { name: String },
    /// Writing the extracted tree failed at the given path.
    #[error("failed to extract to {}", .0.display())]
    Io(PathBuf, #[source] io::Error),
}

/// Walks every entry by actually decompressing it (never trusting header sizes), counting real bytes; stops
/// as soon as the total exceeds `max_unzipped` (TooLarge). Rejects entries whose names contain `..` components,
/// are absolute, or contain NUL/backslash-drive tricks (UnsafeEntry), and symlink entries (unix mode S_IFLNK in
/// external attributes) whose target is absolute or escapes the root (UnsafeEntry). Anything that does not
/// parse as a zip, or a corrupt entry / CRC mismatch is Invalid.
pub fn inspect(zip: &[u8], max_unzipped: u64) -> Result<ZipSummary, ZipError> {
    walk(zip, max_unzipped, None)
}

/// Extracts into `dest` (must exist, should be empty) with the same checks and limits; preserves the unix
/// executable bit (mode & 0o111) and safe relative symlinks; creates parent dirs; never follows a symlink
/// out of dest while writing.
///
/// Files and directories are written as entries are checked; symlinks are created at the end,
/// once the whole archive has been validated. On error, `dest` may hold a partial tree (but
/// never a symlink that was not validated); the caller should remove it.
pub fn extract(zip: &[u8], dest: &Path, max_unzipped: u64) -> Result<ZipSummary, ZipError> {
    let meta = fs::symlink_metadata(dest).map_err(|e| ZipError::Io(dest.to_owned(), e))?;
    if !meta.is_dir() {
        let err = io::Error::new(ErrorKind::NotADirectory, "destination is not a directory");
        return Err(ZipError::Io(dest.to_owned(), err));
    }
    walk(zip, max_unzipped, Some(Writer::new(dest)))
}

/// What an entry is, from its name and unix mode.
enum Kind {
    Dir,
    Symlink,
    File { exec_bits: u32 },
}

fn classify<R: Read>(entry: &ZipFile<'_, R>) -> Kind {
    let mode = entry.unix_mode();
    let file_type = mode.map(|m| m & S_IFMT);
    if file_type == Some(S_IFLNK) {
        Kind::Symlink
    } else if entry.is_dir() || file_type == Some(S_IFDIR) {
        Kind::Dir
    } else {
        Kind::File {
            exec_bits: mode.unwrap_or(0) & 0o111,
        }
    }
}

/// The shared inspect/extract loop. With `writer`, entries are also written out.
fn walk(zip: &[u8], max_unzipped: u64, mut writer: Option<Writer>) -> Result<ZipSummary, ZipError> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).map_err(invalid)?;
    let mut tree = Tree::default();
    let mut budget = Budget {
        used: 0,
        limit: max_unzipped,
    };
    let mut buf = vec![0u8; CHUNK];
    // (key in the tree, entry name, target), checked and created after all entries.
    let mut symlinks: Vec<(String, String, String)> = Vec::new();

    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(invalid)?;
        let name = entry.name().to_owned();
        let unsafe_entry = |reason: &str| {
            tracing::debug!(entry = ?name, reason, "rejecting unsafe zip entry");
            ZipError::UnsafeEntry { name: name.clone() }
        };
        let parts = match tree::parse_name(&name) {
            Some(parts) if !entry.name_raw().contains(&0) => parts,
            _ => return Err(unsafe_entry("unsafe name")),
        };

        match classify(&entry) {
            Kind::Dir => {
                if !parts.is_empty() && !tree.insert(&parts, Node::Dir) {
                    return Err(unsafe_entry("conflicts with another entry"));
                }
                // Directory entries should be empty, but their data still counts.
                pump(&mut entry, &mut budget, &mut buf, |_| Ok(()))?;
                if let Some(writer) = writer.as_mut() {
                    writer.create_dirs(&parts)?;
                }
            }
            Kind::Symlink => {
                let mut target = Vec::new();
                pump(&mut entry, &mut budget, &mut buf, |chunk| {
                    if target.len() + chunk.len() > MAX_SYMLINK_TARGET {
                        return Err(unsafe_entry("symlink target too long"));
                    }
                    target.extend_from_slice(chunk);
                    Ok(())
                })?;
                let target = String::from_utf8(target)
                    .map_err(|_| unsafe_entry("symlink target is not utf-8"))?;
                if !tree::is_safe_target(&target) {
                    return Err(unsafe_entry("symlink target is absolute or malformed"));
                }
                if parts.is_empty() || !tree.insert(&parts, Node::Symlink(target.clone())) {
                    return Err(unsafe_entry("conflicts with another entry"));
                }
                symlinks.push((parts.join("/"), name, target));
            }
            Kind::File { exec_bits } => {
                if parts.is_empty() || !tree.insert(&parts, Node::File) {
                    return Err(unsafe_entry("conflicts with another entry"));
                }
                match writer.as_mut() {
                    Some(writer) => {
                        writer.write_file(&parts, exec_bits, &mut entry, &mut budget, &mut buf)?;
                    }
                    None => pump(&mut entry, &mut budget, &mut buf, |_| Ok(()))?,
                }
            }
        }
    }

    let mut checker = SymlinkChecker::new(&tree);
    for (key, name, _) in &symlinks {
        if !checker.stays_inside(key) {
            tracing::debug!(entry = ?name, "rejecting zip symlink that escapes the root");
            return Err(ZipError::UnsafeEntry { name: name.clone() });
        }
    }
    if let Some(writer) = writer.as_mut() {
        for (key, _, target) in &symlinks {
            writer.create_symlink(key, target)?;
        }
    }

    Ok(ZipSummary {
        unzipped_size: budget.used,
        entries: archive.len(),
    })
}

/// Counts decompressed bytes against the limit.
struct Budget {
    used: u64,
    limit: u64,
}

impl Budget {
    fn take(&mut self, bytes: usize) -> Result<(), ZipError> {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limit {
            Err(ZipError::TooLarge { limit: self.limit })
        } else {
            Ok(())
        }
    }
}

/// Decompresses `reader` to its end (which is where the CRC is checked), charging every chunk
/// to `budget` before handing it to `sink`.
fn pump<R: Read>(
    reader: &mut R,
    budget: &mut Budget,
    buf: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> Result<(), ZipError>,
) -> Result<(), ZipError> {
    loop {
        let read = match reader.read(buf) {
            Ok(0) => return Ok(()),
            Ok(read) => read,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(invalid(err)),
        };
        budget.take(read)?;
        sink(buf.get(..read).ok_or(ZipError::Invalid)?)?;
    }
}

fn invalid(err: impl Display) -> ZipError {
    tracing::debug!(error = %err, "rejecting invalid zip");
    ZipError::Invalid
}

/// Writes validated entries below `dest` without following symlinks.
struct Writer {
    dest: PathBuf,
    /// Directories (tree keys) already known to exist as real directories.
    dirs: HashSet<String>,
}

impl Writer {
    fn new(dest: &Path) -> Self {
        Self {
            dest: dest.to_owned(),
            dirs: HashSet::new(),
        }
    }

    /// Creates `parts` as nested directories one level at a time. An existing component must
    /// be a real directory, never a symlink (relevant only if `dest` was not empty).
    fn create_dirs(&mut self, parts: &[&str]) -> Result<PathBuf, ZipError> {
        let mut path = self.dest.clone();
        let mut key = String::new();
        for part in parts {
            path.push(part);
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(part);
            if self.dirs.contains(&key) {
                continue;
            }
            match DirBuilder::new().mode(0o755).create(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {
                    let is_real_dir = fs::symlink_metadata(&path)
                        .map_err(|e| ZipError::Io(path.clone(), e))?
                        .is_dir();
                    if !is_real_dir {
                        let err = io::Error::new(
                            ErrorKind::AlreadyExists,
                            "exists and is not a directory; refusing to follow it",
                        );
                        return Err(ZipError::Io(path, err));
                    }
                }
                Err(err) => return Err(ZipError::Io(path, err)),
            }
            self.dirs.insert(key.clone());
        }
        Ok(path)
    }

    /// Writes one file. `create_new` (`O_CREAT | O_EXCL`) never follows a symlink at the
    /// final component, and [`Writer::create_dirs`] never follows one in a parent.
    fn write_file<R: Read>(
        &mut self,
        parts: &[&str],
        exec_bits: u32,
        entry: &mut R,
        budget: &mut Budget,
        buf: &mut [u8],
    ) -> Result<(), ZipError> {
        let Some((file_name, parents)) = parts.split_last() else {
            return Err(ZipError::Invalid);
        };
        let path = self.create_dirs(parents)?.join(file_name);
        let io_err = |e| ZipError::Io(path.clone(), e);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err)?;
        pump(entry, budget, buf, |chunk| {
            file.write_all(chunk).map_err(io_err)
        })?;
        file.set_permissions(Permissions::from_mode(0o644 | exec_bits))
            .map_err(io_err)
    }

    fn create_symlink(&mut self, key: &str, target: &str) -> Result<(), ZipError> {
        let parts: Vec<&str> = key.split('/').collect();
        let Some((link_name, parents)) = parts.split_last() else {
            return Err(ZipError::Invalid);
        };
        let path = self.create_dirs(parents)?.join(link_name);
        std::os::unix::fs::symlink(target, &path).map_err(|e| ZipError::Io(path, e))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testzip;
