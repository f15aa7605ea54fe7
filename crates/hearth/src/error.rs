//! The one error type of the engine.

use std::time::Duration;

/// Everything that can go wrong in a [`Forum`](crate::Forum) call.
///
/// Variants are meant to be matched: a web layer maps [`Error::NotFound`] to
/// 404, [`Error::Forbidden`] to 403, [`Error::Invalid`] to 422 and so on.
/// A call that returns an error has changed nothing, except
/// [`Error::PendingReview`], which says what it wrote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing does not exist, or the actor may not know that it exists.
    ///
    /// Private content is reported as not found rather than forbidden, so an
    /// error never confirms that something private is there.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `"topic"`.
        what: &'static str,
    },
    /// The actor may see the resource but may not do this to it.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why, in words that can be shown to the actor.
        reason: String,
    },
    /// An input failed validation.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field, e.g. `"title"`.
        field: &'static str,
        /// What is wrong with it and what would be accepted.
        reason: String,
        /// The kind of failure and its limit, for programs (a web layer
        /// makes a code such as `post_too_long` from `field` and this).
        problem: Problem,
    },
    /// The change clashes with the current state (a taken username, a
    /// duplicate like, a stale revision).
    #[error("conflict: {reason}")]
    Conflict {
        /// What clashed.
        reason: String,
    },
    /// The actor is doing this too often.
    #[error("rate limited: try again in {} s", retry_after.as_secs())]
    RateLimited {
        /// How long to wait before the same call may succeed.
        retry_after: Duration,
    },
    /// A moderation rule refused the content (a watched word, a new
    /// member's link limit, a duplicate post…); `reason` is for the author.
    #[error("blocked by {rule}: {reason}")]
    Blocked {
        /// Which rule, e.g. `"watched_word"`, `"new_member_links"`, `"duplicate"`.
        rule: String,
        /// The reason shown to the author.
        reason: String,
    },
    /// The post was not published: it waits in the review queue as item
    /// `review` and is published if a moderator approves it. This is the
    /// one error after which something was written (the queue item).
    #[error("waiting for review: {reason}")]
    PendingReview {
        /// The queue item; the author follows it with
        /// [`Forum::my_reviews`](crate::Forum::my_reviews).
        review: crate::ReviewId,
        /// Why, in words for the author.
        reason: String,
    },
    /// The topic was merged into another; go there instead (a web layer
    /// answers with a redirect).
    #[error("moved to topic {topic}")]
    Moved {
        /// Where it lives now.
        topic: crate::TopicId,
    },
    /// A registered hook rejected the content; `reason` is for the author.
    #[error("rejected by {hook}: {reason}")]
    Rejected {
        /// The hook's name.
        hook: String,
        /// The reason shown to the author.
        reason: String,
    },
    /// A registered hook failed (returned an error or panicked). The write was
    /// not applied.
    #[error("hook {hook} failed: {message}")]
    Hook {
        /// The hook's name.
        hook: String,
        /// What went wrong.
        message: String,
    },
    /// The database file was written by a newer Hearth.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); \
         upgrade hearth or open a different file"
    )]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database can't take the change now: another process held the
    /// write lock past the busy timeout, the disk is full, or the file is
    /// read-only. Nothing was changed; the same call may succeed later
    /// (a web layer answers 503 with `Retry-After`).
    #[error("storage unavailable: {cause}; try again in {} s", retry_after.as_secs())]
    Unavailable {
        /// Why.
        cause: Unavailable,
        /// A sensible wait before retrying.
        retry_after: Duration,
    },
    /// The storage layer failed (I/O, corruption).
    #[error("storage error: {0}")]
    Storage(String),
}

/// Why the database could not take a change ([`Error::Unavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// Another connection or process held the write lock for longer than
    /// the busy timeout (`StoreConfig::busy_timeout`).
    #[error("the database is busy")]
    Busy,
    /// The disk (or a file-size limit) is full.
    #[error("the disk is full")]
    DiskFull,
    /// The database file or its directory is read-only (or, on
    /// PostgreSQL, the server is a read-only standby).
    #[error("the database is read-only")]
    ReadOnly,
    /// A concurrent change conflicted with this one (PostgreSQL: a
    /// serialization failure or a deadlock) and retrying it did not help.
    #[error("the change conflicted with concurrent changes")]
    Conflict,
    /// The database server can't be reached, is shutting down or has no
    /// connection to spare (PostgreSQL).
    #[error("the database server cannot be reached")]
    Unreachable,
    /// The object store that keeps uploads (`UploadStorage::ObjectStore`)
    /// failed or did not answer in time.
    #[error("the upload store cannot be reached")]
    UploadStore,
}

impl Unavailable {
    /// A stable code: `busy`, `disk_full`, `read_only`, `conflict`,
    /// `unreachable`, `upload_store`.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::Busy => "busy",
            Unavailable::DiskFull => "disk_full",
            Unavailable::ReadOnly => "read_only",
            Unavailable::Conflict => "conflict",
            Unavailable::Unreachable => "unreachable",
            Unavailable::UploadStore => "upload_store",
        }
    }
}

