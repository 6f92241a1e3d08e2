//! A minimal netlink client: just enough rtnetlink (veth, addresses, routes)
//! and nf_tables to give environments egress without `ip`/`nft` binaries.
//!
//! Messages are built by [`Msg`] (header, fixed part, attributes, nests) and
//! exchanged by [`NlSocket::exchange`], which sends them in one datagram and
//! waits for one answer (ack, error or reply) per message that asks for one.
//! Everything is plain safe code on top of `nix` sockets.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, send, setsockopt, socket,
    sockopt,
};
use nix::sys::time::TimeVal;

const NLMSG_HDRLEN: usize = 16;
const NLA_HDRLEN: usize = 4;
const NLA_F_NESTED: u16 = 1 << 15;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;

/// How long one exchange may wait for the kernel.
const TIMEOUT: Duration = Duration::from_secs(5);

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// One netlink message under construction.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    /// A message of type `ty` with `flags` (`NLM_F_REQUEST` is always added).
    pub fn new(ty: u16, flags: u16) -> Self {
        let mut buf = vec![0u8; NLMSG_HDRLEN];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        Self {
            buf,
            nests: Vec::new(),
        }
    }

    /// Appends a fixed-size family header (`ifinfomsg`, `nfgenmsg`, ...), padded.
    pub fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (NLA_HDRLEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align(self.buf.len()), 0);
        self
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v)
    }

    /// A `u32` in host byte order (rtnetlink).
    pub fn attr_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }

    /// A `u32` in network byte order (nf_tables).
    pub fn attr_be32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_be_bytes())
    }

    /// Opens a nested attribute; close it with [`Msg::end`].
    pub fn begin(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Opens an attribute whose payload is a raw header followed by attributes
    /// (e.g. `VETH_INFO_PEER`), without the nested flag.
    pub fn begin_raw(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self
    }

    pub fn end(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn flags(&self) -> u16 {
        u16::from_ne_bytes([self.buf[6], self.buf[7]])
    }

    fn msg_type(&self) -> u16 {
        u16::from_ne_bytes([self.buf[4], self.buf[5]])
    }

    /// Whether the kernel answers this message (an ack, or a reply to a get).
    fn answered(&self) -> bool {
        self.flags() & NLM_F_ACK != 0 || is_get(self.msg_type())
    }

    /// The finished bytes with length and sequence number filled in.
    pub fn bytes(&self, seq: u32) -> Vec<u8> {
        debug_assert!(self.nests.is_empty(), "unclosed nest");
        let mut b = self.buf.clone();
        let len = b.len() as u32;
        b[0..4].copy_from_slice(&len.to_ne_bytes());
        b[8..12].copy_from_slice(&seq.to_ne_bytes());
        b
    }
}

/// rtnetlink "get" requests are answered with data instead of an ack.
fn is_get(ty: u16) -> bool {
    matches!(
        ty,
        libc::RTM_GETLINK | libc::RTM_GETADDR | libc::RTM_GETROUTE
    )
}

/// A netlink socket in the network namespace of the thread that opened it.
#[derive(Debug)]
pub(crate) struct NlSocket {
    fd: OwnedFd,
    seq: u32,
}

impl NlSocket {
    pub fn route() -> io::Result<Self> {
        Self::open(SockProtocol::NetlinkRoute)
    }

    pub fn netfilter() -> io::Result<Self> {
        Self::open(SockProtocol::NetlinkNetFilter)
    }

    fn open(proto: SockProtocol) -> io::Result<Self> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            proto,
        )?;
        let t = TimeVal::new(TIMEOUT.as_secs() as _, 0);
        setsockopt(&fd, sockopt::ReceiveTimeout, &t)?;
        setsockopt(&fd, sockopt::SendTimeout, &t)?;
        Ok(Self { fd, seq: 1 })
    }

    /// Sends `msgs` in one datagram and waits until each message that asks
    /// for an answer got one. Returns the replies (payload after the netlink
    /// header) to "get" messages, in order; the first kernel error aborts with
    /// that errno and the index of the failing message.
    pub fn exchange(&mut self, msgs: &[Msg]) -> Result<Vec<Vec<u8>>, (usize, io::Error)> {
        let first = self.seq;
        let mut out = Vec::new();
        for m in msgs {
            out.extend_from_slice(&m.bytes(self.seq));
            self.seq = self.seq.wrapping_add(1);
        }
        let mut pending: Vec<usize> = (0..msgs.len()).filter(|&i| msgs[i].answered()).collect();
        loop {
            match send(self.fd.as_raw_fd(), &out, MsgFlags::empty()) {
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err((0, e.into())),
                Ok(_) => break,
            }
        }
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while !pending.is_empty() {
            let n = match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::Error::EINTR) => continue,
                Err(nix::Error::EAGAIN) => {
                    let e = io::Error::new(io::ErrorKind::TimedOut, "no answer from the kernel");
                    return Err((pending[0], e));
                }
                Err(e) => return Err((pending[0], e.into())),
                Ok(n) => n,
            };
            for (ty, seq, payload) in parse(&buf[..n]) {
                let idx = seq.wrapping_sub(first) as usize;
                if idx >= msgs.len() {
                    continue; // not ours (a late answer to an earlier exchange)
                }
                match ty {
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EIO);
                        if code != 0 {
                            return Err((idx, io::Error::from_raw_os_error(-code)));
                        }
                    }
                    NLMSG_DONE => {}
                    _ => replies.push(payload.to_vec()),
                }
                pending.retain(|&p| p != idx);
            }
        }
        Ok(replies)
    }

    /// One message, one answer.
    pub fn request(&mut self, msg: Msg) -> io::Result<Vec<Vec<u8>>> {
        self.exchange(std::slice::from_ref(&msg))
            .map_err(|(_, e)| e)
    }
}

