use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;

#[path = "seccomp_json.rs"]
#[allow(dead_code)] // build.rs uses the rest
mod seccomp_json;

/// The JSON lists against the compiled table and libc's constants.
#[path = "seccomp_list_tests.rs"]
mod lists;

/// The filter installed in a real (forked) process, as the kernel applies it.
#[path = "seccomp_kernel_tests.rs"]
mod kernel;

const X86_64_JSON: &str = include_str!("../../resources/seccomp/x86_64.json");
const AARCH64_JSON: &str = include_str!("../../resources/seccomp/aarch64.json");

/// x86_64 syscalls that aarch64 (the generic syscall table) does not have.
const X86_64_ONLY: &[&str] = &[
    "open",
    "creat",
    "stat",
    "lstat",
    "access",
    "getdents",
    "readlink",
    "mkdir",
    "rmdir",
    "unlink",
    "rename",
    "link",
    "symlink",
    "chmod",
    "chown",
    "lchown",
    "utime",
    "utimes",
    "futimesat",
    "mknod",
    "dup2",
    "pipe",
    "fork",
    "vfork",
    "getpgrp",
    "arch_prctl",
    "alarm",
    "pause",
    "signalfd",
    "time",
    "poll",
    "select",
    "epoll_create",
    "epoll_wait",
    "eventfd",
    "inotify_init",
    "iopl",
    "ioperm",
    "modify_ldt",
    "uselib",
];

fn table() -> &'static Table {
    ALLOWLIST.expect("this architecture has an allow-list")
}

fn arch() -> u32 {
    AUDIT_ARCH.expect("known architecture")
}

fn prog() -> &'static [libc::sock_filter] {
    static PROG: OnceLock<Vec<libc::sock_filter>> = OnceLock::new();
    PROG.get_or_init(|| program().expect("program"))
}

/// A classic-BPF interpreter for the opcodes the compiler emits.
fn eval(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut acc, mut pc) = (0u32, 0usize);
    loop {
        assert!(pc < prog.len(), "fell off the end of the program");
        let i = prog[pc];
        pc += 1;
        match i.code {
            LD_W_ABS => {
                let k = i.k as usize;
                assert!(k.is_multiple_of(4) && k + 4 <= 64, "bad load offset {k}");
                acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
            }
            ALU_AND_K => acc &= i.k,
            RET_K => return i.k,
            JA => pc += i.k as usize,
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
    }
}

/// What the table says should happen, computed directly.
fn expected(table: &Table, nr: u32, args: [u64; 6]) -> u32 {
    let Some(rule) = table.syscalls.iter().find(|r| r.nr as u32 == nr) else {
        return errno_ret(table.default_errno);
    };
    match rule.action {
        Action::Allow => RET_ALLOW,
        Action::Errno(e) => errno_ret(e),
        Action::AllowIf { any_of, else_errno } => {
            let holds = |c: &Check| {
                let a = args[usize::from(c.index)];
                let a = if c.wide { a } else { a & 0xffff_ffff };
                a & c.mask == c.value
            };
            if any_of.iter().any(|checks| checks.iter().all(holds)) {
                RET_ALLOW
            } else {
                errno_ret(else_errno)
            }
        }
    }
}

fn run(nr: libc::c_long, args: &[u64]) -> u32 {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    eval(prog(), arch(), u32::try_from(nr).unwrap(), a)
}

fn err(e: i32) -> u32 {
    errno_ret(e)
}

const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;

fn nr_of(name: &str) -> libc::c_long {
    table()
        .syscalls
        .iter()
        .map(|r| (r.name, r.nr))
        .chain(table().refused.iter().map(|r| (r.name, r.nr)))
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is neither allowed nor refused in the list"))
        .1
}

/// Argument vectors that exercise every check of `table`: all zeros, all
/// ones, each alternative satisfied, and near misses.
fn arg_patterns(table: &Table) -> Vec<[u64; 6]> {
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    for rule in table.syscalls {
        if let Action::AllowIf { any_of, .. } = rule.action {
            for checks in any_of {
                let mut a = [0u64; 6];
                for c in *checks {
                    a[usize::from(c.index)] = c.value;
                }
                out.push(a);
                for c in *checks {
                    let i = usize::from(c.index);
                    let mut miss = a;
                    miss[i] ^= 1;
                    out.push(miss);
                    let mut miss = a;
                    miss[i] ^= c.mask & c.mask.wrapping_neg(); // flip the lowest checked bit
                    out.push(miss);
                    let mut high = a;
                    high[i] |= 0xdead_0000_0000_0000;
                    out.push(high);
                }
            }
        }
    }
    out
}

