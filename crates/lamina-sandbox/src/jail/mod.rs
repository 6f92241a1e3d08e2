//! The jail: a single-threaded re-exec of `lamina` that builds the environment.
//!
//! Steps (A = jail process, B = init, C = runtime):
//! 1. A arms `PR_SET_PDEATHSIG` (it dies with the server) and reads the
//!    [`JailRequest`] from its stdin (the control socket).
//! 2. Meanwhile the parent moves A into the environment's cgroup, which can
//!    take a kernel RCU grace period (see `cgroup/mod.rs`); A does not wait
//!    for that yet. A opens a netlink socket in the host's network namespace
//!    (egress only), unshares mount, PID, IPC, UTS and network namespaces,
//!    sets the host name, brings `lo` up, creates the veth pair and
//!    configures both ends ([`net`]; egress only), binds the Runtime API
//!    listener and sends it to the parent, then builds the new root in its
//!    mount namespace ([`mount`]) including the `/tmp` image ([`loopdev`]).
//!    A pre-started jail ([`JailRequest::deferred`]) leaves out the binds of
//!    the function's code and layers, reports [`JailMessage::Prepared`] once
//!    joined, and waits for [`ParentMessage::Launch`] with the function's
//!    parts; it mounts them and goes on.
//! 3. A waits for the parent's [`ParentMessage::Joined`], unshares its cgroup
//!    namespace (rooted at the environment's group) and forks B (pid 1 of
//!    the new PID namespace, born in the group). B mounts `/proc`,
//!    `pivot_root`s, and forks C.
//! 4. C drops privileges ([`identity`]), installs the seccomp filter
//!    ([`seccomp`]) and execs the runtime. B reaps and forwards signals; A
//!    mirrors the runtime's exit ([`init`]).
//!
//! When the server dies, A gets SIGKILL (parent-death signal; the server forks
//! jails from one long-lived thread, see `parent.rs`), B gets SIGKILL when A
//! dies, and the kernel kills the rest of the PID namespace with B.

mod identity;
mod init;
mod loopdev;
mod mount;
mod net;
mod ns;
mod seccomp;

use std::fs::{self, File};
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::socket::{ControlMessage, MsgFlags, recv, sendmsg};
use nix::unistd::{ForkResult, fork};

use crate::spec::{JailMessage, JailRequest, LaunchSpec, ParentMessage};
use crate::{JAIL_ROOT_MOUNTPOINT, SandboxSpec};

pub(crate) use loopdev::loop_users;

/// Exit code of the jail when set-up failed (details went over the control socket).
pub const EXIT_SETUP_FAILED: i32 = 125;
/// Exit code of the jail when `execve` of the runtime failed.
pub const EXIT_EXEC_FAILED: i32 = 127;

/// Largest request accepted over the control socket.
pub(crate) const MAX_REQUEST: usize = 1 << 20;

/// Environment variable through which the parent tells the jail its pid, so
/// the jail can tell whether the server died before its parent-death signal
/// was armed.
pub(crate) const PARENT_PID_ENV: &str = "LAMINA_JAIL_PARENT";

/// A failed jail step, reported to the parent as [`JailMessage::SetupFailed`].
#[derive(Debug)]
pub(crate) struct JailError {
    pub step: String,
    pub message: String,
    pub errno: Option<i32>,
}

impl JailError {
    pub fn sys(step: impl Into<String>, e: nix::Error) -> Self {
        Self {
            step: step.into(),
            message: e.desc().into(),
            errno: Some(e as i32),
        }
    }
    pub fn io(step: impl Into<String>, e: io::Error) -> Self {
        Self {
            step: step.into(),
            message: e.to_string(),
            errno: e.raw_os_error(),
        }
    }
    pub fn msg(step: impl Into<String>, message: String) -> Self {
        Self {
            step: step.into(),
            message,
            errno: None,
        }
    }
    fn into_message(self) -> JailMessage {
        JailMessage::SetupFailed {
            step: self.step,
            message: self.message,
            errno: self.errno,
        }
    }
}

/// Entry point of `lamina __jail`. Must be called before any other thread
/// exists (no tokio runtime). Never returns: it exits with the runtime's exit
/// code, or dies of the runtime's terminating signal.
pub fn jail_main() -> ! {
    let ctl = io::stdin().as_fd().as_raw_fd();
    match run(ctl) {
        Ok(never) => match never {},
        Err(e) => {
            let _ = send(ctl, &e.into_message(), None);
            std::process::exit(EXIT_SETUP_FAILED)
        }
    }
}

