//! The `/tmp` images: one ext4 **template** per size, formatted once, and a
//! sparse copy of it for each environment, instead of a `mkfs.ext4` per
//! environment (7-28 ms on a loaded 2-core host; the copy takes ~0.5 ms).
//!
//! - The parent ([`ensure_template`], in the server process) keeps the
//!   templates in a cache directory next to the environments' directories:
//!   `<tmp_dir>/../../`[`TMP_TEMPLATE_DIR`] (for the engine,
//!   `<data>/envs/.lamina-tmp-templates/`), keyed by size and format version.
//!   A template is formatted into a temporary file and renamed into place,
//!   so processes that race each get a complete template and the last rename
//!   wins; an open template is never modified.
//! - The jail ([`copy_sparse`]) clones it (`FICLONE`, a reflink on btrfs or
//!   XFS), or else copies only its data extents (`SEEK_DATA`/`SEEK_HOLE` and
//!   `copy_file_range`, falling back to `pread`/`pwrite`): a 512 MiB template
//!   holds ~0.4 MiB of data, a 10 GiB one ~4 MiB. A plain `copy_file_range`
//!   of the whole file would not do: on ext4 it writes the holes out.
//! - The templates are formatted with `assume_storage_prezeroed` (e2fsprogs
//!   1.47+; older ones fall back to lazy inode tables) and the images are
//!   mounted with `noinit_itable`: holes read as zeros, so the kernel need not
//!   zero each copy's inode tables in the background.
//!
//! The cache directory must belong to root and be writable by nobody else
//! (the kernel parses the images), else no template is used and the jail
//! formats each image itself, as before.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::unistd::{Whence, lseek};

/// Name of the template cache directory, created next to the environments'
/// directories (the parent of `tmp_dir`'s parent).
pub const TMP_TEMPLATE_DIR: &str = ".lamina-tmp-templates";

/// Bumped whenever [`mkfs`]'s options change, so old templates are not reused.
const FORMAT_VERSION: u32 = 1;

/// Mount options for the images (see the module docs).
pub(crate) const MOUNT_DATA: &str = "noinit_itable";

static MKFS_RUNS: AtomicU64 = AtomicU64::new(0);

/// Serialises template creation within this process (other processes race
/// safely through the rename).
static TEMPLATE_LOCK: Mutex<()> = Mutex::new(());

/// How many times this process ran `mkfs.ext4` (templates, or images when a
/// template could not be used). For tests and diagnostics.
#[doc(hidden)]
pub fn mkfs_runs() -> u64 {
    MKFS_RUNS.load(Ordering::Relaxed)
}

/// The template cache directory for environments whose `/tmp` image lives in `tmp_dir`.
pub fn template_dir(tmp_dir: &Path) -> PathBuf {
    let base = tmp_dir
        .parent()
        .and_then(Path::parent)
        .or_else(|| tmp_dir.parent())
        .unwrap_or(Path::new("/"));
    base.join(TMP_TEMPLATE_DIR)
}

/// Path of the template for `size_mb` in `dir`.
pub(crate) fn template_path(dir: &Path, size_mb: u64) -> PathBuf {
    dir.join(format!("ext4-{size_mb}m-v{FORMAT_VERSION}.img"))
}

/// Returns the template for `size_mb` in `dir`, formatting it first if it
/// is missing.
pub(crate) fn ensure_template(dir: &Path, size_mb: u64) -> io::Result<PathBuf> {
    let path = template_path(dir, size_mb);
    let size = size_mb * 1024 * 1024;
    let _serial = TEMPLATE_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_private(dir, true)?;
    if let Ok(m) = fs::symlink_metadata(&path)
        && m.is_file()
        && m.len() == size
    {
        check_private(&path, false)?;
        return Ok(path);
    }
    let tmp = dir.join(format!(
        ".{}.{}-{}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let made = (|| {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_len(size)?;
        drop(f);
        mkfs(&tmp)?;
        fs::rename(&tmp, &path)
    })();
    if made.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    made.map(|()| path)
}

/// The path must belong to this (root) user and not be writable by anyone
/// else, and must not be a symlink.
fn check_private(path: &Path, dir: bool) -> io::Result<()> {
    let m = fs::symlink_metadata(path)?;
    let euid = nix::unistd::geteuid().as_raw();
    if m.is_dir() != dir || m.file_type().is_symlink() || m.uid() != euid || m.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} must be a {} owned by uid {euid} and writable by nobody else",
                path.display(),
                if dir { "directory" } else { "file" }
            ),
        ));
    }
    Ok(())
}

/// Formats `image` (an existing sparse file of the final size) as ext4.
pub(crate) fn mkfs(image: &Path) -> io::Result<()> {
    MKFS_RUNS.fetch_add(1, Ordering::Relaxed);
    let run = |extended: &str| {
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", extended])
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    };
    let mut out = run("lazy_itable_init=0,assume_storage_prezeroed=1,nodiscard")?;
    if !out.status.success() {
        // e2fsprogs < 1.47 does not know assume_storage_prezeroed.
        out = run("lazy_itable_init=1,nodiscard")?;
    }
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "mkfs.ext4: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// How [`copy_sparse`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copied {
    /// `FICLONE`: the file system shares the blocks (copy on write).
    Reflink,
    /// Only the data extents were copied; holes stay holes.
    Sparse,
}

