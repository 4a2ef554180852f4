//! Free ports for servers that cannot be told to pick their own and say which (sqld, HAProxy).

use std::net::TcpListener;

/// `count` distinct ports that are free now: all are held until all are found, so no two are
/// the same.
pub fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().expect("a bound address").port())
        .collect()
}
