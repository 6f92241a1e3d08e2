//! cgroup v1 and v2 support: detection, the limits an environment gets, the
//! per-server group and the start-up sweep ([`server`]), and the
//! per-environment group (create, add the jail, read counters, kill, remove).
//!
//! Layout: `<root>/srv-<pid>-<start>/<env id>`, where `<root>` is
//! `/sys/fs/cgroup/<name>` on v2 and `/sys/fs/cgroup/{memory,cpu,pids}/<name>`
//! on v1.
//!
//! The values written are computed by pure functions ([`CgroupLimits::v1_writes`],
//! [`CgroupLimits::v2_writes`]) so they are unit-tested without root.
//!
//! Moving the jail into its group (the first write to `cgroup.procs`) costs a
//! kernel RCU grace period (10-19 ms measured on a busy 2-core VM), because it
//! write-locks the global thread-group rwsem. What was tried (`bench` numbers
//! and the tests' `measure_*` output):
//! - fewer hierarchies: only the first write is slow (the lock stays cheap for
//!   a grace period), so dropping the freezer saves ~0.1 ms, not the wait;
//! - a pool of pre-created groups: `mkdir` of the three groups takes ~0.25 ms,
//!   so there is nothing to win;
//! - the parent moves the jail **while** the jail builds its namespaces,
//!   network, root and `/tmp` (the jail waits for a `Joined` message only
//!   before it forks init): kept, it hides the wait behind that work;
//! - `favordynmods` (a cgroup2 mount option; on a v1 host, remounting the
//!   `unified` cgroup2 mount with it works too, as the lock is global): the
//!   write then costs ~0.3 ms. It is a host setting (forks and exits get a bit
//!   dearer), and on kernel 6.18 it cannot be switched off again until reboot,
//!   so Lamina does not set it itself: see the host requirements in the crate docs;
//! - `CLONE_INTO_CGROUP` (`clone3`, v2 only) would avoid the move entirely,
//!   but needs a hand-written fork/exec in the multi-threaded server instead
//!   of `std::process::Command`; not done (TODO), the overlap hides most of it.

mod server;
mod v1;
mod v2;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::SandboxError;
use crate::spec::{INIT_BOOST_MILLICORES, SandboxSpec};

pub use server::{SERVER_GROUP_PREFIX, SweepReport};
pub(crate) use v1::V1Cgroup;
pub(crate) use v2::V2Cgroup;

/// CFS period used for CPU quotas (100 ms, the kernel default).
pub const CPU_PERIOD_US: u64 = 100_000;

/// Which cgroup version a [`CgroupRoot`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Where environments' groups are created: this server process's own group
/// under the shared parent group `name` (`/sys/fs/cgroup/<name>/srv-<pid>-<start>`
/// on v2; the same under `/sys/fs/cgroup/<controller>/` on v1).
#[derive(Debug, Clone)]
pub struct CgroupRoot {
    /// The shared parent group `<mount>/<name>`.
    kind: RootKind,
    /// This process's group under `kind` (set by [`CgroupRoot::detect`]).
    server: Option<Arc<server::ServerGroup>>,
    /// What the sweep at this process's first `detect` of `name` did.
    startup_sweep: Option<Arc<SweepReport>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootKind {
    V1(V1Paths),
    V2(PathBuf),
}

/// Directories of one group in the v1 hierarchies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct V1Paths {
    pub memory: PathBuf,
    pub cpu: PathBuf,
    pub pids: PathBuf,
    /// Not used for environments (see `v1.rs`); only swept, since older
    /// versions created groups there.
    pub freezer: Option<PathBuf>,
}

impl RootKind {
    /// The directories environments use (the first one carries the server lock).
    pub(crate) fn dirs(&self) -> Vec<PathBuf> {
        match self {
            RootKind::V1(p) => vec![p.memory.clone(), p.cpu.clone(), p.pids.clone()],
            RootKind::V2(dir) => vec![dir.clone()],
        }
    }

