//! Lamina's execution-environment sandbox (DESIGN.md section 3).
//!
//! This is the only crate with `unsafe`; every block carries a `// SAFETY:` comment.
//!
//! Two halves:
//! - **Parent** ([`Sandbox`], [`CgroupRoot`]), called from the multi-threaded
//!   server. It never changes namespaces or identity itself: it creates the
//!   cgroup, spawns the jail executable (`lamina __jail`) with a
//!   `SOCK_SEQPACKET` control socket as its stdin, puts it in the cgroup, sends
//!   the [`SandboxSpec`] as JSON, receives the Runtime API listener over
//!   `SCM_RIGHTS`, and waits until the runtime was exec'd (the socket reaches
//!   EOF when the last copy is closed by `execve`'s close-on-exec).
//! - **Jail** ([`jail_main`]), a single-threaded re-exec. Process tree:
//!   ```text
//!   server ── jail (host pid ns; mirrors the runtime's exit status/signal)
//!               └── init (pid 1 of the new pid ns; reaps, forwards signals)
//!                     └── runtime (unprivileged, no caps, no_new_privs, seccomp)
//!   ```
//!
//! Environment isolation: new mount, PID, IPC, UTS, network and cgroup
//! namespaces (no user namespace: the jail runs as real root and drops to the
//! spec's uid/gid). The network namespace has only `lo`, on which the Runtime
//! API listener is bound, so an environment can reach its own Runtime API and
//! nothing else. **Egress (veth + NAT) is not implemented yet.**
//!
//! What the host keeps per environment: the cgroup (removed by
//! [`Sandbox::destroy`]) and the `/tmp` image in `tmp_dir` (kept, because
//! Lambda keeps `/tmp` across resets; the server deletes `tmp_dir` when the
//! environment is retired). All mounts live in the environment's own mount
//! namespace and vanish with it.
//!
//! Host requirements: root, cgroup v1 (memory, cpu, pids; freezer optional)
//! or v2 (memory, pids, cpu), kernel >= 5.8 (`LOOP_CONFIGURE`), `mkfs.ext4`
//! on the jail's `PATH`, loop devices (else `/tmp` falls back to a tmpfs that
//! counts against memory).
//!
//! Not done yet (see the TODOs):
//! - egress networking (veth pair + NAT): environments have loopback only;
//! - a seccomp allow-list: the filter is a deny-list ([`jail_main`]'s
//!   `seccomp` module documents exactly what it blocks);
//! - a user namespace (the jail uses real root, then an unprivileged uid);
//! - `/sys` is not mounted (runtimes that read cgroup limits from
//!   `/sys/fs/cgroup` see none);
//! - cgroup v2 is unit-tested against files only: this machine is v1.

mod cgroup;
mod error;
mod jail;
mod parent;
mod spec;

pub use cgroup::{CPU_PERIOD_US, CgroupLimits, CgroupRoot, CgroupVersion, V1Controller};
pub use error::SandboxError;
pub use jail::jail_main;
pub use parent::Sandbox;
pub use spec::{INIT_BOOST_MILLICORES, MB_PER_VCPU, SandboxSpec, cpu_millicores_for_memory};

/// First argument that makes the `lamina` binary call [`jail_main`].
pub const JAIL_ARG: &str = "__jail";

/// Host directory on which each jail mounts (in its private mount namespace)
/// the tmpfs that becomes its root. Only the empty directory is visible on the host.
pub const JAIL_ROOT_MOUNTPOINT: &str = "/run/lamina-jail";

/// Name of the `/tmp` ext4 image inside `SandboxSpec::tmp_dir`.
pub const TMP_IMAGE_NAME: &str = "lamina-tmp.img";
