//! The process-wide wasmtime [`Engine`]: configuration, the epoch ticker,
//! compiling components and the on-disk cache of compiled artifacts.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hearth::{ExtOp, Forum};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::{Error, Result};
use crate::limits::HostConfig;

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// The namespace of the host's own records in the forum's extension store.
pub(crate) const NS: &str = "hearth-wasm";

/// One wasmtime engine and its epoch ticker thread. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Runtime {
    pub engine: Engine,
    _ticker: Arc<Ticker>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

struct Ticker {
    stop: Arc<AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    pub fn new(cfg: &HostConfig) -> Result<Runtime> {
        if cfg.max_wasm_stack > 512 << 10 {
            return Err(Error::Runtime("max_wasm_stack is at most 512 KiB".into()));
        }
        let mut pool = PoolingAllocationConfig::new();
        let n = cfg.max_instances.max(1);
        pool.total_component_instances(n)
            .total_core_instances(n * 4)
            .total_memories(n * 2)
            .total_tables(n * 4)
            .max_memory_size(cfg.max_memory)
            .max_memories_per_module(2)
            .max_tables_per_module(2)
            // Reset the first MiB of a used memory with memset instead of
            // madvise: cheaper for small plugins, and the next instance
            // finds the pages mapped (no page faults, no TLB shootdowns).
            .linear_memory_keep_resident(cfg.keep_resident)
            .table_keep_resident(64 << 10)
            // Linux 6.7 and later: find the pages a call wrote
            // (`PAGEMAP_SCAN`) and reset only those, instead of a memset
            // of all `keep_resident` bytes and an `madvise` of the rest.
            .pagemap_scan(Enabled::Auto);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(cfg.fuel)
            .max_wasm_stack(cfg.max_wasm_stack)
            .memory_reservation(cfg.max_memory as u64)
            .memory_guard_size(64 << 10)
            .memory_init_cow(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        // For `perf`: name plugins' compiled functions in /tmp/perf-<pid>.map.
        if std::env::var_os("HEARTH_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| Error::Runtime(format!("{e:#}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (e, s) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("hearth-wasm-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match e.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| Error::Runtime(format!("could not start the epoch ticker: {e}")))?;
        Ok(Runtime {
            engine,
            _ticker: Arc::new(Ticker { stop }),
        })
    }

    /// A stable name for this engine's compiled-code format: artifacts made
    /// under another hash are recompiled.
    pub fn compat_hash(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// Compiles `wasm`, or loads it from the cache when the cache holds an
    /// artifact this process (or an earlier one on this forum) wrote for the
    /// same bytes and the same engine. Returns whether it was compiled.
    pub fn load(
        &self,
        forum: &Forum,
        cache_dir: Option<&Path>,
        plugin: &str,
        wasm: &[u8],
    ) -> Result<(Component, bool)> {
        let invalid = |e: wasmtime::Error| Error::Invalid {
            plugin: plugin.into(),
            message: format!("{e:#}"),
        };
        let Some(dir) = cache_dir else {
            return Ok((Component::new(&self.engine, wasm).map_err(invalid)?, true));
        };
        let key = format!("{}-{}", sha256_hex(wasm), self.compat_hash());
        let path = dir.join(format!("{key}.cwasm"));
        let record = format!("artifact/{key}");
        // Only bytes whose digest this host recorded when it wrote them are
        // deserialized: an artifact from elsewhere (or a tampered one) is
        // recompiled, never loaded.
        if let Some(expected) = forum.ext_get(NS, None, &record)?
            && let Ok(bytes) = std::fs::read(&path)
            && sha256_hex(&bytes).as_bytes() == expected.as_slice()
            && let Some(c) = deserialize(&self.engine, &bytes)
        {
            return Ok((c, false));
        }
        let component = Component::new(&self.engine, wasm).map_err(invalid)?;
        let bytes = component
            .serialize()
            .map_err(|e| Error::Runtime(format!("serialize {plugin}: {e:#}")))?;
        write_atomic(dir, &path, &bytes)?;
        forum.ext_apply(
            NS,
            None,
            &[ExtOp::Put {
                key: record,
                value: sha256_hex(&bytes).into_bytes(),
            }],
        )?;
        Ok((component, true))
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8]) -> Option<Component> {
    // SAFETY: wasmtime requires that serialized artifacts come from a
    // trusted source, since they contain machine code. `load` calls this only
    // with bytes whose SHA-256 matches the digest the host recorded in the
    // forum's database when it serialized them itself; wasmtime then checks
    // the engine compatibility header.
    unsafe { Component::deserialize(engine, bytes).ok() }
}

fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |p: &Path, e: std::io::Error| Error::Cache {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let tmp: PathBuf = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| fail(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(path, e))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
