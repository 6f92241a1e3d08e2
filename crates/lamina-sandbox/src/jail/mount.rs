//! The new root file system: a pure plan ([`plan`]) and its executor ([`apply`]).
//!
//! The root is a small tmpfs mounted (inside the jail's private mount
//! namespace) on [`crate::JAIL_ROOT_MOUNTPOINT`], filled with read-only binds,
//! then `pivot_root`ed into. Sandbox paths in the plan are absolute and are
//! resolved under the new root when applied.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::SandboxSpec;

use super::{JailError, loopdev};

/// Host system directories bound read-only (or re-created as symlinks when
/// the host has them as symlinks, e.g. merged-usr `/lib -> usr/lib`).
pub(crate) const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
];

/// The minimal `/etc`: host entries bound read-only when they exist.
/// `passwd`, `group`, `hostname` and `hosts` are generated instead.
pub(crate) const ETC_ENTRIES: &[&str] = &[
    "resolv.conf",
    "nsswitch.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "crypto-policies",
    "alternatives",
    "mime.types",
    "protocols",
    "services",
    "os-release",
    "gai.conf",
    "host.conf",
    // Language runtimes installed from Debian keep part of their configuration here:
    // the JDK's java.security (security providers, used by UUID and TLS) and Mono's DLL map.
    "java-17-openjdk",
    "java-21-openjdk",
    "mono",
];

/// Device nodes bound from the host.
pub(crate) const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// `/proc` files hidden behind `/dev/null` (kernel memory, keys, timers, sysrq).
pub(crate) const PROC_MASKED: &[&str] = &[
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/sysrq-trigger",
];

/// What a host path is, as far as the plan cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostKind {
    Dir,
    File,
    Symlink(PathBuf),
    Missing,
}

/// Looks a host path up without following a final symlink.
pub(crate) fn host_kind(p: &Path) -> HostKind {
    match fs::symlink_metadata(p) {
        Err(_) => HostKind::Missing,
        Ok(m) if m.file_type().is_symlink() => {
            fs::read_link(p).map_or(HostKind::Missing, HostKind::Symlink)
        }
        Ok(m) if m.is_dir() => HostKind::Dir,
        Ok(_) => HostKind::File,
    }
}

/// One step of building the root. Targets are sandbox paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MountOp {
    /// Creates a directory (and its parents) with this mode.
    Mkdir { target: PathBuf, mode: u32 },
    /// Mounts a tmpfs (`nosuid,nodev`, plus `noexec` when `noexec`).
    Tmpfs {
        target: PathBuf,
        data: String,
        noexec: bool,
    },
    /// Binds a host path (dir or file) read-only, `nosuid,nodev`.
    BindRo {
        source: PathBuf,
        target: PathBuf,
        file: bool,
    },
    /// Binds a host device node (writable, `nosuid,noexec`).
    BindDev { source: PathBuf, target: PathBuf },
    /// Creates a symlink `target -> points_to`.
    Symlink { target: PathBuf, points_to: PathBuf },
    /// Writes a generated file.
    WriteFile {
        target: PathBuf,
        contents: String,
        mode: u32,
    },
    /// Mounts a fresh procfs (must run inside the new PID namespace).
    Proc { target: PathBuf },
    /// Mounts the ext4 image on a loop device (fallback: a tmpfs of the same size).
    TmpImage {
        image: PathBuf,
        target: PathBuf,
        size_mb: u64,
    },
    /// Remounts a mount point read-only.
    RemountRo { target: PathBuf },
}

/// What egress adds to the generated `/etc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NetEtc {
    /// Generated `/etc/resolv.conf` (instead of binding the host's).
    pub resolv_conf: Option<String>,
    /// Extra `/etc/hosts` entries.
    pub hosts: Vec<(std::net::Ipv4Addr, String)>,
}

impl NetEtc {
    /// For an environment with egress: the host's resolver configuration made
    /// usable from the environment, and its gateway as [`crate::network::HOST_ALIAS`].
    pub(crate) fn for_env(net: &crate::network::EnvNetwork) -> Self {
        let host = fs::read_to_string("/etc/resolv.conf").ok();
        let upstream = fs::read_to_string("/run/systemd/resolve/resolv.conf").ok();
        Self {
            resolv_conf: host.map(|h| crate::network::sandbox_resolv_conf(&h, upstream.as_deref())),
            hosts: vec![(net.host_addr, crate::network::HOST_ALIAS.into())],
        }
    }
}

