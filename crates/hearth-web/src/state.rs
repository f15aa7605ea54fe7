//! What every handler shares, and the one way handlers call the engine:
//! [`AppState::run`], on tokio's blocking pool so no engine call ever runs
//! on an async worker thread.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use hearth::{Actor, Community, Forum, TopicId};
use hearth_wasm::PluginHost;

use crate::config::WebConfig;
use crate::error::{Error, Result};
use crate::templates::Templates;
use crate::throttle::{AttemptCounter, IpLimiter};

/// Shared by every request of one [`Web`](crate::Web).
#[derive(Debug)]
pub(crate) struct AppState {
    pub forum: Arc<Forum>,
    pub plugins: Option<PluginHost>,
    pub config: WebConfig,
    pub templates: Templates,
    pub ip_limiter: Option<IpLimiter>,
    pub sign_in_accounts: AttemptCounter,
    pub sign_in_ips: AttemptCounter,
    /// Idempotency keys whose first request is still running.
    pub in_flight: Mutex<HashSet<String>>,
    /// Guests' answers (see `anon_cache`).
    pub anon_cache: crate::anon_cache::AnonCache,
    /// Page views not yet written (see [`AppState::count_view`]).
    pub views: Mutex<Vec<(Actor, TopicId)>>,
}

/// A buffer this full is written at once, by the request that filled it.
const FLUSH_VIEWS_AT: usize = 1000;

pub(crate) type State = Arc<AppState>;

impl AppState {
    /// Runs an engine call on the blocking pool.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> Result<T> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| Error::Internal(format!("engine call panicked: {e}")))?
    }

    /// Counts a topic view. Views are buffered and written in one
    /// transaction per second (or per 1,000 views), so reading a page never
    /// waits for the single writer.
    pub fn count_view(&self, actor: Actor, topic: TopicId) {
        let full = {
            let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
            views.push((actor, topic));
            views.len() >= FLUSH_VIEWS_AT
        };
        if full {
            self.flush_views();
        }
    }

    /// Writes the buffered views.
    pub fn flush_views(&self) {
        let batch = std::mem::take(&mut *self.views.lock().unwrap_or_else(|p| p.into_inner()));
        if let Err(e) = self.forum.record_views(self.config.community, &batch) {
            tracing::warn!(error = %e, views = batch.len(), "page views not recorded");
        }
    }

    /// The community served, as the system sees it.
    pub fn community(&self) -> Result<Community> {
        Ok(self
            .forum
            .community(&hearth::Actor::System, self.config.community)?)
    }

    /// A path under the mount point.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_path, path)
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.flush_views();
    }
}

/// Flushes buffered views every second until the state is dropped.
pub(crate) fn start_view_flusher(state: &Arc<AppState>) {
    let weak = std::sync::Arc::downgrade(state);
    let spawned = std::thread::Builder::new()
        .name("hearth-web-views".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                match weak.upgrade() {
                    Some(state) => state.flush_views(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no view flusher thread; views are written when 1,000 gather");
    }
}