/// Splits a datagram into `(type, seq, payload)` messages.
fn parse(mut b: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut v = Vec::new();
    while b.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            break;
        }
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        let seq = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
        v.push((ty, seq, &b[NLMSG_HDRLEN..len]));
        b = &b[align(len).min(b.len())..];
    }
    v
}

// ---------------------------------------------------------------------------
// rtnetlink

const IFLA_ADDRESS_LEN: usize = 16; // sizeof(struct ifinfomsg)
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;

/// `struct ifinfomsg` with an index and flags.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; IFLA_ADDRESS_LEN] {
    let mut b = [0u8; IFLA_ADDRESS_LEN];
    // family (u8) = AF_UNSPEC, pad, type (u16) = 0
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    b[8..12].copy_from_slice(&flags.to_ne_bytes());
    b[12..16].copy_from_slice(&change.to_ne_bytes());
    b
}

/// Creates a veth pair: `host` in the socket's namespace, `peer` in the
/// network namespace of process `peer_ns_pid`.
pub(crate) fn create_veth_msg(host: &str, peer: &str, peer_ns_pid: u32) -> Msg {
    let mut m = Msg::new(libc::RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    m.put(&ifinfomsg(0, 0, 0)).attr_str(IFLA_IFNAME, host);
    m.begin(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth");
    m.begin(IFLA_INFO_DATA).begin_raw(VETH_INFO_PEER);
    m.put(&ifinfomsg(0, 0, 0))
        .attr_str(IFLA_IFNAME, peer)
        .attr_u32(IFLA_NET_NS_PID, peer_ns_pid);
    m.end().end().end();
    m
}

/// Deletes a link by name (both ends, for a veth).
pub(crate) fn delete_link_msg(name: &str) -> Msg {
    let mut m = Msg::new(libc::RTM_DELLINK, NLM_F_ACK);
    m.put(&ifinfomsg(0, 0, 0)).attr_str(IFLA_IFNAME, name);
    m
}

/// Sets `IFF_UP` on a link.
pub(crate) fn link_up_msg(index: i32) -> Msg {
    let up = libc::IFF_UP as u32;
    let mut m = Msg::new(libc::RTM_NEWLINK, NLM_F_ACK);
    m.put(&ifinfomsg(index, up, up));
    m
}

/// Adds `addr/prefix_len` to a link.
pub(crate) fn add_addr_msg(index: i32, addr: Ipv4Addr, prefix_len: u8) -> Msg {
    let mut m = Msg::new(libc::RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    // struct ifaddrmsg: family, prefixlen, flags, scope, index (u32)
    let mut h = [0u8; 8];
    h[0] = libc::AF_INET as u8;
    h[1] = prefix_len;
    h[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
    m.put(&h)
        .attr(IFA_LOCAL, &addr.octets())
        .attr(IFA_ADDRESS, &addr.octets());
    m
}

/// Adds the default route via `gateway` on link `index` (main table).
pub(crate) fn default_route_msg(index: i32, gateway: Ipv4Addr) -> Msg {
    let mut m = Msg::new(libc::RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32)
    let h = [
        libc::AF_INET as u8,
        0,
        0,
        0,
        libc::RT_TABLE_MAIN,
        libc::RTPROT_BOOT,
        libc::RT_SCOPE_UNIVERSE,
        libc::RTN_UNICAST,
        0,
        0,
        0,
        0,
    ];
    m.put(&h)
        .attr(RTA_GATEWAY, &gateway.octets())
        .attr_u32(RTA_OIF, index as u32);
    m
}

/// Looks a link's index up by name.
pub(crate) fn link_index(sock: &mut NlSocket, name: &str) -> io::Result<i32> {
    let mut m = Msg::new(libc::RTM_GETLINK, 0);
    m.put(&ifinfomsg(0, 0, 0)).attr_str(IFLA_IFNAME, name);
    let replies = sock.request(m)?;
    replies
        .first()
        .and_then(|r| r.get(4..8))
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "short RTM_NEWLINK reply"))
}

/// Deletes link `name`; a missing link is not an error. Returns whether it existed.
pub(crate) fn delete_link(name: &str) -> io::Result<bool> {
    let mut sock = NlSocket::route()?;
    match sock.request(delete_link_msg(name)) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// nf_tables

pub(crate) mod nft {
    //! nf_tables messages (constants from `linux/netfilter/nf_tables.h`).

    use super::{Msg, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE};
    use std::net::Ipv4Addr;

    const NFNL_SUBSYS_NFTABLES: u16 = 10;
    const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
    const NFNL_MSG_BATCH_END: u16 = 0x11;
    const NFT_MSG_NEWTABLE: u16 = 0;
    const NFT_MSG_DELTABLE: u16 = 2;
    const NFT_MSG_NEWCHAIN: u16 = 3;
    const NFT_MSG_NEWRULE: u16 = 6;
    const NFT_MSG_DELRULE: u16 = 8;

    const NFTA_TABLE_NAME: u16 = 1;
    const NFTA_CHAIN_TABLE: u16 = 1;
    const NFTA_CHAIN_NAME: u16 = 3;
    const NFTA_CHAIN_HOOK: u16 = 4;
    const NFTA_CHAIN_TYPE: u16 = 7;
    const NFTA_HOOK_HOOKNUM: u16 = 1;
    const NFTA_HOOK_PRIORITY: u16 = 2;
    const NFTA_RULE_TABLE: u16 = 1;
    const NFTA_RULE_CHAIN: u16 = 2;
    const NFTA_RULE_EXPRESSIONS: u16 = 4;
    const NFTA_LIST_ELEM: u16 = 1;
    const NFTA_EXPR_NAME: u16 = 1;
    const NFTA_EXPR_DATA: u16 = 2;
    const NFTA_DATA_VALUE: u16 = 1;
    const NFTA_DATA_VERDICT: u16 = 2;
    const NFTA_VERDICT_CODE: u16 = 1;
    const NFTA_IMMEDIATE_DREG: u16 = 1;
    const NFTA_IMMEDIATE_DATA: u16 = 2;
    const NFTA_META_DREG: u16 = 1;
    const NFTA_META_KEY: u16 = 2;
    const NFTA_CMP_SREG: u16 = 1;
    const NFTA_CMP_OP: u16 = 2;
    const NFTA_CMP_DATA: u16 = 3;
    const NFTA_PAYLOAD_DREG: u16 = 1;
    const NFTA_PAYLOAD_BASE: u16 = 2;
    const NFTA_PAYLOAD_OFFSET: u16 = 3;
    const NFTA_PAYLOAD_LEN: u16 = 4;
    const NFTA_BITWISE_SREG: u16 = 1;
    const NFTA_BITWISE_DREG: u16 = 2;
    const NFTA_BITWISE_LEN: u16 = 3;
    const NFTA_BITWISE_MASK: u16 = 4;
    const NFTA_BITWISE_XOR: u16 = 5;
    const NFTA_CT_DREG: u16 = 1;
    const NFTA_CT_KEY: u16 = 2;

    const NFT_REG_VERDICT: u32 = 0;
    const NFT_REG_1: u32 = 1;
    const NFT_META_IIFNAME: u32 = 6;
    const NFT_META_OIFNAME: u32 = 7;
    const NFT_CMP_EQ: u32 = 0;
    const NFT_CMP_NEQ: u32 = 1;
    const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
    const NFT_CT_STATE: u32 = 0;
    /// `NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED)`.
    const CT_STATE_ESTABLISHED_RELATED: u32 = 2 | 4;

    pub(crate) const NF_INET_FORWARD: u32 = 2;
    pub(crate) const NF_INET_POST_ROUTING: u32 = 4;

    /// One match of a rule; all of a rule's matches must hold.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Match {
        /// Input interface name starts with the prefix.
        IifPrefix(String),
        /// Output interface name starts with the prefix.
        OifPrefix(String),
        /// Output interface name does not start with the prefix.
        OifNotPrefix(String),
        /// IPv4 source address in `addr/prefix_len`.
        SaddrIn(Ipv4Addr, u8),
        /// IPv4 destination address in `addr/prefix_len`.
        DaddrIn(Ipv4Addr, u8),
        /// Conntrack state is established or related.
        CtEstablishedRelated,
    }

    /// What a rule does when it matches.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Action {
        Accept,
        Drop,
        Masquerade,
    }

    fn header(m: &mut Msg, family: u8, res_id: u16) {
        // struct nfgenmsg: family, version (NFNETLINK_V0), res_id (big endian)
        let r = res_id.to_be_bytes();
        m.put(&[family, 0, r[0], r[1]]);
    }

    fn msg(ty: u16, flags: u16) -> Msg {
        let mut m = Msg::new((NFNL_SUBSYS_NFTABLES << 8) | ty, flags | NLM_F_ACK);
        header(&mut m, libc::NFPROTO_IPV4 as u8, 0);
        m
    }

    pub(crate) fn batch_begin() -> Msg {
        let mut m = Msg::new(NFNL_MSG_BATCH_BEGIN, 0);
        header(&mut m, libc::AF_UNSPEC as u8, NFNL_SUBSYS_NFTABLES);
        m
    }

    pub(crate) fn batch_end() -> Msg {
        let mut m = Msg::new(NFNL_MSG_BATCH_END, 0);
        header(&mut m, libc::AF_UNSPEC as u8, NFNL_SUBSYS_NFTABLES);
        m
    }

    /// Creates table `name` (family `ip`) unless it exists.
    pub(crate) fn new_table(name: &str) -> Msg {
        let mut m = msg(NFT_MSG_NEWTABLE, NLM_F_CREATE);
        m.attr_str(NFTA_TABLE_NAME, name);
        m
    }

    /// Deletes table `name` with its chains and rules.
    pub(crate) fn del_table(name: &str) -> Msg {
        let mut m = msg(NFT_MSG_DELTABLE, 0);
        m.attr_str(NFTA_TABLE_NAME, name);
        m
    }

    /// Creates a base chain unless it exists (same hook: no change).
    pub(crate) fn new_chain(table: &str, name: &str, kind: &str, hook: u32, prio: i32) -> Msg {
        let mut m = msg(NFT_MSG_NEWCHAIN, NLM_F_CREATE);
        m.attr_str(NFTA_CHAIN_TABLE, table)
            .attr_str(NFTA_CHAIN_NAME, name)
            .begin(NFTA_CHAIN_HOOK)
            .attr_be32(NFTA_HOOK_HOOKNUM, hook)
            .attr_be32(NFTA_HOOK_PRIORITY, prio as u32)
            .end()
            .attr_str(NFTA_CHAIN_TYPE, kind);
        m
    }

    /// Deletes every rule of a chain.
    pub(crate) fn flush_chain(table: &str, chain: &str) -> Msg {
        let mut m = msg(NFT_MSG_DELRULE, 0);
        m.attr_str(NFTA_RULE_TABLE, table)
            .attr_str(NFTA_RULE_CHAIN, chain);
        m
    }

    fn expr(m: &mut Msg, name: &str, data: impl FnOnce(&mut Msg)) {
        m.begin(NFTA_LIST_ELEM).attr_str(NFTA_EXPR_NAME, name);
        m.begin(NFTA_EXPR_DATA);
        data(m);
        m.end().end();
    }

    fn cmp(m: &mut Msg, op: u32, value: &[u8]) {
        expr(m, "cmp", |m| {
            m.attr_be32(NFTA_CMP_SREG, NFT_REG_1)
                .attr_be32(NFTA_CMP_OP, op)
                .begin(NFTA_CMP_DATA)
                .attr(NFTA_DATA_VALUE, value)
                .end();
        });
    }

    fn meta(m: &mut Msg, key: u32) {
        expr(m, "meta", |m| {
            m.attr_be32(NFTA_META_DREG, NFT_REG_1)
                .attr_be32(NFTA_META_KEY, key);
        });
    }

    fn bitwise_and(m: &mut Msg, mask: &[u8]) {
        expr(m, "bitwise", |m| {
            m.attr_be32(NFTA_BITWISE_SREG, NFT_REG_1)
                .attr_be32(NFTA_BITWISE_DREG, NFT_REG_1)
                .attr_be32(NFTA_BITWISE_LEN, mask.len() as u32)
                .begin(NFTA_BITWISE_MASK)
                .attr(NFTA_DATA_VALUE, mask)
                .end()
                .begin(NFTA_BITWISE_XOR)
                .attr(NFTA_DATA_VALUE, &vec![0u8; mask.len()])
                .end();
        });
    }

    fn push_match(m: &mut Msg, x: &Match) {
        match x {
            Match::IifPrefix(p) => {
                meta(m, NFT_META_IIFNAME);
                cmp(m, NFT_CMP_EQ, p.as_bytes());
            }
            Match::OifPrefix(p) => {
                meta(m, NFT_META_OIFNAME);
                cmp(m, NFT_CMP_EQ, p.as_bytes());
            }
            Match::OifNotPrefix(p) => {
                meta(m, NFT_META_OIFNAME);
                cmp(m, NFT_CMP_NEQ, p.as_bytes());
            }
            Match::SaddrIn(net, len) | Match::DaddrIn(net, len) => {
                // Offset of the address in the IPv4 header.
                let offset = if matches!(x, Match::SaddrIn(..)) {
                    12
                } else {
                    16
                };
                expr(m, "payload", |m| {
                    m.attr_be32(NFTA_PAYLOAD_DREG, NFT_REG_1)
                        .attr_be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER)
                        .attr_be32(NFTA_PAYLOAD_OFFSET, offset)
                        .attr_be32(NFTA_PAYLOAD_LEN, 4);
                });
                let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
                bitwise_and(m, &mask.to_be_bytes());
                let masked = u32::from(*net) & mask;
                cmp(m, NFT_CMP_EQ, &masked.to_be_bytes());
            }
            Match::CtEstablishedRelated => {
                expr(m, "ct", |m| {
                    m.attr_be32(NFTA_CT_DREG, NFT_REG_1)
                        .attr_be32(NFTA_CT_KEY, NFT_CT_STATE);
                });
                // ct state is a host-order u32 in the register.
                bitwise_and(m, &CT_STATE_ESTABLISHED_RELATED.to_ne_bytes());
                cmp(m, NFT_CMP_NEQ, &0u32.to_ne_bytes());
            }
        }
    }

    /// Appends a rule to a chain.
    pub(crate) fn new_rule(table: &str, chain: &str, matches: &[Match], action: Action) -> Msg {
        let mut m = msg(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
        m.attr_str(NFTA_RULE_TABLE, table)
            .attr_str(NFTA_RULE_CHAIN, chain)
            .begin(NFTA_RULE_EXPRESSIONS);
        for x in matches {
            push_match(&mut m, x);
        }
        match action {
            Action::Masquerade => expr(&mut m, "masq", |_| {}),
            Action::Accept | Action::Drop => {
                let code = if action == Action::Accept {
                    libc::NF_ACCEPT
                } else {
                    libc::NF_DROP
                } as u32;
                expr(&mut m, "immediate", |m| {
                    m.attr_be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT)
                        .begin(NFTA_IMMEDIATE_DATA)
                        .begin(NFTA_DATA_VERDICT)
                        .attr_be32(NFTA_VERDICT_CODE, code)
                        .end()
                        .end();
                });
            }
        }
        m.end();
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_ne_bytes([b[i], b[i + 1]])
    }

    #[test]
    fn attributes_are_padded_and_lengths_filled_in() {
        let mut m = Msg::new(libc::RTM_GETLINK, 0);
        m.put(&[1, 2, 3]).attr_str(3, "lo");
        let b = m.bytes(7);
        // header 16 + put 3 (padded to 4) + attr 4+3 (padded to 8)
        assert_eq!(b.len(), 28);
        assert_eq!(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]), 28);
        assert_eq!(u32::from_ne_bytes([b[8], b[9], b[10], b[11]]), 7);
        assert_eq!(u16_at(&b, 6), NLM_F_REQUEST);
        assert_eq!(u16_at(&b, 20), 7, "nla_len excludes padding");
        assert_eq!(&b[24..27], b"lo\0");
    }

    #[test]
    fn nests_cover_their_children_and_carry_the_flag() {
        let mut m = Msg::new(0, 0);
        m.begin(18)
            .attr_u32(1, 5)
            .begin_raw(2)
            .attr_u32(3, 6)
            .end()
            .end();
        let b = m.bytes(1);
        assert_eq!(u16_at(&b, 16), 4 + 8 + 4 + 8);
        assert_eq!(u16_at(&b, 18), 18 | NLA_F_NESTED);
        assert_eq!(u16_at(&b, 28), 4 + 8);
        assert_eq!(u16_at(&b, 30), 2, "raw nest has no flag");
    }

    #[test]
    fn answers_are_expected_for_acks_and_gets_only() {
        assert!(Msg::new(libc::RTM_GETLINK, 0).answered());
        assert!(Msg::new(libc::RTM_NEWLINK, NLM_F_ACK).answered());
        assert!(!nft::batch_begin().answered());
        assert!(nft::new_table("t").answered());
    }

    #[test]
    fn parse_splits_messages() {
        let a = Msg::new(NLMSG_ERROR, 0).bytes(1);
        let mut b = Msg::new(NLMSG_DONE, 0);
        b.put(&[9]);
        let mut dgram = a.clone();
        dgram.extend_from_slice(&b.bytes(2));
        let v = parse(&dgram);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].0, v[0].1, v[0].2.len()), (NLMSG_ERROR, 1, 0));
        assert_eq!((v[1].0, v[1].1, v[1].2), (NLMSG_DONE, 2, &[9, 0, 0, 0][..]));
    }

    #[test]
    fn saddr_match_masks_the_prefix() {
        let m = nft::new_rule(
            "t",
            "c",
            &[nft::Match::SaddrIn(Ipv4Addr::new(10, 213, 7, 9), 16)],
            nft::Action::Masquerade,
        );
        let b = m.bytes(1);
        let find = |needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
        assert!(find(&[0xff, 0xff, 0, 0]), "mask");
        assert!(find(&[10, 213, 0, 0]), "masked network");
        assert!(find(b"masq\0"));
        assert!(find(b"payload\0"));
    }
}