/// The root-building plan for `spec`. `kind` looks up host paths (faked in tests).
#[cfg(test)]
pub(crate) fn plan(spec: &SandboxSpec, kind: &dyn Fn(&Path) -> HostKind) -> Vec<MountOp> {
    plan_with(spec, &NetEtc::default(), kind)
}

/// The root-building plan for `spec` with the network's `/etc` additions.
pub(crate) fn plan_with(
    spec: &SandboxSpec,
    net: &NetEtc,
    kind: &dyn Fn(&Path) -> HostKind,
) -> Vec<MountOp> {
    use MountOp::*;
    let p = |s: &str| PathBuf::from(s);
    let mut ops = Vec::new();
    for dir in SYSTEM_DIRS {
        match kind(Path::new(dir)) {
            HostKind::Dir => {
                ops.push(Mkdir {
                    target: p(dir),
                    mode: 0o755,
                });
                ops.push(BindRo {
                    source: p(dir),
                    target: p(dir),
                    file: false,
                });
            }
            HostKind::Symlink(to) => ops.push(Symlink {
                target: p(dir),
                points_to: to,
            }),
            HostKind::File | HostKind::Missing => {}
        }
    }

    // /etc: a small tmpfs with the few host files programs need.
    ops.push(Mkdir {
        target: p("/etc"),
        mode: 0o755,
    });
    ops.push(Tmpfs {
        target: p("/etc"),
        data: "size=1m,mode=755".into(),
        noexec: true,
    });
    for name in ETC_ENTRIES {
        if *name == "resolv.conf" && net.resolv_conf.is_some() {
            continue;
        }
        let host = Path::new("/etc").join(name);
        match kind(&host) {
            HostKind::Dir => {
                ops.push(Mkdir {
                    target: host.clone(),
                    mode: 0o755,
                });
                ops.push(BindRo {
                    source: host.clone(),
                    target: host,
                    file: false,
                });
            }
            HostKind::File => ops.push(BindRo {
                source: host.clone(),
                target: host,
                file: true,
            }),
            HostKind::Symlink(to) => ops.push(Symlink {
                target: host,
                points_to: to,
            }),
            HostKind::Missing => {}
        }
    }
    for (name, contents) in generated_etc(spec, net) {
        ops.push(WriteFile {
            target: Path::new("/etc").join(name),
            contents,
            mode: 0o644,
        });
    }
    ops.push(RemountRo { target: p("/etc") });

    // Function code, layers and runtime.
    for target in ["/var/task", "/opt", "/var/runtime"] {
        ops.push(Mkdir {
            target: p(target),
            mode: 0o755,
        });
    }
    if let Some(source) = &spec.runtime_dir {
        ops.push(BindRo {
            source: source.clone(),
            target: p("/var/runtime"),
            file: false,
        });
    }
    ops.extend(function_binds(spec));

    // /dev: tmpfs with bound device nodes, then read-only.
    ops.push(Mkdir {
        target: p("/dev"),
        mode: 0o755,
    });
    ops.push(Tmpfs {
        target: p("/dev"),
        data: "size=64k,mode=755".into(),
        noexec: true,
    });
    for dev in DEVICES {
        let host = Path::new("/dev").join(dev);
        if kind(&host) != HostKind::Missing {
            ops.push(BindDev {
                source: host.clone(),
                target: host,
            });
        }
    }
    for (link, to) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        ops.push(Symlink {
            target: p(link),
            points_to: p(to),
        });
    }
    ops.push(Mkdir {
        target: p("/dev/shm"),
        mode: 0o755,
    });
    ops.push(RemountRo { target: p("/dev") });
    // /dev/shm counts against the memory cgroup, so it is bounded by memory_mb.
    ops.push(Tmpfs {
        target: p("/dev/shm"),
        data: "mode=1777".into(),
        noexec: true,
    });

    // A procfs for the new PID namespace, with the dangerous files masked.
    ops.push(Mkdir {
        target: p("/proc"),
        mode: 0o555,
    });
    ops.push(Proc { target: p("/proc") });
    for f in PROC_MASKED {
        if kind(Path::new(f)) != HostKind::Missing {
            ops.push(BindRo {
                source: p("/dev/null"),
                target: p(f),
                file: true,
            });
        }
    }

    // The private, size-capped, disk-backed /tmp.
    ops.push(Mkdir {
        target: p("/tmp"),
        mode: 0o1777,
    });
    ops.push(TmpImage {
        image: spec.tmp_image_path(),
        target: p("/tmp"),
        size_mb: spec.tmp_size_mb,
    });
    ops
}

