//! Topics named by another system: an importer or integration gives each
//! topic its own id (Discourse's `external_id`) and finds it again by that
//! id, so a repeated import does not create a topic twice.

use crate::db::{Conn, OptionalExtension, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, TopicId};
use crate::permissions::Actor;
use crate::text::{Lines, check_chars};
use crate::topic::{NewTopic, Post, Topic, topic_state};

/// The longest external id, in characters (Discourse's limit).
pub const MAX_EXTERNAL_ID: usize = 50;

pub(crate) fn check_external_id(id: &str) -> Result<()> {
    check_chars("external_id", id, Lines::One)?;
    let n = id.chars().count();
    if n == 0 || n > MAX_EXTERNAL_ID || id.trim() != id {
        return Err(Error::invalid(
            "external_id",
            format!("1 to {MAX_EXTERNAL_ID} characters, no spaces at either end (got {n})"),
        ));
    }
    Ok(())
}

fn find(conn: &Conn, community: CommunityId, id: &str) -> Result<Option<TopicId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM topics WHERE community_id = ?1 AND external_id = ?2")?
        .query_row(params![community, id], |r| r.get(0))
        .optional()?)
}

/// Fails when a topic of the community already has this external id.
pub(crate) fn check_free(conn: &Conn, community: CommunityId, id: &str) -> Result<()> {
    match find(conn, community, id)? {
        Some(topic) => Err(Error::invalid(
            "external_id",
            format!("topic {topic} already has this external_id"),
        )),
        None => Ok(()),
    }
}

impl Forum {
    /// [`Forum::create_topic`], giving the topic `external_id` (unique in
    /// the community; see [`MAX_EXTERNAL_ID`]). A second topic with the same
    /// id fails with [`Error::Invalid`] (field `external_id`) and creates
    /// nothing; a topic held for review keeps the id until approved.
    pub fn create_external_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewTopic,
        external_id: &str,
    ) -> Result<(Topic, Post)> {
        self.create_topic_with(actor, community, new, None, Some(external_id))
    }

    /// The topic with this external id, if `actor` may read it (otherwise
    /// `NotFound`, as for a topic that does not exist).
    pub fn topic_by_external_id(
        &self,
        actor: &Actor,
        community: CommunityId,
        external_id: &str,
    ) -> Result<TopicId> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let topic = find(conn, community, external_id)?.ok_or(Error::not_found("topic"))?;
            Ok(topic_state(conn, &viewer, topic)?.id)
        })
    }
}
