//! Namespaces: unshare, host name, loopback, and the Runtime API listener.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::fd::AsRawFd;

use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use super::JailError;

/// The namespaces every environment gets. No user namespace: the jail runs
/// as real root and drops to the spec's uid itself. The new PID namespace
/// applies to children (the init fork); the cgroup namespace makes the
/// environment's own cgroup its root.
pub(crate) fn namespace_flags() -> CloneFlags {
    CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWCGROUP
}

/// Every namespace but the cgroup one, which must wait until the jail is in
/// the environment's group (a cgroup namespace is rooted where its creator is).
pub(crate) fn unshare_all_but_cgroup() -> Result<(), JailError> {
    unshare(namespace_flags() - CloneFlags::CLONE_NEWCGROUP)
        .map_err(|e| JailError::sys("unshare namespaces", e))
}

/// The cgroup namespace, rooted at the environment's group (call once the jail is in it).
pub(crate) fn unshare_cgroup() -> Result<(), JailError> {
    unshare(CloneFlags::CLONE_NEWCGROUP).map_err(|e| JailError::sys("unshare cgroup namespace", e))
}

pub(crate) fn set_hostname(name: &str) -> Result<(), JailError> {
    nix::unistd::sethostname(name).map_err(|e| JailError::sys("sethostname", e))
}

/// Brings `lo` up in the (new) network namespace with `SIOCSIFFLAGS`.
pub(crate) fn loopback_up() -> Result<(), JailError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| JailError::sys("socket for SIOCSIFFLAGS", e))?;
    // SAFETY: `ifreq` is a plain C struct/union of integers and byte arrays,
    // for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags =
        (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads an `ifreq` with a NUL-terminated name and
    // `ifru_flags` set; `req` is valid for the call and `sock` is an open socket.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCSIFFLAGS as _,
            &req as *const libc::ifreq,
        )
    };
    if rc != 0 {
        return Err(JailError::sys("bring lo up", nix::Error::last()));
    }
    Ok(())
}

/// Binds `127.0.0.1:port` inside the environment's network namespace.
pub(crate) fn bind_runtime_api(port: u16) -> Result<TcpListener, JailError> {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
        .map_err(|e| JailError::io(format!("bind Runtime API 127.0.0.1:{port}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_namespaces_but_user_are_unshared() {
        let f = namespace_flags();
        for want in [
            CloneFlags::CLONE_NEWNS,
            CloneFlags::CLONE_NEWUTS,
            CloneFlags::CLONE_NEWIPC,
            CloneFlags::CLONE_NEWNET,
            CloneFlags::CLONE_NEWPID,
        ] {
            assert!(f.contains(want), "{want:?}");
        }
        assert!(!f.contains(CloneFlags::CLONE_NEWUSER));
        assert!(f.contains(CloneFlags::CLONE_NEWCGROUP));
    }
}
