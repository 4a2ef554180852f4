//! The services a test's preconditions name, as Spin's runner provides them, on 127.0.0.1: an
//! HTTP echo behind guest port 80 (a POST gets 200, `content-type: text/plain` and its own body
//! back) and a TCP echo behind guest port 7, started once for the whole run; and a Redis server
//! behind guest port 6379 (`redis-server`, when there is one), started afresh for each test
//! that needs it, as the tests share key names. MQTT and PostgreSQL are not started, as fn-host
//! does not serve them: their guest ports go to a port that refuses every connection. The
//! host's key-value store and SQLite database need no service; each test's host starts on an
//! empty state directory.

use crate::suite::Precondition;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use testkit::{Daemon, RefusedPort};

/// The running services.
pub struct Services {
    http_echo: u16,
    tcp_echo: u16,
    refused: RefusedPort,
    /// The `redis-server` program, if there is one.
    redis_server: Option<PathBuf>,
}

/// The services of one test, running while it lives.
pub struct TestServices {
    /// Guest port → port on this machine.
    pub ports: BTreeMap<u16, u16>,
    _servers: Vec<Daemon>,
}

impl Services {
    /// Starts the echo services, each on a thread of its own that serves until the run ends;
    /// `redis_server` serves the tests that need Redis.
    pub fn start(redis_server: Option<PathBuf>) -> std::io::Result<Services> {
        let http_echo = serve(echo_http)?;
        let tcp_echo = serve(echo_tcp)?;
        Ok(Services { http_echo, tcp_echo, refused: RefusedPort::new(), redis_server })
    }

    /// Starts what `preconditions` name that runs per test, and maps each guest port.
    pub fn for_test(&self, preconditions: &[Precondition]) -> Result<TestServices, String> {
        let refused = self
            .refused
            .url
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_default();
        let mut servers = Vec::new();
        let mut ports = BTreeMap::new();
        for precondition in preconditions {
            let (guest, port) = match precondition {
                Precondition::HttpEcho => (80, self.http_echo),
                Precondition::TcpEcho => (7, self.tcp_echo),
                Precondition::Redis => match &self.redis_server {
                    Some(program) => {
                        let (server, port) = start_redis(program)?;
                        servers.push(server);
                        (6379, port)
                    }
                    None => (6379, refused),
                },
                Precondition::Mqtt => (1883, refused),
                Precondition::Postgres => (5432, refused),
                Precondition::KeyValueStore { .. } | Precondition::Sqlite => continue,
            };
            ports.insert(guest, port);
        }
        Ok(TestServices { ports, _servers: servers })
    }
}

/// A Redis server that keeps nothing on disk, on a free port of its own.
fn start_redis(program: &PathBuf) -> Result<(Daemon, u16), String> {
    let port = testkit::free_ports(1)[0];
    let dir = testkit::fresh_dir();
    let mut command = Command::new(program);
    command
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", ""])
        .args(["--appendonly", "no"])
        .current_dir(&dir);
    let server = Daemon::start(&mut command, "redis-server", &dir.join("redis.log"), port)
        .map_err(|e| e.to_string())?;
    Ok((server, port))
}

/// Serves each connection to a new port with `handle`, on a thread of its own.
fn serve(handle: fn(TcpStream) -> std::io::Result<()>) -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || handle(stream));
        }
    });
    Ok(port)
}

/// One request: a POST's body comes back; the connection closes after the response, so the
/// response needs no header but its type and length (the guest passes them all on).
fn echo_http(stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut writer = stream;
    if request_line.starts_with("POST ") {
        write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )?;
        writer.write_all(&body)
    } else {
        writer.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
    }
}

/// Everything read is written back, until the client closes.
fn echo_tcp(stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    std::io::copy(&mut &stream, &mut writer).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echoes_echo() {
        let services = Services::start(None).unwrap();
        let ports =
            services.for_test(&[Precondition::HttpEcho, Precondition::TcpEcho]).unwrap().ports;
        let mut http = TcpStream::connect(("127.0.0.1", ports[&80])).unwrap();
        http.write_all(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).unwrap();
        assert_eq!(
            response,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
        );
        let mut tcp = TcpStream::connect(("127.0.0.1", ports[&7])).unwrap();
        tcp.write_all(b"ping").unwrap();
        let mut echoed = [0; 4];
        tcp.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"ping");
        let refused = services.for_test(&[Precondition::Mqtt]).unwrap().ports[&1883];
        assert!(TcpStream::connect(("127.0.0.1", refused)).is_err());
        assert!(services.for_test(&[Precondition::Sqlite]).unwrap().ports.is_empty());
    }
}
