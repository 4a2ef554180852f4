//! The app scaled out, on one machine as across several: each SQLite database of its runtime
//! config on a libSQL server (sqld) of its own, several hosts over them, HAProxy in front.

use crate::balancer::{Balancer, SERVED_BY, balancer_program};
use crate::client::{Client, Reply};
use crate::host::Host;
use crate::link::Link;
use crate::options::RunOptions;
use crate::paths::fresh_dir;
use crate::ports::free_ports;
use crate::program::HostProgram;
use crate::runtime_config::RuntimeConfig;
use crate::sqld::{Sqld, sqld_program};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::thread::ScopedJoinHandle;

/// The programs a cluster runs: its hosts, the libSQL server and the balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPrograms {
    pub hosts: Vec<HostProgram>,
    pub sqld: PathBuf,
    pub balancer: PathBuf,
}

impl ClusterPrograms {
    /// Two `fn_host` processes and `spin` if given, over sqld, behind HAProxy; else why not.
    pub fn find(
        fn_host: &HostProgram,
        spin: Option<&HostProgram>,
    ) -> Result<ClusterPrograms, &'static str> {
        let mut hosts = vec![fn_host.clone(), fn_host.clone()];
        hosts.extend(spin.cloned());
        Ok(ClusterPrograms { hosts, sqld: sqld_program()?, balancer: balancer_program()? })
    }
}

impl fmt::Display for ClusterPrograms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self.hosts.iter().map(HostProgram::to_string).collect();
        write!(f, "a cluster ({} behind HAProxy)", hosts.join(", "))
    }
}

impl RunOptions<ClusterPrograms> {
    /// Starts the databases and the hosts at once, then the balancer in front of the hosts.
    /// All state is in the work directory: `<label>.sqld/` per database, `host-<n>/` per host;
    /// an existing one starts again on its data.
    pub fn start(self) -> Cluster {
        self.launch(false)
    }

    /// [`start`](Self::start), each host reaching each database through a [`Link`] of its own
    /// ([`Cluster::link`]), for tests that cut one host off.
    pub fn start_with_links(self) -> Cluster {
        self.launch(true)
    }

    fn launch(self, linked: bool) -> Cluster {
        let work_dir = self.work_dir.clone().unwrap_or_else(fresh_dir);
        let path = self.runtime_config.as_deref();
        let path = path.expect("a cluster shares the databases its runtime config names");
        let app_config = RuntimeConfig::read(path).unwrap_or_else(|e| panic!("{e}"));
        let labels = app_config.database_labels();
        let ports = free_ports(labels.len() + 1);
        let (balancer_port, database_ports) = ports.split_last().expect("one port each");
        let addresses: Vec<SocketAddr> =
            database_ports.iter().map(|port| SocketAddr::from(([127, 0, 0, 1], *port))).collect();
        let programs = self.on.clone();
        // Per host, per database: the link it goes through, if any.
        let links: Vec<Vec<Link>> = programs
            .hosts
            .iter()
            .map(|_| match linked {
                true => addresses.iter().map(|address| Link::start(*address)).collect(),
                false => Vec::new(),
            })
            .collect();
        let runtime_configs: Vec<PathBuf> = links
            .iter()
            .enumerate()
            .map(|(n, links)| {
                let dir = work_dir.join(format!("host-{n}"));
                std::fs::create_dir_all(&dir).expect("create a host's directory");
                let urls: Vec<String> = match links.is_empty() {
                    true => addresses.iter().map(|a| format!("http://{a}")).collect(),
                    false => links.iter().map(|l| format!("http://{}", l.address())).collect(),
                };
                let config = app_config.clone().on_libsql(&urls).unwrap_or_else(|e| panic!("{e}"));
                let path = dir.join("runtime.libsql.toml");
                std::fs::write(&path, config).expect("write a host's runtime config");
                path
            })
            .collect();

        let (databases, hosts) = std::thread::scope(|scope| {
            let databases: Vec<ScopedJoinHandle<Sqld>> = labels
                .iter()
                .zip(database_ports)
                .map(|(label, port)| {
                    let db_path = work_dir.join(format!("{label}.sqld"));
                    let sqld = &programs.sqld;
                    scope.spawn(move || Sqld::start(sqld, &db_path, *port))
                })
                .collect();
            let hosts: Vec<ScopedJoinHandle<Host>> = programs
                .hosts
                .iter()
                .zip(&runtime_configs)
                .map(|(program, runtime_config)| {
                    let dir = runtime_config.parent().expect("a host's directory");
                    let host =
                        self.clone().on(program.clone()).runtime_config(runtime_config).in_dir(dir);
                    scope.spawn(move || host.start())
                })
                .collect();
            (join_all(databases), join_all(hosts))
        });
        let host_urls: Vec<&str> = hosts.iter().map(|host| host.url.as_str()).collect();
        let balancer = Balancer::start(&programs.balancer, &work_dir, *balancer_port, &host_urls);
        Cluster {
            balancer,
            hosts,
            databases: labels.into_iter().zip(databases).collect(),
            links,
            work_dir,
        }
    }
}

/// A running cluster; every process is killed when it is dropped (the balancer first).
pub struct Cluster {
    /// Where clients go (its [`Client::url`]).
    balancer: Balancer,
    /// Each reachable on its own too, at its `url`.
    pub hosts: Vec<Host>,
    /// Each database's server, by label; stopped when dropped.
    databases: Vec<(String, Sqld)>,
    /// Per host (as first started), per database: its link, if started with links.
    links: Vec<Vec<Link>>,
    pub work_dir: PathBuf,
}

impl Cluster {
    /// The host that gave `reply`, which came through the balancer.
    pub fn served_by(&self, reply: &Reply) -> &Host {
        let address = reply
            .header(SERVED_BY)
            .unwrap_or_else(|| panic!("the balancer did not say which host answered: {reply:?}"));
        self.hosts
            .iter()
            .find(|host| host.url.trim_start_matches("http://") == address)
            .unwrap_or_else(|| panic!("no host of the cluster is at {address}"))
    }

    /// The server of the database `label`, to crash, restart, pause or resume.
    pub fn database(&mut self, label: &str) -> &mut Sqld {
        self.databases
            .iter_mut()
            .find(|(name, _)| name == label)
            .map(|(_, sqld)| sqld)
            .unwrap_or_else(|| panic!("the cluster has no database {label}"))
    }

    /// The link from host `n` (as first started) to the database `label`.
    pub fn link(&self, n: usize, label: &str) -> &Link {
        let index = self.databases.iter().position(|(name, _)| name == label);
        let index = index.unwrap_or_else(|| panic!("the cluster has no database {label}"));
        self.links[n]
            .get(index)
            .expect("a cluster started with links (RunOptions::start_with_links)")
    }

    /// Takes host `n` out of the cluster without telling the balancer (it is to find out).
    pub fn remove_host(&mut self, n: usize) -> Host {
        self.hosts.remove(n)
    }

    /// The balancer's log: a line per request, and each host it finds down or up.
    pub fn balancer_log(&self) -> String {
        self.balancer.log()
    }

    /// Stops each host with SIGTERM and returns their exit statuses; then the databases and
    /// the balancer. The data stays in the work directory.
    pub fn terminate(self) -> Vec<ExitStatus> {
        self.hosts.into_iter().map(Host::terminate).collect()
    }
}

impl Client for Cluster {
    fn url(&self) -> &str {
        &self.balancer.url
    }
}

fn join_all<T>(handles: Vec<ScopedJoinHandle<T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        .collect()
}
