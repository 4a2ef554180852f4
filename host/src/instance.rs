//! Component instances and their lifecycle, as Spin 4 runs them: an instance of a WASI 0.3
//! handler serves up to `max_reuse` requests, up to `max_concurrent` at once, and is dropped
//! after `idle_timeout` without work; an instance of a WASI 0.2 handler serves one request. A
//! request past its deadline expires (the caller answers 504) and its instance is dropped once
//! the others it serves finish.

use crate::allowed_hosts::AllowedHosts;
use crate::key_value::KeyValueCtx;
use crate::metrics::InstanceMetrics;
use crate::outbound::{LocalApp, OutboundHooks};
use crate::service_connections::ServiceConnections;
use crate::sqlite::SqliteCtx;
use crate::variables::ComponentVariables;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::{GuestTaskId, ResourceTable};
use wasmtime::{Engine, Store, StoreContextMut, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How instances are reused and bounded; the flags of `fn-host up`.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    /// Requests one instance serves before it is dropped.
    pub max_reuse: usize,
    /// Requests one instance serves at the same time.
    pub max_concurrent: usize,
    /// How long an instance without work is kept.
    pub idle_timeout: Duration,
    /// How long a request may take (then 504, and its instance is dropped).
    pub request_timeout: Duration,
    /// Linear memory one instance may grow to, in bytes.
    pub max_memory: usize,
}

impl Lifecycle {
    /// The lifecycle of a component that exports `handler`. A `wasi:http` 0.2 handler gets a
    /// fresh instance per request, as on Spin: its export cannot take a second request while
    /// it runs one, and a 0.2 app may count on starting afresh.
    pub fn for_handler<T>(self, handler: &ProxyPre<T>) -> Self {
        match handler {
            ProxyPre::P2(_) => Lifecycle { max_reuse: 1, max_concurrent: 1, ..self },
            ProxyPre::P3(_) => self,
        }
    }
}

/// One mebibyte, the unit of `--max-instance-memory-mib`.
pub const MIB: usize = 1024 * 1024;

impl Default for Lifecycle {
    /// Spin 4's defaults for WASI 0.3 handlers (reuse 128, 16 at once, 1 s idle), a 30 s
    /// deadline and 128 MiB of memory per instance.
    fn default() -> Self {
        Lifecycle {
            max_reuse: 128,
            max_concurrent: 16,
            idle_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            max_memory: 128 * MIB,
        }
    }
}

/// Everything one instance's store holds: one field per capability.
pub struct InstanceState {
    /// The guest's resources (connections, streams, ...).
    pub table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    /// `spin:sqlite`: the databases this component may open.
    pub sqlite: SqliteCtx,
    /// `spin:key-value`: the stores this component may open.
    pub key_value: KeyValueCtx,
    /// `spin:variables`: this component's variables.
    pub variables: ComponentVariables,
    /// `fermyon:spin/redis`: where it may connect, and its open connections.
    pub redis: ServiceConnections,
    /// `fermyon:spin/mqtt`: where it may connect, and its open connections.
    pub mqtt: ServiceConnections,
    /// Where this component may connect, for the interfaces linked but not served: they refuse
    /// what the list does not allow before they say they are not served, as Spin refuses it.
    pub allowed_hosts: Arc<AllowedHosts>,
    limits: StoreLimits,
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Makes the instances of one component (it holds none: wasmtime's `ProxyHandler` does).
pub struct InstanceFactory {
    /// The component id.
    pub id: Arc<str>,
    /// The engine the component was compiled for.
    pub engine: Engine,
    /// The component, linked and ready to instantiate.
    pub pre: ProxyPre<InstanceState>,
    /// How its instances are reused and bounded.
    pub lifecycle: Lifecycle,
    /// What every instance is granted.
    pub grants: Grants,
    /// The app, for outbound requests to its components (weak: the app owns this).
    pub app: Weak<dyn LocalApp>,
    /// Instances created and alive.
    pub metrics: InstanceMetrics,
    /// Whether the host is shutting down.
    pub shutting_down: ShuttingDown,
}

/// What the manifest and runtime config grant every instance of one component.
pub struct Grants {
    /// Environment variables (`[component.<id>] environment`).
    pub environment: Vec<(String, String)>,
    /// Where outbound requests may go.
    pub allowed_hosts: Arc<AllowedHosts>,
    /// The databases it may open.
    pub sqlite: SqliteCtx,
    /// The key-value stores it may open.
    pub key_value: KeyValueCtx,
    /// Its variables, resolved.
    pub variables: ComponentVariables,
}

impl InstanceFactory {
    /// A fresh store state: a new WASI context (output tagged with the component id) and the
    /// component's grants.
    fn new_state(&self) -> InstanceState {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(GuestOutput { component: self.id.clone(), stream: "stdout" })
            .stderr(GuestOutput { component: self.id.clone(), stream: "stderr" })
            .envs(&self.grants.environment);
        crate::sockets::grant(&mut wasi, self.grants.allowed_hosts.clone());
        InstanceState {
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks::new(
                self.id.clone(),
                self.grants.allowed_hosts.clone(),
                self.app.clone(),
            ),
            sqlite: self.grants.sqlite.clone(),
            key_value: self.grants.key_value.clone(),
            variables: self.grants.variables.clone(),
            redis: ServiceConnections::new(self.grants.allowed_hosts.clone()),
            mqtt: ServiceConnections::new(self.grants.allowed_hosts.clone()),
            allowed_hosts: self.grants.allowed_hosts.clone(),
            limits: StoreLimitsBuilder::new().memory_size(self.lifecycle.max_memory).build(),
        }
    }
}

impl HandlerState for InstanceFactory {
    type StoreData = InstanceState;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<InstanceState, Expiration, Worker>> {
        let state = self.new_state();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // Yield to the executor at every epoch tick: a busy guest cannot starve other requests,
        // and its deadline (checked outside the guest, in `Expiration`) can take effect.
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        store.set_epoch_deadline(1);
        let proxy = self.pre.instantiate_async(&mut store).await?;
        tracing::debug!(component = %self.id, "new instance");
        self.metrics.created.inc();
        Ok(Instance {
            store,
            proxy,
            view: InstanceState::http,
            expiration: Expiration {
                lifecycle: self.lifecycle,
                timer: Box::pin(tokio::time::sleep(self.lifecycle.idle_timeout)),
            },
            state: Worker {
                id: self.id.clone(),
                lifecycle: self.lifecycle,
                shutting_down: self.shutting_down.clone(),
                _alive: Alive::new(&self.metrics),
            },
        })
    }
}

/// Decides when an instance has had its time: idle too long, or a request past its deadline.
pub struct Expiration {
    lifecycle: Lifecycle,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let limit = match status {
            WorkerStatus::Idle => self.lifecycle.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => self.lifecycle.request_timeout,
        };
        let deadline = tokio::time::Instant::from_std(start + limit);
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx)
    }
}

