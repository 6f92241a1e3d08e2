use super::*;

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
