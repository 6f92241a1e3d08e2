//! Egress networking, host side: the address pool, per-environment leases,
//! and the host-wide NAT/isolation rules.
//!
//! Design (DESIGN.md section 3, "veth + NAT"):
//! - Each environment gets a point-to-point /30 from the pool: a veth pair
//!   whose host end `lmn<8 hex digits of the /30>` has the first address and
//!   whose other end, `eth0` inside the environment, has the second, with the
//!   default route via the host end. The jail creates and configures both
//!   ends itself (it is single-threaded and root, and holds a netlink socket
//!   of the host namespace opened before it unshares), so the server process
//!   never changes namespaces.
//! - Leases are `flock`s on `<lease_dir>/<network address>`; the kernel drops
//!   them when a server dies, so several Lamina servers (or test processes)
//!   share one pool safely, and a crashed server leaks no addresses. A lease
//!   whose host link still exists (its owner died) deletes that link first.
//! - Host-wide state, set up idempotently by [`Network::setup`]:
//!   `net.ipv4.ip_forward = 1`, and one nf_tables table per pool
//!   (`ip lamina_<pool>`, written over netlink in one atomic transaction, so
//!   no `nft`/`iptables` binary is needed) with
//!   - `postrouting` (nat): `ip saddr <pool> oifname != "lmn*" masquerade`;
//!   - `forward` (filter): `iifname "lmn*" oifname "lmn*" drop` (environments
//!     never reach each other), `iifname "lmn*" ip daddr 169.254.0.0/16 drop`
//!     (no cloud instance metadata service, as on Lambda), `oifname "lmn*"
//!     ct state established,related accept`, `oifname "lmn*" drop` (nothing
//!     outside may open connections to an environment).
//! - Nothing in the firewall is per environment, so destroying one leaves no
//!   firewall state behind.
//! - Environments reach the host's own services on any host address (local
//!   delivery does not forward), including their gateway, which `/etc/hosts`
//!   names [`HOST_ALIAS`]. A service bound to the host's `127.0.0.1` is not
//!   reachable (that is the environment's own loopback): the Lamina API must
//!   listen on `0.0.0.0` (or a host address) for functions to call it, e.g. at
//!   `http://lamina-host:<port>`.

use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::SandboxError;
use crate::netlink::{self, NlSocket, nft};

/// Name prefix of every veth host end (and of nothing else).
pub const HOST_IFNAME_PREFIX: &str = "lmn";

/// Name of the environment's end of the veth pair.
pub const ENV_IFNAME: &str = "eth0";

/// Host name under which the environment's `/etc/hosts` lists its gateway,
/// i.e. the host (where the Lamina API can be reached if it listens there).
pub const HOST_ALIAS: &str = "lamina-host";

/// Default address pool (16384 environments).
pub const DEFAULT_POOL: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 213, 0, 0), 16);

/// Default directory of the lease lock files.
pub const DEFAULT_LEASE_DIR: &str = "/run/lamina/net";

/// Link-local destinations are never forwarded for an environment: on a
/// cloud VM that is the instance metadata service (and its credentials).
const LINK_LOCAL: (Ipv4Addr, u8) = (Ipv4Addr::new(169, 254, 0, 0), 16);

/// Prefix length of one environment's link.
const LINK_PREFIX: u8 = 30;

/// Whether an environment gets a network beyond its loopback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkMode {
    /// `lo` plus `eth0` (veth to the host, NAT to whatever the host reaches).
    #[default]
    Egress,
    /// `lo` only: the environment reaches its own Runtime API and nothing else.
    LoopbackOnly,
}

/// Where the pool and leases are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Network address of the pool.
    pub pool: Ipv4Addr,
    /// Prefix length of the pool (8..=28).
    pub prefix_len: u8,
    /// Directory of the lease lock files (shared by every server on the host).
    pub lease_dir: PathBuf,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            pool: DEFAULT_POOL.0,
            prefix_len: DEFAULT_POOL.1,
            lease_dir: DEFAULT_LEASE_DIR.into(),
        }
    }
}

/// One environment's addresses (what the jail configures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvNetwork {
    /// Name of the veth end on the host.
    pub host_ifname: String,
    /// Address of the host end: the environment's gateway and [`HOST_ALIAS`].
    pub host_addr: Ipv4Addr,
    /// Address of `eth0` inside the environment.
    pub env_addr: Ipv4Addr,
    /// Prefix length of the link (30).
    pub prefix_len: u8,
}