/// Whether the host is shutting down: set by the server as it stops, read by every instance,
/// whose being cut short is then expected.
#[derive(Clone, Default)]
pub struct ShuttingDown(Arc<AtomicBool>);

impl ShuttingDown {
    /// From now on, the host is shutting down.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per-instance admission policy.
pub struct Worker {
    id: Arc<str>,
    lifecycle: Lifecycle,
    shutting_down: ShuttingDown,
    _alive: Alive,
}

/// Counts an instance as alive for as long as it is.
struct Alive(prometheus_client::metrics::gauge::Gauge);

impl Alive {
    fn new(metrics: &InstanceMetrics) -> Self {
        metrics.alive.inc();
        Alive(metrics.alive.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl WorkerState for Worker {
    type StoreData = InstanceState;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.lifecycle.max_reuse {
            ShouldAccept::Never
        } else if concurrent >= self.lifecycle.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, InstanceState>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        Box::pin(tokio::time::sleep(self.lifecycle.request_timeout))
    }

    fn drop(&self, store: Store<InstanceState>, result: wasmtime::Result<()>) {
        // At shutdown every idle instance is torn down mid-wait; that is not worth a warning.
        if let Err(error) = &result
            && !self.shutting_down.is_set()
        {
            // The root cause is one line ("wasm trap: ..."); the wasm backtrace is for debugging.
            tracing::warn!(component = %self.id, "instance dropped: {}", error.root_cause());
            tracing::debug!(component = %self.id, "instance dropped: {error:?}");
        }
        drop(store);
    }
}

/// A guest's stdout or stderr: each line becomes a log line tagged with the component id.
#[derive(Clone)]
pub struct GuestOutput {
    /// The component id.
    pub component: Arc<str>,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
}

impl wasmtime_wasi::cli::IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LineLogger { output: self.clone(), pending: Vec::new() })
    }
}

/// Cuts what a guest writes into lines; a partial line waits for the rest (or the drop).
struct LineLogger {
    output: GuestOutput,
    pending: Vec<u8>,
}

/// A guest writing endlessly without a newline still gets logged, in pieces this long.
const MAX_LINE: usize = 16 * 1024;

impl LineLogger {
    fn emit(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        if line.trim().is_empty() {
            return;
        }
        tracing::info!(
            target: "guest",
            component = %self.output.component,
            stream = self.output.stream,
            "{}",
            line.trim_end_matches('\r')
        );
    }
}

impl tokio::io::AsyncWrite for LineLogger {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.emit(&line[..end]);
        }
        if self.pending.len() >= MAX_LINE {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineLogger {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.emit(&self.pending);
        }
    }
}
