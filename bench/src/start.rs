//! How each chosen system starts here, and the system once started: hosts, clusters and servers
//! as `testkit` starts them for the tests (killed when dropped), the Tornado and native
//! references by their own `start.sh` / `stop.sh`.

use crate::cli::Opts;
use crate::scenarios::Urls;
use crate::system::System;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::{Client, Cluster, ClusterPrograms, Daemon, Host, HostOptions, HostProgram};

/// How long a started system may take to answer its first request.
const READY_DEADLINE: Duration = Duration::from_secs(120);

/// What a system serves: the app, or the trivial component (`bench/trivial`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    App,
    Floor,
}

impl Served {
    /// A path that answers 2xx once a component has really served a request.
    pub fn ready_path(self) -> &'static str {
        if self == Served::App { "/listings?page_size=1" } else { "/hello" }
    }

    /// `program` serving it, with its state in `dir`: the app of `manifest` with the listing
    /// and user services routed (their own scenarios need them), its runtime config and
    /// `RUST_LOG=warn` (no line per request).
    fn on(self, program: HostProgram, manifest: &Path, dir: &Path) -> HostOptions {
        let options = match self {
            Served::App => HostOptions::new(program, manifest)
                .with_services_routed()
                .runtime_config(testkit::repo_root().join("runtime.toml")),
            Served::Floor => HostOptions::new(program, trivial_manifest()),
        };
        options.env("RUST_LOG", "warn").in_dir(dir)
    }
}

/// The trivial component's manifest.
fn trivial_manifest() -> PathBuf {
    testkit::repo_root().join("bench/trivial/spin.toml")
}

/// A system that can run here.
pub struct Setup {
    pub system: System,
    /// What the tables call it.
    pub label: String,
    how: How,
}

enum How {
    Host(HostSetup),
    /// `wasmtime serve`, and the fn-host that builds the trivial component for it.
    Wasmtime(PathBuf, HostProgram),
    Anchor(Anchor),
}

/// A host program serving the app on local files, or a cluster of them over sqld.
struct HostSetup {
    program: HostProgram,
    /// The configuration's `up` arguments, then the run's `--host-arg`s (fn-host only).
    args: Vec<String>,
    cache_dir: PathBuf,
    /// The app's: the system's flavour's, or the baseline's own (an older binary may not
    /// read today's).
    manifest: PathBuf,
    cluster: Option<ClusterPrograms>,
}

/// The systems asked for that can run here, and a note for each of the others. Compiled
/// components go to `run_dir`, so that the first start compiles.
pub fn find(opts: &Opts, fn_host: &Path, run_dir: &Path) -> (Vec<Setup>, Vec<String>) {
    let mut notes = Vec::new();
    let setups = (opts.systems().into_iter())
        .filter_map(|system| {
            Setup::find(system, opts, fn_host, run_dir)
                .map_err(|why| notes.push(format!("{}: {why}; skipped", system.label())))
                .ok()
        })
        .collect();
    (setups, notes)
}

impl Setup {
    fn find(system: System, opts: &Opts, fn_host: &Path, run_dir: &Path) -> Result<Setup, String> {
        let this_host = HostProgram::FnHost(fn_host.to_path_buf());
        let mut label = system.label().to_string();
        let mut host = HostSetup {
            program: this_host.clone(),
            args: (system.fn_host_args().iter().map(|arg| arg.to_string()))
                .chain(opts.host_args.iter().cloned())
                .collect(),
            cache_dir: run_dir.join("fn-host-cache"),
            manifest: system.flavour().manifest(),
            cluster: None,
        };
        let how = match system {
            System::FnHost | System::FnHostP2 | System::FnHostProcess | System::FnHostReuse1 => {
                How::Host(host)
            }
            System::Baseline => {
                let binary = (opts.baseline_fn_host.as_deref())
                    .ok_or("give its binary with --baseline-fn-host PATH")?;
                if !binary.is_file() {
                    return Err(format!("{} is not a file", binary.display()));
                }
                label =
                    (opts.baseline_label.clone()).unwrap_or_else(|| binary.display().to_string());
                host.program = HostProgram::FnHost(binary.to_path_buf());
                // A binary of its own may compile the components differently.
                host.cache_dir = run_dir.join("baseline-cache");
                host.manifest = opts.baseline_manifest.clone().unwrap_or(host.manifest);
                How::Host(host)
            }
            System::FnHostLibsql | System::FnHostLibsqlBalanced => {
                let hosts = if system == System::FnHostLibsql { 1 } else { 2 };
                host.cluster = Some(ClusterPrograms {
                    hosts: vec![this_host; hosts],
                    sqld: testkit::sqld_program()?,
                    balancer: testkit::balancer_program()?,
                });
                How::Host(host)
            }
            System::Spin | System::SpinP2 | System::Spin3 => {
                let spin3 = system == System::Spin3;
                let (variable, name) = if spin3 { ("SPIN3", "spin3") } else { ("SPIN", "spin") };
                let cli = testkit::find_tool(variable, name).ok_or(format!(
                    "no {name} CLI (set {variable} to one or put `{name}` on PATH)"
                ))?;
                let program = if spin3 { HostProgram::Spin3(cli) } else { HostProgram::Spin(cli) };
                How::Host(HostSetup { program, args: Vec::new(), ..host })
            }
            System::WasmtimeServe => How::Wasmtime(
                testkit::find_tool("WASMTIME", "wasmtime")
                    .ok_or("no wasmtime CLI (set WASMTIME to one or put `wasmtime` on PATH)")?,
                this_host,
            ),
            System::Tornado | System::Native => {
                let anchor = Anchor::of(system, &opts.anchors_dir());
                if !anchor.dir.join("start.sh").is_file() {
                    return Err(format!("not found at {}", anchor.dir.display()));
                }
                How::Anchor(anchor)
            }
        };
        Ok(Setup { system, label, how })
    }

