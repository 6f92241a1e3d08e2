//! Helpers for the privileged integration tests (they need root, cgroups and loop devices).

#![allow(dead_code)] // each test binary uses a subset
#![allow(clippy::unwrap_used)] // test helpers: a failed set-up should panic

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};

use lamina_sandbox::{CgroupRoot, NetworkMode, Sandbox, SandboxSpec, cpu_millicores_for_memory};

pub const JAIL: &str = env!("CARGO_BIN_EXE_lamina-jail-test");
pub const UID: u32 = 1051;
pub const GID: u32 = 1051;

/// Returns the cgroup root, or `None` (after printing why) when the tests cannot run here.
pub fn setup() -> Option<CgroupRoot> {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: privileged sandbox test needs root");
        return None;
    }
    match CgroupRoot::detect("lamina-test") {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("SKIPPED: no usable cgroup hierarchy: {e}");
            None
        }
    }
}

/// A test environment's host directories; removed on drop.
pub struct Dirs {
    pub base: tempfile::TempDir,
    pub code: PathBuf,
    pub tmp: PathBuf,
}

impl Dirs {
    pub fn new() -> Self {
        // Under /var/tmp: disk-backed, and not inside the sandbox's own /tmp binds.
        let base = tempfile::Builder::new()
            .prefix("lamina-sbx-")
            .tempdir_in("/var/tmp")
            .unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let code = base.path().join("code");
        let tmp = base.path().join("tmp");
        std::fs::create_dir(&code).unwrap();
        std::fs::create_dir(&tmp).unwrap();
        std::fs::set_permissions(&code, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(code.join("handler.txt"), "hello from /var/task\n").unwrap();
        Self { base, code, tmp }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A unique environment id for this test process.
pub fn unique_id(tag: &str) -> String {
    format!(
        "t{}-{}-{tag}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn spec(dirs: &Dirs, tag: &str, script: &str) -> SandboxSpec {
    SandboxSpec {
        id: unique_id(tag),
        code_dir: dirs.code.clone(),
        opt_dir: None,
        runtime_dir: None,
        tmp_dir: dirs.tmp.clone(),
        tmp_size_mb: 16,
        memory_mb: 128,
        pids_max: 64,
        cpu_millicores: cpu_millicores_for_memory(128),
        init_cpu_boost: true,
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![
            ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
            ("AWS_LAMBDA_RUNTIME_API".into(), "127.0.0.1:9001".into()),
        ],
        cwd: "/var/task".into(),
        uid: UID,
        gid: GID,
        hostname: "lamina-test".into(),
        runtime_api_port: 9001,
        network: NetworkMode::Egress,
    }
}

/// Output of a finished sandbox.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub oom_killed: bool,
    pub peak_bytes: u64,
    pub cgroup_paths: Vec<PathBuf>,
}

/// Spawns, waits for the runtime to end, collects output, destroys.
pub fn run(root: &CgroupRoot, spec: &SandboxSpec) -> Outcome {
    let mut sb = Sandbox::spawn(Path::new(JAIL), spec, root).expect("spawn");
    let mut out = sb.stdout().unwrap();
    let mut err = sb.stderr().unwrap();
    let t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut stdout = String::new();
    let _ = out.read_to_string(&mut stdout);
    let status = sb.wait().unwrap();
    let stderr = t.join().unwrap();
    let oom_killed = sb.oom_killed().unwrap();
    let peak_bytes = sb.max_memory_used_bytes().unwrap();
    let cgroup_paths = sb.cgroup_paths();
    sb.destroy().expect("destroy");
    Outcome {
        status,
        stdout,
        stderr,
        oom_killed,
        peak_bytes,
        cgroup_paths,
    }
}
