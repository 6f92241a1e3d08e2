//! The format of `resources/seccomp/<arch>.json` and its validation.
//!
//! This file is compiled twice: into `build.rs`, which turns a validated list
//! into Rust (see `seccomp.rs`), and into this crate's unit tests, which check
//! every list in `resources/seccomp` whatever the host architecture. It uses
//! only `std` and `serde`, and never `crate::`.
//!
//! ```json
//! {
//!   "comment": "what this list is",
//!   "arch": "x86_64",
//!   "default_errno": "EPERM",
//!   "syscalls": [
//!     { "name": "read", "comment": "who needs it" },
//!     { "name": "clone3", "comment": "why refused", "errno": "ENOSYS" },
//!     { "name": "socket", "comment": "who needs it",
//!       "allow_if": [
//!         { "comment": "AF_UNIX (1)", "args": [{ "index": 0, "width": 32, "op": "eq", "value": 1 }] }
//!       ],
//!       "else_errno": "EAFNOSUPPORT" }
//!   ],
//!   "refused": [ { "name": "mount", "comment": "why" } ]
//! }
//! ```
//!
//! - A syscall not in `syscalls` fails with `default_errno`.
//! - An entry without `errno` or `allow_if` is allowed whatever its arguments.
//! - `errno`: always refused, with that errno (for calls that libc probes and
//!   falls back from only on a particular errno, e.g. `clone3` and `ENOSYS`).
//! - `allow_if`: allowed when the argument checks of **any** alternative
//!   **all** hold, else refused with `else_errno` (default: `default_errno`).
//!   A check compares argument `index` (0-5): `eq` tests `arg == value`,
//!   `masked_eq` tests `arg & mask == value`. `width` 32 looks at the low 32
//!   bits only, which is what the kernel reads for `int`/`unsigned int`
//!   arguments; 64 looks at the whole register. Numbers are JSON integers or
//!   `"0x..."` strings.
//! - `nr`: the syscall number, only for the few syscalls the `libc` crate does
//!   not name on that architecture (it is the source of all other numbers).
//! - `refused`: notable syscalls that are deliberately absent, with the
//!   reason. They compile to nothing (the default refuses them); the tests
//!   check that each one is refused, and a name may not be in both lists.

use std::collections::BTreeSet;

use serde::Deserialize;

/// Errno names an entry may use, with their Linux values (the same on every
/// architecture this crate supports). `build.rs` emits `libc::<NAME>`, so a
/// wrong value here fails the tests, not the filter.
pub const ERRNOS: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("EACCES", 13),
    ("EINVAL", 22),
    ("ENOTTY", 25),
    ("ENOSYS", 38),
    ("EPROTONOSUPPORT", 93),
    ("EOPNOTSUPP", 95),
    ("EAFNOSUPPORT", 97),
];

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub comment: String,
    pub arch: String,
    pub default_errno: String,
    pub syscalls: Vec<Entry>,
    #[serde(default)]
    pub refused: Vec<Refused>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    pub comment: String,
    #[serde(default)]
    pub nr: Option<u32>,
    #[serde(default)]
    pub errno: Option<String>,
    #[serde(default)]
    pub allow_if: Option<Vec<Alternative>>,
    #[serde(default)]
    pub else_errno: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    pub comment: String,
    pub args: Vec<ArgCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgCheck {
    pub index: u8,
    pub width: u8,
    pub op: Op,
    pub value: Number,
    #[serde(default)]
    pub mask: Option<Number>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    MaskedEq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refused {
    pub name: String,
    pub comment: String,
    #[serde(default)]
    pub nr: Option<u32>,
}

/// A validated list, ready to be turned into code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    pub arch: String,
    pub default_errno: String,
    pub syscalls: Vec<Syscall>,
    pub refused: Vec<Named>,
}

/// A syscall by name, with its number when the file gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub nr: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    pub name: Named,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno(String),
    AllowIf {
        any_of: Vec<Vec<Check>>,
        else_errno: String,
    },
}

/// One argument check: `arg[index] & mask == value` (low 32 bits only unless `wide`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub index: u8,
    pub wide: bool,
    pub mask: u64,
    pub value: u64,
}

/// Parses and validates one list; `arch` is the architecture its file name promises.
pub fn parse(json: &str, arch: &str) -> Result<AllowList, String> {
    let file: File = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    validate(file, arch)
}

