//! The server side: spawn a jail, talk to it, watch and destroy the environment.
//!
//! Nothing here changes namespaces or identity, so it is safe to call from a
//! multi-threaded (tokio) process. [`Sandbox::spawn`] and [`Sandbox::destroy`]
//! block (up to a few seconds); call them from `spawn_blocking`.
//!
//! Jails are forked by one long-lived thread of the process (see
//! [`spawn_jail`]): the jail's parent-death signal fires when the thread
//! that forked it exits, and blocking-pool threads come and go.

use std::io::{self, IoSliceMut};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg, send, setsockopt,
    socketpair, sockopt,
};
use nix::sys::time::TimeVal;

use crate::cgroup::{Cgroup, CgroupLimits, CgroupRoot};
use crate::jail::{MAX_REQUEST, PARENT_PID_ENV, loop_users};
use crate::network::{EnvNetwork, Lease, Network, NetworkMode};
use crate::spec::{JailMessage, JailRequest, LaunchSpec, ParentMessage};
use crate::{JAIL_ARG, SandboxError, SandboxSpec, tmpimage};

/// How long `spawn` waits for each jail message (covers a first-time mkfs).
const JAIL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `destroy` waits for the group to empty and the `/tmp` image to detach.
const DESTROY_TIMEOUT: Duration = Duration::from_secs(5);

/// One running execution environment.
#[derive(Debug)]
pub struct Sandbox {
    child: Child,
    cgroup: Option<Cgroup>,
    listener: Option<TcpListener>,
    spec: SandboxSpec,
    /// The leased link (egress only); released after the processes are dead.
    lease: Option<Lease>,
}

impl Sandbox {
    /// Spawns `jail_exe __jail` with `spec`, creates its cgroup under
    /// `cgroup_root`, and returns once the runtime has been exec'd, with the
    /// Runtime API listener (bound to `127.0.0.1:runtime_api_port` inside the
    /// environment's own network namespace) ready to take.
    ///
    /// With [`NetworkMode::Egress`] the environment also gets `eth0` on the
    /// process-wide default [`Network`] ([`Network::shared`], set up on first
    /// use); see [`Sandbox::spawn_with_network`] for another pool.
    ///
    /// Exec failures come back as [`SandboxError::Exec`]
    /// (`Runtime.InvalidEntrypoint`); a bad `cwd` as a [`SandboxError::JailSetup`]
    /// whose step starts with `chdir` (`Runtime.InvalidWorkingDir`).
    pub fn spawn(
        jail_exe: &Path,
        spec: &SandboxSpec,
        cgroup_root: &CgroupRoot,
    ) -> Result<Sandbox, SandboxError> {
        Self::spawn_shared(jail_exe, spec, cgroup_root, false).map(|(sandbox, _)| sandbox)
    }

    /// Starts a sandbox for `spec` without its function: the jail builds
    /// everything but the binds of `spec.code_dir` and `spec.opt_dir` and waits,
    /// in its cgroup, until [`PreparedSandbox::launch`] gives it a function.
    /// A cold start then costs little more than the runtime's own start.
    pub fn prepare(
        jail_exe: &Path,
        spec: &SandboxSpec,
        cgroup_root: &CgroupRoot,
    ) -> Result<PreparedSandbox, SandboxError> {
        Self::spawn_shared(jail_exe, spec, cgroup_root, true)
            .map(|(sandbox, ctl)| PreparedSandbox { sandbox, ctl })
    }

    fn spawn_shared(
        jail_exe: &Path,
        spec: &SandboxSpec,
        cgroup_root: &CgroupRoot,
        deferred: bool,
    ) -> Result<(Sandbox, OwnedFd), SandboxError> {
        spec.validate()?;
        match spec.network {
            NetworkMode::LoopbackOnly => {
                Self::spawn_inner(jail_exe, spec, cgroup_root, None, deferred)
            }
            NetworkMode::Egress => {
                let network = Network::shared()?;
                Self::spawn_inner(jail_exe, spec, cgroup_root, Some(&network), deferred)
            }
        }
    }

    /// Like [`Sandbox::spawn`], but an `Egress` environment leases its
    /// address from `network` (set up by the caller with [`Network::setup`]).
    pub fn spawn_with_network(
        jail_exe: &Path,
        spec: &SandboxSpec,
        cgroup_root: &CgroupRoot,
        network: &Network,
    ) -> Result<Sandbox, SandboxError> {
        let network = (spec.network == NetworkMode::Egress).then_some(network);
        Self::spawn_inner(jail_exe, spec, cgroup_root, network, false).map(|(sandbox, _)| sandbox)
    }

