//! cgroup v2: one directory in the unified hierarchy.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::SandboxError;

/// Controllers delegated to the environments' groups.
const CONTROLLERS: &[&str] = &["memory", "pids", "cpu"];

/// Creates the `lamina` parent group and enables our controllers for its children.
///
/// The parent's parent must have them enabled too; we try to enable them there
/// (it fails harmlessly with EBUSY-like errors on hosts that manage it already).
pub(crate) fn create_parent(dir: &Path) -> Result<(), SandboxError> {
    super::mkdir(dir)?;
    if let Some(up) = dir.parent() {
        enable_controllers(up, false)?;
    }
    enable_controllers(dir, true)
}

pub(crate) fn enable_controllers(dir: &Path, required: bool) -> Result<(), SandboxError> {
    let control = dir.join("cgroup.subtree_control");
    let enabled = super::read_file(&control)?;
    for c in CONTROLLERS {
        if enabled.split_whitespace().any(|e| e == *c) {
            continue;
        }
        let r = super::write_file(&control, &format!("+{c}"));
        if required {
            r?;
        }
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) struct V2Cgroup {
    dir: PathBuf,
}

impl V2Cgroup {
    pub fn create(dir: &Path) -> Result<Self, SandboxError> {
        super::mkdir(dir)?;
        Ok(Self { dir: dir.into() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn write_all(&self, writes: &[(&'static str, String)]) -> Result<(), SandboxError> {
        for (file, value) in writes {
            super::write_limit(&self.dir, file, value)?;
        }
        Ok(())
    }

    pub fn add_process(&self, pid: u32) -> Result<(), SandboxError> {
        super::write_file(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    /// `memory.peak` (kernel >= 5.19), else the current usage as a lower bound.
    pub fn peak_memory_bytes(&self) -> Result<u64, SandboxError> {
        let peak = self.dir.join("memory.peak");
        if peak.exists() {
            super::read_u64(&peak)
        } else {
            super::read_u64(&self.dir.join("memory.current"))
        }
    }

    pub fn oom_kills(&self) -> Result<u64, SandboxError> {
        super::read_keyed(&self.dir.join("memory.events"), "oom_kill")
    }

    /// `cgroup.kill` (kernel >= 5.14) kills the whole group atomically; older
    /// kernels fall back to SIGKILLing each listed pid until the group is empty.
    pub fn kill_all(&self, deadline: Duration) -> Result<(), SandboxError> {
        let start = Instant::now();
        let kill = self.dir.join("cgroup.kill");
        if kill.exists() {
            super::write_file(&kill, "1")?;
            super::wait_empty(&self.dir, deadline)?;
        }
        super::kill_loop(&self.dir, deadline.saturating_sub(start.elapsed()))
    }

    pub fn remove(&self) -> Result<(), SandboxError> {
        super::rmdir(&self.dir)
    }
}
