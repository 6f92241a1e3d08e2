//! Lamina's execution-environment sandbox (DESIGN.md section 3).
//!
//! This is the only crate with `unsafe`; every block carries a `// SAFETY:` comment.
//!
//! Two halves:
//! - **Parent** ([`Sandbox`], [`CgroupRoot`]), called from the multi-threaded
//!   server. It never changes namespaces or identity itself: it makes sure a
//!   formatted `/tmp` template of the spec's size exists, creates the
//!   cgroup, spawns the jail executable (`lamina __jail`, from one long-lived
//!   thread) with a `SOCK_SEQPACKET` control socket as its stdin, sends the
//!   [`SandboxSpec`] as JSON, moves the jail into the cgroup while the jail
//!   builds the environment, then tells it so (`Joined`), receives the
//!   Runtime API listener over `SCM_RIGHTS`, and waits until the runtime was
//!   exec'd (the socket reaches EOF when the last copy is closed by
//!   `execve`'s close-on-exec).
//! - **Jail** ([`jail_main`]), a single-threaded re-exec. Process tree:
//!   ```text
//!   server ── jail (host pid ns; mirrors the runtime's exit status/signal)
//!               └── init (pid 1 of the new pid ns; reaps, forwards signals)
//!                     └── runtime (unprivileged, no caps, no_new_privs, seccomp)
//!   ```
//!   The jail dies with the server (`PR_SET_PDEATHSIG`, checked against a
//!   server that died first), init with the jail, and the rest of the PID
//!   namespace with init: a SIGKILLed server leaves no environment running.
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
//! What the host keeps per environment: the cgroup
//! `<name>/srv-<pid>-<start>/<id>` under the server's own group (removed by
//! [`Sandbox::destroy`]), the veth host end `lmn…` and the address lease
//! (both removed by [`Sandbox::destroy`]; no firewall state is per
//! environment), and the `/tmp` image in `tmp_dir` (kept, because Lambda
//! keeps `/tmp` across resets; the server deletes `tmp_dir` when the
//! environment is retired). All mounts live in the environment's own mount
//! namespace and vanish with it. Per server: its group, which the next
//! server's start-up sweep removes once the server is gone, together with
//! whatever a killed server left in it ([`CgroupRoot::detect`],
//! [`CgroupRoot::sweep_stale`]). Host-wide and kept: `net.ipv4.ip_forward=1`,
//! the nf_tables table `ip lamina_<pool>`, the lease files in
//! [`DEFAULT_LEASE_DIR`], and one sparse `/tmp` template per size in
//! [`TMP_TEMPLATE_DIR`] next to the environments' directories
//! ([`tmp_template_dir`]; ~0.4 MiB of data for 512 MiB).
//!
//! Seccomp: the runtime execs under an **allow-list** kept as data in
//! `resources/seccomp/<arch>.json` (x86_64 and aarch64), one entry per
//! syscall with a `comment` saying who needs it, and argument conditions
//! where a syscall is only safe with some arguments (`clone` without
//! `CLONE_NEW*` flags, `clone3` refused with `ENOSYS` so libc falls back to
//! `clone`, `socket` for `AF_UNIX`/`AF_INET`/`AF_INET6`/`NETLINK_ROUTE`,
//! terminal/socket `ioctl`s, `personality(PER_LINUX)`). Anything else fails
//! with `EPERM`; a foreign architecture (and, on x86_64, the x32 ABI) is
//! refused. `build.rs` compiles the list into the jail; it is checked with
//! Python, Node.js, Java, Go, Mono, Rust (`lambda_runtime`), `/bin/sh` and
//! coreutils (`tests/seccomp.rs`). Inside, `ptrace`, `io_uring`, `bpf`,
//! `perf_event_open`, namespaces and mounts are unavailable. Other
//! architectures build, but their sandboxes refuse to start.
//!
//! Host requirements: root, cgroup v1 (memory, cpu, pids; the freezer is not
//! used) or v2 (memory, pids, cpu), kernel >= 5.8 (`LOOP_CONFIGURE`),
//! `mkfs.ext4` on the server's `PATH` (e2fsprogs >= 1.47 formats the
//! templates with `assume_storage_prezeroed`; older ones work too), loop
//! devices (else `/tmp` falls back to a tmpfs that counts against memory); for egress, veth and nf_tables with NAT in the
//! kernel (no `ip`/`nft`/`iptables` binaries: everything goes over netlink).
//! Another firewall on the host can still block egress (e.g. an iptables
//! `FORWARD` policy of `DROP`, as Docker sets) or the host's services (an
//! `INPUT` policy of `DROP`): accept the `lmn*` interfaces there.
//! Recommended: mount cgroup2 with `favordynmods` (`mount -o
//! remount,favordynmods /sys/fs/cgroup`; on a v1/hybrid host the
//! `/sys/fs/cgroup/unified` mount does it for the whole kernel). Moving the
//! jail into its group then costs ~0.3 ms instead of an RCU grace period
//! (10-19 ms under load), at a small cost to every fork and exit on the host.
//! Lamina does not set it: on kernel 6.18 it cannot be undone until reboot.
//!
//! Not done yet (see the TODOs):
//! - egress is IPv4 only (no IPv6 on `eth0`); there is no per-environment
//!   egress policy or bandwidth limit, and a reused address may meet a stale
//!   conntrack entry of its previous holder (leases rotate through the pool
//!   to make that unlikely); environments reach every host service that
//!   listens on a non-loopback address (no `INPUT` filtering); deleting the
//!   veth makes [`Sandbox::destroy`] ~15-20 ms slower (the kernel waits for an
//!   RCU grace period), which could move to a background thread;
//! - a user namespace (the jail uses real root, then an unprivileged uid);
//! - `/sys` is not mounted (runtimes that read cgroup limits from
//!   `/sys/fs/cgroup` see none);
//! - cgroup v2 is unit-tested against files only: this machine is v1;
//! - `CLONE_INTO_CGROUP` (v2) would spawn the jail directly in its group;
//!   without `favordynmods` the move's grace period is only partly hidden
//!   behind the jail's own set-up (~4 ms of it on an idle 2-core VM).

mod cgroup;
mod error;
mod jail;
mod netlink;
mod network;
mod parent;
mod spec;
mod tmpimage;

pub use cgroup::{
    CPU_PERIOD_US, CgroupLimits, CgroupRoot, CgroupVersion, SERVER_GROUP_PREFIX, SweepReport,
    V1Controller,
};
pub use error::SandboxError;
pub use jail::jail_main;
pub use network::{
    DEFAULT_LEASE_DIR, DEFAULT_POOL, ENV_IFNAME, EnvNetwork, HOST_ALIAS, HOST_IFNAME_PREFIX,
    Network, NetworkConfig, NetworkMode,
};
pub use parent::{PreparedSandbox, Sandbox};
pub use spec::{INIT_BOOST_MILLICORES, MB_PER_VCPU, SandboxSpec, cpu_millicores_for_memory};
#[doc(hidden)]
pub use tmpimage::mkfs_runs;
pub use tmpimage::{TMP_TEMPLATE_DIR, template_dir as tmp_template_dir};

/// First argument that makes the `lamina` binary call [`jail_main`].
pub const JAIL_ARG: &str = "__jail";

/// Host directory on which each jail mounts (in its private mount namespace)
/// the tmpfs that becomes its root. Only the empty directory is visible on the host.
pub const JAIL_ROOT_MOUNTPOINT: &str = "/run/lamina-jail";

/// Name of the `/tmp` ext4 image inside `SandboxSpec::tmp_dir`.
pub const TMP_IMAGE_NAME: &str = "lamina-tmp.img";
