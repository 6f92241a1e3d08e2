//! Privileged egress tests: veth pairs, NAT and isolation. Every address used
//! here belongs to this machine: the sandboxes' pool, and a network namespace
//! the test creates ("outside") with the host's end of its link. Each test prints
//! "SKIPPED: ..." and passes when not run as root.

// The helpers below (fixtures, servers) are test code: failures should panic.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{Dirs, JAIL, run, setup, spec};
use lamina_sandbox::{
    EnvNetwork, HOST_ALIAS, HOST_IFNAME_PREFIX, Network, NetworkConfig, NetworkMode, Sandbox,
    SandboxError,
};

/// Runs a host command that must succeed.
fn sh(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

static FIXTURE: AtomicU32 = AtomicU32::new(0);

/// A unique small number for this fixture (names and the third address octet).
fn fixture_number() -> u32 {
    (std::process::id() * 7 + FIXTURE.fetch_add(1, Ordering::Relaxed)) % 250 + 1
}

/// An "outside" network namespace linked to the host by a veth pair
/// (198.19.n.1 on the host, 198.19.n.2 inside; also 169.254.n.2 inside,
/// routed from the host, standing in for a metadata service) with a route
/// back to the sandbox pool only when `route_to_pool`.
struct Fixture {
    n: u32,
    ns: String,
    veth: String,
}

impl Fixture {
    fn new(route_to_pool: bool) -> Self {
        let n = fixture_number();
        let f = Fixture {
            n,
            ns: format!("lmto{}x{n}", std::process::id() % 10000),
            veth: format!("lmtx{}x{n}", std::process::id() % 10000),
        };
        sh(&["ip", "netns", "add", &f.ns]);
        sh(&[
            "ip", "link", "add", &f.veth, "type", "veth", "peer", "name", "eth0", "netns", &f.ns,
        ]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("198.19.{n}.1/30"),
            "dev",
            &f.veth,
        ]);
        sh(&["ip", "link", "set", &f.veth, "up"]);
        let addr = format!("{}/30", f.outside_addr());
        sh(&["ip", "-n", &f.ns, "addr", "add", &addr, "dev", "eth0"]);
        sh(&["ip", "-n", &f.ns, "link", "set", "eth0", "up"]);
        sh(&["ip", "-n", &f.ns, "link", "set", "lo", "up"]);
        let ll = format!("{}/32", f.link_local_addr());
        sh(&["ip", "-n", &f.ns, "addr", "add", &ll, "dev", "eth0"]);
        let via = f.outside_addr().to_string();
        sh(&["ip", "route", "add", &ll, "via", &via, "dev", &f.veth]);
        if route_to_pool {
            let (pool, len) = lamina_sandbox::DEFAULT_POOL;
            let via = format!("198.19.{n}.1");
            sh(&[
                "ip",
                "-n",
                &f.ns,
                "route",
                "add",
                &format!("{pool}/{len}"),
                "via",
                &via,
            ]);
        }
        f
    }

    fn outside_host_end(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, self.n as u8, 1)
    }

    fn outside_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, self.n as u8, 2)
    }

    fn link_local_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.n as u8, 2)
    }

    /// Starts a one-connection TCP server in the outside namespace that
    /// answers with the address it sees the client as. Returns its port.
    fn serve_outside(&self) -> (u16, std::process::Child) {
        let code = format!(
            "import socket\n\
             s=socket.socket(); s.bind(('{}', 0)); s.listen(1); s.settimeout(20)\n\
             print(s.getsockname()[1], flush=True)\n\
             c,a=s.accept(); c.sendall(('outside-ok %s\\n' % a[0]).encode()); c.close()\n",
            self.outside_addr()
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "/usr/bin/python3", "-c", &code])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        (line.trim().parse().unwrap(), child)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for args in [
            vec!["ip", "link", "del", &self.veth],
            vec!["ip", "netns", "del", &self.ns],
        ] {
            let _ = Command::new(args[0]).args(&args[1..]).output();
        }
    }
}

/// A host TCP server on all addresses: answers each connection with the
/// client's address. Stops after `n` connections.
fn serve_host(n: usize) -> (u16, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        for _ in 0..n {
            let (mut c, peer) = l.accept().unwrap();
            let _ = writeln!(c, "host-ok {}", peer.ip());
        }
    });
    (port, t)
}

fn bash(mut s: lamina_sandbox::SandboxSpec) -> lamina_sandbox::SandboxSpec {
    s.argv[0] = "/bin/bash".into();
    s
}

