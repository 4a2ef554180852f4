//! The systems under test: the app on `fn-host` (one process, one port for all three
//! services) and the reference stacks (three processes on three ports, started and stopped by
//! their own `start.sh` / `stop.sh`). Only one runs at a time.

use crate::probe;
use anyhow::{Context, Result, anyhow, bail};
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a host may take to answer after it was started.
const HOST_READY_DEADLINE: Duration = Duration::from_secs(120);
/// How long a reference's `start.sh` may take (it builds or installs on first use).
const ANCHOR_START_DEADLINE: Duration = Duration::from_secs(20 * 60);
/// How long a stopped process gets before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Where each service listens (all the same port on the host).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Ports {
    pub listings: u16,
    pub users: u16,
    pub public: u16,
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// An application for `fn-host up`.
#[derive(Clone, Debug)]
pub struct HostApp {
    pub manifest: PathBuf,
    pub runtime_config: PathBuf,
    /// Extra environment (e.g. required Spin variables).
    pub env: Vec<(String, String)>,
    /// A route that answers 2xx once a component has really served a request.
    pub ready_path: &'static str,
}

/// One start of `fn-host up`.
pub struct HostLaunch<'a> {
    pub binary: &'a Path,
    pub app: &'a HostApp,
    /// The working directory: runtime.toml's relative database paths land here.
    pub state_dir: &'a Path,
    pub cache_dir: &'a Path,
    pub reuse_one: bool,
    pub extra_args: &'a [String],
    pub log: PathBuf,
}

/// Time from spawning the process to its first successful answers.
#[derive(Clone, Copy, Debug)]
pub struct Startup {
    /// `GET /.well-known/spin/health` answered 2xx.
    pub health: Duration,
    /// The app's `ready_path` answered 2xx (a component instantiated and served).
    pub first_response: Duration,
}

/// A started system; stopped on `stop` or when dropped.
pub struct Running {
    pub name: String,
    pub ports: Ports,
    /// The processes whose memory counts as the system's.
    pub pids: Vec<u32>,
    kind: Kind,
    stopped: bool,
}

enum Kind {
    Host(Child),
    Anchor(Anchor),
}

/// Starts `fn-host up` and waits until the app answers.
pub fn start_host(name: &str, launch: &HostLaunch<'_>) -> Result<(Running, Startup)> {
    std::fs::create_dir_all(launch.state_dir)
        .with_context(|| format!("cannot create {}", launch.state_dir.display()))?;
    let port = free_port()?;
    let log = File::create(&launch.log)
        .with_context(|| format!("cannot create {}", launch.log.display()))?;
    let log_err = log
        .try_clone()
        .with_context(|| format!("cannot open {} twice", launch.log.display()))?;
    let mut command = Command::new(launch.binary);
    command
        .arg("up")
        .arg("--from")
        .arg(&launch.app.manifest)
        .arg("--runtime-config-file")
        .arg(&launch.app.runtime_config)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--state-dir")
        .arg(launch.state_dir.join(".spin"))
        .arg("--cache-dir")
        .arg(launch.cache_dir);
    if launch.reuse_one {
        command.args(["--max-instance-reuse-count", "1"]);
    }
    command
        .args(launch.extra_args)
        .current_dir(launch.state_dir)
        .env("RUST_LOG", "warn")
        .envs(launch.app.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", launch.binary.display()))?;
    let pid = child.id();
    if let Err(error) = register(Cleanup::Pid(pid)) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    let mut alive = || match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(format!("fn-host exited early ({status})")),
        Err(error) => Err(format!("cannot watch fn-host: {error}")),
    };
    let ready = probe::wait_for_2xx(
        port,
        "/.well-known/spin/health",
        spawned,
        HOST_READY_DEADLINE,
        &mut alive,
    )
    .and_then(|health| {
        probe::wait_for_2xx(
            port,
            launch.app.ready_path,
            spawned,
            HOST_READY_DEADLINE,
            &mut alive,
        )
        .map(|first_response| Startup {
            health,
            first_response,
        })
    });
    let running = Running {
        name: name.to_string(),
        ports: Ports {
            listings: port,
            users: port,
            public: port,
        },
        pids: vec![pid],
        kind: Kind::Host(child),
        stopped: false,
    };
    match ready {
        Ok(startup) => Ok((running, startup)),
        Err(error) => {
            drop(running);
            Err(anyhow!(
                "{name} did not come up: {error}\n--- {} (last lines) ---\n{}",
                launch.log.display(),
                log_tail(&launch.log)
            ))
        }
    }
}

/// A reference stack in a read-only folder with `start.sh` / `stop.sh`.
#[derive(Clone, Debug)]
pub struct Anchor {
    /// `tornado` or `native`.
    pub name: String,
    pub dir: PathBuf,
    /// The variable its scripts read their data directory from.
    pub data_var: &'static str,
    /// Databases, logs and the `pids` file go here (fresh for each run).
    pub data_dir: PathBuf,
}

impl Anchor {
    /// The references this benchmark knows, by name: `tornado` and `native` (`native-axum`).
    pub fn known(name: &str, anchors_dir: &Path, work_dir: &Path) -> Result<Anchor> {
        let (name, folder, data_var) = match name {
            "tornado" => ("tornado", "tornado", "TORNADO_DATA"),
            "native" | "native-axum" => ("native", "native-axum", "NATIVE_DATA"),
            other => bail!("unknown reference {other:?} (known: tornado, native)"),
        };
        Ok(Anchor {
            name: name.to_string(),
            dir: anchors_dir.join(folder),
            data_var,
            data_dir: work_dir.join(format!("{name}-data")),
        })
    }

