//! Child processes of a test: each in a process group of its own, signalled as a whole and
//! killed when dropped; a server program's output goes to a log file in its directory.
//!
//! Starting a server is fallible ([`StartError`]) for the benchmark, which reports what did
//! not start and goes on; the tests' own starts panic with the same message.

use std::fmt;
use std::fs::File;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Why a program or server could not be started, with what it logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError(String);

impl StartError {
    pub(crate) fn new(message: impl Into<String>) -> StartError {
        StartError(message.into())
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// A started program, by what it is (e.g. `fn-host`, `sqld`) for messages.
pub(crate) struct Process {
    child: Child,
    what: String,
}

impl Process {
    /// Starts `command` in a process group of its own: `spin up` serves from a child process
    /// (`spin trigger http`), and a signal must reach both.
    pub fn spawn(command: &mut Command, what: &str) -> Process {
        Process::try_spawn(command, what).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_spawn(command: &mut Command, what: &str) -> Result<Process, StartError> {
        let child = command
            .process_group(0)
            .spawn()
            .map_err(|e| StartError::new(format!("start {what}: {e}")))?;
        Ok(Process { child, what: what.to_string() })
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Kills it without warning (SIGKILL), as a crash would, and waits until it is gone.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (up to 15 s) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for a child process") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} ignored SIGTERM", self.what);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the process group, unless the process was already reaped (its group
    /// id may belong to another process by now).
    pub fn signal(&mut self, signal: libc::c_int) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let group = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) takes plain integers and touches no memory of this process.
        unsafe { libc::kill(-group, signal) };
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server program (sqld, HAProxy, `wasmtime serve`) with its output in a log file, killed
/// when dropped; a test that fails while it runs prints the end of that log.
pub struct Daemon {
    process: Process,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command`, its output appended to `log` (a restart adds to the same log), and
    /// waits (up to 30 s) until it accepts connections on `port` of this machine.
    pub fn start(
        command: &mut Command,
        what: &str,
        log: &Path,
        port: u16,
    ) -> Result<Daemon, StartError> {
        let open = |e: std::io::Error| StartError::new(format!("open {}: {e}", log.display()));
        let file = File::options().create(true).append(true).open(log).map_err(open)?;
        let stderr = file.try_clone().map_err(open)?;
        let process =
            Process::try_spawn(command.stdin(Stdio::null()).stdout(file).stderr(stderr), what)?;
        let daemon = Daemon { process, log: log.to_path_buf() };
        daemon.listening_on(port)
    }

    fn listening_on(mut self, port: u16) -> Result<Daemon, StartError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let failure = match self.process.exited() {
                Some(status) => format!("exited ({status})"),
                None if Instant::now() > deadline => format!("did not listen on {port} in 30 s"),
                None => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            return Err(StartError::new(format!(
                "{} {failure}; the end of {}:\n{}",
                self.process.what,
                self.log.display(),
                self.log_tail()
            )));
        }
        Ok(self)
    }

    /// Its process (the leader of its process group).
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Sends `signal` to it, e.g. SIGSTOP and SIGCONT to freeze it and let it go on.
    pub fn signal(&mut self, signal: libc::c_int) {
        self.process.signal(signal);
    }

    /// Kills it without warning (SIGKILL) and waits until it is gone.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- the test failed while {} ran; the end of {}:\n{}",
                self.process.what,
                self.log.display(),
                self.log_tail()
            );
        }
    }
}
