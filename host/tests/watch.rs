//! `fn-host watch` end to end: a tiny app, written into a fresh directory for each test (the
//! repository's files are never edited), served while its source and manifest change. Its build
//! reuses the workspace's compiled dependencies (same `Cargo.lock`, same target directory), so a
//! rebuild takes seconds.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{Client, Host, HostOptions, fn_host, fresh_dir, repo_root, try_get};

/// The app's one component: its `VERSION` on any path, and on `/app/echo` its version and the
/// size of the request body.
const SOURCE: &str = r#"
use bytes::Bytes;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, IntoResponse, Request};

const VERSION: &str = "v1";

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    let answer = match request.uri().path() {
        "/app/echo" => match request.into_body().bytes().await {
            Ok(body) => format!("{VERSION} {} bytes", body.len()),
            Err(error) => format!("{error:?}"),
        },
        _ => VERSION.to_string(),
    };
    http::Response::new(FullBody::new(Bytes::from(answer)))
}
"#;

/// The tiny app in its own directory.
struct TinyApp {
    dir: PathBuf,
    manifest: PathBuf,
}

impl TinyApp {
    /// A crate named after `name` (tests build at once, each into its own `.wasm`), its
    /// manifest watching `src/**/*.rs` and `Cargo.toml` as the repository's app does.
    fn new(name: &str) -> TinyApp {
        let dir = fresh_dir().join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let package = format!("fn-host-watch-{name}");
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                r#"[package]
name = "{package}"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
bytes = "1"
http = "1"
spin-sdk = {{ version = "7", default-features = false, features = ["http", "json", "sqlite", "variables"] }}

# As the workspace builds its dependencies, so that they are reused.
[profile.release]
debug = "line-tables-only"

[workspace]
"#
            ),
        )
        .unwrap();
        std::fs::copy(repo_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let target = repo_root().join("target");
        let wasm = target.join(format!("wasm32-wasip2/release/{}.wasm", package.replace('-', "_")));
        let manifest = dir.join("spin.toml");
        std::fs::write(
            &manifest,
            format!(
                r#"spin_manifest_version = 2
[application]
name = "watched"

[[trigger.http]]
route = "/app/..."
component = "app"

[component.app]
source = "{}"
[component.app.build]
command = "cargo build --target wasm32-wasip2 --release --offline"
watch = ["src/**/*.rs", "Cargo.toml"]
environment = {{ CARGO_TARGET_DIR = "{}" }}
"#,
                wasm.display(),
                target.display()
            ),
        )
        .unwrap();
        let app = TinyApp { dir, manifest };
        app.write_source("v1");
        // Cargo would take the build of an earlier run, from another directory, for this one.
        let cleaned = std::process::Command::new("cargo")
            .args(["clean", "--release", "--target", "wasm32-wasip2", "--offline", "-p"])
            .arg(&package)
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&app.dir)
            .status()
            .unwrap();
        assert!(cleaned.success(), "cargo clean -p {package}: {cleaned}");
        app
    }

    fn write_source(&self, version: &str) {
        let source = SOURCE.replace("\"v1\"", &format!("\"{version}\""));
        std::fs::write(self.dir.join("src/lib.rs"), source).unwrap();
    }

    fn break_source(&self) {
        let source = SOURCE.replace("\"v1\"", "2");
        std::fs::write(self.dir.join("src/lib.rs"), source).unwrap();
    }

    fn watch(&self) -> Host {
        HostOptions::new(fn_host(), &self.manifest)
            .watching()
            // The request sent across a swap waits for a rebuild before it sends its body.
            .arg("--request-body-timeout")
            .arg("300s")
            .start()
    }
}

/// Waits (up to 3 minutes: a rebuild on a busy machine) until `done`.
fn eventually(what: &str, host: &Host, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}\n{}", host.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `POST /app/echo` whose head is sent now and whose 5-byte body is sent by `finish`.
struct SplitRequest(TcpStream);

