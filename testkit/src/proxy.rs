//! A recording proxy: stands between a component and the service it calls (point the
//! component's service URL at it), forwards every request, and keeps its request line. Counts
//! calls on any host, whether or not the host logs them.

use crate::{client, wire};
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use ureq::http;

/// An HTTP/1.1 proxy on a free port, one request per connection.
pub struct RecordingProxy {
    /// Where it listens, e.g. `http://127.0.0.1:40000`.
    pub url: String,
    target: Arc<OnceLock<String>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    /// Listens now; forwards once [`RecordingProxy::forward_to`] says where (the host it
    /// proxies for is started after it, with its URL).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let target = Arc::new(OnceLock::new());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let proxy = RecordingProxy { url, target: target.clone(), requests: requests.clone() };
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (target, requests) = (target.clone(), requests.clone());
                std::thread::spawn(move || {
                    if let Err(error) = forward(stream, &target, &requests) {
                        eprintln!("recording proxy: {error}");
                    }
                });
            }
        });
        proxy
    }

    /// Forward to `url` (scheme, host and port; the request's path is kept).
    pub fn forward_to(&self, url: &str) {
        self.target.set(url.to_string()).expect("the proxy forwards to one place");
    }

    /// The request lines seen so far, e.g. `GET /users?ids=1,2`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn forward(
    stream: TcpStream,
    target: &OnceLock<String>,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (request_line, headers) = wire::read_head(&mut reader)?;
    if request_line.is_empty() {
        return Ok(()); // closed without a request
    }
    let body = wire::read_body(&mut reader, &headers, false)?;
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    requests.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{method} {path}"));

    let mut forwarded = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", target.get().expect("forward_to was called")));
    if let Some((_, content_type)) = headers.iter().find(|(name, _)| name == "content-type") {
        forwarded = forwarded.header("content-type", content_type);
    }
    let reply = client::send(forwarded.body(body).map_err(std::io::Error::other)?);
    let status = http::StatusCode::from_u16(reply.status).map_err(std::io::Error::other)?;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        reply.body.len()
    );
    for name in ["content-type", "allow"] {
        if let Some(value) = reply.header(name) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let mut stream = stream;
    stream.write_all(format!("{head}\r\n{}", reply.body).as_bytes())
}
