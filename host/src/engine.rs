//! The wasmtime engine every component runs on: pooling allocator, epoch interruption for
//! deadlines, the WASI 0.3 async component model; components compiled once and cached on disk;
//! the linker with every capability a guest may import.

use crate::instance::InstanceState;
use crate::sqlite::{Sqlite, SqliteView};
use crate::variables::Variables;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::Result;
use wasmtime::component::{Component, Linker};
use wasmtime::error::Context;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are measured in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizing of the engine, from the command line.
#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Linear memory one instance may grow to.
    pub max_instance_memory: usize,
    /// Component instances that may be alive at once (the pooling allocator's slots).
    pub max_instances: u32,
}

/// Builds the engine and starts the thread that advances its epoch.
pub fn build(limits: &EngineLimits) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    // A Rust component is a handful of core instances (program, adapters, shims), each with at
    // most one memory and table.
    let core_per_component = 10;
    pool.total_component_instances(limits.max_instances)
        .total_core_instances(limits.max_instances * core_per_component)
        .total_memories(limits.max_instances * core_per_component)
        .total_tables(limits.max_instances * core_per_component)
        .total_stacks(limits.max_instances)
        .max_memory_size(limits.max_instance_memory)
        .max_core_instances_per_component(core_per_component);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(true)
        .concurrency_support(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
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

/// Every import a guest may use: WASI 0.2 (Rust's std on wasip2), WASI 0.3, `wasi:http` 0.3,
/// `spin:sqlite` and `spin:variables`.
pub fn linker(engine: &Engine) -> Result<Linker<InstanceState>> {
    let mut linker: Linker<InstanceState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
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
    Ok(linker)
}

/// Loads the component at `source`, compiling it only when `cache_dir` has no compiled copy for
/// these exact bytes and this engine configuration.
pub fn load_component(engine: &Engine, source: &Path, cache_dir: &Path) -> Result<Component> {
    let bytes = std::fs::read(source)?;
    let cached = cache_dir.join(format!("{}.cwasm", cache_key(engine, &bytes)));
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of this host for an engine with
        // the same compatibility hash (it is in the name), and wasmtime checks its header again.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(component) => return Ok(component),
            Err(error) => tracing::warn!(
                "ignoring unreadable compiled cache {}: {error:#}",
                cached.display()
            ),
        }
    }
    let component = Component::new(engine, &bytes)
        .with_context(|| format!("{} is not a valid component", source.display()))?;
    if let Err(error) = store_compiled(&component, &cached) {
        tracing::warn!("cannot cache compiled component: {error:#}");
    }
    Ok(component)
}

/// Writes atomically, so a concurrent start never reads half a file.
fn store_compiled(component: &Component, path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temporary = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(temporary.path(), component.serialize()?)?;
    temporary.persist(path)?;
    Ok(())
}

/// SHA-256 of the component bytes and the engine's compatibility hash.
fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    hasher.write(bytes);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher
        .0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The default cache location: `$XDG_CACHE_HOME/fn-host` or `~/.cache/fn-host`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("fn-host")
}
