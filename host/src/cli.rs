//! The command line, shaped like Spin's: `fn-host build` and `fn-host up`.

use crate::app::{App, AppOptions};
use crate::compile_cache::CompileCache;
use crate::instance::{Lifecycle, MIB};
use crate::manifest::Manifest;
use crate::server::ServerLimits;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use wasmtime::Result;
use wasmtime::error::Context;

#[derive(Parser)]
#[command(
    name = "fn-host",
    version,
    about = "Runs a Spin application (spin.toml) on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every component with its `[component.<id>.build] command`, as `spin build` does.
    Build {
        /// The application manifest.
        #[arg(long = "from", short = 'f', default_value = "spin.toml")]
        manifest: PathBuf,
    },
    /// Serve the application, as `spin up` does.
    Up(Box<UpArgs>),
}

#[derive(Args)]
struct UpArgs {
    /// The application manifest.
    #[arg(long = "from", short = 'f', default_value = "spin.toml")]
    manifest: PathBuf,
    /// Build the components before serving.
    #[arg(long)]
    build: bool,
    /// Spin runtime config (SQLite labels → files). Default: `runtime.toml` beside the
    /// manifest, when there is one.
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Where state lives: the `default` SQLite database is `<state-dir>/sqlite_db.db`.
    #[arg(long, default_value = ".spin")]
    state_dir: PathBuf,
    /// Compiled components are kept here across restarts, in a directory only you may write.
    /// Default: $XDG_CACHE_HOME/fn-host or ~/.cache/fn-host.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Requests one instance serves before it is dropped (1 = a fresh instance per request).
    #[arg(long, default_value_t = Lifecycle::default().max_reuse as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_instance_reuse_count: u64,
    /// Requests one instance serves at the same time.
    #[arg(long, default_value_t = Lifecycle::default().max_concurrent as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_instance_concurrent_reuse_count: u64,
    /// How long a request may take before it is answered 504 and its instance dropped.
    #[arg(long, default_value_t = Lifecycle::default().request_timeout.into())]
    request_timeout: humantime::Duration,
    /// How long an instance without work is kept for reuse.
    #[arg(long, default_value_t = Lifecycle::default().idle_timeout.into())]
    idle_instance_timeout: humantime::Duration,
    /// Largest request body accepted (bytes); larger gets 413.
    #[arg(long, default_value_t = ServerLimits::default().max_request_body_bytes)]
    max_request_body_bytes: usize,
    /// How long a client may take to send a request body once its head has arrived; slower gets
    /// 408 and the connection is closed.
    #[arg(long, default_value_t = ServerLimits::default().request_body_timeout.into())]
    request_body_timeout: humantime::Duration,
    /// Client connections served at once. Past it, the connection idle the longest is closed to
    /// make room; if none is idle, new connections get only the health check (others 503).
    /// Default: three quarters of the open files limit (raised to its hard limit at start).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// How long a connection may wait for its next request (keep-alive), or take to send a
    /// request head, before it is closed.
    #[arg(long, default_value_t = ServerLimits::default().keep_alive_timeout.into())]
    keep_alive_timeout: humantime::Duration,
    /// Linear memory one instance may use (MiB).
    #[arg(long, default_value_t = Lifecycle::default().max_memory / MIB)]
    max_instance_memory_mib: usize,
    /// What a write survives once the component has been told it succeeded: `machine` (a power
    /// cut: each commit is synced to disk, commits arriving together share one sync) or
    /// `process` (a crash of this host only: faster on slow disks).
    #[arg(long, default_value = "machine")]
    sqlite_durability: crate::sqlite::Durability,
    /// Instances alive at once, all components together.
    #[arg(long, default_value_t = 1000)]
    max_instances: u32,
    /// Serve Prometheus metrics at `http://ADDRESS/metrics` (off when not given).
    #[arg(long, value_name = "ADDRESS")]
    metrics_listen: Option<SocketAddr>,
}

/// Runs the command line; errors are printed with their causes and exit with status 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log_writer = init_logging();
    // Guest traps and failed requests are reported through errors; capturing a native backtrace
    // for each (as RUST_BACKTRACE=1 would) costs more than the request itself.
    wasmtime::error::disable_backtrace();
    let result = match cli.command {
        Command::Build { manifest } => Manifest::load(&manifest)
            .and_then(|manifest| crate::component_build::build_all(&manifest)),
        Command::Up(args) => up(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn up(args: UpArgs) -> Result<()> {
    let open_files_limit = crate::server::connections::raise_open_files_limit();
    if args.build {
        crate::component_build::build_all(&Manifest::load(&args.manifest)?)?;
    }
    let runtime_config = args
        .runtime_config_file
        .clone()
        .or_else(|| beside(&args.manifest, "runtime.toml"));
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => CompileCache::default_dir()?,
    };
    let options = AppOptions {
        manifest: args.manifest.clone(),
        runtime_config,
        working_dir: std::env::current_dir().context("cannot read the working directory")?,
        state_dir: args.state_dir.clone(),
        cache_dir,
        lifecycle: Lifecycle {
            max_reuse: args.max_instance_reuse_count as usize,
            max_concurrent: args.max_instance_concurrent_reuse_count as usize,
            idle_timeout: args.idle_instance_timeout.into(),
            request_timeout: args.request_timeout.into(),
            max_memory: args.max_instance_memory_mib * MIB,
        },
        sqlite_durability: args.sqlite_durability,
        metrics: Arc::default(),
        max_instances: args.max_instances,
        env: std::env::vars().collect(),
    };
    let limits = ServerLimits {
        max_request_body_bytes: args.max_request_body_bytes,
        request_body_timeout: args.request_body_timeout.into(),
        max_connections: args.max_connections.unwrap_or_else(|| {
            crate::server::connections::default_max_connections(open_files_limit)
        }),
        keep_alive_timeout: args.keep_alive_timeout.into(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = App::load(&options)?;
        let listener = crate::server::listen(args.listen)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        let shutdown =
            crate::server::shutdown_signal().context("cannot handle SIGINT and SIGTERM")?;
        if let Some(metrics_address) = args.metrics_listen {
            let listener = tokio::net::TcpListener::bind(metrics_address)
                .await
                .with_context(|| format!("cannot listen on {metrics_address} for metrics"))?;
            println!("Metrics at http://{}/metrics", listener.local_addr()?);
            tokio::spawn(crate::metrics::serve(options.metrics.clone(), listener));
        }
        print_routes(&app, address);
        crate::server::serve(app, listener, limits, shutdown).await
    })
}

/// `runtime.toml` beside the manifest, if present.
fn beside(manifest: &Path, name: &str) -> Option<PathBuf> {
    let candidate = manifest.parent().unwrap_or(Path::new("")).join(name);
    candidate.is_file().then_some(candidate)
}

/// The start-up banner, as `spin up` prints it.
fn print_routes(app: &App, address: SocketAddr) {
    println!("Serving http://{address}");
    println!("Available Routes:");
    for (route, component) in app.routes.public_routes() {
        let (path, wildcard) = match route.strip_suffix("/...") {
            Some(prefix) => (prefix, " (wildcard)"),
            None => (route, ""),
        };
        println!("  {component}: http://{address}{path}{wildcard}");
    }
}

/// Logs go to stdout through a background writer, so a request never waits on the terminal.
/// `RUST_LOG` filters them (default `info`).
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_target(false)
        .init();
    guard
}
