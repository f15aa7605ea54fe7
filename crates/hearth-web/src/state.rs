//! What every handler shares, and the one way handlers call the engine:
//! [`AppState::run`], on tokio's blocking pool so no engine call ever runs
//! on an async worker thread.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use hearth::{Community, Forum};
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
}

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