impl SplitRequest {
    fn start(host: &Host) -> SplitRequest {
        let mut stream = TcpStream::connect(host.url.trim_start_matches("http://")).unwrap();
        stream
            // HTTP/1.0: the answer's body is not chunked, it runs to the end of the connection.
            .write_all(b"POST /app/echo HTTP/1.0\r\nhost: test\r\ncontent-length: 5\r\n\r\n")
            .unwrap();
        SplitRequest(stream)
    }

    /// The status line and body of the answer.
    fn finish(mut self) -> (String, String) {
        self.0.write_all(b"hello").unwrap();
        let mut answer = String::new();
        self.0.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.lines().next().unwrap_or_default().to_string();
        (status, body.to_string())
    }
}

#[test]
fn edits_are_served_without_failing_a_request_and_a_broken_edit_keeps_the_old_version() {
    let started = Instant::now();
    let app = TinyApp::new("edits");
    let host = app.watch();
    assert_eq!(host.get("/app/version").body, "v1");
    let across_the_swap = SplitRequest::start(&host);
    std::thread::sleep(Duration::from_millis(200));

    // Clients one after another while the source changes, until the new version answers.
    let swapped = AtomicBool::new(false);
    let url = format!("{}/app/version", host.url);
    let replies = std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            let mut replies = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(300);
            while !swapped.load(Ordering::Relaxed) && Instant::now() < deadline {
                replies.push(try_get(&url).map(|reply| (reply.status, reply.body)));
            }
            replies
        });
        app.write_source("v2");
        eventually("v2 is served", &host, || host.get("/app/version").body == "v2");
        swapped.store(true, Ordering::Relaxed);
        client.join().unwrap()
    });
    let first_v2 =
        replies.iter().position(|reply| matches!(reply, Ok((200, body)) if body == "v2"));
    for (n, reply) in replies.iter().enumerate() {
        let expected = if first_v2.is_some_and(|first| n >= first) { "v2" } else { "v1" };
        assert_eq!(reply, &Ok((200, expected.to_string())), "request {n} of {}", replies.len());
    }
    // Its head came before the swap: it is answered by the version it started on.
    assert_eq!(across_the_swap.finish(), ("HTTP/1.0 200 OK".to_string(), "v1 5 bytes".to_string()));
    println!("{} requests across the swap, all answered", replies.len());

    // A broken edit: the compiler's error is printed, and v2 goes on serving.
    app.break_source();
    eventually("the build fails", &host, || {
        let logs = host.logs();
        logs.contains("error[E0308]: mismatched types")
            && logs.contains("Still serving the previous version")
    });
    assert_eq!(host.get("/app/version").body, "v2");
    // Fixed, it is built again and served.
    app.write_source("v3");
    eventually("v3 is served", &host, || host.get("/app/version").body == "v3");
    println!("took {:.1?}", started.elapsed());
}

#[test]
fn a_manifest_change_reloads_the_routes() {
    let app = TinyApp::new("manifest");
    let host = app.watch();
    assert_eq!(host.get("/extra/x").status, 404);
    let manifest = std::fs::read_to_string(&app.manifest).unwrap();
    let with_route =
        format!("{manifest}\n[[trigger.http]]\nroute = \"/extra/...\"\ncomponent = \"app\"\n");
    std::fs::write(&app.manifest, &with_route).unwrap();
    eventually("the new route is served", &host, || host.get("/extra/x").body == "v1");
    assert!(host.logs().contains("Reloaded after changes to the manifest"), "{}", host.logs());

    // A manifest that does not parse says why and changes nothing.
    std::fs::write(&app.manifest, format!("{with_route}\n[[trigger.http]]\n")).unwrap();
    eventually("the manifest error is printed", &host, || {
        host.logs().contains("missing field `route`")
    });
    assert_eq!(host.get("/extra/x").body, "v1");
    assert_eq!(host.get("/app/x").body, "v1");
}