impl EnvNetwork {
    /// The addresses of slot `i` of the pool.
    fn for_slot(pool: Ipv4Addr, i: u32) -> Self {
        let net = u32::from(pool) + i * 4;
        Self {
            host_ifname: format!("{HOST_IFNAME_PREFIX}{net:08x}"),
            host_addr: Ipv4Addr::from(net + 1),
            env_addr: Ipv4Addr::from(net + 2),
            prefix_len: LINK_PREFIX,
        }
    }

    /// Network address of the link (the lease file's name).
    fn link_network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.host_addr) - 1)
    }
}

/// Host-wide egress set-up for one pool; clone freely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    config: NetworkConfig,
}

/// Round-robin cursor over pool slots (least recently used first, so a
/// released address, and its conntrack entries, rest before reuse).
static CURSOR: AtomicU32 = AtomicU32::new(0);
static CURSOR_SEED: OnceLock<u32> = OnceLock::new();

fn next_slot() -> u32 {
    // Different processes start at different places of the pool.
    let seed = *CURSOR_SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        std::process::id().wrapping_mul(2_654_435_761) ^ nanos
    });
    seed.wrapping_add(CURSOR.fetch_add(1, Ordering::Relaxed))
}

/// The process-wide default network, set up on first use.
static SHARED: Mutex<Option<Network>> = Mutex::new(None);

fn net_err(step: impl Into<String>) -> impl FnOnce(io::Error) -> SandboxError {
    let step = step.into();
    move |source| SandboxError::Network { step, source }
}

impl Network {
    /// Sets up the host-wide state for `config` (idempotent; safe to run
    /// concurrently from several processes): checks the pool does not overlap
    /// a host address, enables `net.ipv4.ip_forward`, installs the pool's
    /// nf_tables table in one transaction, and creates the lease directory.
    pub fn setup(config: NetworkConfig) -> Result<Network, SandboxError> {
        if !(8..=28).contains(&config.prefix_len)
            || u32::from(config.pool) & !mask(config.prefix_len) != 0
        {
            return Err(SandboxError::InvalidSpec(format!(
                "network pool {}/{} must be a network address with a prefix of 8..=28",
                config.pool, config.prefix_len
            )));
        }
        check_no_overlap(config.pool, config.prefix_len)?;
        enable_forwarding()?;
        let table = table_name(config.pool, config.prefix_len);
        let msgs = ruleset(&table, config.pool, config.prefix_len);
        let mut sock = NlSocket::netfilter().map_err(net_err("open nf_tables socket"))?;
        sock.exchange(&msgs)
            .map_err(|(i, e)| SandboxError::Network {
                step: format!("install nf_tables table {table} (message {i})"),
                source: e,
            })?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.lease_dir)
            .map_err(net_err(format!(
                "create lease directory {}",
                config.lease_dir.display()
            )))?;
        Ok(Network { config })
    }

    /// The process-wide network with the default config, set up on the first
    /// call (and retried on the next call if that failed). Used by
    /// [`crate::Sandbox::spawn`] for [`NetworkMode::Egress`] specs.
    pub fn shared() -> Result<Network, SandboxError> {
        let mut guard = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = guard.as_ref() {
            return Ok(n.clone());
        }
        let n = Network::setup(NetworkConfig::default())?;
        *guard = Some(n.clone());
        Ok(n)
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Name of this pool's nf_tables table (family `ip`).
    pub fn table_name(&self) -> String {
        table_name(self.config.pool, self.config.prefix_len)
    }

    /// Deletes this pool's nf_tables table (`ip_forward` is left as is). Only
    /// for a pool that no server on the host uses any more: its environments
    /// would lose egress and isolation.
    pub fn remove_rules(&self) -> Result<(), SandboxError> {
        let table = self.table_name();
        let msgs = [nft::batch_begin(), nft::del_table(&table), nft::batch_end()];
        let mut sock = NlSocket::netfilter().map_err(net_err("open nf_tables socket"))?;
        match sock.exchange(&msgs) {
            Ok(_) => Ok(()),
            Err((_, e)) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            Err((_, source)) => Err(SandboxError::Network {
                step: format!("delete nf_tables table {table}"),
                source,
            }),
        }
    }

    /// Leases a free /30 and removes a stale host link left with it.
    pub(crate) fn lease(&self) -> Result<Lease, SandboxError> {
        let slots = 1u32 << (32 - u32::from(self.config.prefix_len) - 2);
        for _ in 0..slots {
            let slot = next_slot() % slots;
            let env = EnvNetwork::for_slot(self.config.pool, slot);
            let path = self.config.lease_dir.join(env.link_network().to_string());
            let file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map_err(net_err(format!("open lease {}", path.display())))?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => {
                    netlink::delete_link(&env.host_ifname)
                        .map_err(net_err(format!("delete stale link {}", env.host_ifname)))?;
                    return Ok(Lease {
                        env,
                        lock: Some(lock),
                    });
                }
                Err((_, nix::Error::EWOULDBLOCK)) => continue,
                Err((_, e)) => {
                    return Err(SandboxError::Network {
                        step: format!("lock lease {}", path.display()),
                        source: e.into(),
                    });
                }
            }
        }
        Err(SandboxError::Network {
            step: "lease an address".into(),
            source: io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "all {slots} addresses of {}/{} are in use",
                    self.config.pool, self.config.prefix_len
                ),
            ),
        })
    }
}

