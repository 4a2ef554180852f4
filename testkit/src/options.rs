//! How to run an app: on what (a host program, a cluster, either) and with what.

use crate::paths::shared_cache_dir;
use crate::program::HostProgram;
use std::path::{Path, PathBuf};

/// How to run an app on `T`: a [`HostProgram`] ([`HostOptions`]), a
/// [`ClusterPrograms`](crate::ClusterPrograms), or a [`Target`](crate::Target) that is either.
#[derive(Debug, Clone)]
pub struct RunOptions<T> {
    pub on: T,
    /// What serves the app: `up`, or fn-host's `watch`, which takes the same arguments.
    pub subcommand: &'static str,
    pub manifest: PathBuf,
    /// The manifest whose components are built before the host starts, when it is not
    /// `manifest` (a copy made by [`RunOptions::with_routes`] has no build sections).
    pub built_from: Option<PathBuf>,
    pub runtime_config: Option<PathBuf>,
    /// More arguments of `up`.
    pub args: Vec<String>,
    /// The host's environment on top of the test's own, whose `SPIN_VARIABLE_*` are removed.
    pub env: Vec<(String, String)>,
    /// Where all state lives. For a host, its working directory: both hosts resolve a runtime
    /// config's relative database paths against it, and its `.spin/` is the state directory.
    /// A fresh one if `None`; an existing one restarts on its data.
    pub work_dir: Option<PathBuf>,
    /// Where fn-host keeps compiled components (Spin keeps its own cache).
    pub cache_dir: PathBuf,
}

/// How to start one host process.
pub type HostOptions = RunOptions<HostProgram>;

impl<T> RunOptions<T> {
    pub fn new(on: T, manifest: impl Into<PathBuf>) -> Self {
        RunOptions {
            on,
            subcommand: "up",
            manifest: manifest.into(),
            built_from: None,
            runtime_config: None,
            args: Vec::new(),
            env: Vec::new(),
            work_dir: None,
            cache_dir: shared_cache_dir(),
        }
    }

    /// The same app and settings, on `on` instead.
    pub fn on<U>(self, on: U) -> RunOptions<U> {
        RunOptions {
            on,
            subcommand: self.subcommand,
            manifest: self.manifest,
            built_from: self.built_from,
            runtime_config: self.runtime_config,
            args: self.args,
            env: self.env,
            work_dir: self.work_dir,
            cache_dir: self.cache_dir,
        }
    }

    /// Serves with `watch` instead of `up`.
    pub fn watching(mut self) -> Self {
        self.subcommand = "watch";
        self
    }

    /// Serves a copy of the manifest in which each component of `routes` has that public
    /// route (see [`crate::with_routes`]).
    pub fn with_routes(mut self, routes: &[(&str, &str)]) -> Self {
        let routed = crate::with_routes(&self.manifest, routes);
        self.built_from = Some(std::mem::replace(&mut self.manifest, routed));
        self
    }

    /// Serves the repository's app with the listing and user services routed too
    /// ([`crate::SERVICE_ROUTES`]).
    pub fn with_services_routed(self) -> Self {
        self.with_routes(&crate::SERVICE_ROUTES)
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
}
