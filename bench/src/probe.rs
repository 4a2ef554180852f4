//! A minimal blocking HTTP/1.1 GET, for readiness checks and start-up timing (no runtime, no
//! pool: one short-lived connection per check, as a first visitor would make).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The status code of `GET path` on `127.0.0.1:port`, or why there was none.
pub fn get_status(port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| format!("socket: {e}"))?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    // The status line is all we need; read until it is complete.
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !head.contains(&b'\n') {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("receive: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    parse_status(&head).ok_or_else(|| "no HTTP status line in the answer".to_string())
}

fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

/// Polls `GET path` until it answers 2xx; `alive` is asked between tries (a dead process
/// need not be waited for). Returns when it answered, measured from `since`.
pub fn wait_for_2xx(
    port: u16,
    path: &str,
    since: Instant,
    deadline: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<Duration, String> {
    let mut last = String::from("no attempt");
    while since.elapsed() < deadline {
        match get_status(port, path, Duration::from_secs(2)) {
            Ok(status) if (200..300).contains(&status) => return Ok(since.elapsed()),
            Ok(status) => last = format!("HTTP {status}"),
            Err(error) => last = error,
        }
        alive()?;
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(format!(
        "GET {path} on port {port} gave no 2xx within {deadline:?} (last: {last})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.0 404 Not Found\r\nx: y"), Some(404));
        assert_eq!(parse_status(b"garbage"), None);
        assert_eq!(parse_status(b""), None);
    }

    #[test]
    fn talks_to_a_server() -> Result<(), Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let server = std::thread::spawn(move || -> std::io::Result<()> {
            let (mut stream, _) = listener.accept()?;
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer)?;
            stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        });
        let waited = wait_for_2xx(
            port,
            "/x",
            Instant::now(),
            Duration::from_secs(5),
            || Ok(()),
        )?;
        assert!(waited < Duration::from_secs(5));
        server.join().map_err(|_| "server thread panicked")??;
        Ok(())
    }
}
