//! Free ports for servers that cannot be told to pick their own and say which (sqld, HAProxy).

use std::net::TcpListener;

/// `count` distinct ports that are free now: all are held until all are found, so no two are
/// the same.
pub fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..count).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port")).collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().expect("a bound address").port())
        .collect()
}

/// A port of this machine that refuses every connection for as long as this value lives: a
/// socket is bound to it but never listens, so no server started meanwhile (a cluster's sqld
/// or balancer on a [`free_ports`] port) can take it, as it could a port merely closed.
pub struct RefusedPort {
    _socket: std::os::fd::OwnedFd,
    pub url: String,
}

impl RefusedPort {
    pub fn new() -> RefusedPort {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: plain socket calls on a descriptor this function owns from its creation; the
        // address structures are zero-initialised C structs of the sizes passed.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = OwnedFd::from_raw_fd(fd);
            let mut address: libc::sockaddr_in = std::mem::zeroed();
            address.sin_family = libc::AF_INET as libc::sa_family_t;
            address.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let size = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let bound = libc::bind(fd, (&raw const address).cast(), size);
            assert!(bound == 0, "bind: {}", std::io::Error::last_os_error());
            let mut length = size;
            let named = libc::getsockname(fd, (&raw mut address).cast(), &mut length);
            assert!(named == 0, "getsockname: {}", std::io::Error::last_os_error());
            RefusedPort {
                _socket: socket,
                url: format!("http://127.0.0.1:{}", u16::from_be(address.sin_port)),
            }
        }
    }
}

impl Default for RefusedPort {
    fn default() -> Self {
        RefusedPort::new()
    }
}