    /// The directories a sweep looks at: [`RootKind::dirs`] plus the v1 freezer.
    pub(crate) fn sweep_dirs(&self) -> Vec<PathBuf> {
        let mut d = self.dirs();
        if let RootKind::V1(p) = self {
            d.extend(p.freezer.clone());
        }
        d
    }
}

impl CgroupRoot {
    /// Detects v1 vs v2 from `/proc/self/mountinfo`, creates the `name`
    /// parent group and, under it, this process's server group
    /// (`srv-<pid>-<start time>`), in which [`crate::Sandbox::spawn`] creates
    /// the environments' groups.
    ///
    /// The first call for a `name` in a process also sweeps what servers that
    /// are gone left under `name` (killed leftover tasks, their environment
    /// groups, their server groups; see [`CgroupRoot::sweep_stale`]); later
    /// calls share the same server group. Groups of live servers are never
    /// touched, so many servers may share a host and a `name`.
    ///
    /// A pure v2 host (cgroup2 mounted at `/sys/fs/cgroup`) uses v2; a v1 or
    /// hybrid host (v1 controllers plus `/sys/fs/cgroup/unified`) uses v1,
    /// because that is where the controllers are.
    pub fn detect(name: &str) -> Result<Self, SandboxError> {
        let path = Path::new("/proc/self/mountinfo");
        let mountinfo =
            fs::read_to_string(path).map_err(|source| SandboxError::ReadCgroupFile {
                path: path.into(),
                source,
            })?;
        let mut root = Self::from_mountinfo(&mountinfo, name)?;
        root.create_parent()?;
        let (group, sweep) = server::for_process(&root.kind)?;
        root.server = Some(group);
        root.startup_sweep = Some(sweep);
        Ok(root)
    }

    /// Picks the hierarchy from mountinfo text without touching the file system.
    fn from_mountinfo(mountinfo: &str, name: &str) -> Result<Self, SandboxError> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(SandboxError::DetectCgroup(format!(
                "bad group name {name:?}"
            )));
        }
        let mounts = parse_cgroup_mounts(mountinfo);
        let v1 = |ctrl: &str| {
            mounts
                .iter()
                .find(|m| !m.v2 && m.options.iter().any(|o| o == ctrl))
                .map(|m| m.mount_point.join(name))
        };
        let root = |kind| Self {
            kind,
            server: None,
            startup_sweep: None,
        };
        if let (Some(memory), Some(cpu), Some(pids)) = (v1("memory"), v1("cpu"), v1("pids")) {
            let freezer = v1("freezer");
            return Ok(root(RootKind::V1(V1Paths {
                memory,
                cpu,
                pids,
                freezer,
            })));
        }
        let v2 = mounts.iter().filter(|m| m.v2).min_by_key(|m| {
            (
                m.mount_point != Path::new("/sys/fs/cgroup"),
                m.mount_point.clone(),
            )
        });
        match v2 {
            Some(m) => Ok(root(RootKind::V2(m.mount_point.join(name)))),
            None => Err(SandboxError::DetectCgroup(
                "neither v1 memory+cpu+pids controllers nor a cgroup2 mount found".into(),
            )),
        }
    }

    /// The cgroup version in use.
    pub fn version(&self) -> CgroupVersion {
        match self.kind {
            RootKind::V1(_) => CgroupVersion::V1,
            RootKind::V2(_) => CgroupVersion::V2,
        }
    }

    /// This process's server group directories (one per hierarchy), under
    /// which the environments' groups are created.
    pub fn server_dirs(&self) -> Vec<PathBuf> {
        self.env_parent().dirs()
    }

    /// The shared parent group's directories (`<mount>/<name>`, one per
    /// hierarchy used), which hold every server's group.
    pub fn parent_dirs(&self) -> Vec<PathBuf> {
        self.kind.dirs()
    }

    /// What the sweep at this process's first [`CgroupRoot::detect`] of this
    /// name did (`None` for a root that was not detected).
    pub fn startup_sweep(&self) -> Option<&SweepReport> {
        self.startup_sweep.as_deref()
    }

    /// Sweeps the parent group now: server groups whose server is gone (their
    /// lock is free and their pid is not alive with the same start time) lose
    /// their leftover tasks (SIGKILL), their environment groups and then
    /// themselves; empty legacy groups older than a minute are removed. This
    /// process's group and every live server's group are left alone.
    /// Best effort: what fails is listed in [`SweepReport::errors`].
    pub fn sweep_stale(&self) -> SweepReport {
        server::sweep(&self.kind, self.server.as_ref().map(|s| s.name.as_str()))
    }

    fn env_parent(&self) -> &RootKind {
        self.server.as_ref().map_or(&self.kind, |s| &s.kind)
    }

    fn create_parent(&self) -> Result<(), SandboxError> {
        match &self.kind {
            RootKind::V1(_) => {
                for dir in self.kind.dirs() {
                    mkdir(&dir)?;
                }
                Ok(())
            }
            RootKind::V2(dir) => v2::create_parent(dir),
        }
    }

    /// Creates the environment's group `<server group>/<id>`.
    pub(crate) fn create(&self, id: &str) -> Result<Cgroup, SandboxError> {
        match self.env_parent() {
            RootKind::V1(p) => V1Cgroup::create(p, id).map(Cgroup::V1),
            RootKind::V2(dir) => V2Cgroup::create(&dir.join(id)).map(Cgroup::V2),
        }
    }
}

