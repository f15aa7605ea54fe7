//! Where uploads' bytes are kept ([`UploadStorage`]): beside their
//! records in the database — the default, which works on every backend,
//! for every process and in the community export with nothing to set up —
//! or, with the crate feature `object-store`, in an object store
//! ([`ObjectStoreUploads`]: S3 and compatible services, or a directory the
//! processes share, through the `object_store` crate).
//!
//! In an object store an upload is the object
//! `<prefix>/c<community>/<sha256>-<nonce>` and its thumbnail the same
//! name with `-thumb`; the record keeps that name (`uploads.object_key`)
//! and an empty `data`. The random nonce makes each record's object its
//! own: the same picture uploaded again while the sweep removes an older
//! copy can never lose the new record's bytes. Records written before an
//! object store was configured keep their bytes in the database and are
//! served from there ([`Forum::move_uploads_to_object_store`] moves them).
//!
//! The store is asynchronous and the engine is not: each call runs on a
//! small runtime the store owns (one worker thread) and the caller waits
//! for its answer, at most [`ObjectStoreUploads::timeout`]. Bytes go to
//! the store before the record is written, and leave it after the record
//! is gone, so a record never names an object that is not there yet; what
//! a crash between the two can leave behind is an object no record names
//! (harmless, never served).
//!
//! [`Forum::move_uploads_to_object_store`]: crate::Forum::move_uploads_to_object_store

use std::fmt;

/// Where a [`Forum`](crate::Forum) keeps uploads' bytes
/// ([`Config::uploads`](crate::Config::uploads)).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum UploadStorage {
    /// In the database, beside each upload's record (the default).
    #[default]
    Database,
    /// In an object store (crate feature `object-store`). Uploads stored
    /// in the database before stay there and are still served.
    #[cfg(feature = "object-store")]
    ObjectStore(ObjectStoreUploads),
}

impl fmt::Debug for UploadStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadStorage::Database => f.write_str("Database"),
            #[cfg(feature = "object-store")]
            UploadStorage::ObjectStore(s) => f.debug_tuple("ObjectStore").field(s).finish(),
        }
    }
}

impl UploadStorage {
    /// The object store, when uploads go to one.
    #[cfg(feature = "object-store")]
    pub(crate) fn object_store(&self) -> Option<&ObjectStoreUploads> {
        match self {
            UploadStorage::ObjectStore(s) => Some(s),
            UploadStorage::Database => None,
        }
    }

    /// Without the feature there is never an object store.
    #[cfg(not(feature = "object-store"))]
    pub(crate) fn object_store(&self) -> Option<&ObjectStoreUploads> {
        None
    }
}

/// The error for a record whose bytes are in an object store this forum
/// was opened without.
pub(crate) fn not_configured(key: &str) -> crate::Error {
    crate::Error::Storage(format!(
        "the upload's bytes are in an object store (`{key}`), and this forum was opened \
         without one: open it with `Config::uploads` set to that store"
    ))
}

#[cfg(not(feature = "object-store"))]
pub(crate) use absent::ObjectStoreUploads;

/// Without the feature: a type that cannot be made, so code paths that
/// use a store compile away.
#[cfg(not(feature = "object-store"))]
mod absent {
    use crate::error::Result;

    pub(crate) enum ObjectStoreUploads {}

    impl ObjectStoreUploads {
        pub(crate) fn new_key(&self, _: crate::CommunityId, _: &str) -> Result<String> {
            match *self {}
        }
        pub(crate) fn put(&self, _: &str, _: Vec<u8>) -> Result<()> {
            match *self {}
        }
        pub(crate) fn get(&self, _: &str) -> Result<Vec<u8>> {
            match *self {}
        }
        pub(crate) fn delete_quietly(&self, _: &str) {
            match *self {}
        }
    }
}

#[cfg(feature = "object-store")]
pub use present::ObjectStoreUploads;

#[cfg(feature = "object-store")]
mod present {
    use std::fmt;
    use std::future::Future;
    use std::sync::Arc;
    use std::sync::mpsc::{RecvTimeoutError, sync_channel};
    use std::time::Duration;

    use object_store::path::Path;
    use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

    use crate::error::{Error, Result, Unavailable};
    use crate::ids::CommunityId;

