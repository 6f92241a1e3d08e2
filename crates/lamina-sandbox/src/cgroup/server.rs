//! Per-server groups and the start-up sweep.
//!
//! Every server process puts its environments under its own group,
//! `<root>/srv-<pid>-<start time>/env-…` (`<root>` is `/sys/fs/cgroup/<name>`
//! on v2 and `/sys/fs/cgroup/<controller>/<name>` on v1). It holds an
//! exclusive `flock` on that group's directory (in the first hierarchy) for
//! as long as it lives; the kernel drops the lock when the process dies, even
//! by SIGKILL. The lock works across PID namespaces, which a pid check alone
//! would not.
//!
//! At start-up (the first [`super::CgroupRoot::detect`] of a name in a process)
//! the server sweeps `<root>`: a server group is stale when its lock can be
//! taken **and** its pid is not a live process with the same start time. The
//! sweeper keeps the lock while it kills the group's leftover tasks and
//! removes its environment groups and then the group itself, so two servers
//! starting together never sweep the same group, and a live server's group is
//! never touched (its lock is held). Groups that predate server groups
//! (`<root>/env-…` directly) are removed when they are empty and more than
//! [`LEGACY_MIN_AGE`] old: their owner cannot be known, and a young one may
//! belong to a server that is just moving a process into it.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};

use super::{RootKind, V1Paths};
use crate::SandboxError;

/// Prefix of a server group's name: `srv-<pid>-<start time in clock ticks>`.
pub const SERVER_GROUP_PREFIX: &str = "srv-";

/// Legacy (pre-server-group) environment groups younger than this are left alone.
pub(crate) const LEGACY_MIN_AGE: Duration = Duration::from_secs(60);

/// How long the sweep waits for one stale group's tasks to die.
const SWEEP_KILL_DEADLINE: Duration = Duration::from_secs(5);

/// What a sweep found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// Stale server groups removed (their names).
    pub servers_removed: Vec<String>,
    /// Server groups left alone because their server is alive (this process's included).
    pub servers_kept: usize,
    /// Environment groups removed from stale server groups.
    pub environments_removed: usize,
    /// Leftover tasks SIGKILLed in stale server groups.
    pub tasks_killed: usize,
    /// Empty legacy groups (`<root>/env-…`, from servers that predate server groups) removed.
    pub legacy_removed: usize,
    /// Legacy groups kept because they still have tasks (their owner is unknown).
    pub legacy_busy: usize,
    /// Groups that could not be cleaned, and why.
    pub errors: Vec<String>,
}

/// This process's identity as a server: its pid and its start time (field 22
/// of `/proc/<pid>/stat`, in clock ticks since boot), which tells a reused pid apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerId {
    pub pid: u32,
    pub start: u64,
}

impl ServerId {
    pub fn current() -> Result<Self, SandboxError> {
        let pid = std::process::id();
        let path = PathBuf::from("/proc/self/stat");
        let text = fs::read_to_string(&path)
            .map_err(|source| SandboxError::ReadCgroupFile { path, source })?;
        let start = parse_start_time(&text).ok_or(SandboxError::ParseCgroupFile {
            path: "/proc/self/stat".into(),
            contents: text,
        })?;
        Ok(Self { pid, start })
    }

    pub fn group_name(self) -> String {
        format!("{SERVER_GROUP_PREFIX}{}-{}", self.pid, self.start)
    }

