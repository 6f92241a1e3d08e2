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
//! spec's uid/gid). The Runtime API listener is bound on the environment's
//! own `lo`, so no environment can reach another's.
//!
//! Network ([`NetworkMode`] in the spec; the design is documented at the top
//! of `src/network.rs`): with `Egress` (the default) the environment also gets `eth0`,
//! one end of a veth pair with a /30 leased from a pool (default
//! `10.213.0.0/16`) and the default route via the host end; the host
//! masquerades the pool (nf_tables, set up once by [`Network::setup`] /
//! [`Network::shared`]), enables `ip_forward`, and drops forwarding between
//! environments, towards link-local addresses (a cloud metadata service), and
//! any connection opened towards an environment from outside.
//! `/etc/resolv.conf` is the host's (a loopback stub resolver is replaced by
//! its upstream servers); `/etc/hosts` names the gateway [`HOST_ALIAS`].
//! **Reaching the Lamina API**: the host's `127.0.0.1` is not the
//! environment's, so the API must listen on `0.0.0.0` (or a host address);
//! functions then use `http://lamina-host:<port>` (their gateway) or any
//! other address of the host. `LoopbackOnly` keeps just `lo`.
//!
//! What the host keeps per environment: the cgroup (removed by
//! [`Sandbox::destroy`]), the veth host end `lmn…` and the address lease
//! (both removed by [`Sandbox::destroy`]; no firewall state is per
//! environment), and the `/tmp` image in `tmp_dir` (kept, because Lambda
//! keeps `/tmp` across resets; the server deletes `tmp_dir` when the
//! environment is retired). All mounts live in the environment's own mount
//! namespace and vanish with it. Host-wide and kept: `net.ipv4.ip_forward=1`,
//! the nf_tables table `ip lamina_<pool>`, and the lease files in
//! [`DEFAULT_LEASE_DIR`].
//!
//! Host requirements: root, cgroup v1 (memory, cpu, pids; freezer optional)
//! or v2 (memory, pids, cpu), kernel >= 5.8 (`LOOP_CONFIGURE`), `mkfs.ext4`
//! on the jail's `PATH`, loop devices (else `/tmp` falls back to a tmpfs that
//! counts against memory); for egress, veth and nf_tables with NAT in the
//! kernel (no `ip`/`nft`/`iptables` binaries: everything goes over netlink).
//! Another firewall on the host can still block egress (e.g. an iptables
//! `FORWARD` policy of `DROP`, as Docker sets) or the host's services (an
//! `INPUT` policy of `DROP`): accept the `lmn*` interfaces there.
//!
//! Not done yet (see the TODOs):
//! - egress is IPv4 only (no IPv6 on `eth0`); there is no per-environment
//!   egress policy or bandwidth limit, and a reused address may meet a stale
//!   conntrack entry of its previous holder (leases rotate through the pool
//!   to make that unlikely); environments reach every host service that
//!   listens on a non-loopback address (no `INPUT` filtering); deleting the
//!   veth makes [`Sandbox::destroy`] ~15-20 ms slower (the kernel waits for an
//!   RCU grace period), which could move to a background thread;
//! - a seccomp allow-list: the filter is a deny-list ([`jail_main`]'s
//!   `seccomp` module documents exactly what it blocks);
//! - a user namespace (the jail uses real root, then an unprivileged uid);
//! - `/sys` is not mounted (runtimes that read cgroup limits from
//!   `/sys/fs/cgroup` see none);
//! - cgroup v2 is unit-tested against files only: this machine is v1.

mod cgroup;
mod error;
mod jail;
mod netlink;
mod network;
mod parent;
mod spec;

pub use cgroup::{CPU_PERIOD_US, CgroupLimits, CgroupRoot, CgroupVersion, V1Controller};
pub use error::SandboxError;
pub use jail::jail_main;
pub use network::{
    DEFAULT_LEASE_DIR, DEFAULT_POOL, ENV_IFNAME, EnvNetwork, HOST_ALIAS, HOST_IFNAME_PREFIX,
    Network, NetworkConfig, NetworkMode,
};
pub use parent::Sandbox;
pub use spec::{INIT_BOOST_MILLICORES, MB_PER_VCPU, SandboxSpec, cpu_millicores_for_memory};

/// First argument that makes the `lamina` binary call [`jail_main`].
pub const JAIL_ARG: &str = "__jail";

/// Host directory on which each jail mounts (in its private mount namespace)
/// the tmpfs that becomes its root. Only the empty directory is visible on the host.
pub const JAIL_ROOT_MOUNTPOINT: &str = "/run/lamina-jail";

/// Name of the `/tmp` ext4 image inside `SandboxSpec::tmp_dir`.
pub const TMP_IMAGE_NAME: &str = "lamina-tmp.img";