#[test]
fn egress_reaches_host_addresses_and_is_masqueraded_beyond() {
    let Some(root) = setup() else { return };
    let fx = Fixture::new(false);
    let (host_port, host_server) = serve_host(2);
    let (out_port, mut out_server) = fx.serve_outside();
    let dirs = Dirs::new();
    let script = format!(
        "grep -c eth0: /proc/net/dev; \
         grep -w {HOST_ALIAS} /etc/hosts; \
         cat /etc/resolv.conf; echo ---; \
         exec 3<>/dev/tcp/{HOST_ALIAS}/{host_port} && cat <&3; \
         exec 4<>/dev/tcp/{other}/{host_port} && cat <&4; \
         exec 5<>/dev/tcp/{outside}/{out_port} && cat <&5",
        other = fx.outside_host_end(),
        outside = fx.outside_addr(),
    );
    let s = bash(spec(&dirs, "egress", &script));
    let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
    let net: EnvNetwork = sb.network().unwrap().clone();
    let mut out = String::new();
    sb.stdout().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    sb.stderr().unwrap().read_to_string(&mut err).unwrap();
    let status = sb.wait().unwrap();
    sb.destroy().unwrap();
    host_server.join().unwrap();
    let _ = out_server.wait();
    assert!(status.success(), "{status:?} out={out} err={err}");

    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1"), "eth0 in /proc/net/dev: {out}");
    assert_eq!(
        lines.next().unwrap(),
        format!("{}\t{HOST_ALIAS}", net.host_addr)
    );
    // The host's resolver configuration (this host's nameserver is not loopback).
    let resolv: String = lines
        .by_ref()
        .take_while(|l| *l != "---")
        .map(|l| format!("{l}\n"))
        .collect();
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap();
    if !host_resolv.contains("nameserver 127.") {
        assert_eq!(resolv, host_resolv);
    }
    // Host addresses are delivered locally: the host sees eth0's address.
    assert_eq!(
        lines.next().unwrap(),
        format!("host-ok {}", net.env_addr),
        "{out}"
    );
    assert_eq!(
        lines.next().unwrap(),
        format!("host-ok {}", net.env_addr),
        "{out}"
    );
    // Beyond the host the pool is masqueraded (the outside namespace has no
    // route back to it): the server sees the host's address on that link.
    assert_eq!(
        lines.next().unwrap(),
        format!("outside-ok {}", fx.outside_host_end()),
        "{out}"
    );
    println!(
        "egress: env {} via {} ({}), NAT to {}",
        net.env_addr,
        net.host_addr,
        net.host_ifname,
        fx.outside_host_end()
    );
}

