use super::*;

/// A minimal classic-BPF interpreter for the opcodes the filter uses.
fn eval(prog: &[libc::sock_filter], arch: u32, nr: u32, arg0: u64) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    data[16..24].copy_from_slice(&arg0.to_le_bytes());
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        match i.code {
            LD_W_ABS => {
                let k = i.k as usize;
                acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
            }
            RET_K => return i.k,
            code => {
                let taken = match code {
                    JEQ_K => acc == i.k,
                    JGE_K => acc >= i.k,
                    JSET_K => acc & i.k != 0,
                    _ => panic!("unknown opcode {code:#x}"),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
        }
        assert!(pc < prog.len(), "fell off the end of the program");
    }
}

const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;

fn run(nr: libc::c_long, arg0: u64) -> u32 {
    eval(&program(), AUDIT_ARCH, u32::try_from(nr).unwrap(), arg0)
}

#[test]
fn denied_syscalls_get_eperm() {
    for d in DENIED.iter().chain(DENIED_ARCH) {
        assert_eq!(run(d.nr, 0), EPERM, "{} ({})", d.name, d.why);
    }
}

#[test]
fn ordinary_syscalls_are_allowed() {
    for nr in [
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_openat,
        libc::SYS_execve,
        libc::SYS_mmap,
        libc::SYS_futex,
        libc::SYS_socket,
        libc::SYS_wait4,
    ] {
        assert_eq!(run(nr, 0), RET_ALLOW, "syscall {nr}");
    }
}

#[test]
fn clone_is_allowed_without_namespace_flags() {
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD) as u64;
    assert_eq!(run(libc::SYS_clone, thread), RET_ALLOW);
    assert_eq!(run(libc::SYS_clone, libc::SIGCHLD as u64), RET_ALLOW);
    for flag in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
    ] {
        assert_eq!(
            run(libc::SYS_clone, (flag | libc::SIGCHLD) as u64),
            EPERM,
            "{flag:#x}"
        );
    }
}

#[test]
fn clone3_falls_back_with_enosys() {
    assert_eq!(run(libc::SYS_clone3, 0), RET_ERRNO | libc::ENOSYS as u32);
}

#[test]
fn foreign_architectures_are_killed() {
    assert_eq!(eval(&program(), 0x4000_0003, 1, 0), RET_KILL_PROCESS);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_syscalls_are_denied() {
    assert_eq!(
        eval(&program(), AUDIT_ARCH, X32_SYSCALL_BIT | 165, 0),
        EPERM
    );
    assert_eq!(eval(&program(), AUDIT_ARCH, X32_SYSCALL_BIT, 0), EPERM);
}

#[test]
fn program_fits_the_kernel_limit() {
    assert!(program().len() < 4096);
}
