//! Community analytics for a period, computed from the event log (and the
//! tables the log's events describe): members and how active they are,
//! posts, time to a first reply, questions solved and how fast, ticket
//! deflection, top contributors, the most helpful articles, and product
//! link clicks — with a daily series for charts. Staff only.

use std::collections::{BTreeMap, HashMap};

use crate::clock::DAY_MS;
use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::clock::{from_millis, to_millis};
use crate::deflection::DeflectionReport;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::CommunityId;
use crate::permissions::Actor;
use crate::products::ProductClicks;
use crate::topic::UserRef;

/// The longest period one report covers.
pub const MAX_ANALYTICS_DAYS: i64 = 731;

/// One day of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPoint {
    /// The day (UTC).
    pub day: Date,
    /// Members who visited or did something.
    pub active: i64,
    /// Posts written (topics' first posts included).
    pub posts: i64,
    /// Members who joined.
    pub new_members: i64,
}

/// A member's contribution in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contributor {
    /// Who.
    pub user: UserRef,
    /// Posts written.
    pub posts: i64,
    /// Their answers accepted.
    pub solutions: i64,
    /// Likes their posts received.
    pub likes_received: i64,
}

/// A knowledge-base article's reception in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpfulArticle {
    /// The article.
    pub article: i64,
    /// Its title.
    pub title: String,
    /// "Helpful" votes cast in the period.
    pub helpful: i64,
    /// "Not helpful" votes cast in the period.
    pub not_helpful: i64,
}

/// Figures for one community and period; see [`Forum::analytics`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analytics {
    /// The period's start (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// The period's end (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Members at the end of the period.
    pub members: i64,
    /// Members who joined in the period.
    pub new_members: i64,
    /// Average daily active members over the period.
    pub daily_active: f64,
    /// Active members in the period's last 7 days.
    pub weekly_active: i64,
    /// Active members in the period's last 30 days.
    pub monthly_active: i64,
    /// Share of members with no activity in the 90 days before the end.
    pub inactive_90_days_share: f64,
    /// Posts written in the period.
    pub posts: i64,
    /// Topics opened in the period.
    pub topics: i64,
    /// Median minutes from a topic's opening to its first reply by someone
    /// else (topics opened in the period that got one).
    pub median_first_reply_minutes: Option<f64>,
    /// Share of the period's topics that got a reply within it.
    pub replied_share: f64,
    /// Questions (topics in Q&A categories) opened in the period.
    pub questions: i64,
    /// Of those, how many have an accepted answer now.
    pub solved: i64,
    /// `solved / questions` (0 when there were none).
    pub solved_share: f64,
    /// Median hours from a question to its (first) accepted answer.
    pub median_solution_hours: Option<f64>,
    /// How composer visits ended.
    pub deflection: DeflectionReport,
    /// Most posts in the period, with solutions and likes.
    pub top_contributors: Vec<Contributor>,
    /// Most "helpful" votes in the period.
    pub helpful_articles: Vec<HelpfulArticle>,
    /// Product link clicks in the period.
    pub product_clicks: Vec<ProductClicks>,
    /// One point per day of the period.
    pub daily: Vec<DayPoint>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn scalar(conn: &Conn, sql: &str, args: impl db::Params) -> Result<i64> {
    Ok(conn.prepare_cached(sql)?.query_row(args, |r| r.get(0))?)
}

/// Distinct members active in `[a, b)`: days they caused an event or
/// visited (`member_days.acted`, written with every event; see
/// `trust::mark_acted`).
fn active_between(conn: &Conn, c: CommunityId, a: i64, b: i64) -> Result<i64> {
    scalar(
        conn,
        "SELECT count(DISTINCT user_id) FROM member_days
         WHERE community_id = ?1 AND day >= ?2 AND day < ?3 AND acted = 1",
        params![c, a.div_euclid(DAY_MS), (b + DAY_MS - 1).div_euclid(DAY_MS)],
    )
}

