//! The points ledger: append-only, every entry naming its cause.
//!
//! Points are awarded inside the transaction of the change that earns them
//! (a post in a Q&A category, an accepted answer, a like received, a
//! knowledge-base article) and reversed — by a new, negated entry — when the
//! cause goes away (a like withdrawn, an answer un-accepted, a post
//! deleted). Integrity rules: nothing for your own content (you cannot like
//! your own post; accepting your own answer earns nothing), a daily cap per
//! rule and member, and nothing in categories that opt out.

use crate::db::{self, params};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::category::string_enum;
use crate::clock::{from_millis, to_millis};
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, PostId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, CategoryAccess, Viewer};
use crate::store::parsed;
use crate::topic::UserRef;

/// How many points each contribution earns. Part of
/// [`CommunitySettings`](crate::CommunitySettings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RewardRules {
    /// A question or answer posted in a Q&A category (default 1).
    pub qa_post: i64,
    /// Your answer was accepted by someone else (default 15).
    pub answer_accepted: i64,
    /// Someone liked your post (default 2).
    pub like_received: i64,
    /// You published a knowledge-base article (default 10).
    pub knowledge_base_article: i64,
    /// Most points one member can earn from one rule in one UTC day
    /// (default 100).
    pub daily_cap: i64,
}

impl Default for RewardRules {
    fn default() -> Self {
        RewardRules {
            qa_post: 1,
            answer_accepted: 15,
            like_received: 2,
            knowledge_base_article: 10,
            daily_cap: 100,
        }
    }
}

string_enum! {
    /// Why points were awarded.
    Rule {
        /// A post in a Q&A category.
        QaPost = "qa_post",
        /// An accepted answer.
        AnswerAccepted = "answer_accepted",
        /// A like received.
        LikeReceived = "like_received",
        /// A knowledge-base article.
        KnowledgeBaseArticle = "knowledge_base_article",
        /// Awarded by an admin or the application.
        Manual = "manual",
    }
}

impl Rule {
    fn points(self, rules: &RewardRules) -> i64 {
        match self {
            Rule::QaPost => rules.qa_post,
            Rule::AnswerAccepted => rules.answer_accepted,
            Rule::LikeReceived => rules.like_received,
            Rule::KnowledgeBaseArticle => rules.knowledge_base_article,
            Rule::Manual => 0,
        }
    }
}

/// A period for point totals, in UTC; weeks start on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Since midnight.
    Day,
    /// Since Monday midnight.
    Week,
    /// Since the first of the month.
    Month,
    /// Ever.
    AllTime,
}

