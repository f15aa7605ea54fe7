//! Ticket deflection: what the new-topic composer suggested, what the
//! member opened, and how the visit ended. A visit whose member opened a
//! suggestion and then neither posted nor filed a support ticket within
//! the community's deflection window counts as deflected: the answer was
//! found before a question (or a ticket) was written.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::to_millis;
use crate::error::{Error, Result};
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, TopicId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::topic::topic_state;

/// How composer visits in a period ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflectionReport {
    /// Composer visits started in the period.
    pub sessions: i64,
    /// Visits that were shown at least one suggestion.
    pub with_suggestions: i64,
    /// Suggestions shown (each topic once per visit).
    pub impressions: i64,
    /// Suggestions opened.
    pub clicks: i64,
    /// Opened a suggestion, then neither posted nor filed a ticket.
    pub deflected: i64,
    /// Filed a support ticket from the composer.
    pub escalated: i64,
    /// Posted a topic.
    pub posted: i64,
    /// Opened a suggestion less than the window ago: not decided yet.
    pub pending: i64,
    /// Left without opening anything, posting or filing a ticket.
    pub abandoned: i64,
}

impl DeflectionReport {
    /// Deflected visits per visit that was shown suggestions (0 when none).
    pub fn rate(&self) -> f64 {
        if self.with_suggestions == 0 {
            0.0
        } else {
            self.deflected as f64 / self.with_suggestions as f64
        }
    }

    /// Opened suggestions per shown suggestion (0 when none).
    pub fn click_through(&self) -> f64 {
        if self.impressions == 0 {
            0.0
        } else {
            self.clicks as f64 / self.impressions as f64
        }
    }
}

fn check_token(token: &str) -> Result<()> {
    if token.len() < 8
        || token.len() > 64
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid(
            "session",
            "8 to 64 of A-Z, a-z, 0-9, '-' and '_'",
        ));
    }
    Ok(())
}