impl Forum {
    /// The community's figures for `[since, until)` (at most two years;
    /// moderators and admins).
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("a.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// let tomorrow = forum.now().date().next_day().unwrap().midnight().assume_utc();
    /// let week = forum.analytics(&Actor::User(ann), c, tomorrow - time::Duration::days(7), tomorrow)?;
    /// assert_eq!((week.members, week.new_members), (1, 1));
    /// assert_eq!(week.daily.len(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn analytics(
        &self,
        actor: &Actor,
        community: CommunityId,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Analytics> {
        if until <= since || (until - since).whole_days() > MAX_ANALYTICS_DAYS {
            return Err(Error::invalid(
                "period",
                format!("must end after it starts and span at most {MAX_ANALYTICS_DAYS} days"),
            ));
        }
        let deflection = self.deflection_report(actor, community, since, until)?;
        let product_clicks = self.product_clicks(actor, community, since, until)?;
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_moderator()?;
            let c = community;
            let (a, b) = (to_millis(since), to_millis(until));
            let members = scalar(
                conn,
                "SELECT count(*) FROM memberships WHERE community_id = ?1 AND joined_at < ?2",
                params![c, b],
            )?;
            let count_kind = |kind: &str| {
                scalar(
                    conn,
                    "SELECT count(*) FROM events WHERE community_id = ?1 AND kind = ?2 AND created_at >= ?3 AND created_at < ?4",
                    params![c, kind, a, b],
                )
            };
            let new_members = count_kind("member.joined")?;
            let posts = count_kind("post.created")?;
            let topics = count_kind("topic.created")?;
            let weekly_active = active_between(conn, c, (b - 7 * DAY_MS).max(a), b)?;
            let monthly_active = active_between(conn, c, (b - 30 * DAY_MS).max(a), b)?;
            let active_90 = active_between(conn, c, b - 90 * DAY_MS, b)?;
            let inactive_90_days_share = if members == 0 {
                0.0
            } else {
                (members - active_90).max(0) as f64 / members as f64
            };

            // Daily series: active members, posts, joins.
            let first_day = a.div_euclid(DAY_MS);
            let last_day = (b - 1).div_euclid(DAY_MS);
            let mut daily: BTreeMap<i64, DayPoint> = (first_day..=last_day)
                .map(|d| {
                    (
                        d,
                        DayPoint {
                            day: from_millis(d * DAY_MS).date(),
                            active: 0,
                            posts: 0,
                            new_members: 0,
                        },
                    )
                })
                .collect();
            let mut stmt = conn.prepare_cached(
                "SELECT created_at / 86400000, kind, count(*) FROM events
                 WHERE community_id = ?1 AND kind IN ('post.created', 'member.joined')
                   AND created_at >= ?2 AND created_at < ?3 GROUP BY 1, 2",
            )?;
            for row in stmt.query_map(params![c, a, b], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })? {
                let (day, kind, n) = row?;
                if let Some(p) = daily.get_mut(&day) {
                    if kind == "post.created" {
                        p.posts = n;
                    } else {
                        p.new_members = n;
                    }
                }
            }
            let mut stmt = conn.prepare_cached(
                "SELECT day, count(*) FROM member_days
                 WHERE community_id = ?1 AND day >= ?2 AND day <= ?3 AND acted = 1 GROUP BY day",
            )?;
            for row in stmt.query_map(params![c, first_day, last_day], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })? {
                let (day, n) = row?;
                if let Some(p) = daily.get_mut(&day) {
                    p.active = n;
                }
            }
            let daily: Vec<DayPoint> = daily.into_values().collect();
            let daily_active = if daily.is_empty() {
                0.0
            } else {
                daily.iter().map(|d| d.active).sum::<i64>() as f64 / daily.len() as f64
            };