/// A leased /30: the lock is held until the host link is deleted.
#[derive(Debug)]
pub(crate) struct Lease {
    pub env: EnvNetwork,
    lock: Option<Flock<File>>,
}

impl Lease {
    /// Deletes the host end (and with it `eth0`) and releases the address.
    /// The lease is released even if the deletion failed (the next holder
    /// deletes the stale link).
    pub fn release(&mut self) -> Result<(), SandboxError> {
        let Some(lock) = self.lock.take() else {
            return Ok(());
        };
        let r = netlink::delete_link(&self.env.host_ifname)
            .map(|_| ())
            .map_err(net_err(format!("delete link {}", self.env.host_ifname)));
        drop(lock);
        r
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = self.release();
    }
}

fn mask(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0)
}

fn table_name(pool: Ipv4Addr, prefix_len: u8) -> String {
    let o = pool.octets();
    format!("lamina_{}_{}_{}_{}_{prefix_len}", o[0], o[1], o[2], o[3])
}

/// The whole table, as one nf_tables transaction that can be replayed.
fn ruleset(table: &str, pool: Ipv4Addr, prefix_len: u8) -> Vec<netlink::Msg> {
    use nft::{Action, Match};
    let ours = || HOST_IFNAME_PREFIX.to_string();
    vec![
        nft::batch_begin(),
        nft::new_table(table),
        nft::new_chain(table, "postrouting", "nat", nft::NF_INET_POST_ROUTING, 100),
        nft::new_chain(table, "forward", "filter", nft::NF_INET_FORWARD, 0),
        nft::flush_chain(table, "postrouting"),
        nft::flush_chain(table, "forward"),
        nft::new_rule(
            table,
            "postrouting",
            &[
                Match::SaddrIn(pool, prefix_len),
                Match::OifNotPrefix(ours()),
            ],
            Action::Masquerade,
        ),
        nft::new_rule(
            table,
            "forward",
            &[Match::IifPrefix(ours()), Match::OifPrefix(ours())],
            Action::Drop,
        ),
        nft::new_rule(
            table,
            "forward",
            &[
                Match::IifPrefix(ours()),
                Match::DaddrIn(LINK_LOCAL.0, LINK_LOCAL.1),
            ],
            Action::Drop,
        ),
        nft::new_rule(
            table,
            "forward",
            &[Match::OifPrefix(ours()), Match::CtEstablishedRelated],
            Action::Accept,
        ),
        nft::new_rule(table, "forward", &[Match::OifPrefix(ours())], Action::Drop),
        nft::batch_end(),
    ]
}

fn enable_forwarding() -> Result<(), SandboxError> {
    let path = "/proc/sys/net/ipv4/ip_forward";
    let cur = fs::read_to_string(path).map_err(net_err(format!("read {path}")))?;
    if cur.trim() != "1" {
        fs::write(path, "1").map_err(net_err(format!("write {path}")))?;
    }
    Ok(())
}

/// Refuses a pool that contains an address of a host interface (other than ours).
fn check_no_overlap(pool: Ipv4Addr, prefix_len: u8) -> Result<(), SandboxError> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| SandboxError::Network {
        step: "list host addresses".into(),
        source: e.into(),
    })?;
    let m = mask(prefix_len);
    for a in addrs {
        if a.interface_name.starts_with(HOST_IFNAME_PREFIX) {
            continue;
        }
        let Some(ip) = a
            .address
            .as_ref()
            .and_then(|s| s.as_sockaddr_in())
            .map(|s| s.ip())
        else {
            continue;
        };
        if u32::from(ip) & m == u32::from(pool) {
            return Err(SandboxError::Network {
                step: "check the address pool".into(),
                source: io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "pool {pool}/{prefix_len} contains {ip} of host interface {}",
                        a.interface_name
                    ),
                ),
            });
        }
    }
    Ok(())
}

