//! The sandbox spec (what the server asks for) and the parent <-> jail wire messages.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::SandboxError;
use crate::network::{EnvNetwork, NetworkMode};

/// Memory size that buys one full vCPU, as on AWS Lambda.
pub const MB_PER_VCPU: u64 = 1769;

/// CPU given during init when `init_cpu_boost` is set (2 vCPUs, as on AWS).
pub const INIT_BOOST_MILLICORES: u64 = 2000;

/// Everything the jail needs to build one execution environment.
///
/// Serialised as JSON and sent to the jail process over its control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSpec {
    /// Unique environment id, used for cgroup names. `[A-Za-z0-9_.-]`, at most 64 chars.
    pub id: String,
    /// Host dir with the extracted function code, bound read-only at `/var/task`.
    pub code_dir: PathBuf,
    /// Host dir with the merged layers, bound read-only at `/opt`.
    pub opt_dir: Option<PathBuf>,
    /// Host dir with the runtime shims, bound read-only at `/var/runtime`.
    pub runtime_dir: Option<PathBuf>,
    /// Host dir (disk-backed) that holds this environment's `/tmp` image
    /// (`lamina-tmp.img`, an ext4 file system capped at `tmp_size_mb`).
    pub tmp_dir: PathBuf,
    /// Size cap of `/tmp` in MiB.
    pub tmp_size_mb: u64,
    /// Memory limit in MiB (swap included: no swap escape).
    pub memory_mb: u64,
    /// Maximum number of tasks (processes + threads) in the environment.
    pub pids_max: u64,
    /// CPU quota in thousandths of a CPU; see [`cpu_millicores_for_memory`].
    pub cpu_millicores: u64,
    /// Give at least [`INIT_BOOST_MILLICORES`] until [`crate::Sandbox::end_init_boost`].
    pub init_cpu_boost: bool,
    /// Program and arguments; `argv[0]` must be an absolute path inside the sandbox.
    pub argv: Vec<String>,
    /// The complete environment of the runtime (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory inside the sandbox (normally `/var/task`).
    pub cwd: String,
    /// Unprivileged uid the runtime runs as (must not be 0).
    pub uid: u32,
    /// Unprivileged gid the runtime runs as (must not be 0).
    pub gid: u32,
    /// Host name seen inside the sandbox.
    pub hostname: String,
    /// Port of the Runtime API listener bound on 127.0.0.1 inside the sandbox (9001).
    pub runtime_api_port: u16,
    /// Network beyond loopback: [`NetworkMode::Egress`] (the default: `eth0`,
    /// NAT to whatever the host reaches, the host itself as `lamina-host`) or
    /// [`NetworkMode::LoopbackOnly`].
    #[serde(default)]
    pub network: NetworkMode,
}

/// CPU share proportional to memory: 1769 MB = 1000 millicores (at least 10).
pub fn cpu_millicores_for_memory(memory_mb: u64) -> u64 {
    (memory_mb.saturating_mul(1000) / MB_PER_VCPU).max(10)
}

impl SandboxSpec {
    /// Checks what the jail would otherwise trip over half-way through set-up.
    pub fn validate(&self) -> Result<(), SandboxError> {
        let bad = |m: String| Err(SandboxError::InvalidSpec(m));
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || self.id.starts_with('.')
        {
            return bad(format!(
                "id {:?} must be 1-64 chars of [A-Za-z0-9_.-]",
                self.id
            ));
        }
        match self.argv.first() {
            None => return bad("argv is empty".into()),
            Some(p) if !p.starts_with('/') => {
                return bad(format!("argv[0] {p:?} must be an absolute path"));
            }
            Some(_) => {}
        }
        for s in self.argv.iter().chain([&self.cwd, &self.hostname]) {
            if s.contains('\0') {
                return bad(format!("{s:?} contains a NUL byte"));
            }
        }
        for (k, v) in &self.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return bad(format!("bad environment variable name {k:?}"));
            }
        }
        if !self.cwd.starts_with('/') {
            return bad(format!("cwd {:?} must be absolute", self.cwd));
        }
        let dirs = [
            Some(&self.code_dir),
            self.opt_dir.as_ref(),
            self.runtime_dir.as_ref(),
        ];
        for d in dirs.into_iter().flatten().chain([&self.tmp_dir]) {
            if !d.is_absolute() {
                return bad(format!("{} must be an absolute path", d.display()));
            }
        }
        if self.uid == 0 || self.gid == 0 {
            return bad("uid and gid must be unprivileged (non-zero)".into());
        }
        if self.hostname.is_empty() || self.hostname.len() > 64 {
            return bad(format!("hostname {:?} must be 1-64 bytes", self.hostname));
        }
        if self.memory_mb < 16 || self.pids_max == 0 || self.cpu_millicores == 0 {
            return bad("memory_mb >= 16, pids_max > 0 and cpu_millicores > 0 are required".into());
        }
        if self.tmp_size_mb < 8 {
            return bad("tmp_size_mb must be at least 8".into());
        }
        if self.runtime_api_port == 0 {
            return bad("runtime_api_port must be non-zero".into());
        }
        Ok(())
    }

    /// Path of the ext4 image that backs `/tmp`.
    pub fn tmp_image_path(&self) -> PathBuf {
        self.tmp_dir.join(crate::TMP_IMAGE_NAME)
    }
}

