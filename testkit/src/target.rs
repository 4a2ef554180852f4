//! What an app's end-to-end tests run it on: one host process, or a cluster of them behind a
//! balancer over shared databases; and the app running there.

use crate::client::{Client, Reply};
use crate::cluster::{Cluster, ClusterPrograms};
use crate::host::Host;
use crate::options::RunOptions;
use crate::program::HostProgram;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Host(HostProgram),
    Cluster(ClusterPrograms),
}

impl Target {
    /// `fn_host`, then the Spin CLI and a cluster of both where their programs are found
    /// (saying on stdout which it skips and why).
    pub fn all(fn_host: impl Into<PathBuf>) -> Vec<Target> {
        let fn_host = HostProgram::FnHost(fn_host.into());
        let spin = HostProgram::spin();
        let cluster = ClusterPrograms::find(&fn_host, spin.as_ref());
        if let Err(reason) = &cluster {
            println!("skipped on a cluster: {reason}");
        }
        [fn_host]
            .into_iter()
            .chain(spin)
            .map(Target::Host)
            .chain(cluster.ok().map(Target::Cluster))
            .collect()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Host(program) => program.fmt(f),
            Target::Cluster(programs) => programs.fmt(f),
        }
    }
}

impl RunOptions<Target> {
    pub fn start(self) -> App {
        match self.on.clone() {
            Target::Host(program) => App::Host(self.on(program).start()),
            Target::Cluster(programs) => App::Cluster(self.on(programs).start()),
        }
    }
}

/// The app running on a [`Target`].
pub enum App {
    Host(Host),
    Cluster(Cluster),
}

impl App {
    /// Where all its state is: start it again there (`in_dir`) to find its data.
    pub fn work_dir(&self) -> &Path {
        match self {
            App::Host(host) => &host.work_dir,
            App::Cluster(cluster) => &cluster.work_dir,
        }
    }

    /// Which program gave `reply`, for what hosts answer each in their own way.
    pub fn served_by(&self, reply: &Reply) -> &HostProgram {
        match self {
            App::Host(host) => &host.program,
            App::Cluster(cluster) => &cluster.served_by(reply).program,
        }
    }

    /// Stops every host with SIGTERM and returns their exit statuses.
    pub fn terminate(self) -> Vec<ExitStatus> {
        match self {
            App::Host(host) => vec![host.terminate()],
            App::Cluster(cluster) => cluster.terminate(),
        }
    }
}

impl Client for App {
    fn url(&self) -> &str {
        match self {
            App::Host(host) => host.url(),
            App::Cluster(cluster) => cluster.url(),
        }
    }
}
