//! Shared by the host's end-to-end tests: builds the test guest once, starts `fn-host up` as a
//! real process on a free port with its own state directory, and speaks HTTP to it.

#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The test app (`host/tests/app/spin.toml`).
pub fn test_manifest() -> PathBuf {
    repo_root().join("host/tests/app/spin.toml")
}

/// Compiled components shared by every test, so each component is compiled once per run.
pub fn shared_cache_dir() -> PathBuf {
    repo_root().join("target/fn-host-test-cache")
}

/// Builds the components of `manifest` with `fn-host build`, once per manifest per test binary.
pub fn build_components(manifest: &Path) {
    static BUILT: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if built.iter().any(|m| m == manifest) {
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_fn-host"))
        .arg("build")
        .arg("--from")
        .arg(manifest)
        .output()
        .expect("run fn-host build");
    assert!(
        output.status.success(),
        "fn-host build failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    built.push(manifest.to_path_buf());
}

/// A running `fn-host up`; killed when dropped.
pub struct Host {
    child: Child,
    pub url: String,
    pub state_dir: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
}

/// How to start a host.
pub struct HostOptions {
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Reuse this working/state directory (to restart on the same data); a fresh one if `None`.
    pub state_dir: Option<PathBuf>,
    pub cache_dir: PathBuf,
}

impl HostOptions {
    /// The test app with its runtime config and the one required variable set.
    pub fn test_app() -> Self {
        let manifest = test_manifest();
        HostOptions {
            runtime_config: Some(manifest.with_file_name("runtime.toml")),
            manifest,
            args: Vec::new(),
            env: vec![("SPIN_VARIABLE_SECRET_TOKEN".into(), "t0ken".into())],
            state_dir: None,
            cache_dir: shared_cache_dir(),
        }
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.state_dir = Some(dir.to_path_buf());
        self
    }

    /// The command that starts this host (working directory = the state directory, so the
    /// runtime config's relative database paths land in it).
    fn command(&self, state_dir: &Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fn-host"));
        command
            .current_dir(state_dir)
            .arg("up")
            .arg("--from")
            .arg(&self.manifest)
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir.join(".spin"))
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .args(&self.args)
            .env("RUST_LOG", "info")
            .env_remove("SPIN_VARIABLE_GREETING")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(runtime_config) = &self.runtime_config {
            command.arg("--runtime-config-file").arg(runtime_config);
        }
        command
    }

    /// Starts the host and waits until it serves.
    pub fn start(self) -> Host {
        build_components(&self.manifest);
        let state_dir = self.state_dir.clone().unwrap_or_else(fresh_dir);
        let mut child = self
            .command(&state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fn-host");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (serving_tx, serving_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        for (stream, serving) in [
            (
                Box::new(stdout) as Box<dyn std::io::Read + Send>,
                Some(serving_tx),
            ),
            (Box::new(stderr), None),
        ] {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let (Some(serving), Some(url)) = (&serving, line.strip_prefix("Serving ")) {
                        let _ = serving.send(url.to_string());
                    }
                    logs.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let url = match serving_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "fn-host did not start:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        Host {
            child,
            url,
            state_dir,
            logs,
        }
    }

    /// Runs the host expecting it to fail at start; returns its exit code and stderr.
    pub fn fail_to_start(self) -> (Option<i32>, String) {
        let state_dir = self.state_dir.clone().unwrap_or_else(fresh_dir);
        let stderr_file = state_dir.join("stderr.txt");
        let mut child = self
            .command(&state_dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_file).expect("create stderr file"))
            .spawn()
            .expect("run fn-host");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for fn-host") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("fn-host started but should have failed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            !status.success(),
            "fn-host exited successfully but should have failed"
        );
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        (status.code(), stderr)
    }
}

/// A new empty directory under `target/`, kept after the run for inspection.
pub fn fresh_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = repo_root().join(format!("target/fn-host-tests/{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("HTTP request");
    Reply {
        status: response.status().as_u16(),
        headers: response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body: response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .expect("read body"),
    }
}

impl Host {
    pub fn get(&self, path: &str) -> Reply {
        reply(agent().get(format!("{}{path}", self.url)).call())
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        reply(
            agent()
                .post(format!("{}{path}", self.url))
                .header("content-type", content_type)
                .send(body),
        )
    }

    pub fn send(&self, request: ureq::http::Request<Vec<u8>>) -> Reply {
        reply(agent().run(request))
    }

    /// Everything the host printed so far.
    pub fn logs(&self) -> String {
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Waits until the host has logged a line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Kills the process without warning, as a crash would.
    pub fn crash(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.state_dir.clone()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for fn-host") {
                return status;
            }
            assert!(Instant::now() < deadline, "fn-host ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