/// Copies `src` into the new file `dst` (created with mode 0600, must not
/// exist), keeping it sparse. `len` is the size `src` must have.
pub(crate) fn copy_sparse(src: &Path, dst: &Path, len: u64) -> io::Result<Copied> {
    let from = File::open(src)?;
    let actual = from.metadata()?.len();
    if actual != len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is {actual} bytes, expected {len}", src.display()),
        ));
    }
    let to = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)?;
    // SAFETY: FICLONE takes the source fd as its integer argument; both fds
    // are open for the duration of the call. On failure nothing was changed.
    let rc = unsafe { libc::ioctl(to.as_raw_fd(), libc::FICLONE, from.as_raw_fd()) };
    if rc == 0 {
        return Ok(Copied::Reflink);
    }
    to.set_len(len)?;
    let mut pos: i64 = 0;
    let end = i64::try_from(len).map_err(io::Error::other)?;
    while pos < end {
        let data = match lseek(&from, pos, Whence::SeekData) {
            Ok(d) => d,
            // No data after `pos`.
            Err(nix::Error::ENXIO) => break,
            // No SEEK_DATA here: everything is data.
            Err(nix::Error::EINVAL | nix::Error::EOPNOTSUPP) => {
                copy_range(&from, &to, pos, end)?;
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let hole = lseek(&from, data, Whence::SeekHole)?.min(end);
        copy_range(&from, &to, data, hole)?;
        pos = hole;
    }
    Ok(Copied::Sparse)
}

/// Copies bytes `[start, end)` at the same offsets: in the kernel when it
/// can, else through a buffer, skipping all-zero blocks.
fn copy_range(from: &File, to: &File, start: i64, end: i64) -> io::Result<()> {
    let (mut off_in, mut off_out) = (start, start);
    while off_in < end {
        let want = usize::try_from(end - off_in).unwrap_or(usize::MAX);
        match nix::fcntl::copy_file_range(from, Some(&mut off_in), to, Some(&mut off_out), want) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(nix::Error::EINTR) => {}
            Err(
                nix::Error::EXDEV
                | nix::Error::ENOSYS
                | nix::Error::EOPNOTSUPP
                | nix::Error::EINVAL,
            ) => return copy_buffered(from, to, off_in, end),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn copy_buffered(from: &File, to: &File, start: i64, end: i64) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut off, end) = (
        u64::try_from(start).map_err(io::Error::other)?,
        u64::try_from(end).map_err(io::Error::other)?,
    );
    while off < end {
        let want = usize::try_from(end - off).map_or(buf.len(), |w| w.min(buf.len()));
        let n = from.read_at(&mut buf[..want], off)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|b| *b != 0) {
            to.write_all_at(&buf[..n], off)?;
        }
        off += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn template_dir_is_next_to_the_environment_dirs() {
        assert_eq!(
            template_dir(Path::new("/data/envs/abc/tmp")),
            PathBuf::from("/data/envs/.lamina-tmp-templates")
        );
        assert_eq!(
            template_dir(Path::new("/tmp")),
            PathBuf::from("/.lamina-tmp-templates")
        );
        assert_eq!(
            template_path(Path::new("/c"), 512),
            PathBuf::from("/c/ext4-512m-v1.img")
        );
    }

    #[test]
    fn sparse_copy_keeps_data_and_holes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let len = 8u64 << 20;
        {
            let mut f = File::create(&src).unwrap();
            f.set_len(len).unwrap();
            f.write_all_at(b"head", 0).unwrap();
            f.write_all_at(&[7u8; 10_000], 3 << 20).unwrap();
            f.write_all_at(b"tail", len - 4).unwrap();
            f.flush().unwrap();
        }
        let dst = dir.path().join("dst");
        copy_sparse(&src, &dst, len).unwrap();
        assert_eq!(fs::read(&src).unwrap(), fs::read(&dst).unwrap());
        let m = fs::metadata(&dst).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
        // Far less than 8 MiB allocated (512-byte blocks).
        assert!(m.blocks() * 512 < 1 << 20, "{} blocks", m.blocks());
        // Wrong size or an existing destination: refused.
        assert!(copy_sparse(&src, &dir.path().join("x"), len + 1).is_err());
        assert!(copy_sparse(&src, &dst, len).is_err());
    }

    #[test]
    fn buffered_copy_skips_zero_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let len = 1u64 << 20;
        let f = File::create(&a).unwrap();
        f.set_len(len).unwrap();
        f.write_all_at(b"x", 700_000).unwrap();
        let to = File::create(&b).unwrap();
        to.set_len(len).unwrap();
        copy_buffered(&File::open(&a).unwrap(), &to, 0, len as i64).unwrap();
        assert_eq!(fs::read(&a).unwrap(), fs::read(&b).unwrap());
        assert!(to.metadata().unwrap().blocks() * 512 <= 128 * 1024);
    }

    #[test]
    fn templates_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        fs::DirBuilder::new().mode(0o777).create(&open).unwrap();
        fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        assert!(check_private(&open, true).is_err());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        assert!(check_private(&link, true).is_err());
        fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        check_private(&open, true).unwrap();
    }
}
