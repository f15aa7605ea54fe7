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

        impl crate::db::ToSql for $name {
            fn to_sql(&self) -> crate::db::ValueRef<'_> {
                crate::db::ValueRef::Integer(self.0)
            }
        }

        impl crate::db::FromSql for $name {
            fn from_sql(v: crate::db::ValueRef<'_>) -> std::result::Result<Self, String> {
                <i64 as crate::db::FromSql>::from_sql(v).map($name)
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
