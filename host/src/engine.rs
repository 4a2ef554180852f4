//! The wasmtime engine every component runs on: pooling allocator, epoch interruption for
//! deadlines, the WASI 0.3 async component model; and the linker with every capability a guest
//! may import. (Compiled components are kept by [`crate::compile_cache`].)

use crate::instance::InstanceState;
use crate::sqlite::{Sqlite, SqliteView};
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

/// Every import a guest may use: WASI 0.2 (Rust's std on wasip2) and 0.3, `wasi:http` 0.2 and
/// 0.3, `spin:sqlite` and the variables of Spin 3 (`spin:variables`) and Spin 2
/// (`fermyon:spin/variables`).
pub fn linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker: Linker<InstanceState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    crate::bindings::spin::sqlite::sqlite::add_to_linker::<_, Sqlite>(&mut linker, |state| {
        SqliteView {
            ctx: &state.sqlite,
            table: &mut state.table,
        }
    })?;
    crate::bindings::spin::variables::variables::add_to_linker::<_, Variables>(
        &mut linker,
        |state| &state.variables,
    )?;
    crate::bindings::fermyon::spin::variables::add_to_linker::<_, Variables>(
        &mut linker,
        |state| &state.variables,
    )?;
    Ok(linker)
}