    pub fn parse(name: &str) -> Option<Self> {
        let (pid, start) = name.strip_prefix(SERVER_GROUP_PREFIX)?.split_once('-')?;
        Some(Self {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// Whether a process with this pid and start time runs (in our PID namespace).
    pub fn alive(self) -> bool {
        fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .ok()
            .and_then(|t| parse_start_time(&t))
            == Some(self.start)
    }
}

/// Field 22 (`starttime`) of a `/proc/<pid>/stat` line. The command name
/// (field 2) may contain spaces and parentheses, so fields are counted from
/// the last `)`.
pub(crate) fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name: state is field 3, so starttime (22) is the 20th.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This process's group under one root, locked for the process's lifetime.
#[derive(Debug)]
pub(crate) struct ServerGroup {
    pub name: String,
    /// The group's directories, as a root for environment groups.
    pub kind: RootKind,
    _lock: Flock<File>,
}

impl ServerGroup {
    fn create(top: &RootKind, id: ServerId) -> Result<Self, SandboxError> {
        let name = id.group_name();
        let kind = top.child(&name);
        let dirs = kind.dirs();
        let mut last = None;
        for _ in 0..5 {
            // The lock directory first: a sweeper that sees the group before
            // it is locked finds our pid alive and leaves it alone.
            super::mkdir(&dirs[0])?;
            let file = open_dir(&dirs[0]).map_err(|source| SandboxError::CreateCgroup {
                path: dirs[0].clone(),
                source,
            })?;
            let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => l,
                Err((_, e)) => {
                    // A sweeper is looking at it right now; it will let go.
                    last = Some(io::Error::from(e));
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            // A sweeper in another PID namespace may have removed the
            // directory between our mkdir and lock: start again.
            if !same_inode(&lock, &dirs[0]) {
                last = Some(io::Error::other("group removed while being created"));
                continue;
            }
            for d in &dirs[1..] {
                super::mkdir(d)?;
            }
            if let RootKind::V2(dir) = &kind {
                super::v2::enable_controllers(dir, true)?;
            }
            return Ok(Self {
                name,
                kind,
                _lock: lock,
            });
        }
        Err(SandboxError::CreateCgroup {
            path: dirs[0].clone(),
            source: last.unwrap_or_else(|| io::Error::other("could not lock the server group")),
        })
    }
}

struct Registered {
    top: RootKind,
    group: Arc<ServerGroup>,
    sweep: Arc<SweepReport>,
}

/// Server groups of this process, one per root, kept for the process's
/// lifetime (the lock must outlive every `CgroupRoot` clone and every test).
static REGISTRY: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// This process's server group under `top`: created, and `top` swept, on
/// the first call for `top`; shared afterwards.
pub(crate) fn for_process(
    top: &RootKind,
) -> Result<(Arc<ServerGroup>, Arc<SweepReport>), SandboxError> {
    let mut reg = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = reg.iter().find(|r| &r.top == top) {
        return Ok((Arc::clone(&r.group), Arc::clone(&r.sweep)));
    }
    let group = Arc::new(ServerGroup::create(top, ServerId::current()?)?);
    let sweep = Arc::new(sweep(top, Some(&group.name)));
    reg.push(Registered {
        top: top.clone(),
        group: Arc::clone(&group),
        sweep: Arc::clone(&sweep),
    });
    Ok((group, sweep))
}

/// Removes what dead servers left under `top` (see the module docs). `own`
/// (this process's group) is never touched. Best effort: failures are
/// listed in the report and the sweep goes on.
pub(crate) fn sweep(top: &RootKind, own: Option<&str>) -> SweepReport {
    let mut report = SweepReport::default();
    let hierarchies = top.sweep_dirs();
    let lock_dir = top.dirs().swap_remove(0);
    let mut servers = BTreeSet::new();
    let mut legacy = BTreeSet::new();
    for h in &hierarchies {
        for name in subdirs(h) {
            if name.starts_with(SERVER_GROUP_PREFIX) {
                servers.insert(name);
            } else {
                legacy.insert(name);
            }
        }
    }
    for name in servers {
        if Some(name.as_str()) == own {
            report.servers_kept += 1;
            continue;
        }
        match sweep_server(&hierarchies, &lock_dir, &name) {
            Ok(None) => report.servers_kept += 1,
            Ok(Some((envs, tasks))) => {
                report.servers_removed.push(name);
                report.environments_removed += envs;
                report.tasks_killed += tasks;
            }
            Err(e) => report.errors.push(format!("{name}: {e}")),
        }
    }
    for name in legacy {
        let mut removed = false;
        for h in &hierarchies {
            match sweep_legacy(&h.join(&name)) {
                Ok(Legacy::Removed) => removed = true,
                Ok(Legacy::Busy) => {
                    report.legacy_busy += 1;
                    break;
                }
                Ok(Legacy::Kept) => {}
                Err(e) => report.errors.push(format!("{name}: {e}")),
            }
        }
        if removed {
            report.legacy_removed += 1;
        }
    }
    report
}

/// Sweeps one server group if its server is gone: `Ok(None)` when it is alive,
/// else the number of environment groups removed and of tasks killed.
fn sweep_server(
    hierarchies: &[PathBuf],
    lock_dir: &Path,
    name: &str,
) -> Result<Option<(usize, usize)>, SandboxError> {
    let primary = lock_dir.join(name);
    // Held until the group is gone, so no other sweeper works on it meanwhile.
    let _lock = match open_dir(&primary) {
        Ok(file) => match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Some(lock),
            Err((_, nix::Error::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => {
                return Err(SandboxError::ReadCgroupFile {
                    path: primary,
                    source: e.into(),
                });
            }
        },
        // The lock directory is created first and removed last: without
        // it, the owner is gone (or another sweeper is finishing).
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SandboxError::ReadCgroupFile {
                path: primary,
                source,
            });
        }
    };
    if ServerId::parse(name).is_some_and(ServerId::alive) {
        // Unlocked but alive: the owner is between mkdir and flock.
        return Ok(None);
    }
    let dirs: Vec<PathBuf> = hierarchies.iter().map(|h| h.join(name)).collect();
    let mut tasks = BTreeSet::new();
    for dir in &dirs {
        thaw_tree(dir);
        collect_tasks(dir, &mut tasks);
    }
    let mut envs = BTreeSet::new();
    for dir in &dirs {
        envs.extend(subdirs(dir));
    }
    for dir in &dirs {
        kill_tree(dir, SWEEP_KILL_DEADLINE)?;
    }
    // The lock directory goes last (see above).
    for dir in dirs.iter().filter(|d| **d != primary).chain([&primary]) {
        remove_tree(dir)?;
    }
    Ok(Some((envs.len(), tasks.len())))
}

enum Legacy {
    Removed,
    Busy,
    Kept,
}

fn sweep_legacy(dir: &Path) -> Result<Legacy, SandboxError> {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(Legacy::Kept);
    };
    if !super::procs(dir)?.is_empty() {
        return Ok(Legacy::Busy);
    }
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    if age < LEGACY_MIN_AGE || !subdirs(dir).is_empty() {
        return Ok(Legacy::Kept);
    }
    match fs::remove_dir(dir) {
        Ok(()) => Ok(Legacy::Removed),
        // Gone already, or a task just arrived.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Legacy::Kept),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(Legacy::Busy),
        Err(source) => Err(SandboxError::RemoveCgroup {
            path: dir.into(),
            source,
        }),
    }
}

/// Thaws `dir` and its descendants where a v1 freezer left them frozen
/// (killed tasks only die once thawed).
fn thaw_tree(dir: &Path) {
    for child in subdirs(dir) {
        thaw_tree(&dir.join(child));
    }
    let state = dir.join("freezer.state");
    if fs::read_to_string(&state).is_ok_and(|s| s.trim() != "THAWED") {
        let _ = fs::write(&state, "THAWED");
    }
}

fn collect_tasks(dir: &Path, into: &mut BTreeSet<i32>) {
    for child in subdirs(dir) {
        collect_tasks(&dir.join(child), into);
    }
    into.extend(super::procs(dir).unwrap_or_default());
}

fn kill_tree(dir: &Path, deadline: Duration) -> Result<(), SandboxError> {
    for child in subdirs(dir) {
        kill_tree(&dir.join(child), deadline)?;
    }
    super::kill_loop(dir, deadline)
}

/// Removes `dir` and its (empty) descendants, deepest first.
fn remove_tree(dir: &Path) -> Result<(), SandboxError> {
    for child in subdirs(dir) {
        remove_tree(&dir.join(child))?;
    }
    super::rmdir(dir)
}

/// Names of the sub-directories (child groups) of `dir`; empty if it is gone.
pub(crate) fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn open_dir(dir: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

fn same_inode(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl RootKind {
    /// The same layout one level down (`<dir>/<name>` in each hierarchy used).
    pub(crate) fn child(&self, name: &str) -> RootKind {
        match self {
            RootKind::V1(p) => RootKind::V1(V1Paths {
                memory: p.memory.join(name),
                cpu: p.cpu.join(name),
                pids: p.pids.join(name),
                freezer: None,
            }),
            RootKind::V2(dir) => RootKind::V2(dir.join(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_command_names() {
        let stat =
            "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(stat), Some(987_654));
        assert_eq!(parse_start_time("1 (x) S 0"), None);
        let own = fs::read_to_string("/proc/self/stat").unwrap_or_default();
        assert!(parse_start_time(&own).is_some(), "{own}");
    }

    /// The v2 layout on a plain directory (no root needed): a server group
    /// is created and locked, and a sweep removes only the dead one.
    #[test]
    fn sweep_keeps_locked_and_own_groups_on_a_v2_layout() {
        let dir = tempfile::tempdir().unwrap();
        let top = RootKind::V2(dir.path().join("lamina"));
        fs::create_dir(dir.path().join("lamina")).unwrap();
        // A plain directory has no cgroup files: fake the one `create` reads.
        let live = ServerId { pid: 1, start: 7 };
        fs::create_dir(dir.path().join("lamina").join(live.group_name())).unwrap();
        fs::write(
            dir.path()
                .join("lamina")
                .join(live.group_name())
                .join("cgroup.subtree_control"),
            "cpu memory pids\n",
        )
        .unwrap();
        let group = ServerGroup::create(&top, live).unwrap();
        assert_eq!(group.kind.dirs(), vec![dir.path().join("lamina/srv-1-7")]);
        // Held: a second lock (another open file) cannot be taken.
        let again = Flock::lock(
            open_dir(&group.kind.dirs()[0]).unwrap(),
            FlockArg::LockExclusiveNonblock,
        );
        assert!(again.is_err());
        drop(again);
        let dead = dir.path().join("lamina/srv-1-8");
        fs::create_dir_all(dead.join("env-a")).unwrap();
        let own = dir.path().join("lamina/srv-1-9");
        fs::create_dir_all(own.join("env-b")).unwrap();
        let report = sweep(&top, Some("srv-1-9"));
        assert_eq!(report.servers_removed, vec!["srv-1-8".to_string()]);
        assert_eq!(report.environments_removed, 1);
        assert_eq!(report.servers_kept, 2, "{report:?}");
        assert!(!dead.exists() && own.join("env-b").exists());
        assert!(dir.path().join("lamina/srv-1-7").exists());
        // Once its owner lets go (the process died), the locked one goes too.
        drop(group);
        fs::remove_file(dir.path().join("lamina/srv-1-7/cgroup.subtree_control")).unwrap();
        let report = sweep(&top, Some("srv-1-9"));
        assert_eq!(report.servers_removed, vec!["srv-1-7".to_string()]);
    }

    #[test]
    fn server_names_round_trip() {
        let id = ServerId {
            pid: 31337,
            start: 123_456,
        };
        assert_eq!(id.group_name(), "srv-31337-123456");
        assert_eq!(ServerId::parse("srv-31337-123456"), Some(id));
        assert_eq!(ServerId::parse("env-31337-123456"), None);
        assert_eq!(ServerId::parse("srv-x-1"), None);
        assert!(ServerId::current().is_ok_and(ServerId::alive));
        let mut other = ServerId::current().unwrap_or(id);
        other.start += 1;
        assert!(!other.alive(), "a reused pid has another start time");
    }
}
