//! The running application: `spin.toml` and `runtime.toml` turned into pre-instantiated
//! components behind routes. Every request, from a client or chained from a component, goes
//! through [`App::dispatch_public`] or [`App::dispatch_chained`].

use crate::allowed_hosts::AllowedHosts;
use crate::compile_cache::CompileCache;
use crate::engine::{self, EngineOptions};
use crate::host_errors::HostErrors;
use crate::instance::{Grants, InstanceFactory, InstanceState, Lifecycle};
use crate::manifest::{Component, Manifest};
use crate::metrics::Metrics;
use crate::outbound::{Answer, LocalApp};
use crate::routing::{RouteMatch, Routes};
use crate::runtime_config::RuntimeConfig;
use crate::sqlite::{Databases, Durability, SqliteCtx, SqliteOptions, StartupSql};
use crate::variables::AppVariables;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Instant;
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::Linker;
use wasmtime::error::Context;
use wasmtime::{Result, bail};
use wasmtime_wasi_http::WasiBody;
use wasmtime_wasi_http::handler::{ExpirationError, InstantiationError, ProxyHandler, ProxyPre};

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
}

/// A component ready to serve, before the app exists to hand to its instances.
struct Prepared {
    id: Arc<str>,
    pre: ProxyPre<InstanceState>,
    grants: Grants,
}

/// Loads the app, again whenever asked (`fn-host watch` loads a new version on every change).
/// What it holds outlives the versions: the engine, so that `--max-instances` bounds the
/// instances of all versions alive at once, its linker, and the compile cache.
pub struct AppLoader {
    options: AppOptions,
    engine: Engine,
    linker: Linker<InstanceState>,
    cache: CompileCache,
    turns: Arc<Semaphore>,
}

impl AppLoader {
    /// The engine, sized by `options`, and the compile cache.
    pub fn new(options: AppOptions) -> Result<Self> {
        let engine = engine::build(&EngineOptions {
            max_instance_memory: options.lifecycle.max_memory,
            max_instances: options.max_instances,
            perf_map: options.perf_map,
        })?;
        let linker = engine::linker(&engine)?;
        let cache = CompileCache::open(&options.cache_dir)?;
        let turns = Arc::new(Semaphore::new(options.max_concurrent_requests));
        Ok(AppLoader {
            options,
            engine,
            linker,
            cache,
            turns,
        })
    }

    /// What the app is loaded from.
    pub fn options(&self) -> &AppOptions {
        &self.options
    }