fn validate(file: File, arch: &str) -> Result<AllowList, String> {
    if file.arch != arch {
        return Err(format!(
            "\"arch\" is {:?} but the file is for {arch:?}",
            file.arch
        ));
    }
    nonempty("the file", &file.comment)?;
    let default_errno = errno(&file.default_errno).map_err(|e| format!("default_errno: {e}"))?;
    let mut seen = BTreeSet::new();
    let mut syscalls = Vec::with_capacity(file.syscalls.len());
    for entry in file.syscalls {
        let name = Named {
            name: entry.name.clone(),
            nr: entry.nr,
        };
        let action =
            validate_entry(entry, &default_errno).map_err(|e| format!("{}: {e}", name.name))?;
        if !seen.insert(name.name.clone()) {
            return Err(format!("{}: listed twice", name.name));
        }
        syscalls.push(Syscall { name, action });
    }
    let mut refused = Vec::with_capacity(file.refused.len());
    for r in file.refused {
        syscall_name(&r.name)?;
        nonempty(&r.name, &r.comment)?;
        if !seen.insert(r.name.clone()) {
            return Err(format!(
                "{}: listed twice (refused syscalls must not be in \"syscalls\")",
                r.name
            ));
        }
        refused.push(Named {
            name: r.name,
            nr: r.nr,
        });
    }
    Ok(AllowList {
        arch: file.arch,
        default_errno,
        syscalls,
        refused,
    })
}

fn validate_entry(entry: Entry, default_errno: &str) -> Result<Action, String> {
    syscall_name(&entry.name)?;
    nonempty(&entry.name, &entry.comment)?;
    match (entry.errno, entry.allow_if, entry.else_errno) {
        (None, None, None) => Ok(Action::Allow),
        (Some(e), None, None) => Ok(Action::Errno(errno(&e)?)),
        (None, Some(alternatives), else_errno) => {
            if alternatives.is_empty() {
                return Err("\"allow_if\" is empty".into());
            }
            let any_of = alternatives
                .into_iter()
                .map(|alt| {
                    nonempty("an alternative", &alt.comment)?;
                    if alt.args.is_empty() {
                        return Err(format!("alternative {:?} has no args", alt.comment));
                    }
                    alt.args.iter().map(check).collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let else_errno = match else_errno {
                Some(e) => errno(&e)?,
                None => default_errno.to_string(),
            };
            Ok(Action::AllowIf { any_of, else_errno })
        }
        (Some(_), Some(_), _) => Err("\"errno\" and \"allow_if\" exclude each other".into()),
        (_, None, Some(_)) => Err("\"else_errno\" needs \"allow_if\"".into()),
    }
}

fn check(arg: &ArgCheck) -> Result<Check, String> {
    if arg.index > 5 {
        return Err(format!("argument index {} (syscalls have 6)", arg.index));
    }
    let wide = match arg.width {
        32 => false,
        64 => true,
        w => return Err(format!("width {w} (must be 32 or 64)")),
    };
    let limit = if wide { u64::MAX } else { u64::from(u32::MAX) };
    let value = number(&arg.value)?;
    let mask = match (arg.op, &arg.mask) {
        (Op::Eq, None) => limit,
        (Op::Eq, Some(_)) => return Err("\"eq\" takes no mask (use \"masked_eq\")".into()),
        (Op::MaskedEq, Some(m)) => number(m)?,
        (Op::MaskedEq, None) => return Err("\"masked_eq\" needs a mask".into()),
    };
    if value > limit || mask > limit {
        return Err(format!(
            "{value:#x}/{mask:#x} does not fit {} bits",
            arg.width
        ));
    }
    if value & !mask != 0 {
        return Err(format!(
            "value {value:#x} has bits outside mask {mask:#x}: never matches"
        ));
    }
    Ok(Check {
        index: arg.index,
        wide,
        mask,
        value,
    })
}

fn number(n: &Number) -> Result<u64, String> {
    match n {
        Number::Int(v) => Ok(*v),
        Number::Text(s) => s
            .strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .ok_or_else(|| format!("number {s:?} is neither an integer nor \"0x\" hex")),
    }
}

fn errno(name: &str) -> Result<String, String> {
    if ERRNOS.iter().any(|(n, _)| *n == name) {
        Ok(name.to_string())
    } else {
        let known: Vec<&str> = ERRNOS.iter().map(|(n, _)| *n).collect();
        Err(format!("errno {name:?} is not one of {known:?}"))
    }
}

fn syscall_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.as_bytes()[0].is_ascii_lowercase();
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a syscall name"))
    }
}

fn nonempty(what: &str, comment: &str) -> Result<(), String> {
    if comment.trim().is_empty() {
        Err(format!(
            "{what}: \"comment\" is empty (say who needs it, or why)"
        ))
    } else {
        Ok(())
    }
}