    /// Spawns the jail and talks it through set-up; returns the control socket
    /// too (a deferred jail still waits on it for its launch).
    fn spawn_inner(
        jail_exe: &Path,
        spec: &SandboxSpec,
        cgroup_root: &CgroupRoot,
        network: Option<&Network>,
        deferred: bool,
    ) -> Result<(Sandbox, OwnedFd), SandboxError> {
        spec.validate()?;
        // Dropping the lease on an early return releases it (nothing was created yet).
        let lease = network.map(Network::lease).transpose()?;
        let request = serde_json::to_vec(&JailRequest {
            spec: spec.clone(),
            network: lease.as_ref().map(|l| l.env.clone()),
            tmp_template: tmp_template(spec),
            deferred,
        })
        .map_err(|e| SandboxError::InvalidSpec(e.to_string()))?;
        if request.len() > MAX_REQUEST {
            return Err(SandboxError::InvalidSpec(format!(
                "spec is {} bytes, max {MAX_REQUEST}",
                request.len()
            )));
        }
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(SandboxError::ControlSocket)?;
        let timeout = TimeVal::new(JAIL_TIMEOUT.as_secs() as _, 0);
        setsockopt(&ours, sockopt::ReceiveTimeout, &timeout)
            .map_err(SandboxError::ControlSocket)?;

        let cgroup = cgroup_root.create(&spec.id)?;
        if let Err(e) = cgroup.apply(&CgroupLimits::for_spec(spec, true)) {
            return Err(e.with_cleanup(cgroup.remove().err()));
        }
        let child = {
            // The Command owns `theirs`; it must be dropped right after spawn
            // so the jail holds the only copy.
            let mut cmd = Command::new(jail_exe);
            cmd.arg(JAIL_ARG)
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .env(PARENT_PID_ENV, std::process::id().to_string())
                .stdin(Stdio::from(theirs))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            spawn_jail(cmd)
        };
        let child = match child {
            Ok(c) => c,
            Err(source) => {
                let e = SandboxError::SpawnJail {
                    exe: jail_exe.into(),
                    source,
                };
                return Err(e.with_cleanup(cgroup.remove().err()));
            }
        };
        let mut sandbox = Sandbox {
            child,
            cgroup: Some(cgroup),
            listener: None,
            spec: spec.clone(),
            lease,
        };
        let handshake = sandbox.handshake(&ours, &request).and_then(|()| {
            if deferred {
                sandbox.wait_prepared(&ours)
            } else {
                sandbox.wait_exec(&ours)
            }
        });
        match handshake {
            Ok(()) => Ok((sandbox, ours)),
            Err(e) => {
                let cleanup = sandbox.cleanup().err();
                Err(e.with_cleanup(cleanup))
            }
        }
    }

    /// Sends the request, moves the jail into its cgroup and receives the
    /// Runtime API listener.
    fn handshake(&mut self, ctl: &OwnedFd, request: &[u8]) -> Result<(), SandboxError> {
        let cgroup = self
            .cgroup
            .as_ref()
            .ok_or(SandboxError::KillCgroup { path: "".into() })?;
        // The spec goes first: the jail builds the environment while we move
        // it into its cgroup (often a kernel RCU grace period, see
        // `cgroup/mod.rs`), and it forks nothing before `Joined`.
        let joined = send_packet(ctl, request, "sending the spec")
            .and_then(|()| cgroup.add_process(self.child.id()))
            .and_then(|()| {
                let joined = serde_json::to_vec(&ParentMessage::Joined).map_err(|e| {
                    SandboxError::JailProtocol {
                        step: "sending Joined",
                        source: io::Error::other(e),
                    }
                })?;
                send_packet(ctl, &joined, "sending Joined")
            });
        if let Err(e) = joined {
            // A jail that failed on its own explains the failure better.
            return Err(reported_failure(ctl).unwrap_or(e));
        }
        match recv_message(
            ctl,
            "waiting for the Runtime API listener",
            MsgFlags::empty(),
        )? {
            Some((JailMessage::Listener, Some(fd))) => self.listener = Some(TcpListener::from(fd)),
            other => return Err(unexpected(other, "waiting for the Runtime API listener")),
        }
        Ok(())
    }

    /// A deferred jail has built everything it can without the function.
    fn wait_prepared(&self, ctl: &OwnedFd) -> Result<(), SandboxError> {
        match recv_message(ctl, "waiting for the prepared jail", MsgFlags::empty())? {
            Some((JailMessage::Prepared, None)) => Ok(()),
            other => Err(unexpected(other, "waiting for the prepared jail")),
        }
    }

