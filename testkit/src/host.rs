//! A host process: started on a free port and fresh state, stopped gracefully or as a crash.

use crate::options::HostOptions;
use crate::output::Output;
use crate::paths::fresh_dir;
use crate::process::Process;
use crate::program::HostProgram;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

impl HostOptions {
    fn command(&self, work_dir: &Path) -> Command {
        let mut command = Command::new(self.on.path());
        command
            .current_dir(work_dir)
            .arg(self.subcommand)
            .arg("--from")
            .arg(&self.manifest)
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(work_dir.join(".spin"));
        if let Some(runtime_config) = &self.runtime_config {
            command.arg("--runtime-config-file").arg(runtime_config);
        }
        if let HostProgram::FnHost(_) = self.on {
            command.arg("--cache-dir").arg(&self.cache_dir).env("RUST_LOG", "info");
        }
        command.args(&self.args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SPIN_VARIABLE_") {
                command.env_remove(key);
            }
        }
        command.envs(self.env.iter().map(|(key, value)| (key, value)));
        command
    }

    /// Builds the components, starts the host and waits until it serves.
    pub fn start(self) -> Host {
        self.on.build(self.built_from.as_ref().unwrap_or(&self.manifest));
        let work_dir = self.work_dir.clone().unwrap_or_else(fresh_dir);
        let mut process = Process::spawn(
            self.command(&work_dir).stdout(Stdio::piped()).stderr(Stdio::piped()),
            &self.on.to_string(),
        );
        let (output, serving) = Output::capture(process.child());
        let mut host = Host { process, program: self.on, url: String::new(), work_dir, output };
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
        let mut process = Process::spawn(
            self.command(&work_dir)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr_file).expect("create the stderr file")),
            &self.on.to_string(),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = process.exited() {
                break status;
            }
            assert!(Instant::now() < deadline, "{} started but should have failed", self.on);
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success(), "{} exited successfully but should have failed", self.on);
        let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
        (status.code(), stderr)
    }
}

/// A running host; killed when dropped. A test that fails while it runs prints which host it
/// was and the end of its output.
pub struct Host {
    process: Process,
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

    /// The host process's resident memory (VmRSS), in bytes (its main process only).
    pub fn rss_bytes(&self) -> u64 {
        let kib = crate::memory::status_kib(self.process.id(), "VmRSS");
        kib.expect("VmRSS in the host's /proc status") * 1024
    }

    /// Kills the host without warning (SIGKILL), as a crash would, and waits until it is gone;
    /// returns its working directory.
    pub fn crash(mut self) -> PathBuf {
        self.process.kill();
        self.work_dir.clone()
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        self.process.terminate()
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
    }
}