    /// Loads, checks, compiles (or reads from the cache) and pre-instantiates every component
    /// that a trigger routes to, from the files as they are now. Fails with a message naming
    /// what to fix. `previous` is the version serving now, whose databases the new one shares
    /// where the runtime config still puts them.
    pub fn load(&self, previous: Option<&App>) -> Result<Arc<App>> {
        let options = &self.options;
        let manifest = Manifest::load(&options.manifest)?;
        let routes = Routes::new(&manifest.triggers)
            .with_context(|| format!("invalid routes in {}", options.manifest.display()))?;
        let variables = AppVariables::new(&manifest, options.env.iter().cloned());
        let previous_databases = previous.map(|app| &*app.databases);
        let databases = AppDatabases::open(&manifest, &routes, options, previous_databases)?;
        let prepared = routes
            .components()
            .map(|id| {
                let component = &manifest.components[id];
                let pre =
                    pre_instantiate(&self.engine, &self.linker, &component.source, &self.cache)
                        .with_context(|| format!("component `{id}`"))?;
                let grants = grants(id, component, &manifest, &variables, &databases, options)?;
                Ok(Prepared {
                    id: id.into(),
                    pre,
                    grants,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.assemble(manifest, routes, prepared, databases.opened))
    }

    /// The app, with each component's instances able to reach it for chained requests.
    fn assemble(
        &self,
        manifest: Manifest,
        routes: Routes,
        prepared: Vec<Prepared>,
        databases: Arc<Databases>,
    ) -> Arc<App> {
        let lifecycle = self.options.lifecycle;
        let metrics = &self.options.metrics;
        Arc::new_cyclic(|app: &Weak<App>| {
            let app: Weak<dyn LocalApp> = app.clone();
            let components = prepared
                .into_iter()
                .map(|Prepared { id, pre, grants }| {
                    let factory = InstanceFactory {
                        id: id.clone(),
                        engine: self.engine.clone(),
                        lifecycle: lifecycle.for_handler(&pre),
                        pre,
                        grants,
                        app: app.clone(),
                        metrics: metrics.component(&id),
                    };
                    (id.to_string(), ProxyHandler::new(factory))
                })
                .collect();
            App {
                name: manifest.application.name,
                version: manifest.application.version,
                routes,
                components,
                databases,
                request_timeout: lifecycle.request_timeout,
                errors: manifest.application.host_errors,
                metrics: metrics.clone(),
                turns: self.turns.clone(),
            }
        })
    }
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

    /// A request from a client: it waits for its turn (at most `--max-concurrent-requests` are
    /// in progress, each until its response body is sent), then is routed by its path over the
    /// public routes. Past the request timeout in the queue it gets 503. The bound keeps an
    /// overload from exhausting the engine's instances and fiber stacks, which each request
    /// and its chained requests hold while they run: more requests would only queue inside
    /// the engine, using memory, or fail to start an instance.
    pub async fn dispatch_public(&self, request: Request, client: Option<SocketAddr>) -> Response {
        let start = Instant::now();
        let turn = tokio::time::timeout(self.request_timeout, self.turns.clone().acquire_owned());
        let Ok(Ok(turn)) = turn.await else {
            let status = StatusCode::SERVICE_UNAVAILABLE;
            self.record_request(
                request.method(),
                request.uri().path(),
                "-",
                "-",
                status,
                start,
            );
            return self.busy_response(
                "the server is at its limit of requests in progress; try again shortly",
            );
        };
        let response = self.route_public(request, client).await;
        response.map(|body| Keeping::new(body, turn).boxed_unsync())
    }

    /// A request routed by its path over the public routes, with no turn to wait for: a
    /// component's request to `self` runs within its caller's turn.
    async fn route_public(&self, request: Request, client: Option<SocketAddr>) -> Response {
        let path = request.uri().path().to_string();
        let Some(route) = self.routes.find(&path) else {
            self.record_request(
                request.method(),
                &path,
                "-",
                "-",
                StatusCode::NOT_FOUND,
                Instant::now(),
            );
            return self.error_response(StatusCode::NOT_FOUND, &format!("no route for {path}"));
        };
        self.call(route, request, client).await
    }

    /// A request a component sent to `http://<component>.spin.internal`; `None` when the app has
    /// no such component.
    pub async fn dispatch_chained(&self, component: &str, request: Request) -> Option<Response> {
        let path = request.uri().path().to_string();
        let route = self.routes.find_for_component(component, &path)?;
        Some(self.call(route, request, None).await)
    }

    /// An answer of the host's own, in the shape the app asked for.
    pub fn error_response(&self, status: StatusCode, message: &str) -> Response {
        self.errors.response(status, message).map(body_from)
    }

    /// 503, with a hint to try again in a second.
    pub fn busy_response(&self, message: &str) -> Response {
        let mut response = self.error_response(StatusCode::SERVICE_UNAVAILABLE, message);
        response.headers_mut().insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("1"),
        );
        response
    }

    async fn call(
        &self,
        route: RouteMatch<'_>,
        mut request: Request,
        client: Option<SocketAddr>,
    ) -> Response {
        let start = Instant::now();
        let component = &*route.target.component;
        let Some(handler) = self.components.get(component) else {
            return self.error_response(StatusCode::NOT_FOUND, "no such component");
        };
        let full_url = full_url(&request);
        route.set_headers(request.headers_mut(), &full_url, client);
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        // The instance enforces the deadline too (and is dropped for it); this bound makes the
        // answer a 504 however the expiry surfaces.
        let response =
            match tokio::time::timeout(self.request_timeout, handler.handle((), request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(error)) => self.failure_response(component, error),
                Err(_elapsed) => self.timeout_response(component),
            };
        let route = route.target.route();
        self.record_request(&method, &path, component, route, response.status(), start);
        response
    }

    fn timeout_response(&self, component: &str) -> Response {
        tracing::warn!(
            component,
            "request cut off after {:?}",
            self.request_timeout
        );
        self.error_response(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "the component did not answer within {:?}",
                self.request_timeout
            ),
        )
    }

    fn failure_response(&self, component: &str, error: wasmtime::Error) -> Response {
        if error.is::<ExpirationError>() {
            self.timeout_response(component)
        } else if error.is::<InstantiationError<()>>() {
            tracing::error!(component, "cannot start an instance: {error:#}");
            self.error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the component could not be started",
            )
        } else {
            tracing::error!(component, "component failed: {error:#}");
            self.error_response(StatusCode::INTERNAL_SERVER_ERROR, "the component failed")
        }
    }
}

/// Chained requests and requests to `self` reach the app through this, handed down to every
/// instance's outbound hooks.
impl LocalApp for App {
    fn chain<'a>(&'a self, component: &'a str, request: Request) -> Answer<'a, Option<Response>> {
        Box::pin(self.dispatch_chained(component, request))
    }

    fn call_self(&self, request: Request) -> Answer<'_, Response> {
        Box::pin(self.route_public(request, None))
    }
}

/// The databases of the app: every label some loaded component or `--sqlite` uses, opened, and
/// every label the runtime config knows (to tell "not yours" from "no such database").
struct AppDatabases {
    opened: Arc<Databases>,
    configured: Arc<[String]>,
}

