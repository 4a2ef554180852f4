//! Loading the app: the manifest and runtime config read and checked, each routed component
//! compiled (or read from the cache) and pre-instantiated with what it is granted, the
//! databases opened.

use super::{App, AppOptions};
use crate::allowed_hosts::AllowedHosts;
use crate::compile_cache::CompileCache;
use crate::engine::{self, EngineOptions};
use crate::instance::{Grants, InstanceFactory, InstanceState, ShuttingDown};
use crate::key_value::{KeyValueCtx, Stores};
use crate::manifest::{Component, Manifest};
use crate::outbound::LocalApp;
use crate::routing::Routes;
use crate::runtime_config::RuntimeConfig;
use crate::sqlite::{Databases, SqliteCtx, SqliteOptions};
use crate::variables::AppVariables;
use std::path::Path;
use std::sync::{Arc, Weak};
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::Linker;
use wasmtime::error::Context;
use wasmtime::{Result, bail};
use wasmtime_wasi_http::handler::{ProxyHandler, ProxyPre};

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
    shutting_down: ShuttingDown,
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
            shutting_down: ShuttingDown::default(),
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
        let runtime_config = RuntimeConfig::load(
            options.runtime_config.as_deref(),
            &options.working_dir,
            &options.state_dir,
        )?;
        let previous_databases = previous.map(|app| &*app.databases);
        let databases =
            open_databases(&manifest, &routes, options, &runtime_config, previous_databases)?;
        let stores = open_stores(&manifest, &routes, options, &runtime_config)?;
        let prepared = routes
            .components()
            .map(|id| {
                let component = &manifest.components[id];
                let pre =
                    pre_instantiate(&self.engine, &self.linker, &component.source, &self.cache)
                        .with_context(|| format!("component `{id}`"))?;
                let grants =
                    grants(id, component, &manifest, &variables, &databases, &stores, options)?;
                Ok(Prepared { id: id.into(), pre, grants })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.assemble(manifest, routes, prepared, databases))
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
                        shutting_down: self.shutting_down.clone(),
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
                shutting_down: self.shutting_down.clone(),
            }
        })
    }
}

/// The databases of the app: every label some loaded component or `--sqlite` uses, opened.
/// Fails, naming the component and label, when a component uses a label no runtime config
/// provides.
fn open_databases(
    manifest: &Manifest,
    routes: &Routes,
    options: &AppOptions,
    runtime_config: &RuntimeConfig,
    previous: Option<&Databases>,
) -> Result<Arc<Databases>> {
    let configured = &runtime_config.sqlite_databases;
    let mut labels_in_use = labels_in_use(
        manifest,
        routes,
        options,
        Provided {
            uses: |component| &component.sqlite_databases,
            configured: &|label| configured.contains_key(label),
            what: "sqlite database",
            section: "sqlite_database",
        },
    )?;
    for statement in &options.sqlite_statements {
        let label = statement.label();
        if !configured.contains_key(label) {
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
    Ok(Arc::new(Databases::open(runtime_config, &labels_in_use, &sqlite_options, previous)?))
}

/// The key-value stores of the app: every label some loaded component uses, opened. Fails,
/// naming the component and label, when a component uses a label no runtime config provides.
fn open_stores(
    manifest: &Manifest,
    routes: &Routes,
    options: &AppOptions,
    runtime_config: &RuntimeConfig,
) -> Result<Arc<Stores>> {
    let configured = &runtime_config.key_value_stores;
    let labels_in_use = labels_in_use(
        manifest,
        routes,
        options,
        Provided {
            uses: |component| &component.key_value_stores,
            configured: &|label| configured.contains_key(label),
            what: "key-value store",
            section: "key_value_store",
        },
    )?;
    Ok(Arc::new(Stores::open(configured, &labels_in_use)?))
}

/// A kind of labelled resource a component names in its manifest (databases, stores), and
/// which of them the runtime config provides.
struct Provided<'c> {
    /// The labels a component uses.
    uses: fn(&Component) -> &Vec<String>,
    /// Whether the runtime config provides a label.
    configured: &'c dyn Fn(&str) -> bool,
    /// As messages name it, e.g. "sqlite database".
    what: &'static str,
    /// Its runtime config section, e.g. "sqlite_database".
    section: &'static str,
}

/// The labels of one kind the loaded components use. Fails, naming the component and label,
/// when a component uses a label no runtime config provides.
fn labels_in_use<'a>(
    manifest: &'a Manifest,
    routes: &Routes,
    options: &AppOptions,
    kind: Provided<'_>,
) -> Result<Vec<&'a str>> {
    let mut labels = Vec::new();
    for id in routes.components() {
        for label in (kind.uses)(&manifest.components[id]) {
            if !(kind.configured)(label) {
                let (what, section) = (kind.what, kind.section);
                bail!(
                    "component `{id}` uses {what} `{label}`, which no runtime config provides: \
                     add [{section}.{label}] to the runtime config file{}",
                    if options.runtime_config.is_none() {
                        " and pass it with --runtime-config-file"
                    } else {
                        ""
                    }
                );
            }
            labels.push(label.as_str());
        }
    }
    Ok(labels)
}

/// What the manifest, the runtime config and the command line grant component `id`.
fn grants(
    id: &str,
    component: &Component,
    manifest: &Manifest,
    variables: &AppVariables,
    databases: &Arc<Databases>,
    stores: &Arc<Stores>,
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
            databases.clone(),
            component.sqlite_databases.iter().cloned().collect(),
        ),
        key_value: KeyValueCtx::new(
            stores.clone(),
            component.key_value_stores.iter().cloned().collect(),
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
        bail!("{} does not exist; run `fn-host build` (or `fn-host up --build`)", source.display());
    }
    let compiled = cache.load(engine, source)?;
    let pre = linker
        .instantiate_pre(&compiled)
        .context("it imports an interface this host does not provide")?;
    if let Ok(handler) = wasmtime_wasi_http::p3::bindings::ServicePre::new(pre.clone()) {
        return Ok(ProxyPre::P3(handler));
    }
    wasmtime_wasi_http::p2::bindings::ProxyPre::new(pre).map(ProxyPre::P2).context(
        "it exports neither `wasi:http/handler@0.3.0` (spin-sdk 7) nor \
             `wasi:http/incoming-handler@0.2.x` (spin-sdk 2 to 6)",
    )
}