    /// Returns once the runtime has been exec'd.
    fn wait_exec(&self, ctl: &OwnedFd) -> Result<(), SandboxError> {
        match recv_message(ctl, "waiting for exec", MsgFlags::empty())? {
            // EOF: the last copy of the socket was closed by a successful exec.
            None => Ok(()),
            other => Err(match unexpected(other, "waiting for exec") {
                SandboxError::Exec { message, errno, .. } => SandboxError::Exec {
                    program: self.spec.argv.first().cloned().unwrap_or_default(),
                    message,
                    errno,
                },
                e => e,
            }),
        }
    }

    /// The Runtime API listener (`127.0.0.1:port` inside the environment). Taken once.
    pub fn take_runtime_api_listener(&mut self) -> Option<TcpListener> {
        self.listener.take()
    }

    /// The runtime's stdout pipe (for logs). Taken once.
    pub fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The runtime's stderr pipe (for logs). Taken once.
    pub fn stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Lowers the CPU quota from the init boost to the memory-proportional share.
    pub fn end_init_boost(&self) -> Result<(), SandboxError> {
        self.cgroup()?
            .set_cpu(&CgroupLimits::for_spec(&self.spec, false))
    }

    /// Peak memory use of the whole environment (cgroup counter), in bytes.
    pub fn max_memory_used_bytes(&self) -> Result<u64, SandboxError> {
        self.cgroup()?.peak_memory_bytes()
    }

    /// Whether the kernel OOM-killed a process of this environment.
    pub fn oom_killed(&self) -> Result<bool, SandboxError> {
        Ok(self.cgroup()?.oom_kills()? > 0)
    }

    /// The runtime's exit, once it has ended: its exit code, or the signal that
    /// killed it (the jail mirrors both).
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, SandboxError> {
        let pid = self.pid();
        self.child
            .try_wait()
            .map_err(|source| SandboxError::Process {
                action: "wait for",
                pid,
                source,
            })
    }

    /// Blocks until the runtime has ended.
    pub fn wait(&mut self) -> Result<ExitStatus, SandboxError> {
        let pid = self.pid();
        self.child.wait().map_err(|source| SandboxError::Process {
            action: "wait for",
            pid,
            source,
        })
    }

    /// Host pid of the jail process (signals sent to it are forwarded to the runtime).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The environment's cgroup directories (empty once destroyed).
    pub fn cgroup_paths(&self) -> Vec<std::path::PathBuf> {
        self.cgroup.as_ref().map(Cgroup::dirs).unwrap_or_default()
    }

    /// The spec this environment was created from.
    pub fn spec(&self) -> &SandboxSpec {
        &self.spec
    }

    /// The environment's link (egress only; `None` once destroyed): `eth0`'s
    /// address, and the host end's name and address (the environment's
    /// gateway, named `lamina-host` in its `/etc/hosts`).
    pub fn network(&self) -> Option<&EnvNetwork> {
        self.lease.as_ref().map(|l| &l.env)
    }

    /// Kills every process in the environment, waits for them, removes the
    /// cgroup, deletes the veth pair and releases its address (egress), and
    /// waits until the `/tmp` image is detached (its mounts lived in the
    /// environment's mount namespace and are gone with it). `tmp_dir` is
    /// kept: Lambda keeps `/tmp` across resets.
    pub fn destroy(mut self) -> Result<(), SandboxError> {
        self.cleanup()
    }

    fn cgroup(&self) -> Result<&Cgroup, SandboxError> {
        self.cgroup.as_ref().ok_or(SandboxError::KillCgroup {
            path: "destroyed".into(),
        })
    }

    /// Idempotent teardown; keeps the first error and the first clean-up error.
    fn cleanup(&mut self) -> Result<(), SandboxError> {
        let Some(cgroup) = self.cgroup.take() else {
            return Ok(());
        };
        self.listener = None;
        let mut errors = Vec::new();
        if let Err(e) = cgroup.kill_all(DESTROY_TIMEOUT) {
            errors.push(e);
        }
        // The jail is in the group and already dead unless the kill failed.
        let _ = self.child.kill();
        if let Err(source) = self.child.wait() {
            errors.push(SandboxError::Process {
                action: "reap",
                pid: self.child.id(),
                source,
            });
        }
        if let Err(e) = cgroup.remove() {
            errors.push(e);
        }
        // After the jail is reaped nothing can create the link any more; the
        // namespace may outlive it (the server may hold the Runtime API
        // listener), so the pair is deleted explicitly.
        if let Some(mut lease) = self.lease.take()
            && let Err(e) = lease.release()
        {
            errors.push(e);
        }
        if let Err(e) = wait_tmp_released(&self.spec.tmp_image_path()) {
            errors.push(e);
        }
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(first) => Err(first.with_cleanup(errors.next())),
        }
    }
}