/// One environment's group.
#[derive(Debug)]
pub(crate) enum Cgroup {
    V1(V1Cgroup),
    V2(V2Cgroup),
}

impl Cgroup {
    pub fn apply(&self, limits: &CgroupLimits) -> Result<(), SandboxError> {
        match self {
            Cgroup::V1(c) => c.write_all(&limits.v1_writes()),
            Cgroup::V2(c) => c.write_all(&limits.v2_writes()),
        }
    }
    /// Replaces the limits `old` (applied before) with `new`.
    pub fn reapply(&self, old: &CgroupLimits, new: &CgroupLimits) -> Result<(), SandboxError> {
        match self {
            Cgroup::V1(c) => c.write_all(&new.v1_writes_replacing(old)),
            Cgroup::V2(c) => c.write_all(&new.v2_writes()),
        }
    }
    pub fn set_cpu(&self, limits: &CgroupLimits) -> Result<(), SandboxError> {
        match self {
            Cgroup::V1(c) => c.write_all(&limits.v1_cpu_writes()),
            Cgroup::V2(c) => c.write_all(&[limits.v2_cpu_write()]),
        }
    }
    pub fn add_process(&self, pid: u32) -> Result<(), SandboxError> {
        match self {
            Cgroup::V1(c) => c.add_process(pid),
            Cgroup::V2(c) => c.add_process(pid),
        }
    }
    pub fn peak_memory_bytes(&self) -> Result<u64, SandboxError> {
        match self {
            Cgroup::V1(c) => c.peak_memory_bytes(),
            Cgroup::V2(c) => c.peak_memory_bytes(),
        }
    }
    pub fn oom_kills(&self) -> Result<u64, SandboxError> {
        match self {
            Cgroup::V1(c) => c.oom_kills(),
            Cgroup::V2(c) => c.oom_kills(),
        }
    }
    /// SIGKILLs every process in the group and waits (bounded) until it is empty.
    pub fn kill_all(&self, deadline: Duration) -> Result<(), SandboxError> {
        match self {
            Cgroup::V1(c) => c.kill_all(deadline),
            Cgroup::V2(c) => c.kill_all(deadline),
        }
    }
    /// Removes the group's directories (retrying while the kernel finishes exits).
    pub fn remove(&self) -> Result<(), SandboxError> {
        match self {
            Cgroup::V1(c) => c.remove(),
            Cgroup::V2(c) => c.remove(),
        }
    }
    /// Directories that make up this group (for tests and diagnostics).
    pub fn dirs(&self) -> Vec<PathBuf> {
        match self {
            Cgroup::V1(c) => c.dirs(),
            Cgroup::V2(c) => vec![c.dir().to_path_buf()],
        }
    }
}

