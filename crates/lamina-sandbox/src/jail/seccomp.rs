//! The seccomp filter: a **deny-list** compiled to classic BPF by hand.
//!
//! DESIGN.md asks for an allow-list; a deny-list of the dangerous syscalls was
//! chosen first because it cannot break a runtime we have not profiled yet
//! (Python, Node.js, Java, Go, Rust, .NET). The denied calls fail with `EPERM`.
//! What the filter enforces besides the list:
//! - any architecture other than the native one kills the process;
//! - on x86_64, x32-ABI syscall numbers (bit 30) fail with `EPERM`, so the
//!   list cannot be bypassed through the x32 table;
//! - `clone` with any namespace flag fails with `EPERM`; `clone3` fails with
//!   `ENOSYS` (its flags live in memory a filter cannot read), which makes
//!   glibc and Go fall back to `clone`.
//!
//! TODO: switch to an allow-list (data in `resources/seccomp/*.json`, as in
//! Firecracker) once the runtimes' syscall sets are recorded.

use super::JailError;

/// A denied syscall with the reason it is denied.
#[cfg_attr(not(test), allow(dead_code))] // `name` and `why` document the list; tests read them.
pub(crate) struct Denied {
    pub nr: libc::c_long,
    pub name: &'static str,
    pub why: &'static str,
}

macro_rules! deny {
    ($($sys:ident => $why:literal),* $(,)?) => {
        &[$(Denied { nr: libc::$sys, name: stringify!($sys), why: $why }),*]
    };
}

/// Syscalls denied on every architecture.
pub(crate) const DENIED: &[Denied] = deny![
    SYS_mount => "file system changes and escape via new mounts",
    SYS_umount2 => "unmasking of paths",
    SYS_pivot_root => "root changes",
    SYS_chroot => "root changes",
    SYS_move_mount => "new mount API",
    SYS_open_tree => "new mount API",
    SYS_fsopen => "new mount API",
    SYS_fsconfig => "new mount API",
    SYS_fsmount => "new mount API",
    SYS_fspick => "new mount API",
    SYS_mount_setattr => "new mount API",
    SYS_unshare => "new namespaces (user namespaces expose kernel attack surface)",
    SYS_setns => "joining other namespaces",
    SYS_ptrace => "inspecting other processes",
    SYS_process_vm_readv => "reading other processes' memory",
    SYS_process_vm_writev => "writing other processes' memory",
    SYS_kexec_load => "replacing the kernel",
    SYS_kexec_file_load => "replacing the kernel",
    SYS_init_module => "kernel modules",
    SYS_finit_module => "kernel modules",
    SYS_delete_module => "kernel modules",
    SYS_bpf => "eBPF programs",
    SYS_perf_event_open => "perf events leak kernel data",
    SYS_keyctl => "kernel keyring is not namespaced",
    SYS_add_key => "kernel keyring is not namespaced",
    SYS_request_key => "kernel keyring is not namespaced",
    SYS_reboot => "rebooting",
    SYS_swapon => "swap",
    SYS_swapoff => "swap",
    SYS_acct => "process accounting",
    SYS_settimeofday => "host clock",
    SYS_clock_settime => "host clock",
    SYS_clock_adjtime => "host clock",
    SYS_adjtimex => "host clock",
    SYS_sethostname => "host name is set by the jail",
    SYS_setdomainname => "domain name",
    SYS_open_by_handle_at => "bypasses path-based confinement",
    SYS_name_to_handle_at => "file handle probing",
    SYS_userfaultfd => "exploit primitive",
    SYS_quotactl => "quotas",
    SYS_syslog => "kernel log",
    SYS_vhangup => "terminals",
    SYS_io_uring_setup => "io_uring bypasses seccomp for its operations",
    SYS_io_uring_enter => "io_uring bypasses seccomp for its operations",
    SYS_io_uring_register => "io_uring bypasses seccomp for its operations",
    SYS_lookup_dcookie => "kernel profiling",
];

/// x86_64-only syscalls.
#[cfg(target_arch = "x86_64")]
pub(crate) const DENIED_ARCH: &[Denied] = deny![
    SYS_iopl => "raw I/O ports",
    SYS_ioperm => "raw I/O ports",
    SYS_uselib => "obsolete loader",
    SYS_modify_ldt => "exploit primitive",
];
#[cfg(not(target_arch = "x86_64"))]
pub(crate) const DENIED_ARCH: &[Denied] = &[];

#[cfg(target_arch = "x86_64")]
pub(crate) const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
pub(crate) const AUDIT_ARCH: u32 = 0xc000_00b7;

const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;

// Classic BPF opcodes.
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Low 32 bits of args[0] (little-endian).
const OFF_ARG0_LO: u32 = 16;

/// Every CLONE_NEW* flag that fits `clone`'s flags word.
const CLONE_NS_FLAGS: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn nr(n: libc::c_long) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Builds the filter program.
pub(crate) fn program() -> Vec<libc::sock_filter> {
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let enosys = RET_ERRNO | libc::ENOSYS as u32;
    let mut p = vec![
        stmt(LD_W_ABS, OFF_ARCH),
        jump(JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(RET_K, RET_KILL_PROCESS),
        stmt(LD_W_ABS, OFF_NR),
    ];
    if cfg!(target_arch = "x86_64") {
        p.push(jump(JGE_K, X32_SYSCALL_BIT, 0, 1));
        p.push(stmt(RET_K, eperm));
    }
    for d in DENIED.iter().chain(DENIED_ARCH) {
        p.push(jump(JEQ_K, nr(d.nr), 0, 1));
        p.push(stmt(RET_K, eperm));
    }
    p.push(jump(JEQ_K, nr(libc::SYS_clone3), 0, 1));
    p.push(stmt(RET_K, enosys));
    // clone: deny namespace flags.
    p.push(jump(JEQ_K, nr(libc::SYS_clone), 0, 4));
    p.push(stmt(LD_W_ABS, OFF_ARG0_LO));
    p.push(jump(JSET_K, CLONE_NS_FLAGS, 0, 1));
    p.push(stmt(RET_K, eperm));
    p.push(stmt(RET_K, RET_ALLOW));
    p.push(stmt(RET_K, RET_ALLOW));
    p
}

/// Installs the filter on the calling thread. Requires `no_new_privs` (or CAP_SYS_ADMIN).
pub(crate) fn install() -> Result<(), JailError> {
    let prog = program();
    let fprog = libc::sock_fprog {
        len: u16::try_from(prog.len())
            .map_err(|_| JailError::msg("seccomp", "filter too long".into()))?,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: PR_SET_SECCOMP/SECCOMP_MODE_FILTER reads a `sock_fprog` whose
    // `filter` points at `len` valid instructions; `prog` outlives the call
    // (the kernel copies the program).
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(JailError::sys("install seccomp filter", nix::Error::last()));
    }
    Ok(())
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