fn run(ctl: RawFd) -> Result<std::convert::Infallible, JailError> {
    die_with_server()?;
    ensure_single_threaded()?;
    let req = read_request(ctl)?;
    let spec = req.spec;
    spec.validate()
        .map_err(|e| JailError::msg("validate spec", e.to_string()))?;
    // The jail and init must survive an OOM in the environment so they can
    // report it; the runtime resets its own score to 0.
    let _ = fs::write("/proc/self/oom_score_adj", "-999");
    fs::create_dir_all(JAIL_ROOT_MOUNTPOINT)
        .map_err(|e| JailError::io("create jail root mount point", e))?;
    let devnull: OwnedFd = File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| JailError::io("open /dev/null", e))?
        .into();

    let host_netlink = match &req.network {
        Some(_) => Some(net::open_host_netlink()?),
        None => None,
    };
    ns::unshare_all_but_cgroup()?;
    ns::set_hostname(&spec.hostname)?;
    ns::loopback_up()?;
    if let (Some(host), Some(n)) = (host_netlink, &req.network) {
        net::setup(host, n)?;
    }
    let listener = ns::bind_runtime_api(spec.runtime_api_port)?;
    send(ctl, &JailMessage::Listener, Some(listener.as_raw_fd()))
        .map_err(|e| JailError::io("send Runtime API listener", e))?;
    drop(listener);

    // The root, in this (new) mount namespace, which init shares. Only what
    // needs the new PID namespace (procfs) is left to init.
    let etc = req
        .network
        .as_ref()
        .map(mount::NetEtc::for_env)
        .unwrap_or_default();
    let root = Path::new(JAIL_ROOT_MOUNTPOINT);
    mount::prepare_root(root)?;
    let (mut jail_ops, init_ops) =
        mount::split_for_init(mount::plan_with(&spec, &etc, &mount::host_kind));
    if req.deferred {
        jail_ops = mount::without_function_binds(jail_ops);
    }
    mount::apply(root, &jail_ops, req.tmp_template.as_deref())?;

    wait_joined(ctl)?;
    let spec = if req.deferred {
        send(ctl, &JailMessage::Prepared, None).map_err(|e| JailError::io("report prepared", e))?;
        let spec = wait_launch(ctl)?.apply_to(&spec);
        spec.validate()
            .map_err(|e| JailError::msg("validate launch", e.to_string()))?;
        mount::apply(root, &mount::function_binds(&spec), None)?;
        spec
    } else {
        spec
    };
    ns::unshare_cgroup()?;
    let (status_r, status_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| JailError::sys("create status pipe", e))?;
    init::block_signals()?;
    // SAFETY: the process is single-threaded (checked by
    // `ensure_single_threaded` at the top, and nothing since has started a
    // thread), so the child may do anything after fork, not only
    // async-signal-safe calls.
    match unsafe { fork() }.map_err(|e| JailError::sys("fork init", e))? {
        ForkResult::Child => {
            drop(status_r);
            match run_init(ctl, &spec, &init_ops, status_w, devnull.as_fd()) {
                Ok(never) => match never {},
                Err(e) => {
                    let _ = send(ctl, &e.into_message(), None);
                    std::process::exit(EXIT_SETUP_FAILED)
                }
            }
        }
        ForkResult::Parent { child } => {
            drop(status_w);
            // Close our copy of the control socket so the parent sees EOF
            // once the runtime's exec closes the last one.
            let _ = nix::unistd::dup2_stdin(devnull.as_fd());
            init::mirror_loop(child, status_r)
        }
    }
}

/// Pid 1 of the new PID namespace: mounts procfs, `pivot_root`s, forks the runtime, reaps.
fn run_init(
    ctl: RawFd,
    spec: &SandboxSpec,
    ops: &[mount::MountOp],
    status_w: OwnedFd,
    devnull: BorrowedFd<'_>,
) -> Result<std::convert::Infallible, JailError> {
    init::die_with_parent(status_w.as_fd())?;
    let root = Path::new(JAIL_ROOT_MOUNTPOINT);
    mount::apply(root, ops, None)?;
    mount::pivot(root)?;

    // SAFETY: still single-threaded (init is a fork of the single-threaded jail
    // and has started no threads).
    match unsafe { fork() }.map_err(|e| JailError::sys("fork runtime", e))? {
        ForkResult::Child => {
            drop(status_w);
            let err = exec_runtime(ctl, spec, devnull);
            // Only reached when set-up or exec failed; `err` was already sent.
            std::process::exit(err)
        }
        ForkResult::Parent { child } => {
            let _ = nix::unistd::dup2_stdin(devnull);
            let _ = nix::unistd::dup2_stdout(devnull);
            let _ = nix::unistd::dup2_stderr(devnull);
            init::init_loop(child, status_w)
        }
    }
}

