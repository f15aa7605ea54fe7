//! What operators can read about a plugin: its identity, whether it runs,
//! and its counters.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::call::Usage;
use crate::manifest::{Capability, Hook};

/// An installed plugin and how it has been doing since the process started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginStatus {
    /// Its name.
    pub name: String,
    /// The running version.
    pub version: String,
    /// The plugin API version it was built for.
    pub api_version: String,
    /// From the manifest.
    pub description: String,
    /// The hooks it implements.
    pub hooks: Vec<Hook>,
    /// The capabilities it asks for.
    pub capabilities: Vec<Capability>,
    /// SHA-256 of the component.
    pub sha256: String,
    /// The SDK version embedded in the component, if it was built with
    /// `hearth-plugin`.
    pub sdk_version: Option<String>,
    /// The version a rollback would return to.
    pub previous_version: Option<String>,
    /// Why the host disabled it, if it did (re-enable with
    /// [`PluginHost::reenable`](crate::PluginHost::reenable)).
    pub disabled: Option<String>,
    /// Whether the last load compiled the component (`false`: read from
    /// the artifact cache).
    pub compiled: bool,
    /// How long the last load took.
    pub load_time: Duration,
    /// Counters since the process started.
    pub counters: Counters,
}

/// Per-plugin counters since the process started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Hook calls.
    pub calls: u64,
    /// Failed calls.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Time spent in calls.
    pub time: Duration,
    /// The most memory any call had, in bytes.
    pub memory_high_water: usize,
    /// Fuel used, when metered.
    pub fuel: u64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// Events parked after repeated failures.
    pub parked_events: u64,
    /// Notices sent to members.
    pub notices_sent: u64,
    /// Notices not sent by the forum's rules (the member may not read what
    /// it is about, muted it, chose not to get the kind, or took the
    /// action) or because the same dedupe key was sent before.
    pub notices_not_sent: u64,
    /// Notices dropped by a cap: over the per-call cap (refused at the
    /// call) or the hourly cap.
    pub notices_capped: u64,
    /// Outbound HTTP requests asked for.
    pub http_requests: u64,
    /// Of those, the ones refused (host, address, scheme), malformed, too
    /// large, failed or out of time.
    pub http_failures: u64,
    /// Replies posted by the plugin's bot member.
    pub replies_posted: u64,
    /// Replies the forum refused (a closed topic, a rate limit, a filter),
    /// the last reason in `last_error`.
    pub replies_refused: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats(Mutex<Counters>);

impl Stats {
    /// Records a call; returns the consecutive failures so far.
    pub fn record(&self, usage: &Usage, error: Option<&str>) -> u32 {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.calls += 1;
        c.time += usage.elapsed;
        c.memory_high_water = c.memory_high_water.max(usage.memory);
        c.fuel += usage.fuel.unwrap_or(0);
        c.notices_capped += u64::from(usage.notices_refused);
        c.http_requests += u64::from(usage.http_requests);
        c.http_failures += u64::from(usage.http_failures);
        match error {
            Some(e) => {
                c.failures += 1;
                c.consecutive_failures += 1;
                c.last_error = Some(e.to_string());
            }
            None => c.consecutive_failures = 0,
        }
        c.consecutive_failures
    }

    /// Turns the last recorded call, which returned, into a failure: its
    /// result was refused (too large, malformed). Returns the streak.
    pub fn refuse(&self, error: &str) -> u32 {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.failures += 1;
        c.consecutive_failures += 1;
        c.last_error = Some(error.to_string());
        c.consecutive_failures
    }

    /// Records what became of a committed call's notices.
    pub fn notices(&self, tally: &hearth::NoticeTally) {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.notices_sent += u64::from(tally.sent);
        c.notices_not_sent += u64::from(tally.skipped + tally.duplicates);
        c.notices_capped += u64::from(tally.capped);
    }

    /// Records what became of a committed call's bot replies.
    pub fn replies(&self, posted: u64, refused: Option<String>, refused_count: u64) {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        c.replies_posted += posted;
        c.replies_refused += refused_count;
        if let Some(why) = refused {
            c.last_error = Some(why);
        }
    }

    pub fn parked(&self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .parked_events += 1;
    }

    pub fn reset_streak(&self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .consecutive_failures = 0;
    }

    pub fn snapshot(&self) -> Counters {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