/// A sandbox built ahead of any function (see [`Sandbox::prepare`]): its jail
/// waits in its cgroup, namespaces and root built, with its Runtime API
/// listener, for [`PreparedSandbox::launch`]. Dropping it destroys it.
#[derive(Debug)]
pub struct PreparedSandbox {
    sandbox: Sandbox,
    ctl: OwnedFd,
}

impl PreparedSandbox {
    /// The spec it was prepared with (its function parts are placeholders).
    pub fn spec(&self) -> &SandboxSpec {
        &self.sandbox.spec
    }

    /// Whether `spec` can run here: everything the jail has built already
    /// (the `/tmp` size, network, runtime dir, identity, Runtime API port) is
    /// what `spec` asks for.
    pub fn fits(&self, spec: &SandboxSpec) -> bool {
        let own = &self.sandbox.spec;
        own.tmp_size_mb == spec.tmp_size_mb
            && own.network == spec.network
            && own.runtime_dir == spec.runtime_dir
            && (own.uid, own.gid) == (spec.uid, spec.gid)
            && own.runtime_api_port == spec.runtime_api_port
    }

    /// Runs `spec`'s function in this sandbox: applies its cgroup limits
    /// (memory, pids, CPU with the init boost), sends the jail the code,
    /// layers, program and environment, and returns once the runtime has
    /// been exec'd. The sandbox keeps its own id, host name and `/tmp`.
    /// A spec that does not [`PreparedSandbox::fits`] is refused.
    pub fn launch(mut self, spec: &SandboxSpec) -> Result<Sandbox, SandboxError> {
        spec.validate()?;
        if !self.fits(spec) {
            return Err(SandboxError::InvalidSpec(
                "the spec does not fit this prepared sandbox".into(),
            ));
        }
        let launch = LaunchSpec::of(spec);
        let prepared_limits = CgroupLimits::for_spec(&self.sandbox.spec, true);
        let mut merged = launch.clone().apply_to(&self.sandbox.spec);
        merged.memory_mb = spec.memory_mb;
        merged.pids_max = spec.pids_max;
        merged.cpu_millicores = spec.cpu_millicores;
        merged.init_cpu_boost = spec.init_cpu_boost;
        self.sandbox.spec = merged;
        let launched = self
            .sandbox
            .cgroup()
            .and_then(|c| {
                c.reapply(
                    &prepared_limits,
                    &CgroupLimits::for_spec(&self.sandbox.spec, true),
                )
            })
            .and_then(|()| {
                let msg = serde_json::to_vec(&ParentMessage::Launch(launch)).map_err(|e| {
                    SandboxError::JailProtocol {
                        step: "sending Launch",
                        source: io::Error::other(e),
                    }
                })?;
                send_packet(&self.ctl, &msg, "sending Launch")
            })
            .and_then(|()| self.sandbox.wait_exec(&self.ctl));
        match launched {
            Ok(()) => Ok(self.sandbox),
            Err(e) => {
                let cleanup = self.sandbox.cleanup().err();
                Err(e.with_cleanup(cleanup))
            }
        }
    }

    /// Destroys the sandbox (as [`Sandbox::destroy`]).
    pub fn destroy(self) -> Result<(), SandboxError> {
        self.sandbox.destroy()
    }
}

impl Drop for Sandbox {
    /// Best effort: a sandbox dropped without [`Sandbox::destroy`] is still torn down.
    fn drop(&mut self) {
        if let Err(e) = self.cleanup() {
            eprintln!("lamina-sandbox: clean-up of {} failed: {e}", self.spec.id);
        }
    }
}