#[test]
fn the_program_implements_the_table_for_every_syscall_number() {
    let table = table();
    let max = table.syscalls.iter().map(|r| r.nr).max().unwrap() as u32;
    let patterns = arg_patterns(table);
    for nr in (0..=max + 64).chain([1024, 4095, 0x3fff_ffff]) {
        for args in &patterns {
            assert_eq!(
                eval(prog(), arch(), nr, *args),
                expected(table, nr, *args),
                "syscall {nr} with {args:x?}"
            );
        }
    }
}

#[test]
fn every_allowed_syscall_is_allowed_with_any_arguments() {
    for rule in table().syscalls {
        if let Action::Allow = rule.action {
            for args in [[0; 6], [u64::MAX; 6], [1, 2, 3, 4, 5, 6]] {
                assert_eq!(
                    eval(prog(), arch(), rule.nr as u32, args),
                    RET_ALLOW,
                    "{}",
                    rule.name
                );
            }
        }
    }
    for name in [
        "read",
        "write",
        "openat",
        "execve",
        "mmap",
        "futex",
        "wait4",
        "epoll_pwait",
        "getrandom",
        "rt_sigaction",
        "sched_getaffinity",
        "membarrier",
        "rseq",
    ] {
        assert_eq!(run(nr_of(name), &[]), RET_ALLOW, "{name}");
    }
}

#[cfg(target_arch = "x86_64")]
const ARCH_DANGEROUS: &[(&str, libc::c_long)] = &[
    ("iopl", libc::SYS_iopl),
    ("ioperm", libc::SYS_ioperm),
    ("modify_ldt", libc::SYS_modify_ldt),
    ("uselib", libc::SYS_uselib),
];
#[cfg(not(target_arch = "x86_64"))]
const ARCH_DANGEROUS: &[(&str, libc::c_long)] = &[];

/// The refusals the design requires, by number (not only by the list's names).
#[test]
fn dangerous_syscalls_are_refused_with_eperm() {
    let mut dangerous = vec![
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("pivot_root", libc::SYS_pivot_root),
        ("chroot", libc::SYS_chroot),
        ("unshare", libc::SYS_unshare),
        ("setns", libc::SYS_setns),
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_readv", libc::SYS_process_vm_readv),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("bpf", libc::SYS_bpf),
        ("kexec_load", libc::SYS_kexec_load),
        ("kexec_file_load", libc::SYS_kexec_file_load),
        ("init_module", libc::SYS_init_module),
        ("finit_module", libc::SYS_finit_module),
        ("delete_module", libc::SYS_delete_module),
        ("keyctl", libc::SYS_keyctl),
        ("add_key", libc::SYS_add_key),
        ("request_key", libc::SYS_request_key),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("reboot", libc::SYS_reboot),
        ("swapon", libc::SYS_swapon),
        ("swapoff", libc::SYS_swapoff),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("io_uring_enter", libc::SYS_io_uring_enter),
        ("fsopen", libc::SYS_fsopen),
        ("move_mount", libc::SYS_move_mount),
        ("open_tree", libc::SYS_open_tree),
        ("settimeofday", libc::SYS_settimeofday),
        ("clock_settime", libc::SYS_clock_settime),
        ("sethostname", libc::SYS_sethostname),
        ("syslog", libc::SYS_syslog),
        ("acct", libc::SYS_acct),
        ("quotactl", libc::SYS_quotactl),
    ];
    dangerous.extend_from_slice(ARCH_DANGEROUS);
    let refused: Vec<&str> = table().refused.iter().map(|r| r.name).collect();
    for (name, nr) in dangerous {
        assert!(
            refused.contains(&name),
            "{name} is not documented as refused"
        );
        assert_eq!(nr_of(name), nr, "{name}");
        for args in [[0; 6], [u64::MAX; 6]] {
            assert_eq!(eval(prog(), arch(), nr as u32, args), EPERM, "{name}");
        }
    }
    for r in table().refused {
        assert_eq!(run(r.nr, &[]), EPERM, "{}", r.name);
    }
}

