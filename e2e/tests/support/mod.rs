//! Runs the app of this repository (its `spin.toml` and `runtime.toml`) on the host, in this
//! process, on a free port with its own state directory; and speaks HTTP to it.

#![allow(dead_code)] // each test binary uses a different part

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

/// Builds the app's components (as `fn-host build` does) once per test binary.
fn build_once() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = fn_host::manifest::Manifest::load(&repo_root().join("spin.toml"))
            .expect("load spin.toml");
        fn_host::component_build::build_all(&manifest).expect("build the components");
    });
}

/// A fresh directory under `target/` for one app's databases.
pub fn fresh_dir() -> PathBuf {
    static NEXT: Mutex<usize> = Mutex::new(0);
    let mut next = NEXT.lock().unwrap_or_else(|e| e.into_inner());
    *next += 1;
    let dir = repo_root().join(format!("target/app-e2e/{}-{}", std::process::id(), *next));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create state dir");
    dir
}

/// The app, served until dropped.
pub struct App {
    pub url: String,
    pub dir: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<std::thread::JoinHandle<()>>,
}

impl App {
    /// The app on empty databases.
    pub fn start() -> App {
        App::start_in(&fresh_dir(), Vec::new())
    }

    /// The app on the databases in `dir` with extra environment (`SPIN_VARIABLE_*`).
    pub fn start_in(dir: &Path, env: Vec<(String, String)>) -> App {
        build_once();
        let root = repo_root();
        let options = fn_host::app::AppOptions {
            manifest: root.join("spin.toml"),
            runtime_config: Some(root.join("runtime.toml")),
            working_dir: dir.to_path_buf(),
            state_dir: dir.join(".spin"),
            cache_dir: root.join("target/fn-host-test-cache"),
            lifecycle: fn_host::instance::Lifecycle::default(),
            max_instances: 200,
            env,
        };
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let app = fn_host::app::App::load(&options).expect("load the app");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let address = listener.local_addr().expect("local address");
                url_tx
                    .send(format!("http://{address}"))
                    .expect("report the URL");
                let shutdown = async {
                    let _ = shutdown_rx.await;
                };
                fn_host::server::serve(app, listener, Default::default(), shutdown)
                    .await
                    .expect("serve");
            });
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the app did not start");
        App {
            url,
            dir: dir.to_path_buf(),
            shutdown: Some(shutdown_tx),
            server: Some(server),
        }
    }

    /// Stops the app (gracefully) and returns its state directory.
    pub fn stop(mut self) -> PathBuf {
        self.shut_down();
        self.dir.clone()
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        reply(agent().get(format!("{}{path}", self.url)).call())
    }

    pub fn post(&self, path: &str, content_type: &str, body: &str) -> Reply {
        reply(
            agent()
                .post(format!("{}{path}", self.url))
                .header("content-type", content_type)
                .send(body),
        )
    }

    pub fn post_form(&self, path: &str, body: &str) -> Reply {
        self.post(path, "application/x-www-form-urlencoded", body)
    }

    pub fn post_json(&self, path: &str, body: Value) -> Reply {
        self.post(path, "application/json", &body.to_string())
    }

    pub fn request(&self, method: &str, path: &str) -> Reply {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .body(Vec::new())
            .expect("request");
        reply(agent().run(request))
    }

    /// Creates a user through the public API; returns it.
    pub fn create_user(&self, name: &str) -> Value {
        let reply = self.post_json("/public-api/users", serde_json::json!({ "name": name }));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["user"].clone()
    }

    /// Creates a listing through the public API; returns it.
    pub fn create_listing(&self, user_id: i64, listing_type: &str, price: i64) -> Value {
        let reply = self.post_json(
            "/public-api/listings",
            serde_json::json!({ "user_id": user_id, "listing_type": listing_type, "price": price }),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["listing"].clone()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.shut_down();
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub allow: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The error messages of a `{"result": false, "errors": [...]}` answer.
    pub fn errors(&self) -> Vec<String> {
        let body = self.json();
        assert_eq!(body["result"], false, "{}", self.body);
        body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors array: {}", self.body))
            .iter()
            .map(|e| e.as_str().unwrap_or_default().to_string())
            .collect()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("HTTP request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let allow = header("allow");
    Reply {
        status: response.status().as_u16(),
        content_type,
        allow,
        body: response.body_mut().read_to_string().expect("read body"),
    }
}