/// Waits until no loop device is backed by the image any more, so the next
/// environment with the same `tmp_dir` never mounts it twice.
fn wait_tmp_released(image: &Path) -> Result<(), SandboxError> {
    let start = Instant::now();
    while loop_users(image).is_some_and(|u| !u.is_empty()) {
        if start.elapsed() > DESTROY_TIMEOUT {
            return Err(SandboxError::TmpImageBusy { path: image.into() });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// The `/tmp` template for `spec`'s size, formatted on first use; `None`
/// without loop devices (the jail then mounts a tmpfs) or when it cannot be
/// made (the jail then formats the image itself).
fn tmp_template(spec: &SandboxSpec) -> Option<std::path::PathBuf> {
    if !Path::new("/dev/loop-control").exists() {
        return None;
    }
    tmpimage::ensure_template(&tmpimage::template_dir(&spec.tmp_dir), spec.tmp_size_mb).ok()
}

/// Forks and execs `cmd` on a thread that lives as long as the process.
///
/// The jail arms `PR_SET_PDEATHSIG`, which fires when the *thread* that
/// forked it exits, not the process: forked from a blocking-pool thread, a
/// jail would be killed when that thread retires. The spawner thread never
/// exits, so the signal comes exactly when the server process dies.
pub(crate) fn spawn_jail(cmd: Command) -> io::Result<Child> {
    type Job = (Command, mpsc::SyncSender<io::Result<Child>>);
    static SPAWNER: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("lamina-jail-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let child = cmd.spawn();
                    // The Command holds the jail's end of the control socket:
                    // drop it first, so the jail holds the only copy.
                    drop(cmd);
                    let _ = reply.send(child);
                }
            })
            .ok()
            .map(|_| tx)
    });
    let gone = || io::Error::other("the jail spawner thread is not running");
    let spawner = spawner.as_ref().ok_or_else(gone)?;
    let (reply, result) = mpsc::sync_channel(1);
    spawner.send((cmd, reply)).map_err(|_| gone())?;
    result.recv().map_err(|_| gone())?
}

fn send_packet(ctl: &OwnedFd, bytes: &[u8], step: &'static str) -> Result<(), SandboxError> {
    send(ctl.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL)
        .map(|_| ())
        .map_err(|e| SandboxError::JailProtocol {
            step,
            source: e.into(),
        })
}

/// A set-up or exec failure the jail already reported, if one is queued.
fn reported_failure(ctl: &OwnedFd) -> Option<SandboxError> {
    // Give a jail that is failing right now a moment to say why.
    std::thread::sleep(Duration::from_millis(20));
    while let Ok(Some(msg)) = recv_message(ctl, "reading the jail's report", MsgFlags::MSG_DONTWAIT)
    {
        if !matches!(msg.0, JailMessage::Listener) {
            return Some(unexpected(Some(msg), "reading the jail's report"));
        }
    }
    None
}

/// Receives one message; `None` on EOF.
fn recv_message(
    ctl: &OwnedFd,
    step: &'static str,
    flags: MsgFlags,
) -> Result<Option<(JailMessage, Option<OwnedFd>)>, SandboxError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let (len, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<()>(
                ctl.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC | flags,
            ) {
                Err(nix::Error::EINTR) => continue,
                Err(nix::Error::EAGAIN) => {
                    let source =
                        io::Error::new(io::ErrorKind::TimedOut, "jail did not answer in time");
                    return Err(SandboxError::JailProtocol { step, source });
                }
                r => {
                    break r.map_err(|e| SandboxError::JailProtocol {
                        step,
                        source: e.into(),
                    })?;
                }
            }
        };
        let mut fds = Vec::new();
        for c in msg.cmsgs().map_err(|e| SandboxError::JailProtocol {
            step,
            source: e.into(),
        })? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for fd in raw {
                    // SAFETY: SCM_RIGHTS just installed `fd` in this process;
                    // nothing else owns it, so taking ownership is sound.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        (msg.bytes, fds)
    };
    if len == 0 {
        return Ok(None);
    }
    let msg: JailMessage =
        serde_json::from_slice(&buf[..len]).map_err(|e| SandboxError::JailProtocol {
            step,
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })?;
    Ok(Some((msg, fds.into_iter().next())))
}

fn unexpected(got: Option<(JailMessage, Option<OwnedFd>)>, step: &'static str) -> SandboxError {
    match got {
        Some((
            JailMessage::SetupFailed {
                step,
                message,
                errno,
            },
            _,
        )) => SandboxError::JailSetup {
            step,
            message,
            errno,
        },
        Some((JailMessage::ExecFailed { message, errno }, _)) => SandboxError::Exec {
            program: String::new(),
            message,
            errno,
        },
        Some((JailMessage::Listener, None)) => SandboxError::JailProtocol {
            step,
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                "listener message without a file descriptor",
            ),
        },
        Some((JailMessage::Listener, Some(_))) => SandboxError::JailProtocol {
            step,
            source: io::Error::new(io::ErrorKind::InvalidData, "unexpected second listener"),
        },
        Some((JailMessage::Prepared, _)) => SandboxError::JailProtocol {
            step,
            source: io::Error::new(io::ErrorKind::InvalidData, "unexpected Prepared"),
        },
        None => SandboxError::JailProtocol {
            step,
            source: io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "jail exited before handing over the listener",
            ),
        },
    }
}
