//! cgroup v1: one directory per controller hierarchy (memory, cpu, pids, freezer).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{V1Controller, V1Paths};
use crate::SandboxError;

#[derive(Debug)]
pub(crate) struct V1Cgroup {
    memory: PathBuf,
    cpu: PathBuf,
    pids: PathBuf,
    freezer: Option<PathBuf>,
}

impl V1Cgroup {
    pub fn create(parent: &V1Paths, id: &str) -> Result<Self, SandboxError> {
        let cg = Self {
            memory: parent.memory.join(id),
            cpu: parent.cpu.join(id),
            pids: parent.pids.join(id),
            freezer: parent.freezer.as_ref().map(|f| f.join(id)),
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
        let mut d = vec![self.memory.clone(), self.cpu.clone(), self.pids.clone()];
        d.extend(self.freezer.clone());
        d
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

    /// Freezes the group (when the freezer is mounted) so nothing can fork
    /// while we kill, SIGKILLs every task, thaws, and waits until it is empty.
    pub fn kill_all(&self, deadline: Duration) -> Result<(), SandboxError> {
        let start = Instant::now();
        if let Some(freezer) = self.freezer.as_ref().filter(|f| f.exists()) {
            // Freezing stops forks while we kill, but a task in uninterruptible sleep (disk
            // I/O on a loaded host) can hold the group in FREEZING: then kill without it,
            // since the kill loop below repeats until the group is empty anyway.
            let _ = freeze(freezer, FREEZE_WAIT.min(deadline));
            let pids = super::procs(freezer);
            for pid in pids.as_deref().unwrap_or_default() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::SIGKILL,
                );
            }
            // Always thaw, even after an error: killed tasks only die once thawed.
            super::write_file(&freezer.join("freezer.state"), "THAWED")?;
        }
        // Every task is in every hierarchy; pids covers threads-only stragglers too.
        let rest = deadline.saturating_sub(start.elapsed());
        super::kill_loop(&self.pids, rest)?;
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

/// How long `kill_all` waits for the freezer before killing without it.
const FREEZE_WAIT: Duration = Duration::from_millis(500);

fn freeze(freezer: &Path, deadline: Duration) -> Result<(), SandboxError> {
    let state = freezer.join("freezer.state");
    super::write_file(&state, "FROZEN")?;
    let start = Instant::now();
    loop {
        if super::read_file(&state)?.trim() == "FROZEN" {
            return Ok(());
        }
        if start.elapsed() > deadline {
            return Err(SandboxError::KillCgroup {
                path: freezer.into(),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
