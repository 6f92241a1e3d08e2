use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;

#[path = "seccomp_json.rs"]
#[allow(dead_code)] // build.rs uses the rest
mod seccomp_json;

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

/// build.rs turned the JSON into exactly the compiled table.
#[test]
fn the_compiled_table_is_the_json_file() {
    let json = match std::env::consts::ARCH {
        "x86_64" => X86_64_JSON,
        "aarch64" => AARCH64_JSON,
        other => panic!("no list for {other}"),
    };
    let list = seccomp_json::parse(json, std::env::consts::ARCH).unwrap();
    let t = table();
    assert_eq!(t.arch, list.arch);
    assert_eq!(t.default_errno, errno_value(&list.default_errno));
    assert_eq!(t.syscalls.len(), list.syscalls.len());
    for (rule, syscall) in t.syscalls.iter().zip(&list.syscalls) {
        let name = &syscall.name.name;
        assert_eq!(rule.name, name);
        if let Some(nr) = syscall.name.nr {
            assert_eq!(rule.nr, libc::c_long::from(nr), "{name}");
        }
        match (&rule.action, &syscall.action) {
            (Action::Allow, seccomp_json::Action::Allow) => {}
            (Action::Errno(a), seccomp_json::Action::Errno(b)) => assert_eq!(*a, errno_value(b)),
            (
                Action::AllowIf { any_of, else_errno },
                seccomp_json::Action::AllowIf {
                    any_of: json_any_of,
                    else_errno: json_else,
                },
            ) => {
                assert_eq!(*else_errno, errno_value(json_else), "{name}");
                assert_eq!(any_of.len(), json_any_of.len(), "{name}");
                for (a, b) in any_of.iter().zip(json_any_of) {
                    let a: Vec<_> = a
                        .iter()
                        .map(|c| (c.index, c.wide, c.mask, c.value))
                        .collect();
                    let b: Vec<_> = b
                        .iter()
                        .map(|c| (c.index, c.wide, c.mask, c.value))
                        .collect();
                    assert_eq!(a, b, "{name}");
                }
            }
            (a, b) => panic!("{name}: compiled {a:?}, file says {b:?}"),
        }
    }
    let refused: Vec<&str> = t.refused.iter().map(|r| r.name).collect();
    let listed: Vec<&str> = list.refused.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(refused, listed);
    // Syscall numbers are unique (a wrong explicit `nr` could alias another).
    let mut nrs: Vec<libc::c_long> = t.syscalls.iter().map(|r| r.nr).collect();
    nrs.extend(t.refused.iter().map(|r| r.nr));
    let n = nrs.len();
    nrs.sort_unstable();
    nrs.dedup();
    assert_eq!(nrs.len(), n, "two entries share a syscall number");
}

#[test]
fn every_list_is_valid_and_aarch64_follows_x86_64() {
    let x86 = seccomp_json::parse(X86_64_JSON, "x86_64").unwrap();
    let arm = seccomp_json::parse(AARCH64_JSON, "aarch64").unwrap();
    assert!(seccomp_json::parse(X86_64_JSON, "aarch64").is_err());
    // aarch64 = x86_64 without the legacy calls the generic table lacks, in
    // the same order and with the same conditions (numbers differ).
    let portable = |list: &seccomp_json::AllowList| -> Vec<(String, seccomp_json::Action)> {
        list.syscalls
            .iter()
            .filter(|s| !X86_64_ONLY.contains(&s.name.name.as_str()))
            .map(|s| (s.name.name.clone(), s.action.clone()))
            .collect()
    };
    assert_eq!(portable(&x86), portable(&arm));
    assert_eq!(arm.syscalls.len(), portable(&arm).len());
    let names = |v: &[seccomp_json::Named]| -> Vec<String> {
        v.iter()
            .map(|n| n.name.clone())
            .filter(|n| !X86_64_ONLY.contains(&n.as_str()))
            .collect()
    };
    assert_eq!(names(&x86.refused), names(&arm.refused));
    assert_eq!(arm.refused.len(), names(&arm.refused).len());
    for name in X86_64_ONLY {
        let listed = x86.syscalls.iter().any(|s| s.name.name == *name)
            || x86.refused.iter().any(|n| n.name == *name);
        assert!(listed, "{name} in X86_64_ONLY but not in x86_64.json");
    }
}

