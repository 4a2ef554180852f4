//! `fn-host watch`: serves the app and, whenever its files change, builds what changed and swaps
//! the new version in while the server keeps its socket ([`CurrentApp`]): requests in progress
//! finish on the version they started on, new ones go to the new version.
//!
//! What a change ([`files`]) leads to:
//! - a component's `watch` files: that component is built again (`spin watch` rebuilds the whole
//!   app);
//! - the manifest: it is read again; components that are new or whose build section changed are
//!   built; the new version has its routes, grants and variables;
//! - the runtime config: the new version opens the databases it moved and shares the others
//!   with the version serving now.
//!
//! A failing build (the compiler's errors are printed as it prints them) or a version that does
//! not load leaves the serving version in place; a component whose build failed is built again
//! with the next change. The first version is every component built, as `spin watch` starts.

mod files;

use crate::app::{App, AppLoader, AppOptions};
use crate::component_build;
use crate::manifest::Manifest;
use crate::server::{self, CurrentApp, ServerLimits};
use files::{Changes, FileWatch, Plan};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::error::Context as _;
use wasmtime::{Result, bail, format_err};

/// Serves on `address` until SIGINT or SIGTERM, following changes as described above; `debounce`
/// is how long the files must be quiet before a change counts.
pub async fn run(
    options: AppOptions,
    address: SocketAddr,
    limits: ServerLimits,
    debounce: Duration,
) -> Result<()> {
    let mut shutdown =
        std::pin::pin!(server::shutdown_signal().context("cannot handle SIGINT and SIGTERM")?);
    let mut versions = Versions::start(options, debounce)?;
    let app = tokio::select! {
        app = versions.first() => app,
        () = &mut shutdown => return Ok(()),
    };
    app.run_startup_sql(&versions.loader.options().sqlite_statements).await?;
    let listener =
        server::listen(address).with_context(|| format!("cannot listen on {address}"))?;
    let address = listener.local_addr()?;
    server::announce(&app, address);
    let current = CurrentApp::new(app);
    tokio::select! {
        served = server::serve(current.clone(), listener, limits, shutdown) => served,
        never = versions.follow(&current, address) => match never {},
    }
}

/// Makes the app's versions from its files as they change.
struct Versions {
    loader: Arc<AppLoader>,
    /// The manifest path, absolute (as file events name it).
    manifest_path: PathBuf,
    runtime_config: Option<PathBuf>,
    /// The manifest the builds follow: the last one that was read without error.
    manifest: Manifest,
    files: FileWatch,
    debounce: Duration,
    /// Components whose last build failed: built again with the next change.
    unbuilt: BTreeSet<String>,
}

impl Versions {
    /// Reads the manifest and starts watching, before anything is built, so that a change made
    /// during the first build counts.
    fn start(options: AppOptions, debounce: Duration) -> Result<Versions> {
        let manifest_path = absolute(&options.manifest)?;
        let runtime_config = options.runtime_config.as_deref().map(absolute).transpose()?;
        let manifest = Manifest::load(&manifest_path)?;
        let plan = Plan::new(&manifest, &manifest_path, runtime_config.as_deref())?;
        let files = FileWatch::start(plan, debounce)?;
        Ok(Versions {
            loader: Arc::new(AppLoader::new(options)?),
            manifest_path,
            runtime_config,
            manifest,
            files,
            debounce,
            unbuilt: BTreeSet::new(),
        })
    }

    /// Every component built and the app loaded; after a failure, again with each change until
    /// it works.
    async fn first(&mut self) -> Arc<App> {
        let mut changes = Changes {
            components: self.manifest.components.keys().cloned().collect(),
            ..Changes::default()
        };
        loop {
            match self.next(changes, None).await {
                Ok(app) => return app,
                Err(error) => eprintln!("Error: {error:#}\nWaiting for a change to try again."),
            }
            changes = self.files.changes().await;
        }
    }

    /// Swaps each new version into `current` as the files change; never returns.
    async fn follow(
        &mut self,
        current: &CurrentApp,
        address: SocketAddr,
    ) -> std::convert::Infallible {
        loop {
            let changes = self.files.changes().await;
            let what = changes.to_string();
            let manifest_changed = changes.manifest;
            match self.next(changes, Some(current.get())).await {
                Ok(app) => {
                    if manifest_changed {
                        server::print_routes(&app, address);
                    }
                    current.replace(app);
                    println!(
                        "Reloaded after changes to {what}: new requests go to the new version"
                    );
                }
                Err(error) => {
                    eprintln!("Error: {error:#}\nStill serving the previous version.");
                }
            }
        }
    }

    /// The version after `changes`: the manifest read again if it changed, the components that
    /// need it built, the app loaded. `serving` is the version serving now, if any.
    async fn next(&mut self, changes: Changes, serving: Option<Arc<App>>) -> Result<Arc<App>> {
        let mut to_build: BTreeSet<String> =
            changes.components.union(&self.unbuilt).cloned().collect();
        if changes.manifest {
            let manifest = Manifest::load(&self.manifest_path)?;
            for (id, component) in &manifest.components {
                let previous = self.manifest.components.get(id);
                if previous.is_none_or(|previous| previous.build != component.build) {
                    to_build.insert(id.clone());
                }
            }
            let plan = Plan::new(&manifest, &self.manifest_path, self.runtime_config.as_deref())?;
            self.files = FileWatch::start(plan, self.debounce)?;
            self.manifest = manifest;
        }
        to_build.retain(|id| self.manifest.components.contains_key(id));
        let failures = self.build(to_build).await;
        self.unbuilt = failures.iter().map(|(id, _)| id.clone()).collect();
        if !failures.is_empty() {
            let messages: Vec<String> =
                failures.iter().map(|(_, error)| format!("{error:#}")).collect();
            bail!("{}", messages.join("\n"));
        }
        let loader = self.loader.clone();
        tokio::task::spawn_blocking(move || loader.load(serving.as_deref()))
            .await
            .map_err(|error| format_err!("loading the app stopped: {error}"))?
    }

    /// Builds `ids`, each whatever became of the others, on a blocking thread (builds take a
    /// while); returns those that failed, with why.
    async fn build(&self, ids: BTreeSet<String>) -> Vec<(String, wasmtime::Error)> {
        let manifest = self.manifest.clone();
        let attempted = ids.clone();
        let built = tokio::task::spawn_blocking(move || {
            ids.into_iter()
                .filter_map(|id| {
                    let result = component_build::build(&manifest, &id);
                    result.err().map(|error| (id, error))
                })
                .collect()
        })
        .await;
        built.unwrap_or_else(|panicked| {
            attempted
                .into_iter()
                .map(|id| {
                    let error = format_err!("the build of `{id}` stopped: {panicked}");
                    (id, error)
                })
                .collect()
        })
    }
}

/// `path` made absolute and free of symlinks, as the file watcher names it.
fn absolute(path: &Path) -> Result<PathBuf> {
    path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))
}
