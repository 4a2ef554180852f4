//! HTTP/1.1 on a bare socket, for what a client library would not send or would not wait
//! for: any header bytes, a body the server refuses while it is still being written, a reply on
//! a connection a test holds open ([`read_reply`]). Used by [`Host::send_raw`] and the
//! recording proxy.

use crate::client::Reply;
use crate::host::Host;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use ureq::http;

impl Host {
    /// Sends `request` (its URI a path) on a new connection, writing it on another thread
    /// while the answer is read: a server may answer and close before it reads the body.
    /// The request goes as given plus `host`, `connection: close` and, unless it says
    /// `transfer-encoding: chunked`, a `content-length`.
    pub fn send_raw(&self, request: http::Request<Vec<u8>>) -> Reply {
        let authority = self.url.trim_start_matches("http://");
        let stream = TcpStream::connect(authority).expect("connect to the host");
        let mut writer = stream.try_clone().expect("clone the socket");
        let bytes = encode(&request, authority);
        let head_only = request.method() == http::Method::HEAD;
        // Write errors are expected when the server answers early; the answer tells.
        let written = std::thread::spawn(move || writer.write_all(&bytes));
        let mut reader = BufReader::new(stream);
        let reply = match head_only {
            // A HEAD answer has only headers, whatever its content-length.
            true => read_head(&mut reader).and_then(|(status_line, headers)| {
                Ok(Reply { status: status_code(&status_line)?, headers, body: String::new() })
            }),
            false => read_reply(&mut reader),
        };
        let _ = written.join();
        reply.expect("read the answer")
    }
}

/// One response from `reader`: its head, and its body as its framing says (to the end of the
/// connection when it has none). Reads no further, so a keep-alive connection can go on.
pub fn read_reply(reader: &mut impl BufRead) -> std::io::Result<Reply> {
    let (status_line, headers) = read_head(reader)?;
    let body = read_body(reader, &headers, true)?;
    Ok(Reply {
        status: status_code(&status_line)?,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn status_code(status_line: &str) -> std::io::Result<u16> {
    let code = status_line.split(' ').nth(1).and_then(|code| code.parse().ok());
    code.ok_or_else(|| std::io::Error::other(format!("not a status line: {status_line:?}")))
}

fn encode(request: &http::Request<Vec<u8>>, authority: &str) -> Vec<u8> {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut bytes =
        format!("{} {path} HTTP/1.1\r\nhost: {authority}\r\n", request.method()).into_bytes();
    for (name, value) in request.headers() {
        bytes.extend_from_slice(format!("{name}: ").as_bytes());
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    let chunked = is_chunked(request.headers().get(http::header::TRANSFER_ENCODING));
    if !chunked {
        bytes.extend_from_slice(format!("content-length: {}\r\n", request.body().len()).as_bytes());
    }
    bytes.extend_from_slice(b"connection: close\r\n\r\n");
    if chunked {
        for chunk in request.body().chunks(8192) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(request.body());
    }
    bytes
}

fn is_chunked(value: Option<&http::HeaderValue>) -> bool {
    value.is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"))
}

/// The first line and the headers of a message.
pub(crate) fn read_head(
    reader: &mut impl BufRead,
) -> std::io::Result<(String, Vec<(String, String)>)> {
    let first = read_line(reader)?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        let Some((name, value)) = line.split_once(':') else {
            return Ok((first, headers));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// A message's body, framed by its `content-length` or `transfer-encoding: chunked`; with
/// neither, a response's runs to the end of the connection and a request's is empty.
pub(crate) fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    is_response: bool,
) -> std::io::Result<Vec<u8>> {
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let line = read_line(reader)?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).map_err(std::io::Error::other)?;
            if size == 0 {
                while !read_line(reader)?.is_empty() {}
                return Ok(body);
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            read_line(reader)?;
        }
    }
    match header("content-length").map(str::parse::<usize>) {
        Some(Ok(length)) => {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        Some(Err(error)) => return Err(std::io::Error::other(error)),
        None if is_response => {
            reader.read_to_end(&mut body)?;
        }
        None => {}
    }
    Ok(body)
}

fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}
