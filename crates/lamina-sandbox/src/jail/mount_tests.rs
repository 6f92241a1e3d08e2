use super::*;
use crate::spec::tests::spec;

/// A Debian-like merged-usr host.
fn host(p: &Path) -> HostKind {
    match p.to_str().unwrap_or("") {
        "/usr" => HostKind::Dir,
        "/bin" => HostKind::Symlink("usr/bin".into()),
        "/lib" => HostKind::Symlink("usr/lib".into()),
        "/etc/ssl" | "/etc/alternatives" => HostKind::Dir,
        "/etc/resolv.conf" | "/etc/ld.so.cache" | "/etc/nsswitch.conf" => HostKind::File,
        "/etc/localtime" => HostKind::Symlink("/usr/share/zoneinfo/Etc/UTC".into()),
        "/dev/null" | "/dev/zero" | "/dev/urandom" => HostKind::File,
        "/proc/kcore" | "/proc/keys" => HostKind::File,
        _ => HostKind::Missing,
    }
}

fn index(ops: &[MountOp], pred: impl Fn(&MountOp) -> bool) -> usize {
    ops.iter().position(pred).expect("op not in plan")
}

#[test]
fn system_dirs_are_bound_read_only_or_symlinked() {
    let ops = plan(&spec(), &host);
    assert!(ops.contains(&MountOp::BindRo {
        source: "/usr".into(),
        target: "/usr".into(),
        file: false
    }));
    assert!(ops.contains(&MountOp::Symlink {
        target: "/bin".into(),
        points_to: "usr/bin".into()
    }));
    assert!(ops.contains(&MountOp::Symlink {
        target: "/lib".into(),
        points_to: "usr/lib".into()
    }));
    // Missing on this host: nothing planned.
    assert!(!ops.iter().any(|op| matches!(op, MountOp::BindRo { target, .. } | MountOp::Symlink { target, .. } if target == Path::new("/lib64"))));
}

#[test]
fn function_dirs_are_read_only_and_optional_ones_are_empty() {
    let s = spec();
    let ops = plan(&s, &host);
    assert!(ops.contains(&MountOp::BindRo {
        source: s.code_dir.clone(),
        target: "/var/task".into(),
        file: false
    }));
    assert!(ops.contains(&MountOp::BindRo {
        source: "/srv/rt".into(),
        target: "/var/runtime".into(),
        file: false
    }));
    // No layers: /opt exists but is just a directory of the read-only root.
    assert!(ops.contains(&MountOp::Mkdir {
        target: "/opt".into(),
        mode: 0o755
    }));
    assert!(
        !ops.iter()
            .any(|op| matches!(op, MountOp::BindRo { target, .. } if target == Path::new("/opt")))
    );
}

#[test]
fn etc_is_minimal_generated_then_read_only() {
    let s = spec();
    let ops = plan(&s, &host);
    let tmpfs = index(
        &ops,
        |op| matches!(op, MountOp::Tmpfs { target, .. } if target == Path::new("/etc")),
    );
    let passwd = index(
        &ops,
        |op| matches!(op, MountOp::WriteFile { target, .. } if target == Path::new("/etc/passwd")),
    );
    let resolv = index(
        &ops,
        |op| matches!(op, MountOp::BindRo { target, file: true, .. } if target == Path::new("/etc/resolv.conf")),
    );
    let ro = index(
        &ops,
        |op| matches!(op, MountOp::RemountRo { target } if target == Path::new("/etc")),
    );
    assert!(tmpfs < resolv && resolv < ro && tmpfs < passwd && passwd < ro);
    let MountOp::WriteFile { contents, .. } = &ops[passwd] else {
        unreachable!()
    };
    assert!(
        contents.contains(&format!("sbx_user{0}:x:{0}:{1}:", s.uid, s.gid)),
        "{contents}"
    );
    // The host's shadow file and friends are never planned.
    assert!(!ops.iter().any(|op| format!("{op:?}").contains("shadow")));
}