#[test]
fn clone_is_allowed_without_namespace_flags() {
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    let clone = libc::SYS_clone;
    assert_eq!(run(clone, &[thread]), RET_ALLOW);
    assert_eq!(run(clone, &[libc::SIGCHLD as u64]), RET_ALLOW);
    let vfork = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
    assert_eq!(run(clone, &[vfork]), RET_ALLOW);
    // Go >= 1.22 asks for a pidfd.
    assert_eq!(run(clone, &[vfork | libc::CLONE_PIDFD as u64]), RET_ALLOW);
    for flag in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ] {
        assert_eq!(
            run(clone, &[(flag | libc::SIGCHLD) as u64]),
            EPERM,
            "{flag:#x}"
        );
    }
}

#[test]
fn clone3_falls_back_with_enosys() {
    assert_eq!(run(libc::SYS_clone3, &[]), err(libc::ENOSYS));
}

/// `<linux/personality.h>` values the libc crate does not define.
const PER_LINUX: u64 = 0;
const PER_LINUX32: u64 = 8;

#[test]
fn personality_may_only_be_queried_or_set_to_linux() {
    let p = libc::SYS_personality;
    assert_eq!(run(p, &[0xffff_ffff]), RET_ALLOW, "query");
    assert_eq!(run(p, &[PER_LINUX]), RET_ALLOW);
    for persona in [
        libc::ADDR_NO_RANDOMIZE as u64,
        libc::READ_IMPLIES_EXEC as u64,
        PER_LINUX32,
        PER_LINUX32 | libc::ADDR_NO_RANDOMIZE as u64,
        0x0800_0000, // ADDR_LIMIT_3GB
    ] {
        assert_eq!(run(p, &[persona]), EPERM, "{persona:#x}");
    }
    // The kernel reads an unsigned int: upper bits are ignored there and here.
    assert_eq!(run(p, &[0x1_0000_0000]), RET_ALLOW);
}

#[test]
fn socket_families_are_limited() {
    let s = libc::SYS_socket;
    let stream = libc::SOCK_STREAM as u64 | libc::SOCK_CLOEXEC as u64;
    for family in [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6] {
        assert_eq!(run(s, &[family as u64, stream, 0]), RET_ALLOW, "{family}");
    }
    let netlink = libc::AF_NETLINK as u64;
    let raw = libc::SOCK_RAW as u64;
    assert_eq!(
        run(s, &[netlink, raw, libc::NETLINK_ROUTE as u64]),
        RET_ALLOW
    );
    let eafnosupport = err(libc::EAFNOSUPPORT);
    for protocol in [
        libc::NETLINK_AUDIT,
        libc::NETLINK_KOBJECT_UEVENT,
        libc::NETLINK_GENERIC,
        libc::NETLINK_NETFILTER,
        libc::NETLINK_SOCK_DIAG,
    ] {
        assert_eq!(
            run(s, &[netlink, raw, protocol as u64]),
            eafnosupport,
            "netlink {protocol}"
        );
    }
    for family in [
        libc::AF_PACKET,
        libc::AF_VSOCK,
        libc::AF_ALG,
        libc::AF_BLUETOOTH,
        libc::AF_KEY,
        libc::AF_TIPC,
        libc::AF_XDP,
        libc::AF_CAN,
    ] {
        assert_eq!(run(s, &[family as u64, raw, 0]), eafnosupport, "{family}");
    }
    let sp = libc::SYS_socketpair;
    assert_eq!(run(sp, &[libc::AF_UNIX as u64, stream, 0]), RET_ALLOW);
    assert_eq!(run(sp, &[libc::AF_TIPC as u64, stream, 0]), eafnosupport);
}

#[test]
fn ioctl_requests_are_limited() {
    let ioctl = libc::SYS_ioctl;
    for request in [
        libc::TCGETS,
        libc::TIOCGWINSZ,
        libc::FIONREAD,
        libc::FIONBIO,
        libc::FIOCLEX,
        libc::SIOCGIFCONF,
        libc::SIOCGIFINDEX,
    ] {
        assert_eq!(run(ioctl, &[1, request]), RET_ALLOW, "{request:#x}");
        // The kernel reads `cmd` as unsigned int.
        assert_eq!(run(ioctl, &[1, request | 0xffff_ffff_0000_0000]), RET_ALLOW);
    }
    let enotty = err(libc::ENOTTY);
    for request in [
        libc::TIOCSTI,
        libc::TIOCLINUX,
        libc::TIOCSETD,
        libc::TIOCCONS,
        libc::TIOCSCTTY,
        libc::SIOCSIFFLAGS,
        libc::SIOCADDRT,
        0x4008_ae01, // KVM_CREATE_VM
        0x4c00,      // LOOP_SET_FD
        0x4004_6602, // FS_IOC_SETFLAGS
        0x4008_5702, // IOC_WATCH_QUEUE_SET_SIZE ... close enough to any unknown request
    ] {
        assert_eq!(run(ioctl, &[1, request]), enotty, "{request:#x}");
    }
}

