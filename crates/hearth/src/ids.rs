//! Typed integer ids.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        ///
        /// Ids are stable and never reused; they are plain integers on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        // Storage plumbing, not API: hidden from the docs and not to be
        // relied on (a second backend will replace these impls).
        #[doc(hidden)]
        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.0.into())
            }
        }

        #[doc(hidden)]
        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(v).map($name)
            }
        }
    )*};
}

id_type! {
    /// Identifies a community (a tenant).
    CommunityId,
    /// Identifies a category.
    CategoryId,
    /// Identifies a user account (global; membership is per community).
    UserId,
    /// Identifies a group within a community.
    GroupId,
    /// Identifies a topic.
    TopicId,
    /// Identifies a post.
    PostId,
    /// Identifies an event in the durable event log; ids only grow.
    EventId,
    /// Identifies an item in a community's review queue.
    ReviewId,
}
