//! The wasmtime engine every component runs on: pooling allocator, epoch interruption for
//! deadlines, the WASI 0.3 async component model; and the linker with every capability a guest
//! may import. (Compiled components are kept by [`crate::compile_cache`].)

use crate::bindings::{fermyon, spin};
use crate::instance::InstanceState;
use crate::key_value::{KeyValue, KeyValueView};
use crate::mqtt::Mqtt;
use crate::redis::Redis;
use crate::service_connections::ServiceView;
use crate::sqlite::{Sqlite, SqliteView};
use crate::unsupported::Unsupported;
use crate::variables::Variables;
use std::time::Duration;
use wasmtime::Result;
use wasmtime::component::Linker;
use wasmtime::error::Context;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
};

/// How often the epoch advances; deadlines are measured in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How the engine is built, from the command line.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Linear memory one instance may grow to.
    pub max_instance_memory: usize,
    /// Component instances that may be alive at once (the pooling allocator's slots).
    pub max_instances: u32,
    /// Tell `perf` where each compiled function is (`/tmp/perf-<pid>.map`), so profiles name
    /// the guests' functions instead of bare addresses.
    pub perf_map: bool,
}

/// Builds the engine and starts the thread that advances its epoch.
pub fn build(options: &EngineOptions) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    // A Rust component is a handful of core instances (program, adapters, shims), each with at
    // most one memory and table.
    let core_per_component = 10;
    pool.total_component_instances(options.max_instances)
        .total_core_instances(options.max_instances * core_per_component)
        .total_memories(options.max_instances * core_per_component)
        .total_tables(options.max_instances * core_per_component)
        .total_stacks(options.max_instances)
        .max_memory_size(options.max_instance_memory)
        .max_core_instances_per_component(core_per_component);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .concurrency_support(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if options.perf_map {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config).context("cannot configure the wasm engine")?;

    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .context("cannot start the epoch thread")?;
    Ok(engine)
}

/// Every import a guest may use: WASI 0.2 (Rust's std on wasip2; TCP sockets as the component's
/// allow-list grants) and 0.3, `wasi:http` 0.2 and 0.3; the Spin 3 interfaces (`spin:sqlite`,
/// `spin:key-value`, `spin:variables`) and their Spin 2 versions (`fermyon:spin/*`), Spin 2's
/// outbound Redis and MQTT; and, linked only to fail with a clear error, PostgreSQL
/// ([`crate::unsupported`]).
pub fn linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker: Linker<InstanceState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    fn sqlite(state: &mut InstanceState) -> SqliteView<'_> {
        SqliteView { ctx: &state.sqlite, table: &mut state.table }
    }
    spin::sqlite::sqlite::add_to_linker::<_, Sqlite>(&mut linker, sqlite)?;
    fermyon::spin::sqlite::add_to_linker::<_, Sqlite>(&mut linker, sqlite)?;
    fn key_value(state: &mut InstanceState) -> KeyValueView<'_> {
        KeyValueView { ctx: &state.key_value, table: &mut state.table }
    }
    spin::key_value::key_value::add_to_linker::<_, KeyValue>(&mut linker, key_value)?;
    fermyon::spin::key_value::add_to_linker::<_, KeyValue>(&mut linker, key_value)?;
    spin::variables::variables::add_to_linker::<_, Variables>(&mut linker, |state| {
        &state.variables
    })?;
    fermyon::spin::variables::add_to_linker::<_, Variables>(&mut linker, |state| &state.variables)?;
    fermyon::spin::redis::add_to_linker::<_, Redis>(&mut linker, |state| ServiceView {
        connections: &mut state.redis,
        table: &mut state.table,
    })?;
    fermyon::spin::mqtt::add_to_linker::<_, Mqtt>(&mut linker, |state| ServiceView {
        connections: &mut state.mqtt,
        table: &mut state.table,
    })?;
    spin::postgres::postgres::add_to_linker::<_, Unsupported>(&mut linker, |state| {
        &state.allowed_hosts
    })?;
    Ok(linker)
}