#[test]
fn foreign_architectures_are_killed() {
    for foreign in [0x4000_0003, 0x4000_0028, 0xc000_00b7, 0xc000_003e] {
        if foreign != arch() {
            assert_eq!(
                eval(prog(), foreign, 1, [0; 6]),
                RET_KILL_PROCESS,
                "{foreign:#x}"
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_syscalls_are_denied() {
    assert_eq!(eval(prog(), arch(), X32_SYSCALL_BIT | 165, [0; 6]), EPERM);
    assert_eq!(eval(prog(), arch(), X32_SYSCALL_BIT, [0; 6]), EPERM);
    // x32 read (0) and write (1) are allowed natively but not through the x32 table.
    assert_eq!(eval(prog(), arch(), X32_SYSCALL_BIT | 1, [0; 6]), EPERM);
}

#[test]
fn program_fits_the_kernel_limit() {
    let p = prog();
    assert!(p.len() < MAX_INSNS, "{} instructions", p.len());
    println!(
        "seccomp: {} syscalls allowed or handled, {} BPF instructions",
        table().syscalls.len(),
        p.len()
    );
}

/// A synthetic table big enough that jumps need `JA` trampolines.
#[test]
fn long_jumps_are_compiled_correctly() {
    static CHECKS: [Check; 3] = [
        Check {
            index: 0,
            wide: true,
            mask: u64::MAX,
            value: 0x1_0000_0002,
        },
        Check {
            index: 2,
            wide: false,
            mask: 0xff00,
            value: 0x1200,
        },
        Check {
            index: 5,
            wide: false,
            mask: 0xf0,
            value: 0,
        },
    ];
    static ALTS: [&[Check]; 3] = [&CHECKS, &[CHECKS[1], CHECKS[2]], &[CHECKS[0]]];
    let rules: Vec<Rule> = (0..700)
        .map(|i| Rule {
            name: "synthetic",
            nr: i * 3,
            action: match i % 4 {
                0 => Action::Allow,
                1 => Action::Errno(libc::ENOSYS),
                _ => Action::AllowIf {
                    any_of: if i % 8 == 2 { &ALTS } else { &ALTS[..1] },
                    else_errno: libc::EACCES,
                },
            },
        })
        .collect();
    let table = Table {
        arch: "test",
        default_errno: libc::EPERM,
        syscalls: Vec::leak(rules),
        refused: &[],
    };
    let p = compile(&table, arch());
    assert!(p.len() > 2 * 256, "the test needs long jumps: {}", p.len());
    assert!(p.iter().any(|i| i.code == JA), "no trampolines emitted");
    let patterns = [
        [0; 6],
        [0x1_0000_0002, 0, 0x1234, 0, 0, 0],
        [0x1_0000_0002, 0, 0x1234, 0, 0, 0x10],
        [0x0_0000_0002, 0, 0x1299, 0, 0, 0],
        [0x1_0000_0002, 0, 0x0034, 0, 0, 0],
        [u64::MAX; 6],
    ];
    for nr in 0..2200 {
        for args in patterns {
            assert_eq!(
                eval(&p, arch(), nr, args),
                expected(&table, nr, args),
                "syscall {nr} with {args:x?}"
            );
        }
    }
}

fn errno_value(name: &str) -> i32 {
    seccomp_json::ERRNOS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
}

#[test]
fn errno_names_match_libc() {
    let libc_values = [
        libc::EPERM,
        libc::EACCES,
        libc::EINVAL,
        libc::ENOTTY,
        libc::ENOSYS,
        libc::EPROTONOSUPPORT,
        libc::EOPNOTSUPP,
        libc::EAFNOSUPPORT,
    ];
    let ours: Vec<i32> = seccomp_json::ERRNOS.iter().map(|(_, v)| *v).collect();
    assert_eq!(ours, libc_values);
}
