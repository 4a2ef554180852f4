//! A network link that a test can cut: a TCP forwarder between a host and a server (point the
//! host at [`Link::address`]), for faults past one machine without root or network
//! namespaces. Cut, it breaks every connection and refuses new ones, as a link that is down
//! with the far side answering resets; black-holed, it accepts and holds connections and
//! drops whatever is sent, as a partition that loses packets silently.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the link does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkState {
    Up = 0,
    Cut = 1,
    BlackHole = 2,
}

/// A forwarder on a free port of this machine to `server`; lives as long as the test.
pub struct Link {
    address: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    server: SocketAddr,
    state: AtomicU8,
    /// Bumped on every change of state: a connection from an earlier one is dropped.
    epoch: AtomicU64,
    /// Both ends of every open connection, so a cut closes them at once.
    open: Mutex<Vec<TcpStream>>,
}

impl Link {
    /// Forwards to `server` until told otherwise.
    pub fn start(server: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a link");
        let address = listener.local_addr().expect("the link's address");
        let shared = Arc::new(Shared {
            server,
            state: AtomicU8::new(LinkState::Up as u8),
            epoch: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let shared = accepting.clone();
                std::thread::spawn(move || shared.carry(client));
            }
        });
        Link { address, shared }
    }

    /// Where the host connects instead of the server.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Changes what the link does; every connection open until now is closed.
    pub fn set(&self, state: LinkState) {
        self.shared.state.store(state as u8, Ordering::SeqCst);
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut open) = self.shared.open.lock() {
            for stream in open.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.set(LinkState::Cut);
    }
}

impl Shared {
    fn state(&self) -> LinkState {
        match self.state.load(Ordering::SeqCst) {
            0 => LinkState::Up,
            1 => LinkState::Cut,
            _ => LinkState::BlackHole,
        }
    }

    fn carry(&self, client: TcpStream) {
        let epoch = self.epoch.load(Ordering::SeqCst);
        match self.state() {
            // Dropped at once: the host sees its connection reset.
            LinkState::Cut => {}
            LinkState::BlackHole => {
                self.keep(&client);
                let _ = io::copy(&mut &client, &mut io::sink());
            }
            LinkState::Up => {
                let Ok(server) = TcpStream::connect_timeout(&self.server, Duration::from_secs(1))
                else {
                    return;
                };
                self.keep(&client);
                self.keep(&server);
                if self.epoch.load(Ordering::SeqCst) != epoch {
                    return;
                }
                let (client_reader, server_reader) = match (client.try_clone(), server.try_clone())
                {
                    (Ok(client_reader), Ok(server_reader)) => (client_reader, server_reader),
                    _ => return,
                };
                let upstream = std::thread::spawn(move || pump(client_reader, server));
                pump(server_reader, client);
                let _ = upstream.join();
            }
        }
    }

    fn keep(&self, stream: &TcpStream) {
        if let (Ok(mut open), Ok(stream)) = (self.open.lock(), stream.try_clone()) {
            open.push(stream);
        }
    }
}

/// Copies `from` to `to` until either side closes, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0; 16 * 1024];
    while let Ok(read @ 1..) = from.read(&mut buffer) {
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || {
                    let _ = io::copy(&mut &stream, &mut &stream);
                });
            }
        });
        address
    }

    /// What a round trip of `ping` through the link gives back within half a second.
    fn round_trip(link: &Link) -> io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(link.address())?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.write_all(b"ping")?;
        let mut answer = vec![0; 4];
        stream.read_exact(&mut answer)?;
        Ok(answer)
    }

    #[test]
    fn forwards_until_cut_or_black_holed_and_again_once_restored() {
        let link = Link::start(echo_server());
        assert_eq!(round_trip(&link).unwrap(), b"ping");
        link.set(LinkState::Cut);
        assert!(round_trip(&link).is_err());
        link.set(LinkState::BlackHole);
        let stalled = round_trip(&link).unwrap_err();
        assert!(
            matches!(stalled.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut),
            "{stalled}"
        );
        link.set(LinkState::Up);
        assert_eq!(round_trip(&link).unwrap(), b"ping");
    }

    #[test]
    fn a_cut_breaks_open_connections() {
        let link = Link::start(echo_server());
        let mut open = TcpStream::connect(link.address()).unwrap();
        open.write_all(b"ping").unwrap();
        let mut answer = [0; 4];
        open.read_exact(&mut answer).unwrap();
        link.set(LinkState::Cut);
        open.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let _ = open.write_all(b"ping");
        assert!(matches!(open.read(&mut answer), Ok(0) | Err(_)));
    }
}
