//! The runtime's identity: session, rlimits, capabilities, uid/gid, its own user namespace,
//! `no_new_privs`.

use std::ffi::CString;

use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};

use super::JailError;
use crate::SandboxSpec;

/// Open-file limit of a Lambda environment.
pub(crate) const NOFILE: u64 = 1024;

/// A prepared `execve` (strings converted before privileges are dropped).
pub(crate) struct Exec {
    program: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
}

impl Exec {
    pub fn new(spec: &SandboxSpec) -> Result<Self, JailError> {
        let c =
            |s: String| CString::new(s).map_err(|e| JailError::msg("prepare exec", e.to_string()));
        let argv = spec
            .argv
            .iter()
            .cloned()
            .map(c)
            .collect::<Result<Vec<_>, _>>()?;
        let env = spec
            .env
            .iter()
            .map(|(k, v)| c(format!("{k}={v}")))
            .collect::<Result<Vec<_>, _>>()?;
        let program = argv
            .first()
            .cloned()
            .ok_or_else(|| JailError::msg("prepare exec", "empty argv".into()))?;
        Ok(Self { program, argv, env })
    }

    /// Execs the runtime; returns only on failure.
    pub fn exec(&self) -> nix::Error {
        match nix::unistd::execve(&self.program, &self.argv, &self.env) {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }
}

/// Everything between "root inside the new root" and seccomp + exec.
pub(crate) fn prepare(spec: &SandboxSpec) -> Result<Exec, JailError> {
    let exec = Exec::new(spec)?;
    nix::unistd::setsid().map_err(|e| JailError::sys("setsid", e))?;
    std::fs::write("/proc/self/oom_score_adj", "0")
        .map_err(|e| JailError::io("reset oom_score_adj", e))?;
    setrlimit(Resource::RLIMIT_NOFILE, NOFILE, NOFILE)
        .map_err(|e| JailError::sys("set RLIMIT_NOFILE", e))?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|e| JailError::sys("set RLIMIT_CORE", e))?;
    close_other_fds()?;
    drop_bounding_set()?;
    let (uid, gid) = (Uid::from_raw(spec.uid), Gid::from_raw(spec.gid));
    setgroups(&[]).map_err(|e| JailError::sys("setgroups", e))?;
    setresgid(gid, gid, gid).map_err(|e| JailError::sys("setresgid", e))?;
    // Without SECBIT_KEEP_CAPS this also clears the permitted, effective
    // and ambient capability sets.
    setresuid(uid, uid, uid).map_err(|e| JailError::sys("setresuid", e))?;
    clear_capabilities()?;
    enter_user_namespace(uid, gid)?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| JailError::sys("set no_new_privs", e))?;
    nix::unistd::chdir(spec.cwd.as_str())
        .map_err(|e| JailError::sys(format!("chdir {}", spec.cwd), e))?;
    Ok(exec)
}

/// Moves the (already unprivileged) runtime into a user namespace of its own, where only
/// its uid and gid are mapped (to themselves): whatever it gains inside is nobody's outside.
/// Where the kernel allows no user namespace to an unprivileged process (a sysctl, a
/// container), the runtime goes on without one.
fn enter_user_namespace(uid: Uid, gid: Gid) -> Result<(), JailError> {
    match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
        Ok(()) => {}
        Err(nix::Error::EPERM | nix::Error::EINVAL | nix::Error::ENOSPC | nix::Error::EUSERS) => {
            return Ok(());
        }
        Err(e) => return Err(JailError::sys("unshare user namespace", e)),
    }
    // setresuid cleared the dumpable flag, which makes /proc/self root's: the maps below
    // are written by the process itself.
    nix::sys::prctl::set_dumpable(true).map_err(|e| JailError::sys("set dumpable", e))?;
    for (file, contents) in [
        ("/proc/self/setgroups", "deny".to_owned()),
        ("/proc/self/uid_map", format!("{uid} {uid} 1")),
        ("/proc/self/gid_map", format!("{gid} {gid} 1")),
    ] {
        std::fs::write(file, contents).map_err(|e| JailError::io(format!("write {file}"), e))?;
    }
    // A new user namespace starts with every capability, bounding set included.
    drop_bounding_set()?;
    clear_capabilities()
}

/// Marks every fd above 2 close-on-exec (the error channel already is).
fn close_other_fds() -> Result<(), JailError> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on open
    // descriptors; it takes no pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc != 0 {
        return Err(JailError::sys("close_range", nix::Error::last()));
    }
    Ok(())
}

/// Drops every capability from the bounding set (needs CAP_SETPCAP, so before setresuid).
fn drop_bounding_set() -> Result<(), JailError> {
    for cap in 0..64 {
        // SAFETY: PR_CAPBSET_DROP takes an integer capability number and no pointers.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if rc != 0 {
            let e = nix::Error::last();
            // EINVAL: past the kernel's last capability.
            if e == nix::Error::EINVAL {
                return Ok(());
            }
            return Err(JailError::sys(
                format!("drop capability {cap} from bounding set"),
                e,
            ));
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Empties the effective, permitted and inheritable sets.
fn clear_capabilities() -> Result<(), JailError> {
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capset(2) with a version-3 header reads exactly two `CapData`
    // structs (`repr(C)`, matching `struct __user_cap_data_struct`); both
    // pointers are valid for the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    if rc != 0 {
        return Err(JailError::sys("capset", nix::Error::last()));
    }
    Ok(())
}
