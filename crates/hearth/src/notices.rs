//! Notifications sent by extensions — a plugin through the plugin host, or
//! the embedding application's own code ("your ticket was answered") —
//! through the engine's rules: only to members who may read what the
//! notice is about, never to the member who caused it, not from a muted
//! topic or category, as the member chose to get that kind (in the app, by
//! e-mail in the batched notification mail, or not at all), at most once
//! per dedupe key, and at most a set number per source and hour.
//!
//! They are written together with the extension's key-value writes, in one
//! transaction ([`Forum::ext_apply_with_notices`]): a plugin action that is
//! refused sends nothing, as it saves nothing.

use std::collections::HashMap;

use crate::db::params;
use crate::error::{Error, Result};
use crate::extdata::{ExtOp, apply_batches, check_batches};
use crate::forum::Forum;
use crate::ids::{CommunityId, PostId, TopicId, UserId};
use crate::notify::{Delivery, NotificationKind, WatchLevel, level_and_delivery, member};
use crate::permissions::{Actor, Snapshot, Viewer};
use crate::topic::{post_state, topic_state};

/// The longest text of an extension's notice, in characters.
pub const MAX_NOTICE_TEXT: usize = 300;
/// The longest dedupe key of an extension's notice, in bytes.
pub const MAX_NOTICE_KEY: usize = 200;

/// One notification an extension sends; see [`Forum::ext_apply_with_notices`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtNotice {
    /// Who sends it (a plugin's name): 1 to 50 lowercase letters, digits
    /// and dashes. Its notices count against its hourly cap together.
    pub source: String,
    /// The kind, as the source declares it (same characters): members
    /// choose how they get each (source, kind).
    pub kind: String,
    /// How the kind is delivered until the member chooses.
    pub default_delivery: Delivery,
    /// Who is told.
    pub recipient: UserId,
    /// Who caused it (a member acting), if anyone: never told themselves,
    /// and shown as its author.
    pub actor: Option<UserId>,
    /// The topic it is about (the post's, when only a post is named).
    pub topic: Option<TopicId>,
    /// The post it is about.
    pub post: Option<PostId>,
    /// One line of plain text, 1 to [`MAX_NOTICE_TEXT`] characters.
    pub text: String,
    /// Sent at most once per (source, recipient, key): 1 to
    /// [`MAX_NOTICE_KEY`] bytes.
    pub dedupe_key: String,
}

/// What became of a batch of notices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoticeTally {
    /// Written.
    pub sent: u32,
    /// Sent before under the same dedupe key.
    pub duplicates: u32,
    /// Left out by the rules: not a member, may not read the topic or
    /// post, the actor themselves, muted, or delivery off.
    pub skipped: u32,
    /// Over the source's hourly cap.
    pub capped: u32,
}

