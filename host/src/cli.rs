//! The command line, shaped like Spin's: `fn-host build`, `fn-host up` and `fn-host watch`.
//! The flags of `spin up` this host does not have are refused by name ([`SPIN_FLAGS_NOT_HERE`]).

use crate::app::{App, AppOptions};
use crate::compile_cache::CompileCache;
use crate::instance::{Lifecycle, MIB};
use crate::manifest::Manifest;
use crate::server::{CurrentApp, ServerLimits};
use crate::sqlite::StartupSql;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use wasmtime::Result;
use wasmtime::error::Context;

#[derive(Parser)]
#[command(name = "fn-host", version, about = "Runs a Spin application (spin.toml) on wasmtime")]
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
    /// Serve the application and, as its files change, rebuild and reload what changed without
    /// stopping, as `spin watch` does. Takes the flags of `up`.
    Watch(Box<WatchArgs>),
}

#[derive(Args)]
struct WatchArgs {
    /// How long the files must be quiet before a change is acted on, in milliseconds.
    #[arg(long, short = 'd', default_value_t = 100)]
    debounce: u64,
    #[command(flatten)]
    up: UpArgs,
}

#[derive(Args)]
struct UpArgs {
    /// The application manifest.
    #[arg(long = "from", short = 'f', default_value = "spin.toml")]
    manifest: PathBuf,
    /// Build the components before serving (`watch` always does).
    #[arg(long)]
    build: bool,
    /// An environment variable of every component, over the manifest's `environment`.
    /// Repeatable.
    #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env_var)]
    env: Vec<(String, String)>,
    /// SQL to run once before serving: a statement, against the `default` database; or every
    /// statement of a file, `@FILE` against `default` or `@FILE:LABEL` against `LABEL`.
    /// Repeatable; they run in order.
    #[arg(long, value_name = "STATEMENT | @FILE[:LABEL]")]
    sqlite: Vec<StartupSql>,
    /// Do not print what components write to stdout and stderr.
    #[arg(long, short = 'q', visible_aliases = ["sh", "shush"])]
    quiet: bool,
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
    /// Client requests in progress at once; more wait for their turn, up to the request timeout
    /// (then 503). Default: a quarter of --max-instances, so that each may chain three calls
    /// deep.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrent_requests: Option<u32>,
    /// Serve Prometheus metrics at `http://ADDRESS/metrics` (off when not given).
    #[arg(long, value_name = "ADDRESS")]
    metrics_listen: Option<SocketAddr>,
    /// Write `/tmp/perf-<pid>.map` as components are loaded, so `perf` names the functions of
    /// the components (for profiling).
    #[arg(long)]
    perf_map: bool,
}

/// Runs the command line; errors are printed with their causes and exit with status 1.
pub fn main() -> ExitCode {
    // Transparent huge pages (which the allocator asks for) make a heap that touched a few
    // bytes of a 2 MiB range hold all of it resident, and the host kept that after a load.
    // A hint only: where it is refused, the host runs as it is.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = parse_command_line();
    let quiet = match &cli.command {
        Command::Up(args) => args.quiet,
        Command::Watch(args) => args.up.quiet,
        Command::Build { .. } => false,
    };
    let _log_writer = init_logging(quiet);
    // Guest traps and failed requests are reported through errors; capturing a native backtrace
    // for each (as RUST_BACKTRACE=1 would) costs more than the request itself.
    wasmtime::error::disable_backtrace();
    let result = match cli.command {
        Command::Build { manifest } => Manifest::load(&manifest)
            .and_then(|manifest| crate::component_build::build_all(&manifest)),
        Command::Up(args) => up(*args),
        Command::Watch(args) => watch(*args),
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
    let limits = server_limits(&args);
    if args.build {
        crate::component_build::build_all(&Manifest::load(&args.manifest)?)?;
    }
    let options = app_options(&args)?;
    async_runtime()?.block_on(async {
        serve_metrics(args.metrics_listen, &options).await?;
        let app = App::load(&options)?;
        app.run_startup_sql(&options.sqlite_statements).await?;
        let listener = crate::server::listen(args.listen)
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        let shutdown =
            crate::server::shutdown_signal().context("cannot handle SIGINT and SIGTERM")?;
        crate::server::announce(&app, address);
        crate::server::serve(CurrentApp::new(app), listener, limits, shutdown).await
    })
}

fn watch(args: WatchArgs) -> Result<()> {
    let limits = server_limits(&args.up);
    let options = app_options(&args.up)?;
    let debounce = std::time::Duration::from_millis(args.debounce);
    async_runtime()?.block_on(async {
        serve_metrics(args.up.metrics_listen, &options).await?;
        crate::watch::run(options, args.up.listen, limits, debounce).await
    })
}

/// Serves Prometheus metrics on `address` (a background task) when one is given.
async fn serve_metrics(address: Option<SocketAddr>, options: &AppOptions) -> Result<()> {
    let Some(address) = address else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for metrics"))?;
    println!("Metrics at http://{}/metrics", listener.local_addr()?);
    tokio::spawn(crate::metrics::serve(options.metrics.clone(), listener));
    Ok(())
}

/// What the app is loaded from and with.
fn app_options(args: &UpArgs) -> Result<AppOptions> {
    let runtime_config =
        args.runtime_config_file.clone().or_else(|| beside(&args.manifest, "runtime.toml"));
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => CompileCache::default_dir()?,
    };
    Ok(AppOptions {
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
        max_concurrent_requests: args
            .max_concurrent_requests
            .unwrap_or((args.max_instances / 4).max(1)) as usize,
        env: std::env::vars().collect(),
        component_env: args.env.clone(),
        sqlite_statements: args.sqlite.clone(),
        perf_map: args.perf_map,
    })
}