/// Parent -> jail: the one request message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JailRequest {
    pub spec: SandboxSpec,
    /// The leased link, when `spec.network` is `Egress`.
    #[serde(default)]
    pub network: Option<EnvNetwork>,
    /// A formatted ext4 image of `spec.tmp_size_mb` to copy when the
    /// environment's `/tmp` image does not exist yet (else the jail runs
    /// `mkfs.ext4` itself).
    #[serde(default)]
    pub tmp_template: Option<PathBuf>,
    /// Build everything but the function's own parts, report
    /// [`JailMessage::Prepared`] and wait for a [`ParentMessage::Launch`]
    /// (a pre-started sandbox, see [`crate::PreparedSandbox`]).
    #[serde(default)]
    pub deferred: bool,
}

/// The function's own parts of a spec, sent to a pre-started jail: what it
/// mounts at `/var/task` and `/opt`, and the program it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LaunchSpec {
    pub code_dir: PathBuf,
    pub opt_dir: Option<PathBuf>,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
}

impl LaunchSpec {
    pub fn of(spec: &SandboxSpec) -> Self {
        Self {
            code_dir: spec.code_dir.clone(),
            opt_dir: spec.opt_dir.clone(),
            argv: spec.argv.clone(),
            env: spec.env.clone(),
            cwd: spec.cwd.clone(),
        }
    }

    /// `spec` with these parts in place of its own.
    pub fn apply_to(self, spec: &SandboxSpec) -> SandboxSpec {
        SandboxSpec {
            code_dir: self.code_dir,
            opt_dir: self.opt_dir,
            argv: self.argv,
            env: self.env,
            cwd: self.cwd,
            ..spec.clone()
        }
    }
}

/// Parent -> jail, after the request: one message once the jail is in its cgroup.
///
/// The parent moves the jail into its cgroup while the jail builds the
/// environment; the jail waits for this only before it creates its cgroup
/// namespace and forks init, so every process of the environment starts in
/// the environment's group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum ParentMessage {
    Joined,
    /// To a pre-started jail (after `Prepared`): the function to run.
    Launch(LaunchSpec),
}