/// Whether `s` is 1 to 50 lowercase letters, digits and dashes.
fn name_like(s: &str) -> bool {
    (1..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The preference key members' choices for a source's kind are kept under.
fn preference_key(source: &str, kind: &str) -> String {
    format!("ext:{source}:{kind}")
}

impl ExtNotice {
    /// Checks the notice's own bounds (not the recipient's rights).
    pub fn check(&self) -> Result<()> {
        if !name_like(&self.source) {
            return Err(Error::invalid(
                "source",
                "1 to 50 lowercase letters, digits and dashes",
            ));
        }
        if !name_like(&self.kind) {
            return Err(Error::invalid(
                "kind",
                "1 to 50 lowercase letters, digits and dashes",
            ));
        }
        let chars = self.text.chars().count();
        if chars == 0 || chars > MAX_NOTICE_TEXT {
            return Err(Error::invalid("text", "1 to 300 characters"));
        }
        if self.text.chars().any(char::is_control) {
            return Err(Error::invalid(
                "text",
                "one line of plain text, without control characters",
            ));
        }
        if self.dedupe_key.is_empty() || self.dedupe_key.len() > MAX_NOTICE_KEY {
            return Err(Error::invalid("dedupe_key", "1 to 200 bytes"));
        }
        Ok(())
    }
}

impl Forum {
    /// Applies an extension's key-value writes (as
    /// [`Forum::ext_apply_all`]) and sends its notices, in one
    /// transaction, all or nothing: a notice out of its bounds
    /// ([`ExtNotice::check`]) is `Invalid` and nothing is applied. Each
    /// notice then goes through the rules in the module's documentation;
    /// the tally says how many were sent and why the others were not. A
    /// source sends at most `hourly_cap` notices per community in any hour
    /// (counting those sent before); the rest are counted as capped.
    ///
    /// This is an application-level call with no [`Actor`]: never hand it
    /// to end users directly.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("n.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// let notice = ExtNotice {
    ///     source: "help-desk".into(),
    ///     kind: "ticket-answered".into(),
    ///     default_delivery: Delivery::Email,
    ///     recipient: ann,
    ///     actor: None,
    ///     topic: None,
    ///     post: None,
    ///     text: "Support answered your ticket #4211".into(),
    ///     dedupe_key: "ticket-4211-answer-1".into(),
    /// };
    /// let sent = forum.ext_apply_with_notices(c, &[], &[notice.clone()], 1000)?;
    /// assert_eq!(sent.sent, 1);
    /// // The same key again sends nothing.
    /// let again = forum.ext_apply_with_notices(c, &[], &[notice], 1000)?;
    /// assert_eq!(again.duplicates, 1);
    /// let list = forum.notifications(&Actor::User(ann), c, &PageRequest::first(20), false)?;
    /// assert_eq!(list.items[0].sentence(), "Support answered your ticket #4211");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ext_apply_with_notices(
        &self,
        community: CommunityId,
        batches: &[(&str, &[ExtOp])],
        notices: &[ExtNotice],
        hourly_cap: u32,
    ) -> Result<NoticeTally> {
        check_batches(batches)?;
        for n in notices {
            n.check()?;
        }
        if notices.is_empty() {
            self.ext_apply_all(Some(community), batches)?;
            return Ok(NoticeTally::default());
        }
        self.write(|w| {
            let now = w.now_ms();
            apply_batches(w.tx, Some(community), batches, now)?;
            let mut tally = NoticeTally::default();
            // What each source may still send this hour.
            let mut left: HashMap<&str, i64> = HashMap::new();
            for n in notices {
                let remaining = match left.get(n.source.as_str()) {
                    Some(r) => *r,
                    None => {
                        let recent: i64 =
                            w.tx.prepare_cached(
                                "SELECT count(*) FROM notifications
                                 WHERE community_id = ?1 AND source = ?2 AND created_at > ?3",
                            )?
                            .query_row(params![community, n.source, now - 3_600_000], |r| {
                                r.get(0)
                            })?;
                        i64::from(hourly_cap) - recent
                    }
                };
                left.insert(&n.source, remaining);
                if remaining <= 0 {
                    tally.capped += 1;
                    continue;
                }
                match self.deliver_notice(w, community, n, now)? {
                    Delivered::Sent => {
                        tally.sent += 1;
                        left.insert(&n.source, remaining - 1);
                    }
                    Delivered::Duplicate => tally.duplicates += 1,
                    Delivered::Skipped => tally.skipped += 1,
                }
            }
            Ok(tally)
        })
    }

    fn deliver_notice(
        &self,
        w: &crate::forum::Write<'_>,
        community: CommunityId,
        n: &ExtNotice,
        now: i64,
    ) -> Result<Delivered> {
        if Some(n.recipient) == n.actor {
            return Ok(Delivered::Skipped);
        }
        let Ok(viewer) = Viewer::load(
            w.tx,
            &self.configs,
            Snapshot::InWrite,
            &Actor::User(n.recipient),
            community,
            now,
        ) else {
            return Ok(Delivered::Skipped);
        };
        if member(&viewer).is_err() {
            return Ok(Delivered::Skipped);
        }
        // Only about what they may read (a post names its own topic).
        let mut topic = n.topic;
        if let Some(p) = n.post {
            match post_state(w.tx, &viewer, p) {
                Ok(state) if !state.deleted && !state.topic.deleted => topic = Some(state.topic.id),
                _ => return Ok(Delivered::Skipped),
            }
        }
        let mut category = None;
        if let Some(t) = topic {
            match topic_state(w.tx, &viewer, t) {
                Ok(state) if !state.deleted => category = Some(state.category),
                _ => return Ok(Delivered::Skipped),
            }
        }
        let (level, _) = level_and_delivery(w.tx, n.recipient, topic, category, None)?;
        if level == WatchLevel::Muted {
            return Ok(Delivered::Skipped);
        }
        let delivery = self.notice_delivery(w.tx, n.recipient, community, &n.source, &n.kind)?;
        let delivery = delivery.unwrap_or(n.default_delivery);
        if delivery == Delivery::Off {
            return Ok(Delivered::Skipped);
        }
        let data = serde_json::json!({"source": n.source, "kind": n.kind, "text": n.text});
        let inserted =
            w.tx.prepare_cached(
                "INSERT INTO notifications
                   (community_id, user_id, kind, actor_id, topic_id, post_id, data, created_at,
                    email, source, dedupe_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                community,
                n.recipient,
                NotificationKind::Custom.as_str(),
                n.actor,
                topic,
                n.post,
                data.to_string(),
                now,
                if delivery == Delivery::Email {
                    "pending"
                } else {
                    "none"
                },
                n.source,
                n.dedupe_key,
            ])?;
        Ok(if inserted == 0 {
            Delivered::Duplicate
        } else {
            Delivered::Sent
        })
    }

    /// The member's own choice for a source's kind, if they made one.
    fn notice_delivery(
        &self,
        conn: &crate::db::Conn,
        user: UserId,
        community: CommunityId,
        source: &str,
        kind: &str,
    ) -> Result<Option<Delivery>> {
        let chosen: Option<String> = crate::store::optional(
            conn.prepare_cached(
                "SELECT delivery FROM notification_prefs
                 WHERE user_id = ?1 AND community_id = ?2 AND kind = ?3",
            )?
            .query_row(
                params![user, community, preference_key(source, kind)],
                |r| r.get(0),
            ),
        )?;
        Ok(chosen.as_deref().and_then(Delivery::parse))
    }

    /// How the signed-in member gets each of these extension kinds —
    /// (source, kind, default) — their choice or else the default, in the
    /// order asked (for a preferences screen listing the kinds the
    /// installed plugins declare).
    pub fn ext_notice_preferences(
        &self,
        actor: &Actor,
        community: CommunityId,
        kinds: &[(&str, &str, Delivery)],
    ) -> Result<Vec<Delivery>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let user = member(&viewer)?;
            kinds
                .iter()
                .map(|(source, kind, default)| {
                    Ok(self
                        .notice_delivery(conn, user, community, source, kind)?
                        .unwrap_or(*default))
                })
                .collect()
        })
    }

    /// Sets how the signed-in member gets an extension's kind of notice.
    pub fn set_ext_notice_preference(
        &self,
        actor: &Actor,
        community: CommunityId,
        source: &str,
        kind: &str,
        delivery: Delivery,
    ) -> Result<()> {
        if !name_like(source) || !name_like(kind) {
            return Err(Error::invalid(
                "kind",
                "source and kind are 1 to 50 lowercase letters, digits and dashes",
            ));
        }
        self.set_preference(actor, community, &preference_key(source, kind), delivery)
    }
}