#[test]
fn dev_has_only_the_safe_nodes() {
    let ops = plan(&spec(), &host);
    let devs: Vec<&Path> = ops
        .iter()
        .filter_map(|op| match op {
            MountOp::BindDev { target, .. } => Some(target.as_path()),
            _ => None,
        })
        .collect();
    assert_eq!(
        devs,
        [
            Path::new("/dev/null"),
            Path::new("/dev/zero"),
            Path::new("/dev/urandom")
        ]
    );
    let tmpfs = index(
        &ops,
        |op| matches!(op, MountOp::Tmpfs { target, .. } if target == Path::new("/dev")),
    );
    let ro = index(
        &ops,
        |op| matches!(op, MountOp::RemountRo { target } if target == Path::new("/dev")),
    );
    let shm = index(
        &ops,
        |op| matches!(op, MountOp::Tmpfs { target, .. } if target == Path::new("/dev/shm")),
    );
    assert!(
        tmpfs < ro && ro < shm,
        "/dev/shm is mounted after /dev becomes read-only"
    );
}

#[test]
fn proc_is_fresh_and_masked_after_mounting() {
    let ops = plan(&spec(), &host);
    let proc_ = index(&ops, |op| matches!(op, MountOp::Proc { .. }));
    let kcore = index(
        &ops,
        |op| matches!(op, MountOp::BindRo { target, .. } if target == Path::new("/proc/kcore")),
    );
    let null = index(
        &ops,
        |op| matches!(op, MountOp::BindDev { target, .. } if target == Path::new("/dev/null")),
    );
    assert!(proc_ < kcore && null < kcore);
}

#[test]
fn tmp_is_the_size_capped_image_from_tmp_dir() {
    let s = spec();
    let ops = plan(&s, &host);
    assert_eq!(
        ops.last(),
        Some(&MountOp::TmpImage {
            image: "/srv/tmp/lamina-tmp.img".into(),
            target: "/tmp".into(),
            size_mb: 512
        })
    );
}

#[test]
fn init_mounts_only_procfs_and_its_masks() {
    let ops = plan(&spec(), &host);
    let (jail, init) = split_for_init(ops.clone());
    assert_eq!(jail.len() + init.len(), ops.len());
    assert_eq!(
        init,
        vec![
            MountOp::Proc {
                target: "/proc".into()
            },
            MountOp::BindRo {
                source: "/dev/null".into(),
                target: "/proc/kcore".into(),
                file: true
            },
            MountOp::BindRo {
                source: "/dev/null".into(),
                target: "/proc/keys".into(),
                file: true
            },
        ]
    );
    // The jail keeps the plan's order (the /proc directory included) and does /tmp.
    let in_plan: Vec<&MountOp> = ops.iter().filter(|op| jail.contains(op)).collect();
    assert_eq!(in_plan, jail.iter().collect::<Vec<_>>());
    assert!(jail.contains(&MountOp::Mkdir {
        target: "/proc".into(),
        mode: 0o555
    }));
    assert!(matches!(jail.last(), Some(MountOp::TmpImage { .. })));
}

#[test]
fn targets_resolve_under_the_new_root() {
    assert_eq!(
        under(Path::new("/run/r"), Path::new("/var/task")),
        PathBuf::from("/run/r/var/task")
    );
    assert_eq!(
        under(Path::new("/run/r"), Path::new("/")),
        PathBuf::from("/run/r/")
    );
}

#[test]
fn egress_generates_resolv_conf_and_names_the_host() {
    let net = NetEtc {
        resolv_conf: Some("nameserver 192.0.2.53\n".into()),
        hosts: vec![(std::net::Ipv4Addr::new(10, 213, 0, 1), "lamina-host".into())],
    };
    let ops = plan_with(&spec(), &net, &host);
    assert!(!ops.iter().any(
        |op| matches!(op, MountOp::BindRo { target, .. } if target == Path::new("/etc/resolv.conf"))
    ));
    let file = |name: &str| {
        ops.iter()
            .find_map(|op| match op {
                MountOp::WriteFile {
                    target, contents, ..
                } if target == Path::new(name) => Some(contents.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{name} not generated"))
    };
    assert_eq!(file("/etc/resolv.conf"), "nameserver 192.0.2.53\n");
    assert!(file("/etc/hosts").ends_with("10.213.0.1\tlamina-host\n"));
    // Loopback only: the host's file is bound, and no lamina-host.
    let ops = plan(&spec(), &host);
    assert!(ops.iter().any(
        |op| matches!(op, MountOp::BindRo { target, .. } if target == Path::new("/etc/resolv.conf"))
    ));
}
