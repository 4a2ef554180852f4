//! The running application: `spin.toml` and `runtime.toml` turned into pre-instantiated
//! components behind routes ([`load`]), and every request, from a client or chained from a
//! component, sent to its component ([`dispatch`]: [`App::dispatch_public`],
//! [`App::dispatch_chained`]).

mod dispatch;
mod load;

pub use load::AppLoader;

use crate::host_errors::HostErrors;
use crate::instance::{InstanceFactory, Lifecycle, ShuttingDown};
use crate::metrics::Metrics;
use crate::routing::Routes;
use crate::sqlite::{Databases, Durability, StartupSql};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Semaphore;
use wasmtime::Result;
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::handler::ProxyHandler;

/// A request as components receive it.
pub type Request = http::Request<WasiBody>;
/// A response as components give it.
pub type Response = http::Response<WasiBody>;

/// What `fn-host up` (or a test) asks for.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The application manifest (`spin.toml`).
    pub manifest: PathBuf,
    /// The runtime config (`runtime.toml`), if any.
    pub runtime_config: Option<PathBuf>,
    /// Relative database paths of the runtime config resolve against this.
    pub working_dir: PathBuf,
    /// Where the `default` SQLite database lives.
    pub state_dir: PathBuf,
    /// Where compiled components are kept (see [`CompileCache`]).
    pub cache_dir: PathBuf,
    /// How instances are reused and bounded.
    pub lifecycle: Lifecycle,
    /// What a write reported to a guest survives.
    pub sqlite_durability: Durability,
    /// Instances alive at once, all components together.
    pub max_instances: u32,
    /// Client requests in progress at once (see [`App::dispatch_public`]).
    pub max_concurrent_requests: usize,
    /// The environment `SPIN_VARIABLE_*` values come from.
    pub env: Vec<(String, String)>,
    /// Where requests, instances and statements are counted.
    pub metrics: Arc<Metrics>,
    /// Environment variables of every component, over the manifest's (`-e KEY=VALUE`).
    pub component_env: Vec<(String, String)>,
    /// SQL to run before serving (`--sqlite`, see [`App::run_startup_sql`]); their databases
    /// are opened with the app's.
    pub sqlite_statements: Vec<StartupSql>,
    /// Name compiled functions for `perf` (`--perf-map`).
    pub perf_map: bool,
}

/// The loaded application.
pub struct App {
    /// `[application] name`.
    pub name: String,
    /// `[application] version`.
    pub version: Option<String>,
    /// The public routes and each component's own.
    pub routes: Routes,
    components: BTreeMap<String, ProxyHandler<InstanceFactory>>,
    databases: Arc<Databases>,
    request_timeout: std::time::Duration,
    errors: HostErrors,
    metrics: Arc<Metrics>,
    /// Turns for client requests, shared by every version of the app (they share the engine).
    turns: Arc<Semaphore>,
    /// Set when the server stops, for every version's instances.
    shutting_down: ShuttingDown,
}

impl App {
    /// Loads the app once (see [`AppLoader::load`]).
    pub fn load(options: &AppOptions) -> Result<Arc<App>> {
        AppLoader::new(options.clone())?.load(None)
    }

    /// Runs `statements` on this app's databases, as `--sqlite` asks before serving.
    pub async fn run_startup_sql(&self, statements: &[StartupSql]) -> Result<()> {
        self.databases.run_startup_sql(statements).await
    }

    /// Tells every instance of every version that the host is shutting down (their being cut
    /// short is then expected).
    pub fn begin_shutdown(&self) {
        self.shutting_down.set();
    }
}