enum Delivered {
    Sent,
    Duplicate,
    Skipped,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> ExtNotice {
        ExtNotice {
            source: "polls".into(),
            kind: "closed".into(),
            default_delivery: Delivery::InApp,
            recipient: UserId(1),
            actor: None,
            topic: None,
            post: None,
            text: "x".repeat(MAX_NOTICE_TEXT),
            dedupe_key: "k".repeat(MAX_NOTICE_KEY),
        }
    }

    #[test]
    fn bounds_are_checked_at_their_edges() {
        assert!(notice().check().is_ok());
        let mut n = notice();
        n.text.push('é');
        assert!(n.check().is_err());
        let mut n = notice();
        n.text = "two\nlines".into();
        assert!(n.check().is_err());
        let mut n = notice();
        n.text.clear();
        assert!(n.check().is_err());
        let mut n = notice();
        n.dedupe_key.push('k');
        assert!(n.check().is_err());
        let mut n = notice();
        n.dedupe_key.clear();
        assert!(n.check().is_err());
        for bad in ["", "Polls", "a b", "ext:x", &"a".repeat(51)] {
            let mut n = notice();
            n.source = bad.into();
            assert!(n.check().is_err(), "{bad:?}");
            let mut n = notice();
            n.kind = bad.into();
            assert!(n.check().is_err(), "{bad:?}");
        }
        assert_eq!(preference_key("polls", "closed"), "ext:polls:closed");
    }
}
