//! The limits contract: what one hook call may use, and the host-wide
//! settings ([`HostConfig`]) that bound it.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::manifest::Hook;

/// What one call may use. Built from the host's defaults and the plugin's
/// [`LimitOverrides`], capped by [`HostConfig`]'s maxima.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Wall-clock deadline, enforced by epoch interruption. Time the host
    /// spends in the database on the plugin's behalf (host calls that read
    /// or write) is not counted, up to four times the deadline: a busy
    /// database slows a plugin down without timing it out, a plugin
    /// spinning on its own is stopped on time.
    pub deadline: Duration,
    /// Fuel budget (instructions, roughly), when the host meters fuel.
    pub fuel: Option<u64>,
    /// Largest linear memory, in bytes.
    pub memory: usize,
    /// Largest string or byte list the plugin may hand a host function.
    pub max_host_input: usize,
    /// Largest rendered fragment or route body, in bytes.
    pub max_output: usize,
    /// The most notices one call may queue (`notify`); the next is
    /// refused with `invalid`.
    pub max_notices: usize,
}

/// Limits a manifest may ask for (`[limits]` in `plugin.toml`). Each is
/// capped by the host's maxima; absent ones take the host's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitOverrides {
    /// Deadline for `filter-post`, `render` and `route`, in milliseconds.
    pub interactive_ms: Option<u64>,
    /// Deadline for `on-event` and `on-schedule`, in milliseconds.
    pub background_ms: Option<u64>,
    /// Fuel budget per call.
    pub fuel: Option<u64>,
    /// Memory, in MiB.
    pub memory_mib: Option<u64>,
    /// Largest rendered output, in KiB.
    pub output_kib: Option<u64>,
}

impl LimitOverrides {
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("interactive-ms", self.interactive_ms),
            ("background-ms", self.background_ms),
            ("fuel", self.fuel),
            ("memory-mib", self.memory_mib),
            ("output-kib", self.output_kib),
        ] {
            if v == Some(0) {
                return Err(format!("{name} must be above zero"));
            }
        }
        Ok(())
    }
}

