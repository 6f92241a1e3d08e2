//! The two supervisors: init (pid 1 in the environment) and the jail process
//! (in the host PID namespace) that mirrors the runtime's fate to the server.
//!
//! Both block the forwarded signals and take them with `sigwait`, the way
//! tini does; the runtime unblocks them before exec.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::JailError;

/// Signals passed on to the runtime (the server may SIGTERM it on shutdown).
const FORWARDED: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

fn handled() -> SigSet {
    let mut s = SigSet::empty();
    s.add(Signal::SIGCHLD);
    for sig in FORWARDED {
        s.add(*sig);
    }
    s
}

pub(crate) fn block_signals() -> Result<(), JailError> {
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&handled()), None)
        .map_err(|e| JailError::sys("block signals", e))
}

pub(crate) fn unblock_signals() -> Result<(), JailError> {
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .map_err(|e| JailError::sys("unblock signals", e))
}

/// Init dies (and with it the whole PID namespace) if the jail process dies.
///
/// The jail may have died between fork and prctl. `getppid()` cannot tell
/// (the jail is outside init's PID namespace, where it is always 0), but the
/// status pipe can: the jail holds its only read end, so once the jail is
/// gone the write end `status_w` polls as an error.
pub(crate) fn die_with_parent(status_w: BorrowedFd<'_>) -> Result<(), JailError> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| JailError::sys("set parent-death signal", e))?;
    if reader_gone(status_w) {
        return Err(JailError::msg(
            "check jail",
            "the jail exited before init started".into(),
        ));
    }
    Ok(())
}

/// Whether the read end of the pipe whose write end is `w` is closed everywhere.
fn reader_gone(w: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(w, PollFlags::POLLOUT)];
    poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLERR))
}

/// How the runtime ended, as sent from init to the jail process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Exited(i32),
    Signaled(i32),
}

impl Fate {
    pub fn encode(self) -> [u8; 8] {
        let (kind, v) = match self {
            Fate::Exited(c) => (0i32, c),
            Fate::Signaled(s) => (1, s),
        };
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&kind.to_le_bytes());
        b[4..].copy_from_slice(&v.to_le_bytes());
        b
    }
    pub fn decode(b: &[u8]) -> Option<Fate> {
        let kind = i32::from_le_bytes(b.get(..4)?.try_into().ok()?);
        let v = i32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
        match kind {
            0 => Some(Fate::Exited(v)),
            1 => Some(Fate::Signaled(v)),
            _ => None,
        }
    }
    fn from_status(s: WaitStatus) -> Option<Fate> {
        match s {
            WaitStatus::Exited(_, c) => Some(Fate::Exited(c)),
            WaitStatus::Signaled(_, sig, _) => Some(Fate::Signaled(sig as i32)),
            _ => None,
        }
    }
}

/// Reaps children until `child` has ended; returns its fate. Other signals go to `child`.
fn supervise(child: Pid) -> Fate {
    let set = handled();
    loop {
        let Ok(sig) = set.wait() else { continue };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        let mut fate = None;
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(s) if s.pid() == Some(child) => {
                    if let Some(f) = Fate::from_status(s) {
                        fate = Some(f);
                    }
                }
                Ok(_) => {}
            }
        }
        if let Some(f) = fate {
            return f;
        }
    }
}

/// Pid 1: reap everything, and when the runtime ends, report and exit
/// (which makes the kernel kill whatever else is left in the namespace).
pub(crate) fn init_loop(runtime: Pid, status_w: OwnedFd) -> ! {
    let fate = supervise(runtime);
    let _ = File::from(status_w).write_all(&fate.encode());
    std::process::exit(0)
}

/// The jail process: wait for init, then exit or die like the runtime did.
pub(crate) fn mirror_loop(init: Pid, status_r: OwnedFd) -> ! {
    let init_fate = supervise(init);
    let mut buf = Vec::new();
    let _ = File::from(status_r).read_to_end(&mut buf);
    // Init reports the runtime's fate; if init itself was killed (cgroup
    // kill, OOM), mirror that instead.
    let fate = Fate::decode(&buf).unwrap_or(init_fate);
    match fate {
        Fate::Exited(code) => std::process::exit(code),
        Fate::Signaled(sig) => die_by(sig),
    }
}

/// Terminates this process with `sig` (no core dump), or exits 128+sig if the
/// signal's default action does not terminate.
fn die_by(sig: i32) -> ! {
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    if let Ok(s) = Signal::try_from(sig) {
        // Rust's runtime installs SIGSEGV/SIGBUS handlers (stack-overflow
        // detection) that would swallow a sent signal; restore SIG_DFL.
        // SAFETY: SIG_DFL installs no handler code, and the process is
        // single-threaded and about to die.
        let _ = unsafe { nix::sys::signal::signal(s, nix::sys::signal::SigHandler::SigDfl) };
        let _ = kill(Pid::this(), s);
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    }
    std::process::exit(128 + sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fate_round_trips() {
        for f in [
            Fate::Exited(0),
            Fate::Exited(3),
            Fate::Signaled(9),
            Fate::Signaled(11),
        ] {
            assert_eq!(Fate::decode(&f.encode()), Some(f));
        }
        assert_eq!(Fate::decode(&[1, 2]), None);
        assert_eq!(Fate::decode(&[7, 0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn a_closed_status_reader_is_noticed() {
        use std::os::fd::AsFd;
        let (r, w) = nix::unistd::pipe().unwrap();
        assert!(!reader_gone(w.as_fd()));
        drop(r);
        assert!(reader_gone(w.as_fd()));
    }

    #[test]
    fn sigchld_and_sigterm_are_handled() {
        let s = handled();
        assert!(s.contains(Signal::SIGCHLD));
        assert!(s.contains(Signal::SIGTERM));
        assert!(!s.contains(Signal::SIGKILL));
    }
}
