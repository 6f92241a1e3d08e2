//! Egress, jail side: the veth pair and both ends' addresses and routes.
//!
//! The jail opens a netlink socket in the host's network namespace *before*
//! it unshares; after unsharing, that socket still talks to the host
//! namespace, so the jail creates the pair (host end there, `eth0` directly in
//! its own new namespace), configures the host end through it, and configures
//! `eth0` through a second socket opened in the new namespace.

use std::io;

use crate::netlink::{self, NlSocket};
use crate::network::{ENV_IFNAME, EnvNetwork};

use super::JailError;

/// A netlink socket of the host's network namespace (open it before unsharing).
pub(crate) struct HostNetlink(NlSocket);

pub(crate) fn open_host_netlink() -> Result<HostNetlink, JailError> {
    NlSocket::route()
        .map(HostNetlink)
        .map_err(|e| JailError::io("open host netlink socket", e))
}

fn step(name: &str, what: &str) -> impl FnOnce(io::Error) -> JailError {
    let s = format!("{name} {what}");
    move |e| JailError::io(s, e)
}

/// Creates and configures the veth pair. Must run after the network
/// namespace was unshared (the peer goes into this process's namespace).
pub(crate) fn setup(host: HostNetlink, net: &EnvNetwork) -> Result<(), JailError> {
    let mut host = host.0;
    let h = &net.host_ifname;
    host.request(netlink::create_veth_msg(h, ENV_IFNAME, std::process::id()))
        .map_err(step("create veth", h))?;
    let hidx = netlink::link_index(&mut host, h).map_err(step("look up", h))?;
    host.request(netlink::add_addr_msg(hidx, net.host_addr, net.prefix_len))
        .map_err(step("add address to", h))?;
    host.request(netlink::link_up_msg(hidx))
        .map_err(step("bring up", h))?;
    drop(host);

    // No IPv6 on eth0: the environment only gets the IPv4 link (best effort).
    let _ = std::fs::write(
        format!("/proc/sys/net/ipv6/conf/{ENV_IFNAME}/disable_ipv6"),
        "1",
    );
    let mut inner = NlSocket::route().map_err(|e| JailError::io("open netlink socket", e))?;
    let eidx = netlink::link_index(&mut inner, ENV_IFNAME).map_err(step("look up", ENV_IFNAME))?;
    inner
        .request(netlink::add_addr_msg(eidx, net.env_addr, net.prefix_len))
        .map_err(step("add address to", ENV_IFNAME))?;
    inner
        .request(netlink::link_up_msg(eidx))
        .map_err(step("bring up", ENV_IFNAME))?;
    inner
        .request(netlink::default_route_msg(eidx, net.host_addr))
        .map_err(step("add default route via", &net.host_addr.to_string()))?;
    Ok(())
}