/// The runtime process: drop privileges, exec. Returns the exit code on failure.
fn exec_runtime(ctl: RawFd, spec: &SandboxSpec, devnull: BorrowedFd<'_>) -> i32 {
    // A close-on-exec copy of the control socket carries exec errors; stdin
    // becomes /dev/null.
    let report = match nix::fcntl::fcntl(io::stdin(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3)) {
        Ok(fd) => fd,
        Err(e) => {
            // Without the copy an exec failure would look like success (EOF).
            let _ = send(
                ctl,
                &JailError::sys("duplicate control socket", e).into_message(),
                None,
            );
            return EXIT_SETUP_FAILED;
        }
    };
    let _ = nix::unistd::dup2_stdin(devnull);
    let prepared = init::unblock_signals()
        .and_then(|()| identity::prepare(spec))
        .and_then(|exec| seccomp::install().map(|()| exec));
    match prepared {
        Err(e) => {
            let _ = send(report, &e.into_message(), None);
            EXIT_SETUP_FAILED
        }
        Ok(exec) => {
            let e = exec.exec();
            let msg = JailMessage::ExecFailed {
                message: e.desc().into(),
                errno: Some(e as i32),
            };
            let _ = send(report, &msg, None);
            EXIT_EXEC_FAILED
        }
    }
}

fn ensure_single_threaded() -> Result<(), JailError> {
    let n = fs::read_dir("/proc/self/task")
        .map_err(|e| JailError::io("list threads", e))?
        .count();
    if n != 1 {
        return Err(JailError::msg(
            "check threads",
            format!("jail must be single-threaded, found {n} threads"),
        ));
    }
    Ok(())
}

/// Arms SIGKILL for when the server dies, then makes sure it has not died
/// already (the jail would then have been re-parented, and never get the signal).
fn die_with_server() -> Result<(), JailError> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| JailError::sys("set parent-death signal", e))?;
    let expected = std::env::var(PARENT_PID_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok());
    if let Some(expected) = expected
        && nix::unistd::getppid().as_raw() != expected
    {
        return Err(JailError::msg(
            "check server",
            format!("the server (pid {expected}) exited before the jail started"),
        ));
    }
    Ok(())
}

/// Waits until the parent has moved this process into the environment's cgroup.
fn wait_joined(ctl: RawFd) -> Result<(), JailError> {
    match recv_parent(ctl, "wait for the cgroup move")? {
        ParentMessage::Joined => Ok(()),
        other => Err(JailError::msg(
            "wait for the cgroup move",
            format!("unexpected {other:?}"),
        )),
    }
}

/// A pre-started jail waits (for as long as it takes) for the function to run.
fn wait_launch(ctl: RawFd) -> Result<LaunchSpec, JailError> {
    match recv_parent(ctl, "wait for launch")? {
        ParentMessage::Launch(launch) => Ok(launch),
        other => Err(JailError::msg(
            "wait for launch",
            format!("unexpected {other:?}"),
        )),
    }
}

fn recv_parent(ctl: RawFd, step: &str) -> Result<ParentMessage, JailError> {
    let mut buf = vec![0u8; MAX_REQUEST];
    let n = loop {
        match recv(ctl, &mut buf, MsgFlags::empty()) {
            Err(nix::Error::EINTR) => continue,
            r => break r.map_err(|e| JailError::sys(step, e))?,
        }
    };
    if n == 0 {
        return Err(JailError::msg(step, "control socket closed".into()));
    }
    serde_json::from_slice(&buf[..n]).map_err(|e| JailError::msg(step, e.to_string()))
}

fn read_request(ctl: RawFd) -> Result<JailRequest, JailError> {
    let mut buf = vec![0u8; MAX_REQUEST];
    let n =
        recv(ctl, &mut buf, MsgFlags::empty()).map_err(|e| JailError::sys("read request", e))?;
    if n == 0 {
        return Err(JailError::msg(
            "read request",
            "control socket closed".into(),
        ));
    }
    serde_json::from_slice(&buf[..n]).map_err(|e| JailError::msg("parse request", e.to_string()))
}

/// Sends one message (one SOCK_SEQPACKET packet), optionally with an fd.
pub(crate) fn send(ctl: RawFd, msg: &JailMessage, fd: Option<RawFd>) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let iov = [IoSlice::new(&body)];
    let fds = fd.map(|f| [f]);
    let cmsgs: Vec<ControlMessage<'_>> = fds.iter().map(|f| ControlMessage::ScmRights(f)).collect();
    sendmsg::<()>(ctl, &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None)?;
    Ok(())
}
