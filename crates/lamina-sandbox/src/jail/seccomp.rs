//! The seccomp filter: an **allow-list** kept as data.
//!
//! The list is `resources/seccomp/<arch>.json` (format in `seccomp_json.rs`):
//! one entry per allowed syscall with a `comment` saying who needs it,
//! argument conditions where a syscall is only safe with some arguments, and a
//! `refused` section documenting notable refusals. `build.rs` validates it and
//! turns it into [`ALLOWLIST`] (syscall numbers from `libc`, so a name that
//! does not exist on the target fails the build); [`program`] compiles that
//! table into classic BPF, which [`install`] loads just before `execve`.
//!
//! What the filter enforces:
//! - any architecture other than the native one kills the process;
//! - on x86_64, x32-ABI syscall numbers (bit 30) fail with `EPERM`, so the
//!   list cannot be bypassed through the x32 table;
//! - every syscall not in the list fails with `EPERM` (the list's
//!   `default_errno`), like Docker's default profile;
//! - the conditional entries, notably: `clone` with any `CLONE_NEW*` flag
//!   fails with `EPERM`; `clone3` fails with `ENOSYS` (its flags live in
//!   memory a filter cannot read), which makes glibc and Go fall back to
//!   `clone`; `socket` only for `AF_UNIX`, `AF_INET`, `AF_INET6` and
//!   `AF_NETLINK`/`NETLINK_ROUTE` (else `EAFNOSUPPORT`); `ioctl` only for
//!   terminal, socket and a few file requests (else `ENOTTY`); `personality`
//!   only to query or to set `PER_LINUX`.
//!
//! The syscall number is found by a binary search over ranges of consecutive
//! numbers with the same action (about 9 comparisons for ~280 syscalls). That
//! part only loads the number and the architecture, so the kernel's seccomp
//! cache (5.11+) lets the unconditionally allowed syscalls skip the filter
//! entirely; only refused and argument-checked calls run it.
//!
//! A target architecture without a list builds, but [`install`] fails, so its
//! sandboxes refuse to start rather than run unfiltered.

use super::JailError;

/// The compiled allow-list of the target architecture (None: there is none).
#[derive(Debug)]
pub(crate) struct Table {
    #[cfg_attr(not(test), allow(dead_code))]
    pub arch: &'static str,
    pub default_errno: i32,
    pub syscalls: &'static [Rule],
    /// Documented refusals: not in the program (the default refuses them).
    #[cfg_attr(not(test), allow(dead_code))]
    pub refused: &'static [Named],
}

/// One allowed (or explicitly refused) syscall.
#[derive(Debug)]
pub(crate) struct Rule {
    #[cfg_attr(not(test), allow(dead_code))] // diagnostics and tests
    pub name: &'static str,
    pub nr: libc::c_long,
    pub action: Action,
}

#[derive(Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Named {
    pub name: &'static str,
    pub nr: libc::c_long,
}

#[derive(Debug)]
pub(crate) enum Action {
    Allow,
    Errno(i32),
    /// Allowed when all checks of any alternative hold, else `else_errno`.
    AllowIf {
        any_of: &'static [&'static [Check]],
        else_errno: i32,
    },
}

/// `args[index] & mask == value`, on the low 32 bits only unless `wide`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Check {
    pub index: u8,
    pub wide: bool,
    pub mask: u64,
    pub value: u64,
}

include!(concat!(env!("OUT_DIR"), "/seccomp_allowlist.rs"));

#[cfg(target_arch = "x86_64")]
pub(crate) const AUDIT_ARCH: Option<u32> = Some(0xc000_003e);
#[cfg(target_arch = "aarch64")]
pub(crate) const AUDIT_ARCH: Option<u32> = Some(0xc000_00b7);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) const AUDIT_ARCH: Option<u32> = None;

#[cfg(not(target_endian = "little"))]
compile_error!("the seccomp argument offsets assume a little-endian target");

pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;

// Classic BPF opcodes.
pub(crate) const LD_W_ABS: u16 = 0x20;
pub(crate) const ALU_AND_K: u16 = 0x54;
pub(crate) const JA: u16 = 0x05;
pub(crate) const JEQ_K: u16 = 0x15;
pub(crate) const JGE_K: u16 = 0x35;
pub(crate) const JSET_K: u16 = 0x45;
pub(crate) const RET_K: u16 = 0x06;

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub(crate) const MAX_INSNS: usize = 4096;

// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// `args[i]` is a u64 at 16 + 8i; its low word comes first (little-endian).
const fn off_arg(index: u8, high: bool) -> u32 {
    16 + 8 * index as u32 + if high { 4 } else { 0 }
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn errno_ret(errno: i32) -> u32 {
    RET_ERRNO | (errno as u32 & 0xffff)
}

/// An instruction already emitted, by its index from the program's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Label(usize);

/// Where an argument check (or an alternative) starts, and, if it starts by
/// loading a word, that word's offset and the instruction after the load.
#[derive(Debug, Clone, Copy)]
struct Next {
    start: Label,
    loaded: Option<(u32, Label)>,
}

/// Turns rules sorted by number into ranges covering every number: runs of
/// consecutive numbers with the same target merge, gaps go to `default`.
fn ranges(sorted: &[(u32, Label)], default: Label) -> Vec<(u32, Label)> {
    let mut out = vec![(0, default)];
    let mut set = |start: u32, target: Label| {
        if out.last().map(|r| r.0) == Some(start) {
            out.pop();
        }
        if out.last().map(|r| r.1) != Some(target) {
            out.push((start, target));
        }
    };
    for &(nr, target) in sorted {
        set(nr, target);
        if let Some(after) = nr.checked_add(1) {
            set(after, default);
        }
    }
    out
}

/// Builds a program backwards, so every jump target exists when the jump is
/// emitted (classic BPF only jumps forwards). Jumps further than the 255
/// instructions a conditional jump can reach go through an unconditional
/// `JA` trampoline.
struct Builder {
    rev: Vec<libc::sock_filter>,
}

impl Builder {
    fn emit(&mut self, ins: libc::sock_filter) -> Label {
        self.rev.push(ins);
        Label(self.rev.len() - 1)
    }

    /// The offset an instruction emitted now needs to reach `to`.
    fn distance(&self, to: Label) -> usize {
        self.rev.len() - to.0 - 1
    }

    fn ret(&mut self, k: u32) -> Label {
        self.emit(stmt(RET_K, k))
    }

    fn ja(&mut self, to: Label) -> Label {
        let k = u32::try_from(self.distance(to)).unwrap_or(u32::MAX);
        self.emit(stmt(JA, k))
    }

    fn jump(&mut self, code: u16, k: u32, mut jt: Label, mut jf: Label) -> Label {
        loop {
            if self.distance(jt) > usize::from(u8::MAX) {
                jt = self.ja(jt);
            } else if self.distance(jf) > usize::from(u8::MAX) {
                jf = self.ja(jf);
            } else {
                break;
            }
        }
        let (t, f) = (self.distance(jt), self.distance(jf));
        self.emit(libc::sock_filter {
            code,
            jt: u8::try_from(t).unwrap_or(u8::MAX),
            jf: u8::try_from(f).unwrap_or(u8::MAX),
            k,
        })
    }

    /// `(word at off) & mask == value`, then `pass`, else `fail`.
    fn word_check(&mut self, off: u32, mask: u32, value: u32, pass: Label, fail: Next) -> Next {
        if mask == 0 {
            // Nothing to compare (validation rejects a value outside the mask).
            return Next {
                start: pass,
                loaded: None,
            };
        }
        // Failing with the word still in the accumulator may skip the next
        // alternative's load of the same word (`ioctl`'s list of requests).
        let fail_raw = match fail.loaded {
            Some((o, after_load)) if o == off => after_load,
            _ => fail.start,
        };
        let after_load = if value == 0 {
            self.jump(JSET_K, mask, fail_raw, pass)
        } else if mask == u32::MAX {
            self.jump(JEQ_K, value, pass, fail_raw)
        } else {
            self.jump(JEQ_K, value, pass, fail.start);
            self.emit(stmt(ALU_AND_K, mask))
        };
        Next {
            start: self.emit(stmt(LD_W_ABS, off)),
            loaded: Some((off, after_load)),
        }
    }

    fn check(&mut self, c: &Check, pass: Label, fail: Next) -> Next {
        let lo = |v: u64| (v & 0xffff_ffff) as u32;
        let hi = |v: u64| (v >> 32) as u32;
        let low = self.word_check(off_arg(c.index, false), lo(c.mask), lo(c.value), pass, fail);
        if c.wide {
            self.word_check(
                off_arg(c.index, true),
                hi(c.mask),
                hi(c.value),
                low.start,
                fail,
            )
        } else {
            low
        }
    }

    fn allow_if(&mut self, any_of: &[&[Check]], else_errno: i32, allow: Label) -> Label {
        let mut next = Next {
            start: self.ret(errno_ret(else_errno)),
            loaded: None,
        };
        for checks in any_of.iter().rev() {
            let mut this = Next {
                start: allow,
                loaded: None,
            };
            for c in checks.iter().rev() {
                this = self.check(c, this.start, next);
            }
            next = this;
        }
        next.start
    }

    /// Binary search of the syscall number (in the accumulator) over
    /// `ranges`: sorted, the first starting at 0, each running up to the
    /// next one's start, and each jumping to its target.
    fn search(&mut self, ranges: &[(u32, Label)]) -> Label {
        if let [(_, target)] = ranges {
            return *target;
        }
        let mid = ranges.len() / 2;
        let high = self.search(&ranges[mid..]);
        let low = self.search(&ranges[..mid]);
        self.jump(JGE_K, ranges[mid].0, high, low)
    }

    fn finish(mut self) -> Vec<libc::sock_filter> {
        self.rev.reverse();
        self.rev
    }
}

/// Compiles `table` into a filter for `audit_arch`.
pub(crate) fn compile(table: &Table, audit_arch: u32) -> Vec<libc::sock_filter> {
    let mut b = Builder {
        rev: Vec::with_capacity(1024),
    };
    let kill = b.ret(RET_KILL_PROCESS);
    let allow = b.ret(RET_ALLOW);
    let default = b.ret(errno_ret(table.default_errno));
    let mut errnos = vec![(table.default_errno, default)];
    let mut targets: Vec<(u32, Label)> = table
        .syscalls
        .iter()
        .map(|rule| {
            let target = match rule.action {
                Action::Allow => allow,
                Action::Errno(e) => match errnos.iter().find(|(errno, _)| *errno == e) {
                    Some(&(_, label)) => label,
                    None => {
                        let label = b.ret(errno_ret(e));
                        errnos.push((e, label));
                        label
                    }
                },
                Action::AllowIf { any_of, else_errno } => b.allow_if(any_of, else_errno, allow),
            };
            (u32::try_from(rule.nr).unwrap_or(u32::MAX), target)
        })
        .collect();
    targets.sort_by_key(|&(nr, _)| nr);
    let search = b.search(&ranges(&targets, default));
    let checked = if cfg!(target_arch = "x86_64") {
        b.jump(JGE_K, X32_SYSCALL_BIT, default, search)
    } else {
        search
    };
    if b.distance(checked) != 0 {
        b.ja(checked);
    }
    // Falls through to `checked`.
    let load_nr = b.emit(stmt(LD_W_ABS, OFF_NR));
    b.jump(JEQ_K, audit_arch, load_nr, kill);
    b.emit(stmt(LD_W_ABS, OFF_ARCH));
    b.finish()
}

/// The filter for this architecture, or why there is none.
pub(crate) fn program() -> Result<Vec<libc::sock_filter>, JailError> {
    match (ALLOWLIST, AUDIT_ARCH) {
        (Some(table), Some(arch)) => {
            let prog = compile(table, arch);
            if prog.len() > MAX_INSNS {
                return Err(JailError::msg(
                    "seccomp",
                    format!("filter has {} instructions (max {MAX_INSNS})", prog.len()),
                ));
            }
            Ok(prog)
        }
        _ => Err(JailError::msg(
            "seccomp",
            format!(
                "no seccomp allow-list for {} (resources/seccomp/{}.json): sandboxes are not \
                 supported on this architecture",
                std::env::consts::ARCH,
                std::env::consts::ARCH
            ),
        )),
    }
}

/// Installs the filter on the calling thread. Requires `no_new_privs` (or CAP_SYS_ADMIN).
pub(crate) fn install() -> Result<(), JailError> {
    let prog = program()?;
    install_program(&prog).map_err(|e| JailError::sys("install seccomp filter", e))
}

/// Loads `prog`. Allocates nothing, so a test may call it in a forked child.
pub(crate) fn install_program(prog: &[libc::sock_filter]) -> Result<(), nix::Error> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(prog.len()).map_err(|_| nix::Error::E2BIG)?,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: PR_SET_SECCOMP/SECCOMP_MODE_FILTER reads a `sock_fprog` whose
    // `filter` points at `len` valid instructions; `prog` outlives the call
    // (the kernel copies the program) and the kernel never writes through it.
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
        return Err(nix::Error::last());
    }
    Ok(())
}

#[cfg(test)]
#[path = "seccomp_tests.rs"]
mod tests;
