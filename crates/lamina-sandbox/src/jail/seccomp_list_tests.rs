use super::*;

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