impl AppDatabases {
    /// Fails, naming the component and label, when a component uses a label no runtime config
    /// provides.
    fn open(
        manifest: &Manifest,
        routes: &Routes,
        options: &AppOptions,
        previous: Option<&Databases>,
    ) -> Result<Self> {
        let runtime_config = RuntimeConfig::load(
            options.runtime_config.as_deref(),
            &options.working_dir,
            &options.state_dir,
        )?;
        let configured: Arc<[String]> = runtime_config.sqlite_databases.keys().cloned().collect();
        let mut labels_in_use = Vec::new();
        for id in routes.components() {
            for label in &manifest.components[id].sqlite_databases {
                if !configured.contains(label) {
                    bail!(
                        "component `{id}` uses sqlite database `{label}`, which no runtime config \
                         provides: add [sqlite_database.{label}] to the runtime config file{}",
                        if options.runtime_config.is_none() {
                            " and pass it with --runtime-config-file"
                        } else {
                            ""
                        }
                    );
                }
                labels_in_use.push(label.as_str());
            }
        }
        for statement in &options.sqlite_statements {
            let label = statement.label();
            if !configured.iter().any(|known| known == label) {
                bail!(
                    "based on the '{statement}' a registered database named '{label}' was \
                     expected but not found."
                );
            }
            labels_in_use.push(label);
        }
        let sqlite_options = SqliteOptions::new(
            options.sqlite_durability,
            options.lifecycle.request_timeout,
            options.metrics.clone(),
        );
        let opened = Arc::new(Databases::open(
            &runtime_config,
            &labels_in_use,
            &sqlite_options,
            previous,
        )?);
        Ok(AppDatabases { opened, configured })
    }
}

/// What the manifest, the runtime config and the command line grant component `id`.
fn grants(
    id: &str,
    component: &Component,
    manifest: &Manifest,
    variables: &AppVariables,
    databases: &AppDatabases,
    options: &AppOptions,
) -> Result<Grants> {
    let what = format!("component `{id}`");
    let allowed_hosts = component
        .allowed_outbound_hosts
        .iter()
        .map(|entry| variables.expand(entry, &format!("{what} allowed_outbound_hosts")))
        .collect::<Result<Vec<_>>>()?;
    let mut environment = component.environment.clone();
    environment.extend(options.component_env.iter().cloned());
    Ok(Grants {
        environment: environment.into_iter().collect(),
        allowed_hosts: Arc::new(AllowedHosts::parse(&allowed_hosts).context(what)?),
        sqlite: SqliteCtx::new(
            databases.opened.clone(),
            databases.configured.clone(),
            component.sqlite_databases.iter().cloned().collect(),
        ),
        variables: variables.for_component(manifest, id)?,
    })
}

/// Compiles (or reads from the cache) and pre-instantiates one component, checking that it is
/// an HTTP handler this host can serve: its export decides which `wasi:http` it is called with.
fn pre_instantiate(
    engine: &Engine,
    linker: &Linker<InstanceState>,
    source: &Path,
    cache: &CompileCache,
) -> Result<ProxyPre<InstanceState>> {
    if !source.exists() {
        bail!(
            "{} does not exist; run `fn-host build` (or `fn-host up --build`)",
            source.display()
        );
    }
    let compiled = cache.load(engine, source)?;
    let pre = linker
        .instantiate_pre(&compiled)
        .context("it imports an interface this host does not provide")?;
    if let Ok(handler) = wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
        return Ok(ProxyPre::P3(handler));
    }
    wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre)
        .map(ProxyPre::P2)
        .context(
            "it exports neither `wasi:http/handler@0.3.0` (spin-sdk 7) nor \
             `wasi:http/incoming-handler@0.2.x` (spin-sdk 2 to 6)",
        )
}

/// The one log line of a request: method, path, component, status, duration.
impl App {
    /// The log line of a request and its metrics: method, path, component (`-` for none) and
    /// its route as written, status, duration.
    pub fn record_request(
        &self,
        method: &http::Method,
        path: &str,
        component: &str,
        route: &str,
        status: StatusCode,
        start: Instant,
    ) {
        let took = start.elapsed();
        tracing::info!(
            target: "request",
            "{method} {path} {component} {} {took:.2?}",
            status.as_u16(),
        );
        self.metrics
            .request(component, route, status.as_u16(), took);
    }
}

/// `spin-full-url`: the URL as the client addressed it.
fn full_url(request: &Request) -> String {
    let uri = request.uri();
    if uri.authority().is_some() {
        return uri.to_string();
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{host}{path}")
}

/// A complete body in the type every response here carries.
pub fn body_from(bytes: Bytes) -> WasiBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response body that keeps `T` alive until it is sent or dropped: the component may still be
/// writing it, with what it holds (a turn, its app version).
pub struct Keeping<T> {
    body: WasiBody,
    _kept: T,
}

impl<T> Keeping<T> {
    /// `body`, keeping `kept` until it ends.
    pub fn new(body: WasiBody, kept: T) -> Self {
        Keeping { body, _kept: kept }
    }
}

impl<T: Unpin> http_body::Body for Keeping<T> {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