/// The limit values for one environment, independent of the cgroup version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupLimits {
    pub memory_bytes: u64,
    pub pids_max: u64,
    pub cpu_quota_us: u64,
    pub cpu_period_us: u64,
}

impl CgroupLimits {
    /// Limits for `spec`; `boosted` selects the init CPU boost.
    pub fn for_spec(spec: &SandboxSpec, boosted: bool) -> Self {
        let millicores = if boosted && spec.init_cpu_boost {
            spec.cpu_millicores.max(INIT_BOOST_MILLICORES)
        } else {
            spec.cpu_millicores
        };
        Self {
            memory_bytes: spec.memory_mb.saturating_mul(1024 * 1024),
            pids_max: spec.pids_max,
            // The kernel's minimum quota is 1 ms.
            cpu_quota_us: (CPU_PERIOD_US.saturating_mul(millicores) / 1000).max(1000),
            cpu_period_us: CPU_PERIOD_US,
        }
    }

    /// `(controller, file, value)` in write order for v1. `memsw` is written
    /// after `limit_in_bytes` (the kernel requires memsw >= limit) and is skipped
    /// by the writer when the kernel has no swap accounting.
    pub fn v1_writes(&self) -> Vec<(V1Controller, &'static str, String)> {
        let mem = self.memory_bytes.to_string();
        let mut w = vec![
            (V1Controller::Memory, "memory.limit_in_bytes", mem.clone()),
            (V1Controller::Memory, "memory.memsw.limit_in_bytes", mem),
            (V1Controller::Memory, "memory.swappiness", "0".into()),
            (V1Controller::Pids, "pids.max", self.pids_max.to_string()),
        ];
        w.extend(self.v1_cpu_writes());
        w
    }

    /// [`CgroupLimits::v1_writes`] for a group that has `old` applied: when
    /// the memory limit grows, `memsw` goes first (it must stay >= the limit).
    pub fn v1_writes_replacing(
        &self,
        old: &CgroupLimits,
    ) -> Vec<(V1Controller, &'static str, String)> {
        let mut w = self.v1_writes();
        if self.memory_bytes > old.memory_bytes {
            w.swap(0, 1);
        }
        w
    }

    pub fn v1_cpu_writes(&self) -> Vec<(V1Controller, &'static str, String)> {
        vec![
            (
                V1Controller::Cpu,
                "cpu.cfs_period_us",
                self.cpu_period_us.to_string(),
            ),
            (
                V1Controller::Cpu,
                "cpu.cfs_quota_us",
                self.cpu_quota_us.to_string(),
            ),
        ]
    }

    /// `(file, value)` in write order for v2 (`memory.swap.max` is skipped by
    /// the writer when the kernel has no swap accounting).
    pub fn v2_writes(&self) -> Vec<(&'static str, String)> {
        vec![
            ("memory.max", self.memory_bytes.to_string()),
            ("memory.swap.max", "0".into()),
            ("pids.max", self.pids_max.to_string()),
            self.v2_cpu_write(),
        ]
    }

    pub fn v2_cpu_write(&self) -> (&'static str, String) {
        (
            "cpu.max",
            format!("{} {}", self.cpu_quota_us, self.cpu_period_us),
        )
    }
}

/// The v1 hierarchies we write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Controller {
    Memory,
    Cpu,
    Pids,
}

/// Files that may be missing on some kernels (no swap accounting); writes to them are skipped.
pub(crate) const OPTIONAL_FILES: &[&str] = &[
    "memory.memsw.limit_in_bytes",
    "memory.swap.max",
    "memory.swappiness",
];

#[derive(Debug, PartialEq, Eq)]
struct CgroupMount {
    mount_point: PathBuf,
    v2: bool,
    options: Vec<String>,
}