    /// The third-party programs it runs, by name, for their versions in the report.
    pub fn programs(&self) -> Vec<(&'static str, &Path)> {
        match &self.how {
            How::Host(HostSetup { program: HostProgram::Spin(spin), .. }) => vec![("spin", spin)],
            How::Host(HostSetup { program: HostProgram::Spin3(spin), .. }) => vec![("spin3", spin)],
            How::Host(HostSetup { cluster: Some(cluster), .. }) => {
                vec![("sqld", &cluster.sqld), ("haproxy", &cluster.balancer)]
            }
            How::Wasmtime(wasmtime, _) => vec![("wasmtime", wasmtime)],
            How::Host(_) | How::Anchor(_) => Vec::new(),
        }
    }

    /// Starts the system serving `served` (the references serve their own app), its state in
    /// `dir`, and waits until it answers [`Served::ready_path`]. A host's components are
    /// built first (as `fn-host build` / `spin build` do), outside the time it takes to start.
    pub fn start(&self, served: Served, dir: &Path) -> Result<Started> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (running, spawned) = match &self.how {
            How::Host(host) => {
                let mut options = served.on(host.program.clone(), &host.manifest, dir);
                (options.args, options.cache_dir) = (host.args.clone(), host.cache_dir.clone());
                (host.program).build(options.built_from.as_ref().unwrap_or(&options.manifest));
                let spawned = Instant::now();
                match &host.cluster {
                    None => (Running::Host(options.start()), spawned),
                    Some(on) => (Running::Cluster(options.on(on.clone()).start()), spawned),
                }
            }
            How::Wasmtime(wasmtime, builder) => {
                builder.build(&trivial_manifest());
                let spawned = Instant::now();
                let (url, _daemon) = wasmtime_serve(wasmtime, dir)?;
                (Running::Server { url, _daemon }, spawned)
            }
            How::Anchor(anchor) => (Running::Anchor(anchor.start(dir)?), Instant::now()),
        };
        let ready = wait_for_2xx(&running.urls().public, served.ready_path(), spawned)?;
        Ok(Started { running, ready })
    }
}

/// A started system, and how long after its start it first answered.
pub struct Started {
    pub running: Running,
    /// The ready path answered 2xx: a component instantiated and served.
    pub ready: Duration,
}

/// A running system; stopped when dropped.
pub enum Running {
    Host(Host),
    Cluster(Cluster),
    /// A server that is not a Spin host (wasmtime serve).
    Server {
        url: String,
        _daemon: Daemon,
    },
    Anchor(StartedAnchor),
}

impl Running {
    /// Where each service is served.
    pub fn urls(&self) -> Urls {
        match self {
            Running::Host(host) => Urls::all(host.url()),
            Running::Cluster(cluster) => Urls::all(cluster.url()),
            Running::Server { url, .. } => Urls::all(url),
            Running::Anchor(anchor) => anchor.urls.clone(),
        }
    }

    /// Each host process's RSS in KiB (not a cluster's sqld and HAProxy, nor Spin's child).
    pub fn hosts_rss_kib(&self) -> Vec<u64> {
        match self {
            Running::Host(host) => vec![host.rss_bytes() / 1024],
            Running::Cluster(cluster) => {
                cluster.hosts.iter().map(|h| h.rss_bytes() / 1024).collect()
            }
            _ => vec![testkit::memory::rss_kib(&self.processes())],
        }
    }

