//! [`Error`], the plugin host's one error type.

/// What went wrong in the plugin host. Every variant about a plugin names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The manifest (`plugin.toml`) is missing a field or malformed.
    #[error("plugin manifest: {0}")]
    Manifest(String),
    /// The plugin was built for a plugin API version this host does not
    /// support.
    #[error(
        "plugin {plugin} was built for plugin API {found}; this host supports {supported}: rebuild it against hearth-plugin {supported}"
    )]
    UnsupportedApi {
        /// The plugin.
        plugin: String,
        /// The version the plugin targets.
        found: String,
        /// The range this host accepts.
        supported: String,
    },
    /// The file is not a valid plugin component (or does not match its
    /// manifest).
    #[error("plugin {plugin} is not a valid component: {message}")]
    Invalid {
        /// The plugin.
        plugin: String,
        /// Why.
        message: String,
    },
    /// No plugin of that name is installed.
    #[error("no plugin named {0:?} is installed")]
    NotInstalled(String),
    /// The plugin is not enabled in that community (or was disabled).
    #[error("plugin {plugin} is not enabled here{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotEnabled {
        /// The plugin.
        plugin: String,
        /// Why it is off, when the host turned it off.
        reason: Option<String>,
    },
    /// There is no earlier version to roll back to.
    #[error("plugin {0} has no previous version to roll back to")]
    NoPrevious(String),
    /// A setting value does not match its declared type.
    #[error("plugin {plugin}: setting {key:?}: {message}")]
    Setting {
        /// The plugin.
        plugin: String,
        /// The setting.
        key: String,
        /// What is wrong with the value.
        message: String,
    },
    /// The operator granted a capability the manifest does not ask for, or
    /// an unknown one.
    #[error("plugin {plugin}: {message}")]
    Capability {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        message: String,
    },
    /// The plugin ran out of time (epoch deadline) or fuel.
    #[error("plugin {plugin}: {hook} exceeded its {limit}")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The hook that was running.
        hook: String,
        /// `10 ms deadline` or `fuel budget of N`.
        limit: String,
    },
    /// The plugin broke a resource limit: memory, stack, or the size of a
    /// value it handed the host.
    #[error("plugin {plugin}: {hook}: {message}")]
    LimitExceeded {
        /// The plugin.
        plugin: String,
        /// The hook that was running.
        hook: String,
        /// Which limit, and by how much.
        message: String,
    },
    /// The plugin called a host function it did not ask for in its
    /// manifest, or that the operator did not grant.
    #[error("plugin {plugin}: {hook}: {message}")]
    Denied {
        /// The plugin.
        plugin: String,
        /// The hook that was running.
        hook: String,
        /// Which capability was missing.
        message: String,
    },
    /// The plugin trapped (a panic, `unreachable`, a bad memory access).
    #[error("plugin {plugin}: {hook} trapped: {message}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The hook that was running.
        hook: String,
        /// The trap and, when the SDK logged one, the panic message.
        message: String,
    },
    /// The plugin returned an error or a malformed result.
    #[error("plugin {plugin}: {hook} failed: {message}")]
    Failed {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: String,
        /// The plugin's message.
        message: String,
    },
    /// Every instance slot of the pooling allocator is busy; retry shortly
    /// or raise `HostConfig::max_instances`.
    #[error(
        "plugin {plugin}: all {limit} plugin instance slots are busy; retry, or raise HostConfig::max_instances"
    )]
    PoolExhausted {
        /// The plugin.
        plugin: String,
        /// The configured number of slots.
        limit: usize,
    },
    /// The actor may not manage plugins in this community.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The forum refused a read or write.
    #[error(transparent)]
    Forum(#[from] hearth::Error),
    /// The compiled-artifact cache could not be read or written.
    #[error("plugin cache {path}: {message}")]
    Cache {
        /// The file or folder.
        path: String,
        /// What failed.
        message: String,
    },
    /// wasmtime could not be set up with this configuration.
    #[error("plugin runtime: {0}")]
    Runtime(String),
}

impl Error {
    /// The plugin an error is about, if any.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Error::UnsupportedApi { plugin, .. }
            | Error::Invalid { plugin, .. }
            | Error::NotEnabled { plugin, .. }
            | Error::Setting { plugin, .. }
            | Error::Capability { plugin, .. }
            | Error::Timeout { plugin, .. }
            | Error::LimitExceeded { plugin, .. }
            | Error::Trap { plugin, .. }
            | Error::Denied { plugin, .. }
            | Error::Failed { plugin, .. }
            | Error::PoolExhausted { plugin, .. } => Some(plugin),
            Error::NotInstalled(p) | Error::NoPrevious(p) => Some(p),
            _ => None,
        }
    }

    /// Whether this is the plugin's fault (it counts toward automatic
    /// disabling), as opposed to the host's or the forum's.
    pub fn is_plugin_fault(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. }
                | Error::LimitExceeded { .. }
                | Error::Trap { .. }
                | Error::Denied { .. }
                | Error::Failed { .. }
        )
    }
}

/// `Result` with the plugin host's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