#[test]
fn the_schema_rejects_mistakes() {
    let file = |entry: &str| {
        format!(
            r#"{{"comment": "c", "arch": "x86_64", "default_errno": "EPERM",
                "syscalls": [{entry}], "refused": [{{"name": "mount", "comment": "c"}}]}}"#
        )
    };
    let ok = file(r#"{"name": "read", "comment": "c"}"#);
    assert!(seccomp_json::parse(&ok, "x86_64").is_ok());
    for (bad, why) in [
        (r#"{"name": "read", "comment": ""}"#, "empty comment"),
        (r#"{"name": "read"}"#, "missing comment"),
        (
            r#"{"name": "read", "comment": "c", "commnet": "x"}"#,
            "unknown field",
        ),
        (
            r#"{"name": "mount", "comment": "c"}"#,
            "allowed and refused",
        ),
        (
            r#"{"name": "read", "comment": "c"}, {"name": "read", "comment": "c"}"#,
            "duplicate",
        ),
        (r#"{"name": "Read", "comment": "c"}"#, "bad name"),
        (
            r#"{"name": "read", "comment": "c", "errno": "EWHAT"}"#,
            "bad errno",
        ),
        (
            r#"{"name": "read", "comment": "c", "else_errno": "EPERM"}"#,
            "else without allow_if",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": []}"#,
            "empty allow_if",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": [{"comment": "a", "args": []}]}"#,
            "no args",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": [{"comment": "a", "args": [{"index": 6, "width": 32, "op": "eq", "value": 1}]}]}"#,
            "index",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": [{"comment": "a", "args": [{"index": 0, "width": 16, "op": "eq", "value": 1}]}]}"#,
            "width",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": [{"comment": "a", "args": [{"index": 0, "width": 32, "op": "eq", "value": "0x100000000"}]}]}"#,
            "too wide",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": [{"comment": "a", "args": [{"index": 0, "width": 32, "op": "masked_eq", "mask": "0xf", "value": "0x10"}]}]}"#,
            "never matches",
        ),
        (
            r#"{"name": "read", "comment": "c", "allow_if": [{"comment": "a", "args": [{"index": 0, "width": 32, "op": "eq", "value": "12"}]}]}"#,
            "decimal string",
        ),
    ] {
        assert!(
            seccomp_json::parse(&file(bad), "x86_64").is_err(),
            "accepted: {why}"
        );
    }
}

/// The values in the comments ("TCGETS (0x5401): ...") are the values
/// checked, and they are libc's.
#[test]
fn named_constants_match_libc() {
    let libc_consts: BTreeMap<&str, u64> = [
        ("TCGETS", libc::TCGETS),
        ("TCSETS", libc::TCSETS),
        ("TCSETSW", libc::TCSETSW),
        ("TCSETSF", libc::TCSETSF),
        ("TCGETS2", libc::TCGETS2),
        ("TCSETS2", libc::TCSETS2),
        ("TCSETSW2", libc::TCSETSW2),
        ("TCSETSF2", libc::TCSETSF2),
        ("TCSBRK", libc::TCSBRK),
        ("TCXONC", libc::TCXONC),
        ("TCFLSH", libc::TCFLSH),
        ("TIOCGPGRP", libc::TIOCGPGRP),
        ("TIOCSPGRP", libc::TIOCSPGRP),
        ("TIOCOUTQ", libc::TIOCOUTQ),
        ("TIOCGWINSZ", libc::TIOCGWINSZ),
        ("TIOCSWINSZ", libc::TIOCSWINSZ),
        ("FIONREAD", libc::FIONREAD),
        ("FIONBIO", libc::FIONBIO),
        ("TIOCGSID", libc::TIOCGSID),
        ("FIONCLEX", libc::FIONCLEX),
        ("FIOCLEX", libc::FIOCLEX),
        ("FIOASYNC", libc::FIOASYNC),
        ("SIOCGIFNAME", libc::SIOCGIFNAME),
        ("SIOCGIFCONF", libc::SIOCGIFCONF),
        ("SIOCGIFFLAGS", libc::SIOCGIFFLAGS),
        ("SIOCGIFADDR", libc::SIOCGIFADDR),
        ("SIOCGIFDSTADDR", libc::SIOCGIFDSTADDR),
        ("SIOCGIFBRDADDR", libc::SIOCGIFBRDADDR),
        ("SIOCGIFNETMASK", libc::SIOCGIFNETMASK),
        ("SIOCGIFMETRIC", libc::SIOCGIFMETRIC),
        ("SIOCGIFMTU", libc::SIOCGIFMTU),
        ("SIOCGIFHWADDR", libc::SIOCGIFHWADDR),
        ("SIOCGIFINDEX", libc::SIOCGIFINDEX),
        ("FICLONE", libc::FICLONE),
        ("FS_IOC_GETFLAGS", libc::FS_IOC_GETFLAGS),
        ("RNDGETENTCNT", 0x8004_5200), // _IOR('R', 0, int); not in libc
        ("AF_UNIX", libc::AF_UNIX as u64),
        ("AF_INET", libc::AF_INET as u64),
        ("AF_INET6", libc::AF_INET6 as u64),
        ("AF_NETLINK", libc::AF_NETLINK as u64),
        ("PER_LINUX", PER_LINUX),
    ]
    .into_iter()
    .collect();
    let file: seccomp_json::File = serde_json::from_str(X86_64_JSON).unwrap();
    let list = seccomp_json::parse(X86_64_JSON, "x86_64").unwrap();
    let mut named = 0;
    for (entry, syscall) in file.syscalls.iter().zip(&list.syscalls) {
        let (Some(alternatives), seccomp_json::Action::AllowIf { any_of, .. }) =
            (&entry.allow_if, &syscall.action)
        else {
            continue;
        };
        for (alt, checks) in alternatives.iter().zip(any_of) {
            // "NAME (value): ..." names the first check's value.
            let Some((name, rest)) = alt.comment.split_once(" (") else {
                continue;
            };
            let Some((value, _)) = rest.split_once(')') else {
                continue;
            };
            let written = match value.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => value.parse(),
            };
            let Ok(written) = written else { continue };
            assert_eq!(
                written, checks[0].value,
                "{}: {:?}",
                entry.name, alt.comment
            );
            if let Some(v) = libc_consts.get(name) {
                assert_eq!(*v, written, "{name} in {}", entry.name);
                named += 1;
            }
        }
    }
    assert!(named >= 40, "only {named} constants checked against libc");
    let ns_flags = (libc::CLONE_NEWNS
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET) as u64;
    let clone = list
        .syscalls
        .iter()
        .find(|s| s.name.name == "clone")
        .unwrap();
    let seccomp_json::Action::AllowIf { any_of, .. } = &clone.action else {
        panic!("clone must be conditional")
    };
    assert_eq!((any_of[0][0].mask, any_of[0][0].value), (ns_flags, 0));
}

/// One probe run in a forked child after the filter is installed: a syscall
/// whose result, unfiltered, would differ from the filtered one. All are
/// harmless when unfiltered, even as root.
struct Probe {
    name: &'static str,
    expect: i64,
    call: fn() -> i64,
}

/// Returns 0 on success, else the errno. Allocation-free.
fn outcome(rc: libc::c_long) -> i64 {
    if rc >= 0 {
        0
    } else {
        i64::from(nix::errno::Errno::last_raw())
    }
}

macro_rules! sys {
    ($nr:expr $(, $a:expr)*) => {
        // SAFETY: every probe passes integers or null pointers, which the
        // kernel validates; none of them touches this process's memory.
        outcome(unsafe { libc::syscall($nr $(, $a as libc::c_long)*) })
    };
}

/// `socket(2)`, closing the socket if one was created.
fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> i64 {
    // SAFETY: integer arguments only.
    let fd = unsafe { libc::socket(domain, ty, protocol) };
    if fd >= 0 {
        // SAFETY: closes the descriptor just created, which nothing else uses.
        unsafe { libc::close(fd) };
    }
    outcome(fd.into())
}

const PROBES: &[Probe] = &[
    Probe {
        name: "getpid (allowed)",
        expect: 0,
        call: || sys!(libc::SYS_getpid),
    },
    Probe {
        name: "socket(AF_INET) (allowed)",
        expect: 0,
        call: || socket(libc::AF_INET, libc::SOCK_STREAM, 0),
    },
    Probe {
        name: "ioctl(-1, FIONBIO) (allowed, EBADF from the kernel)",
        expect: libc::EBADF as i64,
        call: || sys!(libc::SYS_ioctl, -1, libc::FIONBIO, 0),
    },
    Probe {
        name: "mount(NULL...) (unfiltered: EFAULT)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_mount, 0, 0, 0, 0, 0),
    },
    Probe {
        name: "unshare(0) (unfiltered: succeeds)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_unshare, 0),
    },
    Probe {
        name: "setns(-1, 0) (unfiltered: EBADF)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_setns, -1, 0),
    },
    Probe {
        name: "ptrace(GETEVENTMSG, 0) (unfiltered: ESRCH)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_ptrace, libc::PTRACE_GETEVENTMSG, 0, 0, 0),
    },
    Probe {
        name: "bpf(-1) (unfiltered: EINVAL)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_bpf, -1, 0, 0),
    },
    Probe {
        name: "keyctl(-1) (unfiltered: EOPNOTSUPP)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_keyctl, -1, 0, 0, 0, 0),
    },
    Probe {
        name: "add_key(NULL) (unfiltered: EFAULT)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_add_key, 0, 0, 0, 0, 0),
    },
    Probe {
        name: "userfaultfd(bad flags) (unfiltered: EINVAL)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_userfaultfd, 0xffff),
    },
    Probe {
        name: "perf_event_open(NULL) (unfiltered: EFAULT)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_perf_event_open, 0, 0, -1, -1, 0),
    },
    Probe {
        name: "io_uring_setup(0, NULL) (unfiltered: EINVAL)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_io_uring_setup, 0, 0),
    },
    Probe {
        name: "personality(ADDR_NO_RANDOMIZE) (unfiltered: succeeds)",
        expect: libc::EPERM as i64,
        call: || sys!(libc::SYS_personality, libc::ADDR_NO_RANDOMIZE),
    },
    Probe {
        name: "personality(query) (allowed)",
        expect: 0,
        call: || sys!(libc::SYS_personality, 0xffff_ffffu32),
    },
    Probe {
        name: "clone3(NULL, 0) (unfiltered: EINVAL)",
        expect: libc::ENOSYS as i64,
        call: || sys!(libc::SYS_clone3, 0, 0),
    },
    Probe {
        name: "socket(AF_PACKET) (unfiltered as root: succeeds)",
        expect: libc::EAFNOSUPPORT as i64,
        call: || socket(libc::AF_PACKET, libc::SOCK_RAW, 0),
    },
    Probe {
        name: "socket(AF_NETLINK, NETLINK_AUDIT) (unfiltered: succeeds)",
        expect: libc::EAFNOSUPPORT as i64,
        call: || socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT),
    },
    Probe {
        name: "ioctl(-1, TIOCSTI) (unfiltered: EBADF)",
        expect: libc::ENOTTY as i64,
        call: || sys!(libc::SYS_ioctl, -1, libc::TIOCSTI, 0),
    },
];

const SLOTS: usize = 1 + PROBES.len();

/// In a forked child of the (multi-threaded) test process: only raw,
/// allocation-free calls until `_exit`.
fn child(prog: &[libc::sock_filter], out: libc::c_int) -> ! {
    let mut res = [-1i64; SLOTS];
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    let start = Instant::now();
    if rc == 0 && install_program(prog).is_ok() {
        res[0] = i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        for (slot, probe) in res[1..].iter_mut().zip(PROBES) {
            *slot = (probe.call)();
        }
    }
    // SAFETY: writes `res`, a live local array, to the pipe.
    unsafe { libc::write(out, res.as_ptr().cast(), std::mem::size_of_val(&res)) };
    // SAFETY: ends the forked child without running the test harness's exit code.
    unsafe { libc::_exit(0) }
}

fn run_in_child(prog: &[libc::sock_filter]) -> [i64; SLOTS] {
    use std::io::Read;
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only makes raw, allocation-free syscalls (see `child`)
    // before `_exit`, so the other threads' locks cannot deadlock it.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            use std::os::fd::AsRawFd;
            child(prog, w.as_raw_fd())
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut buf = Vec::new();
            std::fs::File::from(r).read_to_end(&mut buf).unwrap();
            nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(buf.len(), SLOTS * 8, "child wrote {} bytes", buf.len());
            let mut res = [0i64; SLOTS];
            for (v, b) in res.iter_mut().zip(buf.chunks_exact(8)) {
                *v = i64::from_ne_bytes(b.try_into().unwrap());
            }
            res
        }
    }
}