/// The member's composer visit with this token, made on first use.
fn session(w: &Write<'_>, viewer: &Viewer, token: &str) -> Result<(i64, UserId)> {
    check_token(token)?;
    let user = viewer.require_poster()?;
    w.tx.prepare_cached(
        "INSERT INTO composer_sessions (community_id, user_id, token, started_at, last_at)
         VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (community_id, token) DO NOTHING",
    )?
    .execute(params![viewer.community, user, token, w.now_ms()])?;
    let (id, owner): (i64, UserId) =
        w.tx.prepare_cached(
            "SELECT id, user_id FROM composer_sessions WHERE community_id = ?1 AND token = ?2",
        )?
        .query_row(params![viewer.community, token], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if owner != user {
        return Err(Error::not_found("composer session"));
    }
    w.tx.prepare_cached("UPDATE composer_sessions SET last_at = ?2 WHERE id = ?1")?
        .execute(params![id, w.now_ms()])?;
    Ok((id, user))
}

fn count(conn: &Conn, sql: &str, args: impl db::Params) -> Result<i64> {
    Ok(conn.prepare_cached(sql)?.query_row(args, |r| r.get(0))?)
}

impl Forum {
    /// Records the suggestions the composer showed in a visit (`session`
    /// is a token the composer page made: 8 to 64 URL-safe characters).
    /// Topics the member cannot read are ignored.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("d.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let bob = forum.create_user(NewUser::new("bob"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// # forum.join(&Actor::User(bob), c)?;
    /// # let cat = forum.create_category(&Actor::User(ann), c,
    /// #     NewCategory::new("qa", "Q&A", CategoryKind::QuestionAndAnswer))?.id;
    /// # let (answered, _) = forum.create_topic(&Actor::User(ann), c, NewTopic { category: cat,
    /// #     title: "Resetting a password".into(), body: "Use the link on the sign-in page.".into(), tags: vec![] })?;
    /// let bob = Actor::User(bob);
    /// forum.composer_suggestions(&bob, c, "visit-0001", &[answered.id])?;
    /// forum.composer_opened(&bob, c, "visit-0001", answered.id)?;
    /// let today = forum.now() - time::Duration::hours(1);
    /// let report = forum.deflection_report(&Actor::User(ann), c, today, forum.now() + time::Duration::hours(1))?;
    /// // Not decided until the deflection window (an hour) has passed.
    /// assert_eq!((report.clicks, report.pending, report.deflected), (1, 1, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn composer_suggestions(
        &self,
        actor: &Actor,
        community: CommunityId,
        session_token: &str,
        shown: &[TopicId],
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let (id, _) = session(w, &viewer, session_token)?;
            for t in shown.iter().take(20) {
                if topic_state(w.tx, &viewer, *t).is_ok() {
                    w.tx.prepare_cached(
                        "INSERT INTO composer_suggestions (session_id, topic_id, shown_at)
                         VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![id, t, w.now_ms()])?;
                }
            }
            Ok(())
        })
    }

    /// Records that the member opened a suggested topic (one the visit
    /// showed, or any topic they may read: suggestions shown by a cached
    /// page still count).
    pub fn composer_opened(
        &self,
        actor: &Actor,
        community: CommunityId,
        session_token: &str,
        topic: TopicId,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            topic_state(w.tx, &viewer, topic)?;
            let (id, _) = session(w, &viewer, session_token)?;
            let now = w.now_ms();
            w.tx.prepare_cached(
                "INSERT INTO composer_suggestions (session_id, topic_id, shown_at, opened_at)
                 VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (session_id, topic_id) DO UPDATE SET opened_at = coalesce(composer_suggestions.opened_at, excluded.opened_at)",
            )?
            .execute(params![id, topic, now])?;
            w.tx.prepare_cached("UPDATE composer_sessions SET opened_at = ?2 WHERE id = ?1")?
                .execute(params![id, now])?;
            Ok(())
        })
    }

    /// Records that the member went on to file a support ticket and
    /// returns the community's support URL (the escape hatch), or
    /// `NotFound` when none is set.
    pub fn composer_escalated(
        &self,
        actor: &Actor,
        community: CommunityId,
        session_token: &str,
    ) -> Result<String> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let url = viewer
                .config
                .settings
                .support_url
                .clone()
                .ok_or(Error::not_found("support link"))?;
            let (id, _) = session(w, &viewer, session_token)?;
            w.tx.prepare_cached(
                "UPDATE composer_sessions SET ticket_at = coalesce(ticket_at, ?2) WHERE id = ?1",
            )?
            .execute(params![id, w.now_ms()])?;
            Ok(url)
        })
    }

    /// Records that the visit ended with a topic (call after
    /// [`Forum::create_topic`] succeeds).
    pub fn composer_posted(
        &self,
        actor: &Actor,
        community: CommunityId,
        session_token: &str,
        topic: TopicId,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let (id, _) = session(w, &viewer, session_token)?;
            w.tx.prepare_cached(
                "UPDATE composer_sessions SET posted_at = coalesce(posted_at, ?2),
                        posted_topic = coalesce(posted_topic, ?3) WHERE id = ?1",
            )?
            .execute(params![id, w.now_ms(), topic])?;
            Ok(())
        })
    }

    /// How composer visits started in `[since, until)` ended (moderators).
    pub fn deflection_report(
        &self,
        actor: &Actor,
        community: CommunityId,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<DeflectionReport> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_moderator()?;
            let (a, b) = (to_millis(since), to_millis(until));
            let window = i64::from(viewer.config.settings.deflection_window_minutes) * 60_000;
            let settled = now - window;
            // Every query binds the same four values (?4: the settled mark).
            let range =
                "s.community_id = ?1 AND s.started_at >= ?2 AND s.started_at < ?3 AND CAST(?4 AS BIGINT) IS NOT NULL";
            let q = |cond: &str| {
                count(
                    conn,
                    &format!("SELECT count(*) FROM composer_sessions s WHERE {range} AND {cond}"),
                    params![community, a, b, settled],
                )
            };
            let suggestions = |what: &str| {
                count(
                    conn,
                    &format!(
                        "SELECT count(*) FROM composer_suggestions g JOIN composer_sessions s ON s.id = g.session_id
                         WHERE {range} AND {what}"
                    ),
                    params![community, a, b, settled],
                )
            };
            Ok(DeflectionReport {
                sessions: q("true")?,
                with_suggestions: q(
                    "EXISTS (SELECT 1 FROM composer_suggestions g WHERE g.session_id = s.id)",
                )?,
                impressions: suggestions("true")?,
                clicks: suggestions("g.opened_at IS NOT NULL")?,
                posted: q("s.posted_at IS NOT NULL")?,
                escalated: q("s.posted_at IS NULL AND s.ticket_at IS NOT NULL")?,
                deflected: q(
                    "s.posted_at IS NULL AND s.ticket_at IS NULL AND s.opened_at IS NOT NULL AND s.last_at <= ?4",
                )?,
                pending: q(
                    "s.posted_at IS NULL AND s.ticket_at IS NULL AND s.opened_at IS NOT NULL AND s.last_at > ?4",
                )?,
                abandoned: q(
                    "s.posted_at IS NULL AND s.ticket_at IS NULL AND s.opened_at IS NULL AND s.last_at <= ?4",
                )?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_bounded() {
        assert!(check_token("abcd-EFGH_1234").is_ok());
        for bad in ["short", "has space in it", "ünïcode-token", &"x".repeat(65)] {
            assert!(check_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_handle_zero() {
        let r = DeflectionReport::default();
        assert_eq!((r.rate(), r.click_through()), (0.0, 0.0));
        let r = DeflectionReport {
            with_suggestions: 4,
            deflected: 1,
            impressions: 10,
            clicks: 3,
            ..Default::default()
        };
        assert_eq!((r.rate(), r.click_through()), (0.25, 0.3));
    }
}
