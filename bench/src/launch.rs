//! Starting and stopping the systems, one at a time. fn-host and Spin are processes of ours,
//! each started in a process group of its own (Spin forks a child) and stopped as a group; the
//! Tornado and native references start and stop themselves with their `start.sh` / `stop.sh`;
//! sqld and HAProxy are started by `testkit` (as the scale-out tests start them) and killed
//! when dropped. Ctrl-C stops whatever is running.

use crate::probe;
use crate::system::System;
use anyhow::{Context, Result, anyhow, bail};
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
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

/// Where each service listens (all the same port on a host).
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub listings: u16,
    pub users: u16,
    pub public: u16,
}

impl Ports {
    /// Every service on one port.
    pub fn all(port: u16) -> Ports {
        Ports {
            listings: port,
            users: port,
            public: port,
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// `name` in a folder of PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The first line `<binary> --version` prints, e.g. `oha 1.16.0`.
pub fn version(binary: &Path) -> Result<String> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !output.status.success() {
        bail!("{} --version failed", binary.display());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout.lines().next().unwrap_or_default().trim().to_string())
}

/// One way to run fn-host: its binary, its `up` arguments (the configuration's, then the
/// run's `--host-arg`s) and where it keeps compiled components.
#[derive(Clone, Debug)]
pub struct FnHost {
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub cache_dir: PathBuf,
    /// A manifest of its own instead of the app's (an older binary may not read today's).
    pub manifest: Option<PathBuf>,
}

/// An application for a host: what it serves, and a route that answers 2xx once a component
/// has really served a request.
#[derive(Clone, Debug)]
pub struct App {
    pub manifest: PathBuf,
    pub runtime_config: PathBuf,
    /// Extra environment (e.g. required Spin variables).
    pub env: Vec<(String, String)>,
    pub ready_path: &'static str,
}

impl App {
    /// `fn-host up` serving the app (`--listen` is added by [`start_host`]). `state_dir` is
    /// the working directory, where runtime.toml's relative database paths land.
    pub fn fn_host(&self, host: &FnHost, state_dir: &Path) -> Command {
        let manifest = host.manifest.as_deref().unwrap_or(&self.manifest);
        let mut command = self.up(&host.binary, manifest, state_dir);
        command.arg("--cache-dir").arg(&host.cache_dir);
        command.args(&host.args);
        command
    }

    /// `spin up` serving the app with Spin's defaults (its instance reuse included). Spin
    /// resolves runtime.toml's SQLite paths against its working directory too.
    pub fn spin(&self, binary: &Path, state_dir: &Path) -> Command {
        self.up(binary, &self.manifest, state_dir)
    }

    /// `<binary> up` with the flags both hosts share; `--listen` is added by [`start_host`].
    fn up(&self, binary: &Path, manifest: &Path, state_dir: &Path) -> Command {
        let mut command = Command::new(binary);
        command
            .arg("up")
            .arg("--from")
            .arg(manifest)
            .arg("--runtime-config-file")
            .arg(&self.runtime_config)
            .arg("--state-dir")
            .arg(state_dir.join(".spin"))
            .current_dir(state_dir)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// Time from spawning a host to its first successful answers.
#[derive(Clone, Copy, Debug)]
pub struct Startup {
    /// `GET /.well-known/spin/health` answered 2xx.
    pub health: Duration,
    /// The app's `ready_path` answered 2xx (a component instantiated and served).
    pub first_response: Duration,
}

/// A started system; stopped on `stop` or when dropped.
pub struct Running {
    /// For messages, e.g. "fn-host floor".
    pub name: String,
    pub ports: Ports,
    /// The processes whose trees' memory counts as the system's.
    pub pids: Vec<u32>,
    kind: Kind,
    stopped: bool,
}

enum Kind {
    /// A process group of ours, led by this child.
    Group(Child),
    Anchor(StartedAnchor),
    /// Until it is stopped.
    Server(Option<Server>),
    /// Systems that make one, stopped together, the last started first.
    Parts(Vec<Running>),
}

/// A server `testkit` started, in a process group of its own; killed when dropped.
pub enum Server {
    Sqld(testkit::Sqld),
    Balancer(testkit::Balancer),
}

impl Server {
    fn pid(&self) -> u32 {
        match self {
            Server::Sqld(sqld) => sqld.pid(),
            Server::Balancer(balancer) => balancer.pid(),
        }
    }
}

/// Starts a host `command` listening on a free port, output appended to `log`, and waits
/// until it answers on `ready_path`.
pub fn start_host(
    name: &str,
    mut command: Command,
    ready_path: &str,
    log: &Path,
) -> Result<(Running, Startup)> {
    if let Some(dir) = command.get_current_dir() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let port = free_port()?;
    // Appended to: fn-host serves the same state dir again with --reuse-one.
    let (out, err) = output_to(log)?;
    command
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let program = command.get_program().to_string_lossy().into_owned();
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let pid = child.id();
    let ready = register(Cleanup::Group(pid))
        .map_err(|error| error.to_string())
        .and_then(|()| wait_until_ready(&mut child, port, ready_path, spawned));
    // From here on, dropping it stops it.
    let running = Running {
        name: name.to_string(),
        ports: Ports::all(port),
        pids: vec![pid],
        kind: Kind::Group(child),
        stopped: false,
    };
    match ready {
        Ok(startup) => Ok((running, startup)),
        Err(error) => {
            drop(running);
            Err(anyhow!(
                "{name} did not come up: {error}\n--- {} (last lines) ---\n{}",
                log.display(),
                log_tail(log)
            ))
        }
    }
}

/// Waits until the health endpoint, then `path`, answer 2xx (not if the process exits).
fn wait_until_ready(
    child: &mut Child,
    port: u16,
    path: &str,
    spawned: Instant,
) -> Result<Startup, String> {
    let mut alive = || match child.try_wait() {
        Ok(None) => Ok(()),
        Ok(Some(status)) => Err(format!("exited early ({status})")),
        Err(error) => Err(format!("cannot watch the process: {error}")),
    };
    let deadline = HOST_READY_DEADLINE;
    let health = probe::wait_for_2xx(
        port,
        "/.well-known/spin/health",
        spawned,
        deadline,
        &mut alive,
    )?;
    let first_response = probe::wait_for_2xx(port, path, spawned, deadline, &mut alive)?;
    Ok(Startup {
        health,
        first_response,
    })
}

impl Running {
    /// A started server, stopped with the system it is part of (and on Ctrl-C).
    pub fn server(name: &str, port: u16, server: Server) -> Result<Running> {
        let pid = server.pid();
        // Dropped (killed) here if Ctrl-C came first.
        register(Cleanup::Group(pid))?;
        Ok(Running {
            name: name.to_string(),
            ports: Ports::all(port),
            pids: vec![pid],
            kind: Kind::Server(Some(server)),
            stopped: false,
        })
    }

    /// One system of several started `parts`, served on `port`; its memory is theirs.
    pub fn together(name: &str, port: u16, parts: Vec<Running>) -> Running {
        Running {
            name: name.to_string(),
            ports: Ports::all(port),
            pids: parts.iter().flat_map(|part| part.pids.clone()).collect(),
            kind: Kind::Parts(parts),
            stopped: false,
        }
    }

    /// Stops the system and waits for it to be gone.
    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        match &mut self.kind {
            Kind::Group(child) => {
                let pid = child.id();
                let result = stop_group(child);
                unregister(|c| matches!(c, Cleanup::Group(p) if *p == pid));
                result
            }
            Kind::Anchor(anchor) => anchor.stop(),
            Kind::Server(server) => {
                if let Some(server) = server.take() {
                    let pid = server.pid();
                    drop(server);
                    unregister(|c| matches!(c, Cleanup::Group(p) if *p == pid));
                }
                Ok(())
            }
            Kind::Parts(parts) => parts
                .iter_mut()
                .rev()
                .map(Running::stop)
                .fold(Ok(()), Result::and),
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

/// SIGTERM to the group, a grace period for its leader, then SIGKILL to whatever is left.
fn stop_group(leader: &mut Child) -> Result<()> {
    let pid = leader.id();
    signal_group(pid, libc::SIGTERM);
    let asked = Instant::now();
    while leader.try_wait()?.is_none() {
        if asked.elapsed() > STOP_GRACE {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(pid, libc::SIGKILL);
    leader.wait().context("cannot reap the process")?;
    Ok(())
}

/// Sends `signal` to the process group `pid` leads (gone already: nothing happens).
fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) on a process group this program created and has not reaped.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// A reference stack in a read-only folder with `start.sh` / `stop.sh`.
#[derive(Clone, Debug)]
pub struct Anchor {
    pub system: System,
    pub dir: PathBuf,
    /// The variable its scripts read their data directory from.
    data_var: &'static str,
}

/// A reference started with its databases, logs and `pids` file in `data_dir`.
#[derive(Clone, Debug)]
struct StartedAnchor {
    anchor: Anchor,
    data_dir: PathBuf,
}

impl Anchor {
    /// The reference's folder under `anchors_dir`; `None` for a system that is not one.
    pub fn of(system: System, anchors_dir: &Path) -> Option<Anchor> {
        let (folder, data_var) = match system {
            System::Tornado => ("tornado", "TORNADO_DATA"),
            System::Native => ("native-axum", "NATIVE_DATA"),
            _ => return None,
        };
        Some(Anchor {
            system,
            dir: anchors_dir.join(folder),
            data_var,
        })
    }

    pub fn is_present(&self) -> bool {
        self.dir.join("start.sh").is_file() && self.dir.join("stop.sh").is_file()
    }

    /// `RESET=1 ./start.sh L U P` with its data in `data_dir` (fresh), then the PIDs it
    /// recorded.
    pub fn start(&self, data_dir: PathBuf, log: &Path) -> Result<Running> {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let started = StartedAnchor {
            anchor: self.clone(),
            data_dir,
        };
        let ports = Ports {
            listings: free_port()?,
            users: free_port()?,
            public: free_port()?,
        };
        register(Cleanup::Anchor(started.clone()))?;
        let outcome = run_script(
            &self.dir.join("start.sh"),
            &[ports.listings, ports.users, ports.public],
            &[("RESET", "1"), (self.data_var, path_str(&started.data_dir))],
            log,
            ANCHOR_START_DEADLINE,
        );
        match outcome.and_then(|()| started.pids()) {
            Ok(pids) if !pids.is_empty() => Ok(Running {
                name: self.system.label().to_string(),
                ports,
                pids,
                kind: Kind::Anchor(started),
                stopped: false,
            }),
            other => {
                // Whatever it did start, stop it.
                let _ = started.stop();
                let error = match other {
                    Ok(_) => anyhow!("start.sh recorded no process"),
                    Err(error) => error,
                };
                Err(error.context(format!(
                    "{} did not start (log: {})\n{}",
                    self.system.label(),
                    log.display(),
                    log_tail(log)
                )))
            }
        }
    }
}

impl StartedAnchor {
    fn pids(&self) -> Result<Vec<u32>> {
        let path = self.data_dir.join("pids");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(text
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect())
    }

    /// `./stop.sh`, its output in `stop.log` beside the data.
    fn stop(&self) -> Result<()> {
        let result = run_script(
            &self.anchor.dir.join("stop.sh"),
            &[],
            &[(self.anchor.data_var, path_str(&self.data_dir))],
            &self.data_dir.join("stop.log"),
            Duration::from_secs(60),
        );
        unregister(|c| matches!(c, Cleanup::Anchor(a) if a.data_dir == self.data_dir));
        result
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
    let (out, err) = output_to(log)?;
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

/// A child's stdout and stderr, both appended to `log`.
fn output_to(log: &Path) -> Result<(File, File)> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let err = out.try_clone()?;
    Ok((out, err))
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
    Group(u32),
    Anchor(StartedAnchor),
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

/// Keeps a process group of ours (e.g. the load generator's) on the Ctrl-C list while it
/// lives.
pub struct GroupGuard(u32);

impl GroupGuard {
    pub fn new(pid: u32) -> Result<GroupGuard> {
        register(Cleanup::Group(pid))?;
        Ok(GroupGuard(pid))
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let pid = self.0;
        unregister(|c| matches!(c, Cleanup::Group(p) if *p == pid));
    }
}

/// On Ctrl-C: stop whatever is running (none of it is in our foreground process group, so
/// the terminal's SIGINT does not reach it), then exit.
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
                Cleanup::Group(pid) => signal_group(pid, libc::SIGTERM),
                Cleanup::Anchor(anchor) => {
                    let _ = anchor.stop();
                }
            }
        }
        std::process::exit(130);
    })
    .context("cannot install the Ctrl-C handler")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `pid` still runs (a zombie no longer does).
    fn runs(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    }

    #[test]
    fn stopping_a_group_stops_the_children_its_leader_forked() -> Result<()> {
        let mut leader = Command::new("sh")
            .args(["-c", "sleep 60 & wait"])
            .process_group(0)
            .spawn()?;
        let started = Instant::now();
        let family = loop {
            let family = crate::rss::tree(&[leader.id()]);
            if family.len() == 2 || started.elapsed() > Duration::from_secs(5) {
                break family;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(family.len(), 2, "{family:?}");
        stop_group(&mut leader)?;
        // The children get the signal at once, and are gone a moment later.
        let stopped = Instant::now();
        while family.iter().any(|pid| runs(*pid)) && stopped.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!family.iter().any(|pid| runs(*pid)), "{family:?}");
        Ok(())
    }

    #[test]
    fn a_host_that_exits_early_is_an_error_with_its_log() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("bench-launch-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let log = dir.join("host.log");
        let mut command = Command::new("sh");
        // `--listen ADDRESS` lands in $1 and $2.
        command.args(["-c", "echo \"cannot serve $2\"; exit 3", "host"]);
        let error = start_host("fake host", command, "/", &log)
            .err()
            .map(|e| format!("{e:#}"));
        std::fs::remove_dir_all(&dir)?;
        let error = error.unwrap_or_default();
        assert!(
            error.contains("fake host did not come up: exited early"),
            "{error}"
        );
        assert!(error.contains("cannot serve 127.0.0.1:"), "{error}");
        Ok(())
    }
}
