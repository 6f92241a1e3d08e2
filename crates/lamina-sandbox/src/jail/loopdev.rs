//! The disk-backed, size-capped `/tmp`: a sparse ext4 image in the host
//! `tmp_dir`, attached to a loop device with `LO_FLAGS_AUTOCLEAR` and mounted
//! inside the jail's mount namespace. When the namespace dies the mount goes
//! away and the kernel detaches the loop device by itself.
//!
//! A new image is a sparse copy of the parent's formatted template
//! ([`crate::tmpimage`]); without one (or if the copy fails) the jail formats
//! it with `mkfs.ext4` itself. Either way it is built as `<image>.new` and
//! renamed, so a crash never leaves a half-made image to be reused.
//!
//! Falls back to a tmpfs of the same size (which counts against the memory
//! limit) only when the host has no `/dev/loop-control` at all.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{MsFlags, mount};

use super::JailError;
use crate::tmpimage;

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` from `<linux/loop.h>`.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config` from `<linux/loop.h>` (LOOP_CONFIGURE, kernel >= 5.8).
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// Mounts the `/tmp` of `spec` on `target`.
pub(crate) fn mount_tmp(
    image: &Path,
    target: &Path,
    size_mb: u64,
    template: Option<&Path>,
) -> Result<(), JailError> {
    if !Path::new("/dev/loop-control").exists() {
        // TODO: without loop devices /tmp is a tmpfs and counts against memory_mb.
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
        let data = format!("size={size_mb}m,mode=1777");
        return mount(
            Some("tmpfs"),
            target,
            Some("tmpfs"),
            flags,
            Some(data.as_str()),
        )
        .map_err(|e| JailError::sys("mount tmpfs /tmp", e));
    }
    if image_in_use(image) {
        return Err(JailError::msg(
            "mount /tmp image",
            format!("{} is already attached to a loop device", image.display()),
        ));
    }
    let fresh = ensure_image(image, size_mb, false, template)?;
    let result = attach_and_mount(image, target);
    let fresh = match result {
        Ok(()) => fresh,
        // An image from an older, crashed environment may be corrupt: /tmp
        // is scratch space, so rebuild it once.
        Err(_) if !fresh => {
            ensure_image(image, size_mb, true, template)?;
            attach_and_mount(image, target)?;
            true
        }
        Err(e) => return Err(e),
    };
    if fresh {
        let _ = fs::remove_dir(target.join("lost+found"));
    }
    fs::set_permissions(target, fs::Permissions::from_mode(0o1777))
        .map_err(|e| JailError::io("chmod /tmp", e))?;
    Ok(())
}

/// Creates (or re-creates) the sparse ext4 image. Returns whether it is new.
fn ensure_image(
    image: &Path,
    size_mb: u64,
    force: bool,
    template: Option<&Path>,
) -> Result<bool, JailError> {
    let size = size_mb * 1024 * 1024;
    if !force && fs::metadata(image).is_ok_and(|m| m.len() == size) {
        return Ok(false);
    }
    if let Some(dir) = image.parent() {
        fs::create_dir_all(dir).map_err(|e| JailError::io("create tmp_dir", e))?;
    }
    let mut new = image.as_os_str().to_owned();
    new.push(".new");
    let new = PathBuf::from(new);
    let _ = fs::remove_file(&new);
    let copied = template.is_some_and(|t| match tmpimage::copy_sparse(t, &new, size) {
        Ok(_) => true,
        Err(_) => {
            let _ = fs::remove_file(&new);
            false
        }
    });
    if !copied {
        format_new(&new, size)?;
    }
    fs::rename(&new, image).map_err(|e| JailError::io("rename /tmp image", e))?;
    Ok(true)
}

/// Formats a new image at `path` (no template, or copying it failed).
fn format_new(path: &Path, size: u64) -> Result<(), JailError> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| JailError::io("create /tmp image", e))?;
    f.set_len(size)
        .map_err(|e| JailError::io("size /tmp image", e))?;
    drop(f);
    tmpimage::mkfs(path).map_err(|e| JailError::io("mkfs.ext4 /tmp image", e))
}