    /// The processes whose trees are the system: the references' recorded ones, else every
    /// child of this process (only one system runs at a time, and the load generator has not
    /// started yet when this is asked).
    pub fn processes(&self) -> Vec<u32> {
        match self {
            Running::Anchor(anchor) => anchor.pids.clone(),
            _ => testkit::memory::children(std::process::id()),
        }
    }
}

/// `wasmtime serve` on a free port serving the trivial component, its log in `dir`. `-Scli`
/// gives it the WASI interfaces beyond the proxy world that Rust's standard library imports.
fn wasmtime_serve(program: &Path, dir: &Path) -> Result<(String, Daemon)> {
    let port = testkit::free_ports(1)[0];
    let wasm = testkit::repo_root().join("target/wasm32-wasip2/release/trivial.wasm");
    let mut command = Command::new(program);
    command.args(["serve", "-Scli", "--addr"]).arg(format!("127.0.0.1:{port}")).arg(wasm);
    let daemon = Daemon::start(&mut command, "wasmtime serve", &dir.join("wasmtime.log"), port)?;
    Ok((format!("http://127.0.0.1:{port}"), daemon))
}

/// Polls `GET base+path` until it answers 2xx; returns when, measured from `since`.
fn wait_for_2xx(base: &str, path: &str, since: Instant) -> Result<Duration> {
    let mut last = String::from("no answer");
    while since.elapsed() < READY_DEADLINE {
        match testkit::try_get(&format!("{base}{path}")) {
            Ok(reply) if (200..300).contains(&reply.status) => return Ok(since.elapsed()),
            Ok(reply) => last = format!("HTTP {}: {}", reply.status, reply.body),
            Err(error) => last = error,
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    bail!("GET {path} gave no 2xx within {READY_DEADLINE:?} (last: {last})")
}

/// A reference stack in a folder with `start.sh` / `stop.sh`, which take the three ports and
/// keep their data, logs and `pids` in the folder a variable names.
#[derive(Clone, Debug)]
pub struct Anchor {
    dir: PathBuf,
    data_var: &'static str,
}

impl Anchor {
    fn of(system: System, anchors_dir: &Path) -> Anchor {
        let (folder, data_var) = match system {
            System::Tornado => ("tornado", "TORNADO_DATA"),
            _ => ("native-axum", "NATIVE_DATA"),
        };
        Anchor { dir: anchors_dir.join(folder), data_var }
    }

    /// `RESET=1 ./start.sh LISTINGS USERS PUBLIC` on free ports, its data in `data_dir`.
    fn start(&self, data_dir: &Path) -> Result<StartedAnchor> {
        let ports = testkit::free_ports(3);
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        // From here on, dropping it runs stop.sh, whatever start.sh got to start.
        let mut started = StartedAnchor {
            anchor: self.clone(),
            data_dir: data_dir.to_path_buf(),
            urls: Urls { listings: url(ports[0]), users: url(ports[1]), public: url(ports[2]) },
            pids: Vec::new(),
        };
        started.script("start.sh", &ports)?;
        let pids = data_dir.join("pids");
        let pids = std::fs::read_to_string(&pids)
            .with_context(|| format!("cannot read {}", pids.display()))?;
        started.pids = pids.lines().filter_map(|line| line.trim().parse().ok()).collect();
        Ok(started)
    }
}

/// A started reference; `stop.sh` when dropped.
pub struct StartedAnchor {
    anchor: Anchor,
    data_dir: PathBuf,
    urls: Urls,
    pids: Vec<u32>,
}

impl StartedAnchor {
    /// Runs `script` of the reference with `ports`, its output in `<script>.log`.
    fn script(&self, script: &str, ports: &[u16]) -> Result<()> {
        let log = self.data_dir.join(format!("{script}.log"));
        let log = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let status = Command::new("bash")
            .arg(self.anchor.dir.join(script))
            .args(ports.iter().map(u16::to_string))
            .env("RESET", "1")
            .env(self.anchor.data_var, &self.data_dir)
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .with_context(|| format!("cannot run {script}"))?;
        if !status.success() {
            bail!("{script} failed ({status}); see {script}.log in {}", self.data_dir.display());
        }
        Ok(())
    }
}

impl Drop for StartedAnchor {
    fn drop(&mut self) {
        if let Err(error) = self.script("stop.sh", &[]) {
            eprintln!("warning: {error:#}");
        }
    }
}