impl Period {
    /// When the period containing `now` started.
    pub fn start(self, now: OffsetDateTime) -> OffsetDateTime {
        let midnight = now.replace_time(Time::MIDNIGHT);
        match self {
            Period::Day => midnight,
            Period::Week => {
                midnight - Duration::days(i64::from(midnight.weekday().number_days_from_monday()))
            }
            Period::Month => midnight - Duration::days(i64::from(midnight.day()) - 1),
            Period::AllTime => OffsetDateTime::UNIX_EPOCH,
        }
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointEntry {
    /// Its id.
    pub id: i64,
    /// Who earned (or lost) the points.
    pub user: UserId,
    /// Points; negative for a reversal.
    pub points: i64,
    /// Which rule.
    pub rule: Rule,
    /// What earned it, e.g. `"like:12:7"` (post 12 liked by user 7).
    pub cause: String,
    /// The post involved, if any.
    pub post: Option<PostId>,
    /// For a reversal: the entry it cancels.
    pub reverses: Option<i64>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A leaderboard row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// 1 for the top; members with equal points share a rank.
    pub rank: u32,
    /// The member.
    pub user: UserRef,
    /// Their points in the period.
    pub points: i64,
}

/// Awards points for `rule` inside the caller's transaction, unless the
/// category opts out, the rule is worth nothing, or the daily cap is spent.
#[allow(clippy::too_many_arguments)]
pub(crate) fn award(
    w: &mut Write<'_>,
    viewer: &Viewer,
    user: UserId,
    rule: Rule,
    cause: &str,
    post: Option<PostId>,
    category: Option<&CategoryAccess>,
) -> Result<()> {
    let rules = &viewer.config.settings.rewards;
    let mut points = rule.points(rules);
    if points <= 0 || category.is_some_and(|c| !c.rewards) {
        return Ok(());
    }
    let community = viewer.community;
    let day_start = to_millis(Period::Day.start(w.now));
    // Today's points under the rule, and whether the user is the system
    // user (who earns none), in one statement.
    let (today, system): (i64, bool) =
        w.tx.prepare_cached(
            "SELECT CAST(coalesce(sum(points), 0) AS BIGINT),
                    EXISTS(SELECT 1 FROM users WHERE id = ?2 AND username_lower = ?5)
             FROM point_entries
             WHERE community_id = ?1 AND user_id = ?2 AND created_at >= ?3 AND rule = ?4
               AND reverses IS NULL",
        )?
        .query_row(
            params![
                community,
                user,
                day_start,
                rule.as_str(),
                crate::member::SYSTEM_USERNAME
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    if system {
        return Ok(());
    }
    points = points.min(rules.daily_cap - today);
    if points <= 0 {
        return Ok(());
    }
    insert_entry(
        w, community, user, points, rule, cause, post, None, category,
    )
}

#[allow(clippy::too_many_arguments)]
fn insert_entry(
    w: &mut Write<'_>,
    community: CommunityId,
    user: UserId,
    points: i64,
    rule: Rule,
    cause: &str,
    post: Option<PostId>,
    reverses: Option<i64>,
    category: Option<&CategoryAccess>,
) -> Result<()> {
    let entry = w.tx.insert_id(
        "INSERT INTO point_entries (community_id, user_id, points, rule, cause, post_id, reverses, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![community, user, points, rule.as_str(), cause, post, reverses, w.now_ms()],
    )?;
    w.tx.prepare_cached(
        "INSERT INTO point_days (community_id, user_id, day, points) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (community_id, user_id, day) DO UPDATE SET points = point_days.points + excluded.points",
    )?
    .execute(params![community, user, day_of(w.now_ms()), points])?;
    let (kind, audience) = match reverses {
        None => (
            EventKind::RewardEarned,
            category.map_or(Audience::Members, crate::topic::audience),
        ),
        Some(_) => (
            EventKind::RewardReversed,
            category.map_or(Audience::Members, crate::topic::audience),
        ),
    };
    let mut e = NewEvent::new(kind, audience);
    e.category = category.map(|c| c.id);
    e.post = post;
    e.subject = Some(user);
    e.data = serde_json::json!({
        "entry": entry, "points": points, "rule": rule.as_str(), "cause": cause, "reverses": reverses,
    });
    w.emit(community, e)
}

/// Reverses every live entry matching `cause` (exact) or, with `post`, every
/// live entry about that post.
pub(crate) fn reverse(
    w: &mut Write<'_>,
    viewer: &Viewer,
    cause: Option<&str>,
    post: Option<PostId>,
    category: Option<&CategoryAccess>,
) -> Result<()> {
    let live: Vec<(i64, UserId, i64, Rule, String, Option<PostId>)> =
        w.tx.prepare_cached(
            "SELECT id, user_id, points, rule, cause, post_id FROM point_entries
             WHERE community_id = ?1 AND reverses IS NULL AND reversed = 0
               AND (cause = ?2 OR post_id = ?3)",
        )?
        .query_map(params![viewer.community, cause, post], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                parsed(r, 3, Rule::parse)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<db::Result<_>>()?;
    for (id, user, points, rule, cause, post) in live {
        w.tx.prepare_cached("UPDATE point_entries SET reversed = 1 WHERE id = ?1")?
            .execute([id])?;
        insert_entry(
            w,
            viewer.community,
            user,
            -points,
            rule,
            &cause,
            post,
            Some(id),
            category,
        )?;
    }
    Ok(())
}

/// UTC days since the epoch.
fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

impl Forum {
    /// A member's points in a period (visible to anyone who may read the
    /// community).
    pub fn points(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        period: Period,
    ) -> Result<i64> {
        let since = day_of(to_millis(period.start(self.now())));
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            Ok(conn
                .prepare_cached(
                    "SELECT CAST(coalesce(sum(points), 0) AS BIGINT) FROM point_days
                     WHERE community_id = ?1 AND user_id = ?2 AND day >= ?3",
                )?
                .query_row(params![community, user, since], |r| r.get(0))?)
        })
    }

    /// The top `limit` members (at most 100) by points in a period; equal
    /// points share a rank (1, 2, 2, 4).
    pub fn leaderboard(
        &self,
        actor: &Actor,
        community: CommunityId,
        period: Period,
        limit: usize,
    ) -> Result<Vec<Standing>> {
        let since = day_of(to_millis(period.start(self.now())));
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            let rows: Vec<(UserRef, i64)> = conn
                .prepare_cached(
                    "SELECT u.id, u.username, u.display_name, u.avatar_url, t.total
                     FROM (SELECT user_id, CAST(sum(points) AS BIGINT) AS total FROM point_days
                           WHERE community_id = ?1 AND day >= ?2
                           GROUP BY user_id HAVING sum(points) > 0
                           ORDER BY total DESC, user_id LIMIT ?3) t
                     JOIN users u ON u.id = t.user_id
                     JOIN memberships m ON m.community_id = ?1 AND m.user_id = t.user_id
                     ORDER BY t.total DESC, u.id",
                )?
                .query_map(params![community, since, limit.clamp(1, 100) as i64], |r| {
                    Ok((
                        UserRef {
                            id: r.get(0)?,
                            username: r.get(1)?,
                            display_name: r.get(2)?,
                            avatar_url: r.get(3)?,
                        },
                        r.get(4)?,
                    ))
                })?
                .collect::<db::Result<_>>()?;
            let mut out: Vec<Standing> = Vec::with_capacity(rows.len());
            for (i, (user, points)) in rows.into_iter().enumerate() {
                let rank = match out.last() {
                    Some(prev) if prev.points == points => prev.rank,
                    _ => i as u32 + 1,
                };
                out.push(Standing { rank, user, points });
            }
            Ok(out)
        })
    }

    /// A member's ledger, newest first. The member themself and moderators.
    pub fn point_entries(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        page: &PageRequest,
    ) -> Result<Page<PointEntry>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if viewer.user != Some(user) && !viewer.is_moderator() {
                return Err(Error::forbidden("only the member and moderators see a ledger"));
            }
            let after = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => i64::MAX,
            };
            let limit = page.limit();
            let items: Vec<PointEntry> = conn
                .prepare_cached(
                    "SELECT id, user_id, points, rule, cause, post_id, reverses, created_at FROM point_entries
                     WHERE community_id = ?1 AND user_id = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4",
                )?
                .query_map(params![community, user, after, limit as i64 + 1], |r| {
                    Ok(PointEntry {
                        id: r.get(0)?,
                        user: r.get(1)?,
                        points: r.get(2)?,
                        rule: parsed(r, 3, Rule::parse)?,
                        cause: r.get(4)?,
                        post: r.get(5)?,
                        reverses: r.get(6)?,
                        created_at: from_millis(r.get(7)?),
                    })
                })?
                .collect::<db::Result<_>>()?;
            Ok(Page::from_rows(items, limit, |e: &PointEntry| Cursor::from_parts(&[e.id])))
        })
    }

    /// Awards (or, with negative points, deducts) points by hand. Admins
    /// and the application only; not capped.
    pub fn award_points(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        points: i64,
        reason: &str,
    ) -> Result<()> {
        crate::text::check_len("reason", reason, 1, 200)?;
        if points == 0 {
            return Err(Error::invalid("points", "must not be zero"));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            crate::member::membership(w.tx, community, user)?.ok_or(Error::not_found("member"))?;
            insert_entry(
                w,
                community,
                user,
                points,
                Rule::Manual,
                &format!("manual:{reason}"),
                None,
                None,
                None,
            )
        })
    }
    /// Awards (or deducts) points once per `cause`: returns `false` and
    /// writes nothing when an entry with this cause exists in the
    /// community. For automated awarders (plugins, jobs) that may run twice
    /// for the same reason. Admins and the application only; not capped.
    pub fn award_points_once(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        points: i64,
        cause: &str,
    ) -> Result<bool> {
        crate::text::check_name("cause", cause, 1, 300)?;
        if points == 0 {
            return Err(Error::invalid("points", "must not be zero"));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            crate::member::membership(w.tx, community, user)?.ok_or(Error::not_found("member"))?;
            let cause = format!("once:{cause}");
            let used: bool = w
                .tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM point_entries WHERE community_id = ?1 AND cause = ?2)",
                )?
                .query_row(params![community, cause], |r| r.get(0))?;
            if used {
                return Ok(false);
            }
            insert_entry(w, community, user, points, Rule::Manual, &cause, None, None, None)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn period_starts() {
        let now = datetime!(2026-11-26 15:30 UTC); // a Thursday
        assert_eq!(Period::Day.start(now), datetime!(2026-11-26 0:00 UTC));
        assert_eq!(Period::Week.start(now), datetime!(2026-11-23 0:00 UTC));
        assert_eq!(Period::Month.start(now), datetime!(2026-11-01 0:00 UTC));
        assert_eq!(Period::AllTime.start(now), OffsetDateTime::UNIX_EPOCH);
    }
}