#[test]
fn installed_filter_is_fast_and_enforced() {
    let mut builds = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let p = program().unwrap();
        builds.push(t.elapsed());
        assert_eq!(p.len(), prog().len());
    }
    let mut installs = Vec::new();
    for _ in 0..20 {
        let res = run_in_child(prog());
        assert!(res[0] >= 0, "the child could not install the filter");
        installs.push(Duration::from_nanos(res[0] as u64));
        for (probe, got) in PROBES.iter().zip(&res[1..]) {
            assert_eq!(
                *got,
                probe.expect,
                "{}: got {} ({}), want {}",
                probe.name,
                got,
                nix::errno::Errno::from_raw(*got as i32).desc(),
                nix::errno::Errno::from_raw(probe.expect as i32).desc(),
            );
        }
    }
    builds.sort();
    installs.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    println!(
        "SECCOMP: {} instructions; compile median {:?} (max {:?}); install (prctl) median {:?} \
         (min {:?}, max {:?}) over {} children",
        prog().len(),
        median(&builds),
        builds[builds.len() - 1],
        median(&installs),
        installs[0],
        installs[installs.len() - 1],
        installs.len()
    );
    assert!(
        median(&installs) + median(&builds) < Duration::from_millis(1),
        "compile + install must stay well under 1 ms"
    );
}
