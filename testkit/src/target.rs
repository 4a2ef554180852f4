//! What an app's end-to-end tests run it on: one host process, or a cluster of them behind a
//! balancer over shared databases, with one flavour of the components; and the app running
//! there.

use crate::client::{Client, Reply};
use crate::cluster::{Cluster, ClusterPrograms};
use crate::flavour::Flavour;
use crate::host::Host;
use crate::options::RunOptions;
use crate::program::HostProgram;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// A runner and the flavour of the components it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub runner: Runner,
    pub flavour: Flavour,
}

/// What runs the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    Host(HostProgram),
    Cluster(ClusterPrograms),
}

impl Target {
    /// Each host program (`fn_host`, then each Spin CLI found) with each flavour it serves;
    /// then, per flavour, a cluster of two fn-hosts and the Spin CLI that serves it, where
    /// sqld and HAProxy are found (saying on stdout which it skips and why).
    pub fn all(fn_host: impl Into<PathBuf>) -> Vec<Target> {
        let programs = HostProgram::all(fn_host);
        let hosts = Self::hosts_of(&programs);
        let clusters = Flavour::ALL.into_iter().filter_map(|flavour| {
            let spin =
                programs.iter().rev().find(|program| program.is_spin() && program.serves(flavour));
            match ClusterPrograms::find(&programs[0], spin) {
                Ok(cluster) => Some(Target { runner: Runner::Cluster(cluster), flavour }),
                Err(reason) => {
                    println!("skipped on a cluster ({flavour}): {reason}");
                    None
                }
            }
        });
        hosts.into_iter().chain(clusters.collect::<Vec<_>>()).collect()
    }

    /// Each of `programs` with each flavour it serves.
    pub fn hosts_of(programs: &[HostProgram]) -> Vec<Target> {
        programs
            .iter()
            .flat_map(|program| {
                Flavour::ALL
                    .into_iter()
                    .filter(|flavour| program.serves(*flavour))
                    .map(|flavour| Target::host(program.clone(), flavour))
            })
            .collect()
    }

    pub fn host(program: HostProgram, flavour: Flavour) -> Target {
        Target { runner: Runner::Host(program), flavour }
    }

    /// The host program, unless it is a cluster.
    pub fn program(&self) -> Option<&HostProgram> {
        match &self.runner {
            Runner::Host(program) => Some(program),
            Runner::Cluster(_) => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.runner {
            Runner::Host(program) => write!(f, "{program} ({})", self.flavour),
            Runner::Cluster(programs) => write!(f, "{programs} ({})", self.flavour),
        }
    }
}

impl RunOptions<Target> {
    pub fn start(self) -> App {
        match self.on.runner.clone() {
            Runner::Host(program) => App::Host(self.on(program).start()),
            Runner::Cluster(programs) => App::Cluster(self.on(programs).start()),
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
