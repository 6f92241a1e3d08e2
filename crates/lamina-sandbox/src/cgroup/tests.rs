use super::*;

const V1_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 31 0:30 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
36 31 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
37 31 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

const V2_MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

const COMOUNTED: &str = "\
32 31 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
";

#[test]
fn detects_v1_on_hybrid_hosts() {
    let r = CgroupRoot::from_mountinfo(V1_MOUNTINFO, "lamina").unwrap();
    assert_eq!(r.version(), CgroupVersion::V1);
    assert_eq!(
        r.kind,
        RootKind::V1(V1Paths {
            memory: "/sys/fs/cgroup/memory/lamina".into(),
            cpu: "/sys/fs/cgroup/cpu/lamina".into(),
            pids: "/sys/fs/cgroup/pids/lamina".into(),
            freezer: Some("/sys/fs/cgroup/freezer/lamina".into()),
        })
    );
}

#[test]
fn detects_comounted_v1_controllers() {
    let r = CgroupRoot::from_mountinfo(COMOUNTED, "lamina").unwrap();
    let RootKind::V1(p) = r.kind else {
        panic!("expected v1")
    };
    assert_eq!(p.cpu, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/lamina"));
    assert_eq!(p.freezer, None);
}

#[test]
fn detects_v2() {
    let r = CgroupRoot::from_mountinfo(V2_MOUNTINFO, "lamina").unwrap();
    assert_eq!(r.version(), CgroupVersion::V2);
    assert_eq!(r.kind, RootKind::V2("/sys/fs/cgroup/lamina".into()));
}

#[test]
fn rejects_bad_names_and_missing_hierarchies() {
    assert!(CgroupRoot::from_mountinfo(V2_MOUNTINFO, "a/b").is_err());
    assert!(CgroupRoot::from_mountinfo(V2_MOUNTINFO, "").is_err());
    assert!(CgroupRoot::from_mountinfo("1 2 0:1 / / rw - ext4 /dev/vda rw\n", "lamina").is_err());
}

#[test]
fn mountinfo_escapes_are_decoded() {
    assert_eq!(unescape_mountinfo(r"/a\040b"), "/a b");
    assert_eq!(unescape_mountinfo(r"/a\\b"), r"/a\\b");
    assert_eq!(unescape_mountinfo(r"/x\7"), r"/x\7");
}

fn spec(memory_mb: u64, boost: bool) -> crate::SandboxSpec {
    crate::SandboxSpec {
        id: "e".into(),
        code_dir: "/c".into(),
        opt_dir: None,
        runtime_dir: None,
        tmp_dir: "/t".into(),
        tmp_size_mb: 512,
        memory_mb,
        pids_max: 1024,
        cpu_millicores: crate::cpu_millicores_for_memory(memory_mb),
        init_cpu_boost: boost,
        argv: vec!["/x".into()],
        env: vec![],
        cwd: "/var/task".into(),
        uid: 1,
        gid: 1,
        hostname: "h".into(),
        runtime_api_port: 9001,
        network: crate::NetworkMode::Egress,
    }
}

#[test]
fn limits_follow_memory_and_boost() {
    let s = spec(128, true);
    let boosted = CgroupLimits::for_spec(&s, true);
    assert_eq!(boosted.memory_bytes, 128 << 20);
    assert_eq!(boosted.cpu_quota_us, 200_000);
    let normal = CgroupLimits::for_spec(&s, false);
    assert_eq!(normal.cpu_quota_us, 7_200);
    // No boost requested: the proportional share from the start.
    assert_eq!(
        CgroupLimits::for_spec(&spec(128, false), true).cpu_quota_us,
        7_200
    );
    // Large functions keep their (bigger) share during init.
    assert_eq!(
        CgroupLimits::for_spec(&spec(10240, true), true).cpu_quota_us,
        578_800
    );
    // The kernel minimum quota is 1 ms.
    let mut tiny = spec(128, false);
    tiny.cpu_millicores = 1;
    assert_eq!(CgroupLimits::for_spec(&tiny, false).cpu_quota_us, 1000);
}

#[test]
fn v1_writes_limit_before_memsw() {
    let w = CgroupLimits::for_spec(&spec(256, true), true).v1_writes();
    let files: Vec<&str> = w.iter().map(|(_, f, _)| *f).collect();
    assert_eq!(
        files,
        [
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.swappiness",
            "pids.max",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us"
        ]
    );
    assert_eq!(w[0].2, (256u64 << 20).to_string());
    assert_eq!(w[1].2, w[0].2, "memsw == limit: no swap escape");
    assert_eq!(w[0].0, V1Controller::Memory);
    assert_eq!(
        w[5],
        (V1Controller::Cpu, "cpu.cfs_quota_us", "200000".to_string())
    );
}

#[test]
fn v2_writes() {
    let l = CgroupLimits::for_spec(&spec(1769, true), false);
    assert_eq!(
        l.v2_writes(),
        vec![
            ("memory.max", (1769u64 << 20).to_string()),
            ("memory.swap.max", "0".to_string()),
            ("pids.max", "1024".to_string()),
            ("cpu.max", "100000 100000".to_string()),
        ]
    );
}

#[test]
fn keyed_files_are_parsed() {
    let v2 = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
    assert_eq!(parse_keyed(v2, "oom_kill"), Some(2));
    assert_eq!(parse_keyed(v2, "oom"), Some(3));
    let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n";
    assert_eq!(parse_keyed(v1, "oom_kill"), Some(1));
    assert_eq!(parse_keyed(v1, "missing"), None);
}

#[test]
fn v2_group_writes_files_and_skips_missing_optional_ones() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["memory.max", "pids.max", "cpu.max"] {
        std::fs::write(dir.path().join(f), "").unwrap();
    }
    let cg = V2Cgroup::create(dir.path()).unwrap();
    cg.write_all(&CgroupLimits::for_spec(&spec(128, true), true).v2_writes())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cpu.max")).unwrap(),
        "200000 100000"
    );
    assert!(!dir.path().join("memory.swap.max").exists());
    std::fs::write(dir.path().join("memory.events"), "oom 1\noom_kill 1\n").unwrap();
    assert_eq!(cg.oom_kills().unwrap(), 1);
    std::fs::write(dir.path().join("memory.current"), "4096\n").unwrap();
    assert_eq!(
        cg.peak_memory_bytes().unwrap(),
        4096,
        "falls back to memory.current"
    );
}

#[test]
fn v1_raising_memory_writes_memsw_first_and_lowering_writes_it_last() {
    let small = CgroupLimits::for_spec(&crate::spec::tests::spec(), false);
    let big = CgroupLimits {
        memory_bytes: small.memory_bytes * 4,
        ..small
    };
    let files = |w: Vec<(V1Controller, &'static str, String)>| -> Vec<&'static str> {
        w.into_iter().map(|(_, f, _)| f).take(2).collect()
    };
    assert_eq!(
        files(big.v1_writes_replacing(&small)),
        ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    );
    assert_eq!(
        files(small.v1_writes_replacing(&big)),
        ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    );
}
