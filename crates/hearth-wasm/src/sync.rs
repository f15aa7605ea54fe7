//! Keeping every process's plugins in step with the database: what one
//! server installs, upgrades, rolls back, uninstalls, disables or enables
//! reaches the others without a restart.
//!
//! Each process keeps the compiled plugins and the per-community enable
//! lists in memory. Every change to them writes a fresh *generation*
//! token in the same transaction as the change; a host compares the token
//! with the one it last saw — at the start of every worker pass and at most
//! once per [`REFRESH_EVERY`] when a hook runs — and when it moved, reloads
//! what differs (a plugin is compiled again only when its component
//! changed). A token, not a counter: two processes changing things at once
//! both leave a token nobody has seen, and a reload reads the whole state,
//! so nothing is lost whichever write lands last.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth::ExtOp;

use crate::error::Result;
use crate::host::{InstallRecord, PluginHost, from_json};
use crate::runtime::NS;

/// The host record holding the generation token.
const GENERATION: &str = "generation";

/// How often, at most, a host looks for changes made elsewhere when hooks
/// run (the worker also looks at the start of every pass).
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// What a host last saw of the generation, and when it looked (checked
/// without a lock: hooks ask on every page).
#[derive(Debug)]
pub(crate) struct Seen {
    generation: Mutex<Option<Vec<u8>>>,
    /// Milliseconds after `epoch` of the last look; `u64::MAX`: never.
    looked: AtomicU64,
    epoch: Instant,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            generation: Mutex::new(None),
            looked: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
        }
    }
}

impl Seen {
    fn mark_looked(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.looked.store(ms, Ordering::Relaxed);
    }

    fn due(&self) -> bool {
        let looked = self.looked.load(Ordering::Relaxed);
        looked == u64::MAX
            || self.epoch.elapsed().as_millis() as u64
                >= looked.saturating_add(REFRESH_EVERY.as_millis() as u64)
    }
}

/// The write that announces a change to every other host: add it to the
/// change's own `ext_apply`.
pub(crate) fn announce() -> ExtOp {
    ExtOp::Put {
        key: GENERATION.into(),
        value: hearth::unique_token().into_bytes(),
    }
}

impl PluginHost {
    /// The generation as stored now.
    pub(crate) fn stored_generation(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.forum().ext_get(NS, None, GENERATION)?)
    }

    /// Marks `generation` as seen (at start-up, before loading).
    pub(crate) fn saw(&self, generation: Option<Vec<u8>>) {
        let seen = &self.inner().seen;
        *seen.generation.lock().unwrap_or_else(|e| e.into_inner()) = generation;
        seen.mark_looked();
    }

    /// Brings this host in step with changes other hosts (other processes
    /// on the database) made to installs, upgrades, host-level disables
    /// and per-community enables; `true` if anything was reloaded. The
    /// worker and the hooks call it by themselves; call it to make a
    /// change visible at once (an admin screen after another server's
    /// change, a test).
    pub fn refresh(&self) -> Result<bool> {
        let generation = self.stored_generation()?;
        {
            let seen = &self.inner().seen;
            seen.mark_looked();
            let mut last = seen.generation.lock().unwrap_or_else(|e| e.into_inner());
            if *last == generation {
                return Ok(false);
            }
            // Seen before reading: a change landing meanwhile leaves a
            // newer token, and the next look reloads again.
            *last = generation;
        }
        let forum = self.forum();
        let mut stored = std::collections::BTreeMap::new();
        for (key, value) in forum.ext_list(NS, None, "installed/", "", 1000)? {
            let name = key.trim_start_matches("installed/").to_string();
            stored.insert(name, from_json::<InstallRecord>(&value, "install record")?);
        }
        let disabled: std::collections::BTreeMap<String, String> = forum
            .ext_list(NS, None, "disabled/", "", 1000)?
            .into_iter()
            .map(|(k, v)| {
                (
                    k.trim_start_matches("disabled/").to_string(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect();
        for (name, record) in &stored {
            let running = self.running_sha(name);
            if running.as_deref() != Some(record.current.sha256.as_str()) {
                match self.load_version(&record.current) {
                    Ok(loaded) => {
                        self.swap(name, Arc::new(loaded), record.previous.clone());
                        tracing::info!(plugin = %name, "loaded the version installed elsewhere");
                    }
                    Err(e) => {
                        tracing::error!(plugin = %name, error = %e, "could not load the version installed elsewhere");
                    }
                }
            } else {
                self.set_previous(name, record.previous.clone());
            }
        }
        self.mirror(
            |name| stored.contains_key(name),
            |name| disabled.get(name).cloned(),
        );
        self.forget_enabled();
        Ok(true)
    }

    /// Refreshes if [`REFRESH_EVERY`] passed since the last look; failures
    /// are logged (the next look tries again).
    pub(crate) fn refresh_if_due(&self) {
        if self.inner().seen.due()
            && let Err(e) = self.refresh()
        {
            tracing::warn!(error = %e, "could not look for plugin changes made elsewhere");
        }
    }
}