/// The generated `/etc` files: `passwd`/`group` naming the sandbox user, hosts and hostname.
fn generated_etc(spec: &SandboxSpec, net: &NetEtc) -> Vec<(&'static str, String)> {
    let (uid, gid, host) = (spec.uid, spec.gid, &spec.hostname);
    let mut hosts = format!("127.0.0.1\tlocalhost {host}\n::1\tlocalhost ip6-localhost\n");
    for (addr, name) in &net.hosts {
        hosts.push_str(&format!("{addr}\t{name}\n"));
    }
    let mut files = vec![
        (
            "passwd",
            format!(
                "root:x:0:0:root:/root:/sbin/nologin\nsbx_user{uid}:x:{uid}:{gid}::/tmp:/sbin/nologin\n"
            ),
        ),
        ("group", format!("root:x:0:\nsbx_user{uid}:x:{gid}:\n")),
        ("hostname", format!("{host}\n")),
        ("hosts", hosts),
    ];
    if let Some(r) = &net.resolv_conf {
        files.push(("resolv.conf", r.clone()));
    }
    files
}

/// Resolves a sandbox path under the new root.
fn under(root: &Path, target: &Path) -> PathBuf {
    root.join(target.strip_prefix("/").unwrap_or(target))
}

fn err(step: &str, target: &Path) -> impl FnOnce(nix::Error) -> JailError {
    let step = format!("{step} {}", target.display());
    move |e| JailError::sys(step, e)
}

fn io_err(step: &str, target: &Path) -> impl FnOnce(std::io::Error) -> JailError {
    let step = format!("{step} {}", target.display());
    move |e| JailError::io(step, e)
}

const NONE: Option<&str> = None;

/// Makes every mount private (so nothing propagates back to the host) and
/// mounts the root tmpfs on `root`.
pub(crate) fn prepare_root(root: &Path) -> Result<(), JailError> {
    mount(NONE, "/", NONE, MsFlags::MS_REC | MsFlags::MS_PRIVATE, NONE)
        .map_err(err("make private", Path::new("/")))?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(
        Some("tmpfs"),
        root,
        Some("tmpfs"),
        flags,
        Some("size=1m,mode=755"),
    )
    .map_err(err("mount root tmpfs", root))
}

impl MountOp {
    /// The sandbox path the step works on.
    pub(crate) fn target(&self) -> &Path {
        match self {
            MountOp::Mkdir { target, .. }
            | MountOp::Tmpfs { target, .. }
            | MountOp::BindRo { target, .. }
            | MountOp::BindDev { target, .. }
            | MountOp::Symlink { target, .. }
            | MountOp::WriteFile { target, .. }
            | MountOp::Proc { target }
            | MountOp::TmpImage { target, .. }
            | MountOp::RemountRo { target } => target,
        }
    }

    /// Whether init must apply this step: procfs is mounted from inside the
    /// new PID namespace (the jail itself is not in it), and the masks over
    /// its files come after it.
    fn needs_init(&self) -> bool {
        let t = self.target();
        matches!(self, MountOp::Proc { .. }) || (t.starts_with("/proc") && t != Path::new("/proc"))
    }
}

/// The steps that mount the function's own code (`/var/task`) and layers
/// (`/opt`): a pre-started jail applies them once it knows the function.
pub(crate) fn function_binds(spec: &SandboxSpec) -> Vec<MountOp> {
    [
        ("/var/task", Some(&spec.code_dir)),
        ("/opt", spec.opt_dir.as_ref()),
    ]
    .into_iter()
    .filter_map(|(target, source)| {
        source.map(|s| MountOp::BindRo {
            source: s.clone(),
            target: PathBuf::from(target),
            file: false,
        })
    })
    .collect()
}

/// Leaves out of `ops` the steps of [`function_binds`].
pub(crate) fn without_function_binds(ops: Vec<MountOp>) -> Vec<MountOp> {
    ops.into_iter()
        .filter(|op| {
            !(matches!(op, MountOp::BindRo { .. })
                && [Path::new("/var/task"), Path::new("/opt")].contains(&op.target()))
        })
        .collect()
}

