//! A host process: started on a free port and fresh state, stopped gracefully or as a crash.

use crate::output::Output;
use crate::paths::{fresh_dir, shared_cache_dir};
use crate::program::HostProgram;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How to start a host.
pub struct HostOptions {
    pub program: HostProgram,
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    /// More arguments of `up`.
    pub args: Vec<String>,
    /// The host's environment on top of the test's own, whose `SPIN_VARIABLE_*` are removed.
    pub env: Vec<(String, String)>,
    /// The host's working directory: both hosts resolve a runtime config's relative database
    /// paths against it, and its `.spin/` is the state directory. A fresh one if `None`; an
    /// existing one restarts on its data.
    pub work_dir: Option<PathBuf>,
    /// Where fn-host keeps compiled components (Spin keeps its own cache).
    pub cache_dir: PathBuf,
}

impl HostOptions {
    pub fn new(program: HostProgram, manifest: impl Into<PathBuf>) -> Self {
        HostOptions {
            program,
            manifest: manifest.into(),
            runtime_config: None,
            args: Vec::new(),
            env: Vec::new(),
            work_dir: None,
            cache_dir: shared_cache_dir(),
        }
    }

    pub fn runtime_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_config = Some(path.into());
        self
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
        self.work_dir = Some(dir.to_path_buf());
        self
    }

    fn command(&self, work_dir: &Path) -> Command {
        let mut command = Command::new(self.program.path());
        command
            .current_dir(work_dir)
            .arg("up")
            .arg("--from")
            .arg(&self.manifest)
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(work_dir.join(".spin"));
        if let Some(runtime_config) = &self.runtime_config {
            command.arg("--runtime-config-file").arg(runtime_config);
        }
        if let HostProgram::FnHost(_) = self.program {
            command
                .arg("--cache-dir")
                .arg(&self.cache_dir)
                .env("RUST_LOG", "info");
        }
        command.args(&self.args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(key);
            }
        }
        command.envs(self.env.iter().map(|(key, value)| (key, value)));
        // A process group of its own: `spin up` serves from a child process (`spin trigger
        // http`), and a signal must reach both.
        command.process_group(0);
        command
    }

    /// Builds the components, starts the host and waits until it serves.
    pub fn start(self) -> Host {
        self.program.build(&self.manifest);
        let work_dir = self.work_dir.clone().unwrap_or_else(fresh_dir);
        let mut child = self
            .command(&work_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.program));
        let (output, serving) = Output::capture(&mut child);
        let mut host = Host {
            child,
            program: self.program,
            url: String::new(),
            work_dir,
            output,
        };
        // Both hosts compile the components on their first start: allow for a slow machine.
        match serving.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => host.url = url,
            Err(_) => panic!("{} did not start", host.program),
        }
        host
    }

    /// Runs the host expecting it to fail at start; returns its exit code and stderr.
    pub fn fail_to_start(self) -> (Option<i32>, String) {
        let work_dir = self.work_dir.clone().unwrap_or_else(fresh_dir);
        let stderr_file = work_dir.join("stderr.txt");
        let mut child = self
            .command(&work_dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_file).expect("create the stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.program));
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the host") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{} started but should have failed", self.program);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            !status.success(),
            "{} exited successfully but should have failed",
            self.program
        );
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        (status.code(), stderr)
    }
}

/// A running host; killed when dropped. A test that fails while it runs prints which host it
/// was and the end of its output.
pub struct Host {
    child: Child,
    pub program: HostProgram,
    pub url: String,
    pub work_dir: PathBuf,
    output: Output,
}

impl Host {
    /// Everything the host printed so far.
    pub fn logs(&self) -> String {
        self.output.text()
    }

    /// Waits (up to 10 s) until the host has printed a line containing `needle`.
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

    /// Kills the host without warning (SIGKILL), as a crash would; returns its working directory.
    pub fn crash(mut self) -> PathBuf {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        self.work_dir.clone()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the host") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} ignored SIGTERM",
                self.program
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the host's process group, unless the host was already reaped (its
    /// group id may belong to another process by now).
    fn signal(&mut self, signal: libc::c_int) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let group = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) takes plain integers and touches no memory of this process.
        unsafe { libc::kill(-group, signal) };
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- the test failed on {} ({}, {}); its last output:\n{}",
                self.program,
                self.url,
                self.work_dir.display(),
                self.output.tail(40)
            );
        }
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}