fn attach_and_mount(image: &Path, target: &Path) -> Result<(), JailError> {
    let (dev, _dev_file) = attach(image)?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    // `_dev_file` stays open until the mount holds the device; closing it
    // afterwards leaves the mount as the last user, so AUTOCLEAR fires on unmount.
    mount(
        Some(dev.as_path()),
        target,
        Some("ext4"),
        flags,
        Some(tmpimage::MOUNT_DATA),
    )
    .map_err(|e| JailError::sys("mount /tmp image", e))
}

/// Attaches `image` to a free loop device with AUTOCLEAR. Returns its path and open file.
fn attach(image: &Path) -> Result<(PathBuf, File), JailError> {
    let backing = OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .map_err(|e| JailError::io("open /tmp image", e))?;
    let control =
        File::open("/dev/loop-control").map_err(|e| JailError::io("open /dev/loop-control", e))?;
    let start = Instant::now();
    loop {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a device
        // number or -1; `control` is an open /dev/loop-control fd.
        let n = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE as _) };
        if n < 0 {
            return Err(JailError::sys("LOOP_CTL_GET_FREE", nix::Error::last()));
        }
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let dev = wait_for_node(&path)?;
        let mut cfg = LoopConfig {
            fd: u32::try_from(backing.as_raw_fd()).unwrap_or(u32::MAX),
            block_size: 0,
            info: LoopInfo64 {
                lo_device: 0,
                lo_inode: 0,
                lo_rdevice: 0,
                lo_offset: 0,
                lo_sizelimit: 0,
                lo_number: 0,
                lo_encrypt_type: 0,
                lo_encrypt_key_size: 0,
                lo_flags: LO_FLAGS_AUTOCLEAR,
                lo_file_name: [0; 64],
                lo_crypt_name: [0; 64],
                lo_encrypt_key: [0; 32],
                lo_init: [0; 2],
            },
            reserved: [0; 8],
        };
        let name = image.as_os_str().as_encoded_bytes();
        let len = name.len().min(63);
        cfg.info.lo_file_name[..len].copy_from_slice(&name[..len]);
        // SAFETY: LOOP_CONFIGURE reads a `struct loop_config`, which `cfg`
        // matches (`repr(C)`, same field order and sizes as <linux/loop.h>);
        // the pointer is valid for the duration of the call.
        let rc = unsafe {
            libc::ioctl(
                dev.as_raw_fd(),
                LOOP_CONFIGURE as _,
                &mut cfg as *mut LoopConfig,
            )
        };
        if rc == 0 {
            return Ok((path, dev));
        }
        let e = nix::Error::last();
        // EBUSY: another process took this device between GET_FREE and CONFIGURE.
        if e != nix::Error::EBUSY || start.elapsed() > Duration::from_secs(2) {
            return Err(JailError::sys("LOOP_CONFIGURE", e));
        }
    }
}

/// A new loop device's node appears asynchronously (devtmpfs); wait briefly.
fn wait_for_node(path: &Path) -> Result<File, JailError> {
    let start = Instant::now();
    loop {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => return Ok(f),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && start.elapsed() < Duration::from_secs(1) =>
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(JailError::io(format!("open {}", path.display()), e)),
        }
    }
}

/// Whether any loop device is backed by `image` (read from sysfs).
pub(crate) fn image_in_use(image: &Path) -> bool {
    loop_users(image).is_some_and(|v| !v.is_empty())
}

/// Loop devices backed by `image`, or `None` if sysfs cannot be read.
pub(crate) fn loop_users(image: &Path) -> Option<Vec<String>> {
    let image = fs::canonicalize(image).ok()?;
    let entries = fs::read_dir("/sys/block").ok()?;
    let mut users = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("loop") {
            continue;
        }
        let backing = fs::read_to_string(e.path().join("loop/backing_file")).unwrap_or_default();
        if Path::new(backing.trim_end_matches('\n')) == image {
            users.push(name);
        }
    }
    Some(users)
}