    /// Uploads in an object store: any [`ObjectStore`] — S3 and
    /// compatible services (`object_store`'s `aws` feature, enabled in
    /// the application's own `Cargo.toml`), Google Cloud Storage, Azure,
    /// or `LocalFileSystem` on a directory every process serving the
    /// forum shares.
    ///
    /// For S3, the application adds `object_store` with its `aws`
    /// feature (the same version as Hearth's) and passes
    /// `AmazonS3Builder::from_env().with_bucket_name("…").build()?`; the
    /// store's own client settings (retries, request timeouts) apply
    /// within [`ObjectStoreUploads::timeout`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use hearth::*;
    /// let dir = tempfile::tempdir()?;
    /// let files = object_store::local::LocalFileSystem::new_with_prefix(dir.path())?;
    /// let uploads = ObjectStoreUploads::new(Arc::new(files), "community-uploads")?;
    /// let forum = Forum::open_with(
    ///     dir.path().join("forum.db"),
    ///     Config { uploads: UploadStorage::ObjectStore(uploads), ..Config::default() },
    /// )?;
    /// # drop(forum);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Clone)]
    pub struct ObjectStoreUploads {
        inner: Arc<Inner>,
        timeout: Duration,
    }

    struct Inner {
        store: Arc<dyn ObjectStore>,
        prefix: Path,
        runtime: Option<tokio::runtime::Runtime>,
    }

    impl Drop for Inner {
        fn drop(&mut self) {
            // Dropping a runtime blocks until its tasks end, which tokio
            // refuses inside async code (where a forum may be dropped).
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }

    impl fmt::Debug for ObjectStoreUploads {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("ObjectStoreUploads")
                .field("store", &format_args!("{}", self.inner.store))
                .field("prefix", &self.inner.prefix.as_ref())
                .field("timeout", &self.timeout)
                .finish()
        }
    }

    impl ObjectStoreUploads {
        /// How long a call waits for the store by default (30 s).
        pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

        /// Uploads in `store`, under `prefix` (`""` for the store's root;
        /// otherwise `/`-separated names, `Invalid` for `..`, empty or
        /// otherwise unusable parts). Starts the store's one worker
        /// thread.
        pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<ObjectStoreUploads> {
            let prefix = Path::parse(prefix).map_err(|e| {
                Error::invalid("prefix", format!("not a usable object name prefix: {e}"))
            })?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("hearth-uploads")
                .enable_all()
                .build()
                .map_err(|e| Error::Storage(format!("starting the upload store's thread: {e}")))?;
            Ok(ObjectStoreUploads {
                inner: Arc::new(Inner {
                    store,
                    prefix,
                    runtime: Some(runtime),
                }),
                timeout: Self::DEFAULT_TIMEOUT,
            })
        }

        /// The same store, waiting at most `timeout` for each answer (a
        /// store that takes longer makes the call fail with
        /// [`Error::Unavailable`] and [`Unavailable::UploadStore`]).
        pub fn with_timeout(mut self, timeout: Duration) -> ObjectStoreUploads {
            self.timeout = timeout;
            self
        }

        /// How long a call waits for the store.
        pub fn timeout(&self) -> Duration {
            self.timeout
        }

        /// A fresh object name for an upload of `community` with content
        /// `sha256`.
        pub(crate) fn new_key(&self, community: CommunityId, sha256: &str) -> Result<String> {
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce).map_err(|e| Error::Storage(format!("randomness: {e}")))?;
            let name = format!("{sha256}-{}", crate::text::hex(&nonce));
            Ok(self
                .inner
                .prefix
                .clone()
                .join(format!("c{}", community.0))
                .join(name)
                .to_string())
        }