/// Host-wide settings: pool size, default limits and their maxima, fuel
/// metering, failure thresholds, and where compiled plugins are cached.
///
/// The defaults suit a single server: 64 concurrent calls, 10 ms for
/// interactive hooks and 100 ms for background ones, 16 MiB of memory,
/// 64 KiB of output, 100 notices per call and 1,000 per plugin, community
/// and hour.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Concurrent plugin calls the pooling allocator holds slots for; a
    /// call beyond it fails with [`Error::PoolExhausted`](crate::Error::PoolExhausted).
    pub max_instances: u32,
    /// Default deadline for `filter-post`, `render` and `route`.
    pub interactive_deadline: Duration,
    /// Default deadline for `on-event` and `on-schedule`.
    pub background_deadline: Duration,
    /// The longest deadline a manifest may ask for.
    pub max_deadline: Duration,
    /// Default memory per call, in bytes.
    pub memory: usize,
    /// The most memory a manifest may ask for (also the pool's slot size).
    pub max_memory: usize,
    /// Largest string or list a plugin may hand a host function.
    pub max_host_input: usize,
    /// Default largest render or route output.
    pub output: usize,
    /// The largest output a manifest may ask for.
    pub max_output: usize,
    /// Guest stack, in bytes (at most 512 KiB).
    pub max_wasm_stack: usize,
    /// Meter fuel (costs 20–45% on call-heavy hooks). Required for
    /// manifests' `fuel` budgets to apply; without it they are ignored.
    pub fuel: bool,
    /// Default fuel per call when metering.
    pub default_fuel: u64,
    /// Consecutive failures after which a plugin is disabled.
    pub disable_after: u32,
    /// Failed deliveries of one event after which it is parked.
    pub park_after: u32,
    /// Events per `on-event` call.
    pub event_batch: usize,
    /// Folder for compiled plugins; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
    /// Bytes at the start of each pooled memory that are reset with a
    /// memset and kept mapped between calls, instead of being returned to
    /// the kernel (which costs page faults on the next call).
    pub keep_resident: usize,
    /// The most notices one call may queue.
    pub notices_per_call: usize,
    /// The most notices one plugin sends per community in any hour; the
    /// rest are dropped and counted.
    pub notices_per_hour: u32,
    /// Whether plugins may call plain `http://` URLs (default: https only).
    pub http_plain: bool,
    /// `host:port`s plugins may call although they resolve to loopback or
    /// private addresses (a service beside the forum); empty by default.
    pub http_private_hosts: Vec<String>,
    /// The largest answer a plugin's request may read, in bytes.
    pub http_max_response: usize,
    /// Requests one plugin may have in flight at once (the next is
    /// `unavailable`).
    pub http_per_plugin: usize,
    /// Answers recorded for plugins' requests: when set, nothing goes to
    /// the network (`hearth-plugin run --http`, tests); unset by default.
    pub http_replay: Option<std::sync::Arc<Vec<crate::RecordedExchange>>>,
    /// Whether `render` and `render-items` answers are remembered and
    /// reused while every read they made answers the same (on by default;
    /// off, every page runs every plugin — for measuring).
    pub remember_renders: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            max_instances: 64,
            interactive_deadline: Duration::from_millis(10),
            background_deadline: Duration::from_millis(100),
            max_deadline: Duration::from_secs(2),
            memory: 16 << 20,
            max_memory: 64 << 20,
            max_host_input: 64 << 10,
            output: 64 << 10,
            max_output: 1 << 20,
            max_wasm_stack: 512 << 10,
            fuel: false,
            default_fuel: 1_000_000_000,
            disable_after: 5,
            park_after: 3,
            event_batch: 100,
            cache_dir: None,
            keep_resident: 256 << 10,
            notices_per_call: 100,
            notices_per_hour: 1_000,
            http_plain: false,
            http_private_hosts: Vec::new(),
            http_max_response: 1 << 20,
            http_replay: None,
            http_per_plugin: 4,
            remember_renders: true,
        }
    }
}

impl HostConfig {
    /// The limits of one call of `hook` for a plugin with `overrides`.
    pub fn limits_for(&self, hook: Hook, overrides: &LimitOverrides) -> Limits {
        let background = matches!(hook, Hook::OnEvent | Hook::OnSchedule);
        let deadline = if background {
            overrides
                .background_ms
                .map_or(self.background_deadline, Duration::from_millis)
        } else {
            overrides
                .interactive_ms
                .map_or(self.interactive_deadline, Duration::from_millis)
        };
        Limits {
            deadline: deadline.min(self.max_deadline),
            fuel: self
                .fuel
                .then(|| overrides.fuel.unwrap_or(self.default_fuel)),
            memory: overrides
                .memory_mib
                .map_or(self.memory, |m| (m as usize).saturating_mul(1 << 20))
                .min(self.max_memory),
            max_host_input: self.max_host_input,
            max_output: overrides
                .output_kib
                .map_or(self.output, |k| (k as usize).saturating_mul(1 << 10))
                .min(self.max_output),
            max_notices: self.notices_per_call,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_capped_by_the_host() {
        let host = HostConfig::default();
        let greedy = LimitOverrides {
            interactive_ms: Some(60_000),
            memory_mib: Some(4096),
            output_kib: Some(1 << 30),
            ..Default::default()
        };
        let l = host.limits_for(Hook::Render, &greedy);
        assert_eq!(l.deadline, host.max_deadline);
        assert_eq!(l.memory, host.max_memory);
        assert_eq!(l.max_output, host.max_output);
        assert_eq!(l.fuel, None);
        let d = host.limits_for(Hook::OnEvent, &LimitOverrides::default());
        assert_eq!(d.deadline, Duration::from_millis(100));
        assert_eq!(d.memory, 16 << 20);
    }
}
