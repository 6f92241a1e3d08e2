//! Pre-started sandboxes: a few jails built ahead of any invocation (namespaces, network,
//! root file system, `/tmp`, cgroup), each waiting for a function. A cold start takes one
//! and launches the function in it, so it pays for little more than the runtime's own start;
//! a background task builds the next one.
//!
//! Only environments with the default ephemeral storage fit (the `/tmp` image is built
//! ahead); others are spawned from scratch. Waiting sandboxes are a jail and its init, a few
//! MB, and are not counted against the memory budget.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use lamina_sandbox::{CgroupRoot, PreparedSandbox, Sandbox, SandboxError, SandboxSpec};

use crate::launch::RUNTIME_API_PORT;

/// The `/tmp` size pre-started sandboxes have: AWS's default ephemeral storage.
const TMP_SIZE_MB: u64 = 512;
/// The memory limit a waiting sandbox has until its launch sets the function's.
const WAITING_MEMORY_MB: u64 = 128;

/// The pool of waiting sandboxes.
pub(crate) struct Prestarted {
    /// How many to keep waiting.
    target: usize,
    ready: Mutex<Vec<PreparedSandbox>>,
    /// A refill is running.
    filling: AtomicBool,
    /// Shut down: nothing more is built.
    closed: AtomicBool,
    jail_exe: PathBuf,
    cgroups: Arc<CgroupRoot>,
    work_dir: PathBuf,
    runtime_dir: PathBuf,
    pids_max: u64,
    uid: u32,
    gid: u32,
}

impl Prestarted {
    pub(crate) fn new(config: &crate::EngineConfig, cgroups: Arc<CgroupRoot>) -> Arc<Self> {
        Arc::new(Self {
            target: config.prestarted_sandboxes,
            ready: Mutex::default(),
            filling: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            jail_exe: config.jail_exe.clone(),
            cgroups,
            work_dir: config.work_dir.clone(),
            runtime_dir: config.runtime_dir.clone(),
            pids_max: config.pids_max,
            uid: config.function_uid,
            gid: config.function_gid,
        })
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, Vec<PreparedSandbox>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many sandboxes are waiting.
    pub(crate) fn waiting(&self) -> usize {
        self.ready().len()
    }

    /// Starts `spec`'s runtime: in a waiting sandbox when one fits, else in a new one (which
    /// creates `spec.tmp_dir`). Blocks; call from the blocking pool. The sandbox's own
    /// scratch dir is `spec.tmp_dir`'s parent (a pre-started one has its own: see
    /// [`scratch_dir`]).
    pub(crate) fn start(self: &Arc<Self>, spec: &SandboxSpec) -> Result<Sandbox, SandboxError> {
        let taken = {
            let mut ready = self.ready();
            ready
                .iter()
                .position(|p| p.fits(spec))
                .map(|i| ready.swap_remove(i))
        };
        if let Some(prepared) = taken {
            let dir = scratch_dir(prepared.spec());
            match prepared.launch(spec) {
                Ok(sandbox) => return Ok(sandbox),
                // The function's own failure: as a new sandbox would report it.
                Err(e @ SandboxError::Exec { .. }) => {
                    remove_dir(&dir);
                    return Err(e);
                }
                Err(e) => {
                    remove_dir(&dir);
                    tracing::warn!(error = %e, "a pre-started sandbox failed to launch; starting a new one");
                }
            }
        }
        std::fs::create_dir_all(&spec.tmp_dir).map_err(|e| {
            SandboxError::InvalidSpec(format!("cannot create {}: {e}", spec.tmp_dir.display()))
        })?;
        Sandbox::spawn(&self.jail_exe, spec, &self.cgroups)
    }

    /// Builds waiting sandboxes in the background until there are `target`. Called once an
    /// environment has started (not while it starts: building one competes for the CPU).
    pub(crate) fn refill(self: &Arc<Self>) {
        if self.target == 0 || self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            while this.waiting() < this.target && !this.closed.load(Ordering::Acquire) {
                let spec = this.waiting_spec();
                let dir = scratch_dir(&spec);
                let prepared = std::fs::create_dir_all(&spec.tmp_dir)
                    .map_err(|e| SandboxError::InvalidSpec(e.to_string()))
                    .and_then(|()| Sandbox::prepare(&this.jail_exe, &spec, &this.cgroups));
                match prepared {
                    Ok(p) => {
                        this.ready().push(p);
                        // Shut down while this one was being built.
                        if this.closed.load(Ordering::Acquire) {
                            this.destroy_all();
                        }
                    }
                    Err(e) => {
                        remove_dir(&dir);
                        tracing::warn!(error = %e, "could not pre-start a sandbox");
                        break;
                    }
                }
            }
            this.filling.store(false, Ordering::Release);
        });
    }

    /// Destroys every waiting sandbox (at shutdown).
    pub(crate) fn destroy_all(&self) {
        self.closed.store(true, Ordering::Release);
        let all = std::mem::take(&mut *self.ready());
        for p in all {
            let dir = scratch_dir(p.spec());
            if let Err(e) = p.destroy() {
                tracing::warn!(error = %e, "failed to destroy a pre-started sandbox");
            }
            remove_dir(&dir);
        }
    }

    /// A sandbox without a function: placeholders where the function goes (the jail mounts
    /// neither the code dir nor runs the program until its launch).
    fn waiting_spec(&self) -> SandboxSpec {
        let id = uuid::Uuid::new_v4().simple().to_string();
        SandboxSpec {
            id: format!("env-{id}"),
            code_dir: self.runtime_dir.clone(),
            opt_dir: None,
            runtime_dir: Some(self.runtime_dir.clone()),
            tmp_dir: self.work_dir.join(&id).join("tmp"),
            tmp_size_mb: TMP_SIZE_MB,
            memory_mb: WAITING_MEMORY_MB,
            pids_max: self.pids_max,
            cpu_millicores: lamina_sandbox::cpu_millicores_for_memory(WAITING_MEMORY_MB),
            init_cpu_boost: true,
            argv: vec!["/bin/false".into()],
            env: Vec::new(),
            cwd: "/var/task".into(),
            uid: self.uid,
            gid: self.gid,
            hostname: crate::launch::sandbox_hostname(),
            runtime_api_port: RUNTIME_API_PORT,
            network: lamina_sandbox::NetworkMode::Egress,
        }
    }
}

/// The environment's scratch dir: the one that holds its `/tmp` image dir.
pub(crate) fn scratch_dir(spec: &SandboxSpec) -> PathBuf {
    spec.tmp_dir
        .parent()
        .map_or_else(|| spec.tmp_dir.clone(), Path::to_path_buf)
}

/// Removes an environment's scratch dir (gone already is fine).
pub(crate) fn remove_dir(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %dir.display(), error = %e, "failed to remove environment dir");
    }
}