#[test]
fn sandboxes_cannot_reach_each_other_and_outside_cannot_connect_in() {
    let Some(root) = setup() else { return };
    // The outside namespace routes the pool through the host, so only the
    // firewall keeps it from opening connections to an environment.
    let fx = Fixture::new(true);
    let (d1, d2) = (Dirs::new(), Dirs::new());
    let server = "exec /usr/bin/python3 -u -c 'import socket\n\
                  s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
                  s.bind((\"0.0.0.0\", 8080)); s.listen(8); print(\"ready\")\n\
                  while True:\n    c,a=s.accept(); c.sendall(b\"b-ok\\n\"); c.close()'";
    let mut b = Sandbox::spawn(Path::new(JAIL), &spec(&d2, "iso-b", server), &root).unwrap();
    let b_net = b.network().unwrap().clone();
    let mut b_out = BufReader::new(b.stdout().unwrap());
    let mut line = String::new();
    b_out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");

    // Positive control: the host itself reaches B's server on eth0.
    let addr = SocketAddr::from((b_net.env_addr, 8080));
    let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "b-ok\n");

    // A tries B's eth0 address: forwarded between two veths, dropped.
    let probe = format!(
        "timeout 3 bash -c 'exec 3<>/dev/tcp/{b}/8080 && cat <&3'; echo rc=$?; \
         timeout 3 bash -c 'exec 3<>/dev/tcp/{gw}/1 2>&1'; echo gw_rc=$?",
        b = b_net.env_addr,
        gw = HOST_ALIAS,
    );
    let o = run(&root, &bash(spec(&d1, "iso-a", &probe)));
    assert!(!o.stdout.contains("b-ok"), "A reached B: {}", o.stdout);
    assert!(
        o.stdout.contains("rc=124"),
        "A's connect should time out: {} {}",
        o.stdout,
        o.stderr
    );
    // Sanity: A's own link works (the host answers port 1 with a RST at once).
    assert!(o.stdout.contains("gw_rc=1"), "{} {}", o.stdout, o.stderr);

    // Link-local destinations (a metadata service) are not forwarded: the
    // host reaches 169.254.n.2 (a closed port: refused at once), A does not.
    let ll = SocketAddr::from((fx.link_local_addr(), 9));
    let e = TcpStream::connect_timeout(&ll, Duration::from_secs(3)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    let probe = format!(
        "timeout 3 bash -c 'exec 3<>/dev/tcp/{ll}/9'; echo ll_rc=$?; \
         timeout 3 bash -c 'exec 3<>/dev/tcp/{out}/9'; echo out_rc=$?",
        ll = fx.link_local_addr(),
        out = fx.outside_addr(),
    );
    let o = run(&root, &bash(spec(&d1, "iso-ll", &probe)));
    assert!(o.stdout.contains("ll_rc=124"), "{} {}", o.stdout, o.stderr);
    assert!(o.stdout.contains("out_rc=1"), "{} {}", o.stdout, o.stderr);

    // From the outside namespace: a new connection to B is dropped too.
    let o = Command::new("ip")
        .args(["netns", "exec", &fx.ns, "timeout", "3", "bash", "-c"])
        .arg(format!(
            "exec 3<>/dev/tcp/{}/8080 && cat <&3",
            b_net.env_addr
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(124), "{o:?}");
    assert!(b.try_wait().unwrap().is_none());
    b.destroy().unwrap();
}

/// Whether a lease file can be locked, i.e. the address is free.
fn lease_is_free(net: &EnvNetwork) -> bool {
    let name = Ipv4Addr::from(u32::from(net.host_addr) - 1).to_string();
    let f = std::fs::File::open(Path::new(lamina_sandbox::DEFAULT_LEASE_DIR).join(name)).unwrap();
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).is_ok()
}

fn host_has_addr(addr: Ipv4Addr) -> bool {
    sh(&["ip", "-o", "-4", "addr", "show"]).contains(&format!(" {addr}/"))
}

#[test]
fn destroy_removes_the_veth_and_releases_the_address() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let mut seen = Vec::new();
    for i in 0..3 {
        let s = spec(&dirs, &format!("veth{i}"), "sleep 30");
        let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
        let net = sb.network().unwrap().clone();
        assert!(net.host_ifname.starts_with(HOST_IFNAME_PREFIX));
        let sys = format!("/sys/class/net/{}", net.host_ifname);
        assert!(Path::new(&sys).exists());
        assert!(host_has_addr(net.host_addr));
        assert!(
            !host_has_addr(net.env_addr),
            "eth0 is not in the host namespace"
        );
        assert!(!lease_is_free(&net));
        // Like the server, keep the Runtime API listener past destroy: it
        // keeps the namespace alive, so the link must be deleted explicitly.
        let listener = sb.take_runtime_api_listener().unwrap();
        sb.destroy().unwrap();
        assert!(!Path::new(&sys).exists(), "{sys} left behind");
        assert!(!host_has_addr(net.host_addr));
        assert!(lease_is_free(&net));
        drop(listener);
        seen.push(net);
    }
    // Leases rotate through the pool rather than reusing the last address.
    assert_ne!(seen[0].env_addr, seen[1].env_addr);
    let links = sh(&["ip", "-o", "link", "show"]);
    for n in &seen {
        assert!(!links.contains(&format!("{}:", n.host_ifname)), "{links}");
        assert!(!links.contains(&format!("{}@", n.host_ifname)), "{links}");
    }
}

#[test]
fn loopback_only_has_no_eth0_and_no_lease() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let mut s = spec(
        &dirs,
        "lo-only",
        "grep -c : /proc/net/dev; grep -c lamina-host /etc/hosts; true",
    );
    s.network = NetworkMode::LoopbackOnly;
    let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
    assert!(sb.network().is_none());
    let mut out = String::new();
    sb.stdout().unwrap().read_to_string(&mut out).unwrap();
    sb.wait().unwrap();
    sb.destroy().unwrap();
    assert_eq!(out, "1\n0\n", "lo only, no lamina-host");
}