            // First replies and solutions, for topics opened in the period.
            let mut first_reply = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT t.created_at,
                        (SELECT min(p.created_at) FROM posts p WHERE p.topic_id = t.id AND p.post_number > 1
                           AND p.user_id != t.user_id AND p.deleted_at IS NULL)
                 FROM events e JOIN topics t ON t.id = e.topic_id
                 WHERE e.community_id = ?1 AND e.kind = 'topic.created' AND e.created_at >= ?2 AND e.created_at < ?3",
            )?;
            let mut replied = 0i64;
            for row in stmt.query_map(params![c, a, b], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
            })? {
                let (opened, reply) = row?;
                if let Some(at) = reply.filter(|at| *at < b) {
                    replied += 1;
                    first_reply.push((at - opened) as f64 / 60_000.0);
                }
            }
            let replied_share = if topics == 0 { 0.0 } else { replied as f64 / topics as f64 };
            // When each topic was first solved (one pass over those events).
            let mut first_solved: HashMap<i64, i64> = HashMap::new();
            let mut stmt = conn.prepare_cached(
                "SELECT topic_id, min(created_at) FROM events
                 WHERE community_id = ?1 AND kind = 'topic.solved' AND created_at >= ?2 GROUP BY topic_id",
            )?;
            for row in stmt.query_map(params![c, a], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
                let (topic, at) = row?;
                first_solved.insert(topic, at);
            }
            let mut stmt = conn.prepare_cached(
                "SELECT t.id, t.created_at, t.solved_post_id IS NOT NULL
                 FROM events e JOIN topics t ON t.id = e.topic_id JOIN categories k ON k.id = t.category_id
                 WHERE e.community_id = ?1 AND e.kind = 'topic.created' AND e.created_at >= ?2 AND e.created_at < ?3
                   AND k.kind = 'question_and_answer' AND t.deleted_at IS NULL",
            )?;
            let (mut questions, mut solved, mut solution_hours) = (0i64, 0i64, Vec::new());
            for row in stmt.query_map(params![c, a, b], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, bool>(2)?))
            })? {
                let (topic, opened, is_solved) = row?;
                questions += 1;
                if is_solved {
                    solved += 1;
                    if let Some(at) = first_solved.get(&topic) {
                        solution_hours.push((at - opened) as f64 / 3_600_000.0);
                    }
                }
            }

            // Top contributors.
            let mut by_user: HashMap<i64, (i64, i64, i64)> = HashMap::new();
            let mut stmt = conn.prepare_cached(
                "SELECT kind, who, count(*)
                 FROM (SELECT kind, CASE kind WHEN 'post.created' THEN actor_id ELSE subject_id END AS who
                       FROM events
                       WHERE community_id = ?1
                         AND kind IN ('post.created', 'topic.solved', 'post.liked')
                         AND created_at >= ?2 AND created_at < ?3) e
                 WHERE who IS NOT NULL
                 GROUP BY 1, 2",
            )?;
            for row in stmt.query_map(params![c, a, b], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })? {
                let (kind, who, n) = row?;
                let e = by_user.entry(who).or_default();
                match kind.as_str() {
                    "post.created" => e.0 += n,
                    "topic.solved" => e.1 += n,
                    _ => e.2 += n,
                }
            }
            let mut ranked: Vec<(i64, (i64, i64, i64))> = by_user.into_iter().collect();
            ranked.sort_by(|x, y| {
                let score = |v: &(i64, i64, i64)| v.0 + 5 * v.1 + v.2;
                score(&y.1).cmp(&score(&x.1)).then(x.0.cmp(&y.0))
            });
            let mut top_contributors = Vec::new();
            let mut user_stmt =
                conn.prepare_cached("SELECT username, display_name, avatar_url FROM users WHERE id = ?1")?;
            for (id, (p, s, l)) in ranked.into_iter().take(10) {
                let user = user_stmt.query_row([id], |r| {
                    Ok(UserRef {
                        id: crate::ids::UserId(id),
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        avatar_url: r.get(2)?,
                    })
                })?;
                top_contributors.push(Contributor {
                    user,
                    posts: p,
                    solutions: s,
                    likes_received: l,
                });
            }

            // Most helpful articles (votes cast in the period).
            let mut stmt = conn.prepare_cached(
                "SELECT v.article_id,
                        (SELECT title FROM kb_revisions r WHERE r.article_id = v.article_id
                           AND r.number = coalesce(a.published_revision, 1)),
                        CAST(sum(v.helpful) AS BIGINT), CAST(sum(1 - v.helpful) AS BIGINT)
                 FROM kb_votes v JOIN kb_articles a ON a.id = v.article_id
                 WHERE a.community_id = ?1 AND v.created_at >= ?2 AND v.created_at < ?3
                 GROUP BY v.article_id, a.published_revision
                 ORDER BY sum(v.helpful) - sum(1 - v.helpful) DESC, sum(v.helpful) DESC LIMIT 10",
            )?;
            let helpful_articles = stmt
                .query_map(params![c, a, b], |r| {
                    Ok(HelpfulArticle {
                        article: r.get(0)?,
                        title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        helpful: r.get(2)?,
                        not_helpful: r.get(3)?,
                    })
                })?
                .collect::<db::Result<_>>()?;

            Ok(Analytics {
                since,
                until,
                members,
                new_members,
                daily_active,
                weekly_active,
                monthly_active,
                inactive_90_days_share,
                posts,
                topics,
                median_first_reply_minutes: median(first_reply),
                replied_share,
                questions,
                solved,
                solved_share: if questions == 0 { 0.0 } else { solved as f64 / questions as f64 },
                median_solution_hours: median(solution_hours),
                deflection,
                top_contributors,
                helpful_articles,
                product_clicks,
                daily,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0]), Some(3.0));
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
