//! The background worker: delivers events soon after writes commit and
//! runs `on-schedule` hooks when they are due.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hearth::{Actor, CommunityId, ExtOp};

use crate::error::Result;
use crate::host::PluginHost;
use crate::manifest::Hook;
use crate::runtime::NS;

/// Communities with new events, and whether the worker should stop.
#[derive(Debug, Default)]
pub(crate) struct Wake {
    state: Mutex<(BTreeSet<CommunityId>, bool)>,
    cond: Condvar,
}

impl Wake {
    pub fn nudge(&self, community: CommunityId) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0.insert(community);
        self.cond.notify_one();
    }

    fn stop(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.cond.notify_all();
    }

    /// Waits for a nudge or the timeout; `None` when stopping.
    fn wait(&self, timeout: Duration) -> Option<BTreeSet<CommunityId>> {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .cond
            .wait_timeout_while(guard, timeout, |s| s.0.is_empty() && !s.1)
            .unwrap_or_else(|e| e.into_inner());
        if guard.1 {
            guard.1 = false;
            return None;
        }
        Some(std::mem::take(&mut guard.0))
    }
}

/// How long a worker pass holds its lease: longer than any pass takes
/// (plugin calls are bounded by their fuel and time limits), and the
/// longest another process waits to take over from one that died.
pub const WORKER_LEASE: Duration = Duration::from_secs(300);

/// The running worker; dropping it stops the thread (after the pass in
/// progress).
#[derive(Debug)]
pub struct Worker {
    host: PluginHost,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.host.inner().wake.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl PluginHost {
    /// Starts a thread that delivers events right after each write commits
    /// (and every `interval` regardless, to retry failures) and runs due
    /// schedules. Keep the returned [`Worker`]; dropping it stops the thread.
    pub fn start_worker(&self, interval: Duration) -> Result<Worker> {
        let host = self.clone();
        let thread = std::thread::Builder::new()
            .name("hearth-wasm-worker".into())
            .spawn(move || {
                while let Some(dirty) = host.inner().wake.wait(interval) {
                    if let Err(e) = host.work(dirty) {
                        tracing::error!(error = %e, "plugin worker pass failed");
                    }
                }
            })
            .map_err(|e| crate::Error::Runtime(format!("could not start the worker: {e}")))?;
        Ok(Worker {
            host: self.clone(),
            thread: Some(thread),
        })
    }

    /// One pass of what the worker does: delivers the events of every
    /// community and runs the schedules that are due. Returns `false`
    /// (and does nothing) while another process — or another host on the
    /// same database — is doing it: one pass at a time across processes
    /// (a lease of [`WORKER_LEASE`]), so a plugin never sees an event or
    /// a schedule twice because two servers share a database.
    pub fn work_once(&self) -> Result<bool> {
        self.work(BTreeSet::new())
    }

    /// A pass for the communities in `dirty` (all when empty).
    fn work(&self, dirty: BTreeSet<CommunityId>) -> Result<bool> {
        // Every process, whether or not it gets the lease: installs and
        // disables made elsewhere take effect here too.
        if let Err(e) = self.refresh() {
            tracing::warn!(error = %e, "could not look for plugin changes made elsewhere");
        }
        let pass = || -> Result<()> {
            if dirty.is_empty() {
                self.deliver_events()?;
            } else {
                for c in &dirty {
                    self.deliver_community(*c)?;
                }
            }
            self.run_schedules()?;
            self.refresh_markup()?;
            Ok(())
        };
        match self
            .forum()
            .exclusively("hearth-wasm worker", WORKER_LEASE, pass)?
        {
            Some(done) => done.map(|()| true),
            None => {
                tracing::debug!("another process runs the plugin worker now");
                Ok(false)
            }
        }
    }

    /// Runs every `on-schedule` hook whose interval has passed since its
    /// last run (per community); returns how many ran. A failed run waits
    /// for the next interval like a successful one.
    pub fn run_schedules(&self) -> Result<u64> {
        let now_ms = crate::call::millis(self.forum().now());
        let mut ran = 0;
        for community in self.communities()? {
            for (loaded, stats, enabled) in self.targets(community, Hook::OnSchedule)? {
                let name = loaded.manifest.name.clone();
                let key = format!("schedule/{name}");
                let every = loaded.manifest.schedule_seconds.unwrap_or(3600).max(1) as i64 * 1000;
                let last = self
                    .forum()
                    .ext_get(NS, Some(community), &key)?
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.parse::<i64>().ok());
                if last.is_some_and(|l| now_ms - l < every) {
                    continue;
                }
                let out = self.call(
                    &loaded,
                    &stats,
                    &enabled,
                    community,
                    Hook::OnSchedule,
                    Actor::System,
                    |store, p| p.on_schedule(store, community.0, now_ms),
                );
                let record = [ExtOp::Put {
                    key,
                    value: now_ms.to_string().into_bytes(),
                }];
                self.commit(&name, community, &out.writes, &record)?;
                ran += 1;
            }
        }
        Ok(ran)
    }
}