#[test]
fn setup_is_idempotent_and_a_small_pool_runs_out() {
    let Some(root) = setup() else { return };
    // Concurrent set-ups of the shared pool (as two servers starting at once).
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| Network::setup(NetworkConfig::default())))
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    // A private /28 (4 environments) with its own table and lease directory.
    let leases = tempfile::tempdir().unwrap();
    let cfg = NetworkConfig {
        pool: Ipv4Addr::new(10, 214, (std::process::id() % 250) as u8, 0),
        prefix_len: 28,
        lease_dir: leases.path().into(),
    };
    let network = Network::setup(cfg.clone()).unwrap();
    Network::setup(cfg.clone()).unwrap();
    let dirs: Vec<Dirs> = (0..6).map(|_| Dirs::new()).collect();
    let mut running = Vec::new();
    for (i, d) in dirs.iter().take(4).enumerate() {
        let s = spec(d, &format!("pool{i}"), "sleep 30");
        let sb = Sandbox::spawn_with_network(Path::new(JAIL), &s, &root, &network).unwrap();
        let env = sb.network().unwrap().env_addr;
        assert_eq!(u32::from(env) & !0xf, u32::from(cfg.pool), "{env}");
        running.push(sb);
    }
    let s = spec(&dirs[4], "pool-full", "sleep 30");
    match Sandbox::spawn_with_network(Path::new(JAIL), &s, &root, &network) {
        Err(SandboxError::Network { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AddrNotAvailable)
        }
        other => panic!("expected an exhausted pool, got {other:?}"),
    }
    running.pop().unwrap().destroy().unwrap();
    let s = spec(&dirs[5], "pool-again", "sleep 30");
    let sb = Sandbox::spawn_with_network(Path::new(JAIL), &s, &root, &network).unwrap();
    running.push(sb);
    for sb in running {
        sb.destroy().unwrap();
    }
    network.remove_rules().unwrap();
    network.remove_rules().unwrap();
}

#[test]
fn measure_network_overhead() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    Network::shared().unwrap();
    let n = 20;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    run(&root, &spec(&dirs, "warm", "true"));
    let modes = [NetworkMode::LoopbackOnly, NetworkMode::Egress];
    let mut spawn = [Vec::new(), Vec::new()];
    let mut destroy = [Vec::new(), Vec::new()];
    // Interleaved, so both modes see the same background noise.
    for i in 0..n {
        for (m, mode) in modes.iter().enumerate() {
            let mut s = spec(&dirs, &format!("net{i}"), "");
            s.argv = vec!["/bin/true".into()];
            s.network = *mode;
            let t = Instant::now();
            let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
            spawn[m].push(t.elapsed());
            sb.wait().unwrap();
            let t = Instant::now();
            sb.destroy().unwrap();
            destroy[m].push(t.elapsed());
        }
    }
    let [s0, s1] = spawn.map(median);
    let [d0, d1] = destroy.map(median);
    println!(
        "NETWORK OVERHEAD (median of {n}): spawn->exec LoopbackOnly {s0:?}, Egress {s1:?} \
         (+{:?}); destroy LoopbackOnly {d0:?}, Egress {d1:?} (+{:?})",
        s1.saturating_sub(s0),
        d1.saturating_sub(d0)
    );
}

#[test]
fn leases_held_elsewhere_are_skipped_and_stale_links_removed() {
    let Some(root) = setup() else { return };
    // A /28 has 4 links (.0, .4, .8, .12). Another "server" holds three of
    // them (a lock on another open file is exactly what another process has).
    let leases = tempfile::tempdir().unwrap();
    let base = Ipv4Addr::new(10, 215, (std::process::id() % 250) as u8, 0);
    let network = Network::setup(NetworkConfig {
        pool: base,
        prefix_len: 28,
        lease_dir: leases.path().into(),
    })
    .unwrap();
    let held: Vec<_> = [0u32, 4, 12]
        .iter()
        .map(|off| {
            let name = Ipv4Addr::from(u32::from(base) + off).to_string();
            let f = std::fs::File::create(leases.path().join(name)).unwrap();
            nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap()
        })
        .collect();
    // The free link's host end was left behind by a server that died.
    let stale = format!("{HOST_IFNAME_PREFIX}{:08x}", u32::from(base) + 8);
    let peer = format!("lmts{}", std::process::id() % 100_000);
    sh(&[
        "ip", "link", "add", &stale, "type", "veth", "peer", "name", &peer,
    ]);
    let dirs = (Dirs::new(), Dirs::new());
    let s = spec(&dirs.0, "held", "sleep 30");
    let sb = Sandbox::spawn_with_network(Path::new(JAIL), &s, &root, &network);
    let cleanup = |sb: Option<Sandbox>| {
        let _ = Command::new("ip").args(["link", "del", &stale]).output();
        if let Some(sb) = sb {
            sb.destroy().unwrap();
        }
        network.remove_rules().unwrap();
    };
    let sb = match sb {
        Ok(sb) => sb,
        Err(e) => {
            cleanup(None);
            panic!("spawn: {e}");
        }
    };
    let net = sb.network().unwrap().clone();
    assert_eq!(net.env_addr, Ipv4Addr::from(u32::from(base) + 10));
    assert_eq!(net.host_ifname, stale);
    let s = spec(&dirs.1, "held-full", "sleep 30");
    let full = Sandbox::spawn_with_network(Path::new(JAIL), &s, &root, &network);
    assert!(
        matches!(full, Err(SandboxError::Network { .. })),
        "{full:?}"
    );
    drop(held);
    cleanup(Some(sb));
    assert!(!Path::new(&format!("/sys/class/net/{stale}")).exists());
}