        /// Stores `bytes` as `key`.
        pub(crate) fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
            let path = parse(key)?;
            let store = self.inner.store.clone();
            self.run("store an upload", async move {
                store.put(&path, PutPayload::from(bytes)).await.map(|_| ())
            })
        }

        /// The bytes of `key` (`NotFound` when the store has no such
        /// object).
        pub(crate) fn get(&self, key: &str) -> Result<Vec<u8>> {
            let path = parse(key)?;
            let store = self.inner.store.clone();
            self.run("read an upload", async move {
                let found = store.get(&path).await?;
                Ok(found.bytes().await?.to_vec())
            })
        }

        /// Removes `key` if it is there; a failure is logged, not
        /// returned (the record naming it is already gone: what is left
        /// is an object nothing serves).
        pub(crate) fn delete_quietly(&self, key: &str) {
            let Ok(path) = parse(key) else { return };
            let store = self.inner.store.clone();
            let done = self.run("remove an upload", async move {
                match store.delete(&path).await {
                    Err(object_store::Error::NotFound { .. }) => Ok(()),
                    other => other,
                }
            });
            if let Err(e) = done {
                tracing::warn!(key, error = %e, "an unused upload's object was not removed");
            }
        }

        /// Runs `work` on the store's runtime and waits for it, at most
        /// [`ObjectStoreUploads::timeout`].
        fn run<T: Send + 'static>(
            &self,
            what: &'static str,
            work: impl Future<Output = object_store::Result<T>> + Send + 'static,
        ) -> Result<T> {
            let Some(runtime) = &self.inner.runtime else {
                return Err(Error::Storage("the upload store has shut down".into()));
            };
            let (tx, rx) = sync_channel(1);
            let task = runtime.spawn(async move {
                let _ = tx.send(work.await);
            });
            match rx.recv_timeout(self.timeout) {
                Ok(answer) => answer.map_err(|e| store_error(what, e)),
                Err(RecvTimeoutError::Timeout) => {
                    task.abort();
                    tracing::warn!(
                        timeout = ?self.timeout,
                        "the upload store did not answer in time ({what})"
                    );
                    Err(unavailable())
                }
                Err(RecvTimeoutError::Disconnected) => Err(Error::Storage(format!(
                    "the upload store's task ended without an answer ({what})"
                ))),
            }
        }
    }

    fn parse(key: &str) -> Result<Path> {
        Path::parse(key).map_err(|e| Error::Storage(format!("an upload's object name: {e}")))
    }

    fn unavailable() -> Error {
        Error::Unavailable {
            cause: Unavailable::UploadStore,
            retry_after: Duration::from_secs(5),
        }
    }

    /// The engine's error for the store's: a missing object is
    /// `NotFound`; a refusal that only a change of configuration mends is
    /// `Storage` with the store's words; anything else (the network, the
    /// service) `Unavailable`, logged.
    fn store_error(what: &str, e: object_store::Error) -> Error {
        use object_store::Error as E;
        match e {
            E::NotFound { .. } => Error::not_found("upload"),
            E::PermissionDenied { .. }
            | E::Unauthenticated { .. }
            | E::UnknownConfigurationKey { .. }
            | E::InvalidPath { .. }
            | E::NotSupported { .. }
            | E::NotImplemented { .. } => Error::Storage(format!(
                "the upload store refused to {what}: {e} (check the store's configuration and \
                 credentials)"
            )),
            e => {
                tracing::warn!(error = %e, "the upload store failed to {what}");
                unavailable()
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use object_store::memory::InMemory;

        #[test]
        fn keys_are_fresh_and_under_the_prefix() {
            let s = ObjectStoreUploads::new(Arc::new(InMemory::new()), "a/b").expect("store");
            let sha = "ab".repeat(32);
            let k1 = s.new_key(CommunityId(7), &sha).expect("key");
            let k2 = s.new_key(CommunityId(7), &sha).expect("key");
            assert!(k1.starts_with(&format!("a/b/c7/{sha}-")), "{k1}");
            assert_ne!(k1, k2);
            s.put(&k1, b"one".to_vec()).expect("put");
            assert_eq!(s.get(&k1).expect("get"), b"one");
            assert!(matches!(s.get(&k2), Err(Error::NotFound { .. })));
            s.delete_quietly(&k1);
            s.delete_quietly(&k1);
            assert!(matches!(s.get(&k1), Err(Error::NotFound { .. })));
        }

        #[test]
        fn unusable_prefixes_are_refused() {
            for bad in ["a//b", "../x", "a/../b"] {
                let got = ObjectStoreUploads::new(Arc::new(InMemory::new()), bad);
                assert!(
                    matches!(got, Err(Error::Invalid { .. })),
                    "{bad:?}: {:?}",
                    got.map(|_| ())
                );
            }
            ObjectStoreUploads::new(Arc::new(InMemory::new()), "").expect("the root");
        }

        #[test]
        fn a_store_that_hangs_is_given_up_on() {
            let s = ObjectStoreUploads::new(Arc::new(InMemory::new()), "")
                .expect("store")
                .with_timeout(Duration::from_millis(50));
            let got = s.run("wait", async {
                std::future::pending::<()>().await;
                Ok(())
            });
            assert!(matches!(
                got,
                Err(Error::Unavailable {
                    cause: Unavailable::UploadStore,
                    ..
                })
            ));
        }

        #[test]
        fn it_can_be_dropped_inside_async_code() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let s = ObjectStoreUploads::new(Arc::new(InMemory::new()), "").expect("store");
                drop(s);
            });
        }
    }
}