/// Extracts cgroup mounts from `/proc/self/mountinfo`.
fn parse_cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let mount_point = pre.split(' ').nth(4)?;
            let mut post = post.split(' ');
            let fstype = post.next()?;
            let _source = post.next()?;
            let options = post.next().unwrap_or("");
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            Some(CgroupMount {
                mount_point: PathBuf::from(unescape_mountinfo(mount_point)),
                v2,
                options: options.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let d = |c: u8| u32::from(c - b'0');
            let v = d(b[i + 1]) * 64 + d(b[i + 2]) * 8 + d(b[i + 3]);
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `key N` from a flat-keyed cgroup file (`memory.events`, `memory.oom_control`).
pub(crate) fn parse_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

pub(crate) fn mkdir(dir: &Path) -> Result<(), SandboxError> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(SandboxError::CreateCgroup {
            path: dir.into(),
            source,
        }),
    }
}

pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), SandboxError> {
    fs::write(path, value).map_err(|source| SandboxError::WriteCgroupFile {
        path: path.into(),
        value: value.into(),
        source,
    })
}

/// Writes `value` unless the file is optional and missing.
pub(crate) fn write_limit(dir: &Path, file: &str, value: &str) -> Result<(), SandboxError> {
    let path = dir.join(file);
    if OPTIONAL_FILES.contains(&file) && !path.exists() {
        return Ok(());
    }
    write_file(&path, value)
}

pub(crate) fn read_file(path: &Path) -> Result<String, SandboxError> {
    fs::read_to_string(path).map_err(|source| SandboxError::ReadCgroupFile {
        path: path.into(),
        source,
    })
}

pub(crate) fn read_u64(path: &Path) -> Result<u64, SandboxError> {
    let text = read_file(path)?;
    text.trim()
        .parse()
        .map_err(|_| SandboxError::ParseCgroupFile {
            path: path.into(),
            contents: text,
        })
}

pub(crate) fn read_keyed(path: &Path, key: &str) -> Result<u64, SandboxError> {
    let text = read_file(path)?;
    parse_keyed(&text, key).ok_or(SandboxError::ParseCgroupFile {
        path: path.into(),
        contents: text,
    })
}

/// Pids listed in a `cgroup.procs` file (a vanished group counts as empty).
pub(crate) fn procs(dir: &Path) -> Result<Vec<i32>, SandboxError> {
    let path = dir.join("cgroup.procs");
    match fs::read_to_string(&path) {
        Ok(t) => Ok(t.lines().filter_map(|l| l.trim().parse().ok()).collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(SandboxError::ReadCgroupFile { path, source }),
    }
}

/// SIGKILLs the listed pids until `dir/cgroup.procs` is empty or `deadline` passes.
pub(crate) fn kill_loop(dir: &Path, deadline: Duration) -> Result<(), SandboxError> {
    let start = Instant::now();
    loop {
        let pids = procs(dir)?;
        if pids.is_empty() {
            return Ok(());
        }
        if start.elapsed() > deadline {
            return Err(SandboxError::KillCgroup { path: dir.into() });
        }
        for pid in pids {
            // ESRCH (already gone) is fine.
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits (bounded) until `dir/cgroup.procs` is empty.
pub(crate) fn wait_empty(dir: &Path, deadline: Duration) -> Result<(), SandboxError> {
    let start = Instant::now();
    while !procs(dir)?.is_empty() {
        if start.elapsed() > deadline {
            return Err(SandboxError::KillCgroup { path: dir.into() });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// `rmdir` with a few retries: a group is briefly busy after its last task exits.
pub(crate) fn rmdir(dir: &Path) -> Result<(), SandboxError> {
    let mut last = None;
    for attempt in 0..50 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(if attempt < 10 { 1 } else { 10 }));
    }
    Err(SandboxError::RemoveCgroup {
        path: dir.into(),
        source: last.unwrap_or_else(|| io::Error::other("rmdir failed")),
    })
}

#[cfg(test)]
mod tests;