/// The environment's `/etc/resolv.conf`, from the host's: nameservers on the
/// host's loopback are unreachable from the environment, so a systemd-resolved
/// stub (`127.0.0.53`) is replaced by its upstream file when there is one,
/// and remaining loopback nameservers are dropped (unless none would be left).
pub(crate) fn sandbox_resolv_conf(host: &str, upstream: Option<&str>) -> String {
    fn nameservers(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("nameserver")).then(|| w.next()).flatten()
            })
            .collect()
    }
    fn loopback(ns: &str) -> bool {
        ns.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    }
    let host_ns = nameservers(host);
    let base = match upstream {
        Some(up)
            if !host_ns.is_empty()
                && host_ns.iter().all(|n| loopback(n))
                && nameservers(up).iter().any(|n| !loopback(n)) =>
        {
            up
        }
        _ => host,
    };
    if nameservers(base).iter().all(|n| loopback(n)) {
        return base.to_string();
    }
    let mut out = String::new();
    for l in base.lines() {
        let mut w = l.split_whitespace();
        if w.next() == Some("nameserver") && w.next().is_some_and(loopback) {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_30s_with_host_then_env_address() {
        let e = EnvNetwork::for_slot(Ipv4Addr::new(10, 213, 0, 0), 0);
        assert_eq!(e.host_addr, Ipv4Addr::new(10, 213, 0, 1));
        assert_eq!(e.env_addr, Ipv4Addr::new(10, 213, 0, 2));
        assert_eq!(e.host_ifname, "lmn0ad50000");
        let e = EnvNetwork::for_slot(Ipv4Addr::new(10, 213, 0, 0), 16383);
        assert_eq!(e.host_addr, Ipv4Addr::new(10, 213, 255, 253));
        assert_eq!(e.env_addr, Ipv4Addr::new(10, 213, 255, 254));
        assert_eq!(e.link_network(), Ipv4Addr::new(10, 213, 255, 252));
        assert!(e.host_ifname.len() < libc::IFNAMSIZ);
        assert_eq!(e.prefix_len, 30);
    }

    #[test]
    fn table_names_and_masks() {
        assert_eq!(
            table_name(Ipv4Addr::new(10, 213, 0, 0), 16),
            "lamina_10_213_0_0_16"
        );
        assert_eq!(mask(16), 0xffff_0000);
        assert_eq!(mask(30), 0xffff_fffc);
    }

    #[test]
    fn ruleset_is_one_transaction() {
        let msgs = ruleset("t", Ipv4Addr::new(10, 213, 0, 0), 16);
        assert_eq!(msgs.len(), 12);
        assert_eq!(msgs[0].bytes(1), nft::batch_begin().bytes(1));
        assert_eq!(msgs[11].bytes(1), nft::batch_end().bytes(1));
    }

    #[test]
    fn network_mode_defaults_to_egress() {
        assert_eq!(NetworkMode::default(), NetworkMode::Egress);
    }

    #[test]
    fn resolv_conf_keeps_real_nameservers() {
        let host = "search example.org\nnameserver 10.255.255.53\n";
        assert_eq!(sandbox_resolv_conf(host, None), host);
    }

    #[test]
    fn resolv_conf_replaces_a_loopback_stub_by_its_upstream() {
        let host = "nameserver 127.0.0.53\noptions edns0 trust-ad\n";
        let up = "nameserver 192.0.2.53\nnameserver 198.51.100.53\n";
        assert_eq!(sandbox_resolv_conf(host, Some(up)), up);
        // No usable upstream: nothing better than the host's file.
        assert_eq!(sandbox_resolv_conf(host, None), host);
        assert_eq!(
            sandbox_resolv_conf(host, Some("nameserver 127.0.0.1\n")),
            host
        );
    }

    #[test]
    fn resolv_conf_drops_loopback_nameservers_next_to_real_ones() {
        let host = "nameserver 127.0.0.1\nnameserver ::1\nnameserver 192.0.2.53\n";
        assert_eq!(sandbox_resolv_conf(host, None), "nameserver 192.0.2.53\n");
    }
}