/// Splits the plan, keeping its order, into the steps the jail applies
/// before it forks init (while the parent moves it into its cgroup) and the
/// steps init applies. The two never touch the same paths.
pub(crate) fn split_for_init(ops: Vec<MountOp>) -> (Vec<MountOp>, Vec<MountOp>) {
    ops.into_iter().partition(|op| !op.needs_init())
}

/// Applies the plan under `root` (before `pivot_root`). `tmp_template` is
/// the formatted image a new `/tmp` image is copied from, if any.
pub(crate) fn apply(
    root: &Path,
    ops: &[MountOp],
    tmp_template: Option<&Path>,
) -> Result<(), JailError> {
    for op in ops {
        apply_one(root, op, tmp_template)?;
    }
    Ok(())
}

fn apply_one(root: &Path, op: &MountOp, tmp_template: Option<&Path>) -> Result<(), JailError> {
    let ro = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    match op {
        MountOp::Mkdir { target, mode } => {
            let t = under(root, target);
            fs::create_dir_all(&t).map_err(io_err("mkdir", &t))?;
            fs::set_permissions(&t, fs::Permissions::from_mode(*mode)).map_err(io_err("chmod", &t))
        }
        MountOp::Tmpfs {
            target,
            data,
            noexec,
        } => {
            let t = under(root, target);
            let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
            if *noexec {
                flags |= MsFlags::MS_NOEXEC;
            }
            mount(Some("tmpfs"), &t, Some("tmpfs"), flags, Some(data.as_str()))
                .map_err(err("mount tmpfs", &t))
        }
        MountOp::BindRo {
            source,
            target,
            file,
        } => {
            let t = under(root, target);
            if *file {
                // Under /proc the target exists already; elsewhere create an empty file.
                if !t.exists() {
                    fs::write(&t, b"").map_err(io_err("create bind target", &t))?;
                }
            } else {
                fs::create_dir_all(&t).map_err(io_err("mkdir", &t))?;
            }
            mount(Some(source.as_path()), &t, NONE, MsFlags::MS_BIND, NONE)
                .map_err(err("bind", &t))?;
            mount(NONE, &t, NONE, ro, NONE).map_err(err("remount read-only", &t))
        }
        MountOp::BindDev { source, target } => {
            let t = under(root, target);
            fs::write(&t, b"").map_err(io_err("create device target", &t))?;
            mount(Some(source.as_path()), &t, NONE, MsFlags::MS_BIND, NONE)
                .map_err(err("bind device", &t))?;
            let flags =
                MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
            mount(NONE, &t, NONE, flags, NONE).map_err(err("remount device", &t))
        }
        MountOp::Symlink { target, points_to } => {
            let t = under(root, target);
            symlink(points_to, &t).map_err(io_err("symlink", &t))
        }
        MountOp::WriteFile {
            target,
            contents,
            mode,
        } => {
            let t = under(root, target);
            fs::write(&t, contents).map_err(io_err("write", &t))?;
            fs::set_permissions(&t, fs::Permissions::from_mode(*mode)).map_err(io_err("chmod", &t))
        }
        MountOp::Proc { target } => {
            let t = under(root, target);
            let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            mount(Some("proc"), &t, Some("proc"), flags, NONE).map_err(err("mount proc", &t))
        }
        MountOp::TmpImage {
            image,
            target,
            size_mb,
        } => {
            let t = under(root, target);
            loopdev::mount_tmp(image, &t, *size_mb, tmp_template)
        }
        MountOp::RemountRo { target } => {
            let t = under(root, target);
            mount(NONE, &t, NONE, ro | MsFlags::MS_NOEXEC, NONE)
                .map_err(err("remount read-only", &t))
        }
    }
}

/// `pivot_root` into `root`, detach the old root, and make `/` read-only.
pub(crate) fn pivot(root: &Path) -> Result<(), JailError> {
    nix::unistd::chdir(root).map_err(err("chdir", root))?;
    // pivot_root(".", ".") stacks the old root on top of the new one; the
    // detach below then removes it (no put_old directory needed).
    nix::unistd::pivot_root(".", ".").map_err(err("pivot_root", root))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err("detach old root", root))?;
    nix::unistd::chdir("/").map_err(err("chdir", Path::new("/")))?;
    let flags = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    mount(NONE, "/", NONE, flags, NONE).map_err(err("remount / read-only", Path::new("/")))
}

#[cfg(test)]
#[path = "mount_tests.rs"]
mod tests;