/// What kind of validation failure an [`Error::Invalid`] is, with the limit
/// that was crossed: the machine-readable half of the error (the `reason`
/// is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Shorter than `min` (characters, or bytes where the reason says so).
    TooShort {
        /// The least accepted.
        min: u64,
    },
    /// Longer than `max` (characters, or bytes where the reason says so).
    TooLong {
        /// The most accepted.
        max: u64,
    },
    /// More items than `max` (tags, elements of a post…).
    TooMany {
        /// The most accepted.
        max: u64,
    },
    /// Nested more than `max` levels deep (quotes, lists, HTML elements).
    TooDeep {
        /// The deepest accepted.
        max: u64,
    },
    /// A character the field refuses (control characters, NUL,
    /// bidirectional overrides in one-line texts, noncharacters).
    Characters,
    /// Nothing visible is left (a body of only markup or invisible
    /// characters).
    Blank,
    /// Any other failure: a malformed value, a reference to nothing, a
    /// value the current state does not allow.
    Other,
}

impl Problem {
    /// A stable code: `too_short`, `too_long`, `too_many`, `too_deep`,
    /// `characters`, `blank`, `invalid`.
    pub fn code(self) -> &'static str {
        match self {
            Problem::TooShort { .. } => "too_short",
            Problem::TooLong { .. } => "too_long",
            Problem::TooMany { .. } => "too_many",
            Problem::TooDeep { .. } => "too_deep",
            Problem::Characters => "characters",
            Problem::Blank => "blank",
            Problem::Other => "invalid",
        }
    }

    /// The limit that was crossed, if there is one.
    pub fn limit(self) -> Option<u64> {
        match self {
            Problem::TooShort { min } => Some(min),
            Problem::TooLong { max } | Problem::TooMany { max } | Problem::TooDeep { max } => {
                Some(max)
            }
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::invalid_as(field, Problem::Other, reason)
    }
    pub(crate) fn invalid_as(
        field: &'static str,
        problem: Problem,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
            problem,
        }
    }
    pub(crate) fn forbidden(reason: impl Into<String>) -> Self {
        Error::Forbidden {
            reason: reason.into(),
        }
    }
    pub(crate) fn conflict(reason: impl Into<String>) -> Self {
        Error::Conflict {
            reason: reason.into(),
        }
    }
    pub(crate) fn not_found(what: &'static str) -> Self {
        Error::NotFound { what }
    }
}

impl From<crate::db::Error> for Error {
    fn from(e: crate::db::Error) -> Self {
        match e {
            crate::db::Error::Sqlite(e) => e.into(),
            #[cfg(feature = "postgres")]
            crate::db::Error::Postgres(e) => from_postgres(e),
            other => Error::Storage(other.to_string()),
        }
    }
}

/// PostgreSQL's conditions that say "not now" become
/// [`Error::Unavailable`] (by SQLSTATE class or code); the rest is
/// [`Error::Storage`].
#[cfg(feature = "postgres")]
fn from_postgres(e: ::postgres::Error) -> Error {
    let unavailable = |cause, secs| Error::Unavailable {
        cause,
        retry_after: Duration::from_secs(secs),
    };
    let Some(db) = e.as_db_error() else {
        // No answer from the server: the connection is gone.
        return if e.is_closed() || std::error::Error::source(&e).is_some() {
            unavailable(Unavailable::Unreachable, 5)
        } else {
            Error::Storage(e.to_string())
        };
    };
    let code = db.code().code();
    match code {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => unavailable(Unavailable::Conflict, 1),
        // lock_not_available (lock_timeout), query_canceled (statement_timeout)
        "55P03" | "57014" => unavailable(Unavailable::Busy, 1),
        // disk_full, insufficient_resources
        "53100" | "53000" => unavailable(Unavailable::DiskFull, 30),
        // read_only_sql_transaction: a hot standby
        "25006" => unavailable(Unavailable::ReadOnly, 30),
        // too_many_connections, admin/crash shutdown, cannot_connect_now
        "53300" | "57P01" | "57P02" | "57P03" => unavailable(Unavailable::Unreachable, 5),
        _ if code.starts_with("08") => unavailable(Unavailable::Unreachable, 5),
        _ => Error::Storage(format!("{} ({code})", db.message())),
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        let unavailable = |cause, secs| Error::Unavailable {
            cause,
            retry_after: Duration::from_secs(secs),
        };
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => unavailable(Unavailable::Busy, 1),
            Some(C::DiskFull) => unavailable(Unavailable::DiskFull, 30),
            Some(C::ReadOnly) => unavailable(Unavailable::ReadOnly, 30),
            _ => Error::Storage(e.to_string()),
        }
    }
}