    pub fn is_present(&self) -> bool {
        self.dir.join("start.sh").is_file() && self.dir.join("stop.sh").is_file()
    }

    /// `RESET=1 ./start.sh L U P`, then the PIDs it recorded.
    pub fn start(&self, log: &Path) -> Result<Running> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        let ports = Ports {
            listings: free_port()?,
            users: free_port()?,
            public: free_port()?,
        };
        register(Cleanup::Anchor(self.clone()))?;
        let outcome = run_script(
            &self.dir.join("start.sh"),
            &[ports.listings, ports.users, ports.public],
            &[("RESET", "1"), (self.data_var, path_str(&self.data_dir))],
            log,
            ANCHOR_START_DEADLINE,
        );
        let pids = outcome.and_then(|()| self.pids());
        match pids {
            Ok(pids) if !pids.is_empty() => Ok(Running {
                name: self.name.clone(),
                ports,
                pids,
                kind: Kind::Anchor(self.clone()),
                stopped: false,
            }),
            other => {
                // Whatever it did start, stop it.
                let _ = self.stop(log);
                let error = match other {
                    Ok(_) => anyhow!("start.sh recorded no process"),
                    Err(error) => error,
                };
                Err(error.context(format!(
                    "{} did not start (log: {})\n{}",
                    self.name,
                    log.display(),
                    log_tail(log)
                )))
            }
        }
    }

    fn pids(&self) -> Result<Vec<u32>> {
        let path = self.data_dir.join("pids");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(text
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect())
    }

    fn stop(&self, log: &Path) -> Result<()> {
        let result = run_script(
            &self.dir.join("stop.sh"),
            &[],
            &[(self.data_var, path_str(&self.data_dir))],
            log,
            Duration::from_secs(60),
        );
        unregister(|c| matches!(c, Cleanup::Anchor(a) if a.data_dir == self.data_dir));
        result
    }
}

impl Running {
    /// Stops the system and waits for it to be gone.
    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        match &mut self.kind {
            Kind::Host(child) => {
                let pid = child.id();
                let result = stop_child(child);
                unregister(|c| matches!(c, Cleanup::Pid(p) if *p == pid));
                result
            }
            Kind::Anchor(anchor) => {
                let log = anchor.data_dir.join("stop.log");
                anchor.stop(&log)
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            eprintln!("warning: stopping {}: {error:#}", self.name);
        }
    }
}

/// SIGTERM, a grace period, then SIGKILL.
fn stop_child(child: &mut Child) -> Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    terminate(child.id());
    let asked = Instant::now();
    while asked.elapsed() < STOP_GRACE {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().context("cannot kill the process")?;
    child.wait().context("cannot reap the process")?;
    Ok(())
}

fn terminate(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a PID this program spawned and has not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// Runs a script with bash, output appended to `log`, within `deadline`.
fn run_script(
    script: &Path,
    args: &[u16],
    env: &[(&str, &str)],
    log: &Path,
    deadline: Duration,
) -> Result<()> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let err = out.try_clone()?;
    let mut child = Command::new("bash")
        .arg(script)
        .args(args.iter().map(u16::to_string))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot run {}", script.display()))?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!("{} failed ({status})", script.display());
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{} took longer than {deadline:?}", script.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// The last lines of a log, for an error message.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// What to stop if the run is interrupted.
enum Cleanup {
    Pid(u32),
    Anchor(Anchor),
}

struct CleanupState {
    interrupted: bool,
    list: Vec<Cleanup>,
}

static CLEANUP: Mutex<CleanupState> = Mutex::new(CleanupState {
    interrupted: false,
    list: Vec::new(),
});

/// Records something to stop on Ctrl-C; refused once Ctrl-C was pressed, so that nothing new
/// starts while the handler is cleaning up.
fn register(cleanup: Cleanup) -> Result<()> {
    let mut state = CLEANUP
        .lock()
        .map_err(|_| anyhow!("cleanup registry poisoned"))?;
    if state.interrupted {
        bail!("interrupted");
    }
    state.list.push(cleanup);
    Ok(())
}

fn unregister(matches: impl Fn(&Cleanup) -> bool) {
    if let Ok(mut state) = CLEANUP.lock() {
        state.list.retain(|c| !matches(c));
    }
}

/// Keeps a child process (e.g. the load generator) on the Ctrl-C list while it lives.
pub struct PidGuard(u32);

impl PidGuard {
    pub fn new(pid: u32) -> Result<PidGuard> {
        register(Cleanup::Pid(pid))?;
        Ok(PidGuard(pid))
    }
}

impl Drop for PidGuard {
    fn drop(&mut self) {
        let pid = self.0;
        unregister(|c| matches!(c, Cleanup::Pid(p) if *p == pid));
    }
}

/// On Ctrl-C: stop whatever is running (the references' processes are not in our process
/// group's foreground job), then exit.
pub fn install_interrupt_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: stopping the systems under test");
        let list = match CLEANUP.lock() {
            Ok(mut state) => {
                state.interrupted = true;
                std::mem::take(&mut state.list)
            }
            Err(_) => Vec::new(),
        };
        for cleanup in list {
            match cleanup {
                Cleanup::Pid(pid) => terminate(pid),
                Cleanup::Anchor(anchor) => {
                    let log = anchor.data_dir.join("stop.log");
                    let _ = anchor.stop(&log);
                }
            }
        }
        std::process::exit(130);
    })
    .context("cannot install the Ctrl-C handler")
}