/// What the server allows its clients; raises the open files limit the default is sized from.
fn server_limits(args: &UpArgs) -> ServerLimits {
    let open_files_limit = crate::server::connections::raise_open_files_limit();
    ServerLimits {
        max_request_body_bytes: args.max_request_body_bytes,
        request_body_timeout: args.request_body_timeout.into(),
        max_connections: args.max_connections.unwrap_or_else(|| {
            crate::server::connections::default_max_connections(open_files_limit)
        }),
        keep_alive_timeout: args.keep_alive_timeout.into(),
    }
}

fn async_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `runtime.toml` beside the manifest, if present.
fn beside(manifest: &Path, name: &str) -> Option<PathBuf> {
    let candidate = manifest.parent().unwrap_or(Path::new("")).join(name);
    candidate.is_file().then_some(candidate)
}

/// `KEY=VALUE`, split at the first `=`, as `spin up -e` reads it.
fn parse_env_var(text: &str) -> Result<(String, String), String> {
    let (key, value) =
        text.split_once('=').ok_or("Environment variable must be of the form `key=value`")?;
    Ok((key.to_string(), value.to_string()))
}

/// The flags of `spin up` (4.1) this host does not have, with what to do instead where there
/// is something.
const SPIN_FLAGS_NOT_HERE: &[(&str, Option<char>, &str)] = &[
    ("--profile", None, ""),
    ("--insecure", Some('k'), "this host runs local files only"),
    ("--temp", None, "this host mounts no files into components"),
    ("--direct-mounts", None, "this host mounts no files into components"),
    ("--component-id", Some('c'), ""),
    ("--log-dir", Some('L'), "component output goes to this host's log on stdout"),
    ("--truncate-logs", None, "component output goes to this host's log on stdout"),
    ("--disable-cache", None, "compiled components are kept in --cache-dir"),
    ("--cache", None, "compiled components are kept in --cache-dir"),
    ("--disable-pooling", None, ""),
    ("--debug-info", None, ""),
    ("--follow", None, "--quiet silences all components"),
    ("--tls-cert", None, "terminate TLS in a proxy in front of this host"),
    ("--tls-key", None, "terminate TLS in a proxy in front of this host"),
    ("--http1-max-buf-size", None, ""),
    ("--find-free-port", None, "--listen 127.0.0.1:0 takes a free port"),
    ("--format", None, ""),
    ("--allow-transient-write", None, "this host mounts no files into components"),
    ("--experimental-wasi-otel", None, ""),
    ("--key-value", None, ""),
    ("--max-instance-memory", None, "use --max-instance-memory-mib"),
    ("--variable", None, "set SPIN_VARIABLE_<NAME>=<value> in the environment"),
];

/// The parsed command line; exits with clap's message (status 2) when it is not one, naming a
/// flag of `spin up` this host does not support as such.
fn parse_command_line() -> Cli {
    let error = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(error) => error,
    };
    let unknown = match (error.kind(), error.get(ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(ContextValue::String(flag))) => flag.clone(),
        _ => error.exit(),
    };
    let flag = unknown.split('=').next().unwrap_or_default();
    let Some((long, _, instead)) = SPIN_FLAGS_NOT_HERE.iter().find(|(long, short, _)| {
        *long == flag || short.is_some_and(|short| flag == format!("-{short}"))
    }) else {
        error.exit()
    };
    let mut message = format!("`{long}` is a flag of `spin up` that fn-host does not support");
    if !instead.is_empty() {
        message.push_str(&format!(" ({instead})"));
    }
    // The usage of the subcommand given (the first argument), as clap's own errors show it.
    let mut command = Cli::command();
    command.build();
    let subcommand = std::env::args().nth(1).unwrap_or_default();
    match command.find_subcommand_mut(&subcommand) {
        Some(subcommand) => subcommand.error(ErrorKind::UnknownArgument, message).exit(),
        None => command.error(ErrorKind::UnknownArgument, message).exit(),
    }
}

/// Logs go to stdout through a background writer, so a request never waits on the terminal.
/// `RUST_LOG` filters them (default `info`); `quiet` drops what components print (the `guest`
/// target).
fn init_logging(quiet: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if quiet {
        // The target `instance::GuestOutput` logs under.
        filter = filter.add_directive("guest=off".parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_target(false)
        .init();
    guard
}
