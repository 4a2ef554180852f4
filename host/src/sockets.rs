//! `wasi:sockets` TCP as Spin grants it: a guest may connect to an address its
//! `allowed_outbound_hosts` allows, read as `tcp://<ip>:<port>` (so `*://127.0.0.0/24:7` and
//! `tcp://10.0.0.5:5432` both grant a connection), and do nothing else: no listening, no UDP,
//! no name lookup. A refused connection fails with `access-denied`, and nothing leaves the host.

use crate::allowed_hosts::{AllowedHosts, OutboundUrl};
use std::net::SocketAddr;
use std::sync::Arc;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::sockets::SocketAddrUse;

/// Lets an instance's guest open the TCP connections `allowed` grants.
pub fn grant(wasi: &mut WasiCtxBuilder, allowed: Arc<AllowedHosts>) {
    wasi.allow_tcp(true).socket_addr_check(move |address, usage| {
        Box::pin(std::future::ready(permits(&allowed, address, usage)))
    });
}

/// Whether a guest may use `address` for `usage`.
fn permits(allowed: &AllowedHosts, address: SocketAddr, usage: SocketAddrUse) -> bool {
    match usage {
        SocketAddrUse::TcpConnect => allowed.allows(&OutboundUrl::socket(address, "tcp")),
        // A connection is bound to an ephemeral port first, which wasmtime checks as a bind to
        // the unspecified address; any other bind would be for listening.
        SocketAddrUse::TcpBind => address.ip().is_unspecified() && address.port() == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connections_the_list_grants() {
        let allowed = AllowedHosts::parse(&["*://127.0.0.0/24:7".to_string()]).unwrap();
        let address = |text: &str| text.parse::<SocketAddr>().unwrap();
        let connect = |text: &str| permits(&allowed, address(text), SocketAddrUse::TcpConnect);
        assert!(connect("127.0.0.1:7"));
        assert!(!connect("127.0.0.1:8"));
        assert!(!connect("127.0.1.1:7"));
        assert!(permits(&allowed, address("0.0.0.0:0"), SocketAddrUse::TcpBind));
        assert!(!permits(&allowed, address("127.0.0.1:7"), SocketAddrUse::TcpBind));
        assert!(!permits(&allowed, address("0.0.0.0:0"), SocketAddrUse::TcpListen));
        assert!(!permits(&allowed, address("127.0.0.1:7"), SocketAddrUse::UdpSend));
    }
}