/// Jail -> parent messages (one per SOCK_SEQPACKET packet).
///
/// The sequence is `Listener` (with the fd attached), for a deferred request
/// `Prepared` (then the jail waits for `Launch`), then either nothing (the
/// socket reaches EOF because the last copy was closed by a successful exec)
/// or one `SetupFailed` / `ExecFailed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum JailMessage {
    /// The Runtime API listener is attached to this packet via SCM_RIGHTS.
    Listener,
    /// A deferred jail built everything but the function's parts and is in
    /// its cgroup: it waits for [`ParentMessage::Launch`].
    Prepared,
    /// A set-up step failed; the jail exits.
    SetupFailed {
        step: String,
        message: String,
        errno: Option<i32>,
    },
    /// `execve` of the runtime failed.
    ExecFailed { message: String, errno: Option<i32> },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn spec() -> SandboxSpec {
        SandboxSpec {
            id: "env-1".into(),
            code_dir: "/srv/code".into(),
            opt_dir: None,
            runtime_dir: Some("/srv/rt".into()),
            tmp_dir: "/srv/tmp".into(),
            tmp_size_mb: 512,
            memory_mb: 128,
            pids_max: 1024,
            cpu_millicores: cpu_millicores_for_memory(128),
            init_cpu_boost: true,
            argv: vec!["/var/runtime/bootstrap".into()],
            env: vec![("AWS_LAMBDA_RUNTIME_API".into(), "127.0.0.1:9001".into())],
            cwd: "/var/task".into(),
            uid: 993,
            gid: 990,
            hostname: "169.254.1.1".into(),
            runtime_api_port: 9001,
            network: NetworkMode::Egress,
        }
    }

    #[test]
    fn millicores_are_proportional_to_memory() {
        assert_eq!(cpu_millicores_for_memory(1769), 1000);
        assert_eq!(cpu_millicores_for_memory(3538), 2000);
        assert_eq!(cpu_millicores_for_memory(128), 72);
        assert_eq!(cpu_millicores_for_memory(10240), 5788);
        assert_eq!(cpu_millicores_for_memory(1), 10);
    }

    #[test]
    fn spec_round_trips_through_json() {
        let s = spec();
        let json = serde_json::to_string(&JailRequest {
            spec: s.clone(),
            network: None,
            tmp_template: Some("/t/ext4-512m-v1.img".into()),
            deferred: true,
        })
        .unwrap();
        let back: JailRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back.spec, s);
        assert_eq!(back.tmp_template, Some("/t/ext4-512m-v1.img".into()));
        assert!(back.deferred);
        for msg in [
            ParentMessage::Joined,
            ParentMessage::Launch(LaunchSpec::of(&s)),
        ] {
            let bytes = serde_json::to_vec(&msg).unwrap();
            assert_eq!(
                serde_json::from_slice::<ParentMessage>(&bytes).unwrap(),
                msg
            );
        }
    }

    #[test]
    fn network_defaults_to_egress_when_absent() {
        let mut v = serde_json::to_value(spec()).unwrap();
        v.as_object_mut().unwrap().remove("network");
        let s: SandboxSpec = serde_json::from_value(v).unwrap();
        assert_eq!(s.network, NetworkMode::Egress);
        let mut v = serde_json::to_value(spec()).unwrap();
        v["network"] = "LoopbackOnly".into();
        let s: SandboxSpec = serde_json::from_value(v).unwrap();
        assert_eq!(s.network, NetworkMode::LoopbackOnly);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut v = serde_json::to_value(spec()).unwrap();
        v["surprise"] = 1.into();
        assert!(serde_json::from_value::<SandboxSpec>(v).is_err());
    }

    #[test]
    fn validate_accepts_good_and_rejects_bad_specs() {
        spec().validate().unwrap();
        type Mutation = Box<dyn Fn(&mut SandboxSpec)>;
        let cases: Vec<Mutation> = vec![
            Box::new(|s| s.id = "../x".into()),
            Box::new(|s| s.id = String::new()),
            Box::new(|s| s.argv.clear()),
            Box::new(|s| s.argv[0] = "bootstrap".into()),
            Box::new(|s| s.uid = 0),
            Box::new(|s| s.cwd = "var/task".into()),
            Box::new(|s| s.code_dir = "rel".into()),
            Box::new(|s| s.env.push(("A=B".into(), "x".into()))),
            Box::new(|s| s.env.push(("A".into(), "x\0".into()))),
            Box::new(|s| s.memory_mb = 1),
            Box::new(|s| s.tmp_size_mb = 1),
            Box::new(|s| s.runtime_api_port = 0),
        ];
        for (i, f) in cases.iter().enumerate() {
            let mut s = spec();
            f(&mut s);
            assert!(s.validate().is_err(), "case {i} should fail");
        }
    }

    #[test]
    fn jail_messages_are_tagged() {
        let m = JailMessage::ExecFailed {
            message: "no such file".into(),
            errno: Some(2),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"type\":\"ExecFailed\""), "{json}");
        assert_eq!(serde_json::from_str::<JailMessage>(&json).unwrap(), m);
    }
}
