//! The services a test's preconditions name, as Spin's runner provides them, on 127.0.0.1: an
//! HTTP echo behind guest port 80 (a POST gets 200, `content-type: text/plain` and its own body
//! back) and a TCP echo behind guest port 7, started once for the whole run; a Redis server
//! behind guest port 6379 and an MQTT broker behind 1883 (`redis-server`, `mosquitto`, when
//! there are), started afresh for each test that needs one, as the tests share key names.
//! PostgreSQL is not started, as fn-host does not serve it: its guest port goes to a port that
//! refuses every connection. The host's key-value store and SQLite database need no service;
//! each test's host starts on an empty state directory.

use crate::suite::Precondition;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::{Daemon, RefusedPort};

/// The running services.
pub struct Services {
    http_echo: u16,
    tcp_echo: u16,
    refused: RefusedPort,
    programs: ServerPrograms,
}

/// The servers started for each test that needs one, where found.
#[derive(Debug, Clone, Default)]
pub struct ServerPrograms {
    /// `redis-server`.
    pub redis_server: Option<PathBuf>,
    /// `mosquitto`, the MQTT broker.
    pub mosquitto: Option<PathBuf>,
}

/// How a server started for one test is set up, given its directory and port.
type Configure = fn(&mut Command, &Path, u16) -> std::io::Result<()>;

impl ServerPrograms {
    /// Whether every server `preconditions` name is there.
    pub fn serve(&self, preconditions: &[Precondition]) -> bool {
        preconditions.iter().all(|precondition| {
            self.per_test(precondition).is_none_or(|(_, program, _)| program.is_some())
        })
    }

    /// For a precondition served by a server of its own in each test: its guest port, its
    /// program (if found) and how it is set up.
    fn per_test(&self, precondition: &Precondition) -> Option<(u16, Option<&Path>, Configure)> {
        match precondition {
            Precondition::Redis => Some((6379, self.redis_server.as_deref(), redis_server)),
            Precondition::Mqtt => Some((1883, self.mosquitto.as_deref(), mosquitto)),
            _ => None,
        }
    }
}

/// The services of one test, running while it lives.
pub struct TestServices {
    /// Guest port → port on this machine.
    pub ports: BTreeMap<u16, u16>,
    _servers: Vec<Daemon>,
}

impl Services {
    /// Starts the echo services, each on a thread of its own that serves until the run ends;
    /// `programs` serve the tests that need Redis or MQTT.
    pub fn start(programs: ServerPrograms) -> std::io::Result<Services> {
        let http_echo = serve(echo_http)?;
        let tcp_echo = serve(echo_tcp)?;
        Ok(Services { http_echo, tcp_echo, refused: RefusedPort::new(), programs })
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
            let (guest, port) = match (precondition, self.programs.per_test(precondition)) {
                (_, Some((guest, program, configure))) => {
                    (guest, start_server(program, configure, &mut servers)?.unwrap_or(refused))
                }
                (Precondition::HttpEcho, None) => (80, self.http_echo),
                (Precondition::TcpEcho, None) => (7, self.tcp_echo),
                (Precondition::Postgres, None) => (5432, refused),
                // The key-value store and SQLite database (the host's own).
                (_, None) => continue,
            };
            ports.insert(guest, port);
        }
        Ok(TestServices { ports, _servers: servers })
    }
}

/// `program`, if there is one, started as `configure` sets it up, in a fresh directory, on a
/// free port of its own (returned), and kept in `servers`.
fn start_server(
    program: Option<&Path>,
    configure: Configure,
    servers: &mut Vec<Daemon>,
) -> Result<Option<u16>, String> {
    let Some(program) = program else {
        return Ok(None);
    };
    let port = testkit::free_ports(1)[0];
    let dir = testkit::fresh_dir();
    let mut command = Command::new(program);
    command.current_dir(&dir);
    let what = program.file_name().unwrap_or_default().to_string_lossy().into_owned();
    configure(&mut command, &dir, port).map_err(|e| format!("configure {what}: {e}"))?;
    let server = Daemon::start(&mut command, &what, &dir.join("server.log"), port)
        .map_err(|e| e.to_string())?;
    servers.push(server);
    Ok(Some(port))
}

/// A Redis server that keeps nothing on disk.
fn redis_server(command: &mut Command, _: &Path, port: u16) -> std::io::Result<()> {
    command
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", ""])
        .args(["--appendonly", "no"]);
    Ok(())
}

/// An MQTT broker that takes any client and keeps nothing on disk.
fn mosquitto(command: &mut Command, dir: &Path, port: u16) -> std::io::Result<()> {
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )?;
    command.arg("-c").arg(config);
    Ok(())
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
        let services = Services::start(ServerPrograms::default()).unwrap();
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
        let refused = services.for_test(&[Precondition::Postgres]).unwrap().ports[&5432];
        assert!(TcpStream::connect(("127.0.0.1", refused)).is_err());
        assert!(services.for_test(&[Precondition::Sqlite]).unwrap().ports.is_empty());
    }
}
