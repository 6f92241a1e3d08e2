//! cgroup v1: one directory per controller hierarchy (memory, cpu, pids).
//!
//! The freezer is not used: every task of an environment except the jail
//! lives in the environment's PID namespace, and SIGKILLing its init makes the
//! kernel kill the rest and refuse new forks there, so the kill loop cannot be
//! outrun (the jail itself forks nothing after init). Freezing only added a
//! write, a wait (up to 500 ms with a task in uninterruptible sleep) and a
//! third write per destroy, and one more hierarchy to move the jail into.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{V1Controller, V1Paths};
use crate::SandboxError;

#[derive(Debug)]
pub(crate) struct V1Cgroup {
    memory: PathBuf,
    cpu: PathBuf,
    pids: PathBuf,
}

impl V1Cgroup {
    pub fn create(parent: &V1Paths, id: &str) -> Result<Self, SandboxError> {
        let cg = Self {
            memory: parent.memory.join(id),
            cpu: parent.cpu.join(id),
            pids: parent.pids.join(id),
        };
        for (i, dir) in cg.dirs().iter().enumerate() {
            if let Err(e) = super::mkdir(dir) {
                // Undo the directories created so far; keep both errors.
                let cleanup = cg.dirs()[..i]
                    .iter()
                    .rev()
                    .find_map(|d| super::rmdir(d).err());
                return Err(e.with_cleanup(cleanup));
            }
        }
        Ok(cg)
    }

    pub fn dirs(&self) -> Vec<PathBuf> {
        vec![self.memory.clone(), self.cpu.clone(), self.pids.clone()]
    }

    fn dir(&self, c: V1Controller) -> &Path {
        match c {
            V1Controller::Memory => &self.memory,
            V1Controller::Cpu => &self.cpu,
            V1Controller::Pids => &self.pids,
        }
    }

    pub fn write_all(
        &self,
        writes: &[(V1Controller, &'static str, String)],
    ) -> Result<(), SandboxError> {
        for (c, file, value) in writes {
            super::write_limit(self.dir(*c), file, value)?;
        }
        Ok(())
    }

    /// Moves `pid` into every hierarchy. Only the first write is slow (the
    /// kernel waits for an RCU grace period to write-lock the thread-group
    /// rwsem); the lock then stays cheap for a grace period, so the others
    /// return at once.
    pub fn add_process(&self, pid: u32) -> Result<(), SandboxError> {
        for dir in self.dirs() {
            super::write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    pub fn peak_memory_bytes(&self) -> Result<u64, SandboxError> {
        super::read_u64(&self.memory.join("memory.max_usage_in_bytes"))
    }

    /// `oom_kill` in `memory.oom_control` (kernel >= 4.13).
    pub fn oom_kills(&self) -> Result<u64, SandboxError> {
        super::read_keyed(&self.memory.join("memory.oom_control"), "oom_kill")
    }

    /// SIGKILLs every task until the group is empty (see the module docs for
    /// why no freezer is needed), then waits until every hierarchy agrees.
    pub fn kill_all(&self, deadline: Duration) -> Result<(), SandboxError> {
        let start = Instant::now();
        // Every task is in every hierarchy; pids covers threads-only stragglers too.
        super::kill_loop(&self.pids, deadline)?;
        for dir in self.dirs() {
            super::wait_empty(&dir, deadline.saturating_sub(start.elapsed()))?;
        }
        Ok(())
    }

    pub fn remove(&self) -> Result<(), SandboxError> {
        let mut first = None;
        for dir in self.dirs() {
            if let Err(e) = super::rmdir(&dir) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
