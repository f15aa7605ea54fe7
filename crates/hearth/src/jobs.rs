//! The e-mail job runner: notification e-mails (batched), daily and weekly
//! digests, and "we miss you" after a long absence — each written to the
//! outbox at most once per member per period (the outbox's unique key),
//! so a runner stopped halfway and started again, or two runs of the same
//! period, send nothing twice — then delivered through a [`Mailer`].
//! Everything is driven by the forum's clock, so tests walk time.

use std::collections::HashMap;
use std::ops::ControlFlow;

use crate::db::{self, Conn, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, Weekday};

use crate::clock::{from_millis, to_millis};
use crate::error::Result;
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, UserId};
use crate::mail::{
    DigestFrequency, Email, EmailKind, MailError, Mailer, mark_bounced, preferences_of, secret,
    sign,
};
use crate::notify::NotificationKind;
use crate::permissions::{Actor, Snapshot, Viewer};
// The e-mail bodies escape as posts do.
use crate::render::escape_text as esc;
use crate::topic::{Topic, load_topics};

/// Members handled per transaction.
const BATCH: usize = 200;
/// Delivery attempts before a message is given up.
const MAX_ATTEMPTS: i64 = 5;
/// Notifications listed in one e-mail.
const MAX_NOTIFICATIONS: i64 = 20;

/// A step of [`Forum::run_email_jobs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStep {
    /// Writing notification e-mails.
    Notifications,
    /// Writing digests.
    Digests,
    /// Writing "we miss you" e-mails.
    WeMissYou,
    /// Handing the outbox to the mailer.
    Delivery,
}

/// Where a run is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// The step.
    pub step: JobStep,
    /// Members (or messages) done in this step.
    pub done: u64,
    /// How many there are.
    pub total: u64,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobReport {
    /// Notification e-mails written.
    pub notification_emails: u64,
    /// Digests written.
    pub digests: u64,
    /// "We miss you" e-mails written.
    pub we_miss_you: u64,
    /// Periods with nothing to say (recorded so they are not reconsidered).
    pub skipped: u64,
    /// Messages handed to the mailer successfully.
    pub delivered: u64,
    /// Messages held back because the member unsubscribed or bounced.
    pub suppressed: u64,
    /// Deliveries that failed for now (retried next run) or for good.
    pub failed: u64,
    /// Deliveries the mailer reported as bounced.
    pub bounced: u64,
    /// Whether the run went to the end (the progress callback can stop it).
    pub finished: bool,
    /// Another process was running this community's jobs (or took them
    /// over during this run): nothing, or only part, was done here.
    pub held_elsewhere: bool,
}

/// How long an e-mail job's lease lasts without renewal by default (see
/// [`Config::email_job_lease`](crate::Config::email_job_lease)): the
/// longest another process waits to take over from one that died.
pub const EMAIL_JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(120);

/// Most topics from followed members a digest adds to the best ones.
pub(crate) const FOLLOWED_IN_DIGEST: usize = 5;

/// The digest period that has just ended at `now`, as (key, start, end).
pub(crate) fn digest_period(
    freq: DigestFrequency,
    now: OffsetDateTime,
) -> Option<(String, OffsetDateTime, OffsetDateTime)> {
    let midnight = now.date().with_time(Time::MIDNIGHT).assume_utc();
    match freq {
        DigestFrequency::Never => None,
        DigestFrequency::Daily => {
            let start = midnight - Duration::days(1);
            Some((format!("daily:{}", start.date()), start, midnight))
        }
        DigestFrequency::Weekly => {
            let back = i64::from(now.weekday().number_days_from_monday());
            let this_monday = midnight - Duration::days(back);
            let start = this_monday - Duration::days(7);
            debug_assert_eq!(start.weekday(), Weekday::Monday);
            Some((format!("weekly:{}", start.date()), start, this_monday))
        }
    }
}

/// Context shared by one run.
struct Run<'a> {
    forum: &'a Forum,
    community: CommunityId,
    name: String,
    from: String,
    base: String,
    key: Vec<u8>,
    max_topics: i64,
    default_digest: DigestFrequency,
    we_miss_you_days: u32,
    /// Best topics per (readable categories, window): members who read the
    /// same categories share one query.
    /// (A cache: it survives a write that is rolled back and run again,
    /// which is harmless because it holds only committed topics.)
    best: std::sync::Mutex<HashMap<(String, i64, i64), Vec<Topic>>>,
}

/// What one e-mail says, before it is stored.
struct Draft {
    subject: String,
    text: String,
    html: String,
}

impl Run<'_> {
    fn topic_url(&self, t: &Topic) -> String {
        format!("{}/t/{}/{}", self.base, t.slug, t.id.0)
    }

    fn unsubscribe_url(&self, user: UserId, digest_only: bool) -> Result<String> {
        let token = sign(
            &self.key,
            self.community,
            user,
            if digest_only { "digest" } else { "all" },
        )?;
        Ok(format!("{}/email/unsubscribe?token={token}", self.base))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i64, i64), Vec<Topic>>> {
        self.best.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The best topics created in `[start, end)` that `viewer` may read.
    fn best_topics(
        &self,
        conn: &Conn,
        viewer: &Viewer,
        start: i64,
        end: i64,
    ) -> Result<Vec<Topic>> {
        let cats = viewer.readable_sql();
        let key = (cats.clone(), start, end);
        if let Some(t) = self.cache().get(&key) {
            return Ok(t.clone());
        }
        let filter = format!(
            "t.community_id = ?1 AND t.category_id IN {cats} AND t.created_at >= ?2 AND t.created_at < ?3
             AND t.deleted_at IS NULL AND t.hidden_at IS NULL AND t.unlisted = 0
             ORDER BY (t.like_count * 3 + (t.post_count - 1) * 2 + t.view_count / 10) DESC, t.id DESC
             LIMIT ?4"
        );
        let topics = load_topics(
            conn,
            &filter,
            params![self.community, start, end, self.max_topics],
        )?;
        self.cache().insert(key, topics.clone());
        Ok(topics)
    }

    /// Topics members `user` follows started in `[start, end)` that
    /// `viewer` may read, newest first (at most [`FOLLOWED_IN_DIGEST`]).
    fn followed_topics(
        &self,
        conn: &Conn,
        viewer: &Viewer,
        user: UserId,
        start: i64,
        end: i64,
    ) -> Result<Vec<Topic>> {
        let filter = format!(
            "t.community_id = ?1 AND t.category_id IN {} AND t.created_at >= ?2 AND t.created_at < ?3
             AND t.deleted_at IS NULL AND t.hidden_at IS NULL AND t.unlisted = 0
             AND t.user_id IN (SELECT followed_id FROM follows WHERE follower_id = ?4)
             ORDER BY t.created_at DESC, t.id DESC LIMIT ?5",
            viewer.readable_sql()
        );
        load_topics(
            conn,
            &filter,
            params![self.community, start, end, user, FOLLOWED_IN_DIGEST as i64],
        )
    }

    fn topic_list(
        &self,
        intro: &str,
        topics: &[Topic],
        user: UserId,
        digest_only: bool,
    ) -> Result<Draft> {
        let unsub = self.unsubscribe_url(user, digest_only)?;
        let mut text = format!("{intro}\n\n");
        let mut html = format!("<p>{}</p><ul>", esc(intro));
        for t in topics {
            let url = self.topic_url(t);
            text.push_str(&format!(
                "* {} ({} replies)\n  {url}\n",
                t.title, t.reply_count
            ));
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({} replies)</li>",
                esc(&url),
                esc(&t.title),
                t.reply_count
            ));
        }
        text.push_str(&format!("\nUnsubscribe: {unsub}\n"));
        html.push_str(&format!(
            "</ul><p style=\"font-size:small\"><a href=\"{}\">Unsubscribe</a></p>",
            esc(&unsub)
        ));
        Ok(Draft {
            subject: String::new(),
            text,
            html,
        })
    }

    /// Stores an e-mail (or a "nothing to say" mark) once per period.
    fn store(
        &self,
        w: &Write<'_>,
        user: UserId,
        to: &str,
        kind: EmailKind,
        period: &str,
        draft: Option<Draft>,
    ) -> Result<bool> {
        let (status, d) = match draft {
            Some(d) => ("pending", d),
            None => (
                "skipped",
                Draft {
                    subject: String::new(),
                    text: String::new(),
                    html: String::new(),
                },
            ),
        };
        let unsub = if status == "pending" {
            self.unsubscribe_url(user, kind == EmailKind::Digest)?
        } else {
            String::new()
        };
        let n =
            w.tx.prepare_cached(
                "INSERT INTO outbox (community_id, user_id, kind, period, status, to_address,
                    subject, text_body, html_body, unsubscribe, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                self.community,
                user,
                kind.as_str(),
                period,
                status,
                to,
                d.subject,
                d.text,
                d.html,
                unsub,
                w.now_ms()
            ])?;
        Ok(n > 0)
    }

    fn already(&self, conn: &Conn, user: UserId, kind: EmailKind, period: &str) -> Result<bool> {
        Ok(conn
            .prepare_cached(
                "SELECT 1 FROM outbox WHERE community_id = ?1 AND user_id = ?2 AND kind = ?3 AND period = ?4",
            )?
            .query_row(params![self.community, user, kind.as_str(), period], |r| r.get::<_, i64>(0))
            .optional()?
            .is_some())
    }

    fn viewer(&self, w: &Write<'_>, user: UserId) -> Result<Viewer> {
        // One sender at a time per community: `already` and `store` are
        // check-then-write.
        w.hold(self.community)?;
        Viewer::load(
            w.tx,
            &self.forum.configs,
            Snapshot::InWrite,
            &Actor::User(user),
            self.community,
            w.now_ms(),
        )
    }
}

/// Members with an address, after `after`, a batch at a time.
fn members_after(conn: &Conn, community: CommunityId, after: i64) -> Result<Vec<(UserId, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.user_id, l.email FROM memberships m JOIN logins l ON l.user_id = m.user_id
             WHERE m.community_id = ?1 AND m.user_id > ?2 ORDER BY m.user_id LIMIT ?3",
        )?
        .query_map(params![community, after, BATCH as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<db::Result<_>>()?)
}

fn member_count(conn: &Conn, community: CommunityId) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM memberships m JOIN logins l ON l.user_id = m.user_id WHERE m.community_id = ?1",
        )?
        .query_row([community], |r| r.get::<_, i64>(0))? as u64)
}

impl Forum {
    /// Runs the e-mail jobs for a community once: notification e-mails,
    /// digests for the period that just ended, "we miss you" for members
    /// away longer than the community's setting, then delivery of the
    /// outbox through `mailer`. `progress` hears about every batch and may
    /// stop the run with `ControlFlow::Break` (what was written stays
    /// written; the next run carries on without sending anything twice).
    /// Call it from a scheduler every few minutes.
    ///
    /// Several processes may call it for the same community: one runs at a
    /// time (a lease, renewed as the run goes, lapsing
    /// [`Config::email_job_lease`](crate::Config::email_job_lease) after a
    /// holder dies), the others return at once
    /// with [`JobReport::held_elsewhere`] set. A run that loses its lease
    /// (it stalled longer than that and another process took over) stops
    /// before its next message.
    pub fn run_email_jobs(
        &self,
        community: CommunityId,
        mailer: &dyn Mailer,
        progress: &mut dyn FnMut(&JobProgress) -> ControlFlow<()>,
    ) -> Result<JobReport> {
        let ttl = self.email_job_lease;
        let Some(lease) = self.try_lease(&format!("email:{}", community.0), ttl)? else {
            return Ok(JobReport {
                held_elsewhere: true,
                ..JobReport::default()
            });
        };
        let mut renewed = std::time::Instant::now();
        let mut lost = false;
        let result = self.run_email_jobs_leased(community, mailer, &mut |p| {
            if renewed.elapsed() >= ttl / 4 {
                match self.renew_lease(&lease, ttl) {
                    Ok(true) => renewed = std::time::Instant::now(),
                    Ok(false) | Err(_) => {
                        lost = true;
                        return ControlFlow::Break(());
                    }
                }
            }
            progress(p)
        });
        if lost {
            tracing::warn!(%community, "the e-mail job lost its lease to another process; stopped");
        } else if let Err(e) = self.release_lease(lease) {
            tracing::warn!(error = %e, "could not release the e-mail job lease; it lapses by itself");
        }
        result.map(|mut r| {
            r.held_elsewhere = lost;
            r
        })
    }

    fn run_email_jobs_leased(
        &self,
        community: CommunityId,
        mailer: &dyn Mailer,
        progress: &mut dyn FnMut(&JobProgress) -> ControlFlow<()>,
    ) -> Result<JobReport> {
        let (settings, name) = self.read(|conn, now| {
            let viewer = self.viewer(conn, now, &Actor::System, community)?;
            let name: String = conn
                .prepare_cached("SELECT name FROM communities WHERE id = ?1")?
                .query_row([community], |r| r.get(0))?;
            Ok((viewer.config.settings.clone(), name))
        })?;
        let mut report = JobReport::default();
        if !settings.email.enabled {
            report.finished = true;
            return Ok(report);
        }
        let key = self.write(|w| secret(w.tx))?;
        let mut run = Run {
            forum: self,
            community,
            name,
            from: settings.email.from.clone(),
            base: settings
                .base_url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            key,
            max_topics: i64::from(settings.email.max_topics.clamp(1, 50)),
            default_digest: settings.email.default_digest,
            we_miss_you_days: settings.email.we_miss_you_days,
            best: Default::default(),
        };
        if self
            .notification_emails(&mut run, &mut report, progress)?
            .is_break()
            || self.digests(&mut run, &mut report, progress)?.is_break()
            || self
                .we_miss_you(&mut run, &mut report, progress)?
                .is_break()
            || self
                .deliver(&run, mailer, &mut report, progress)?
                .is_break()
        {
            return Ok(report);
        }
        report.finished = true;
        Ok(report)
    }

    fn notification_emails(
        &self,
        run: &mut Run<'_>,
        report: &mut JobReport,
        progress: &mut dyn FnMut(&JobProgress) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let users: Vec<UserId> = self.read(|conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT DISTINCT user_id FROM notifications WHERE community_id = ?1 AND email = 'pending' ORDER BY user_id",
                )?
                .query_map([run.community], |r| r.get(0))?
                .collect::<db::Result<_>>()?)
        })?;
        let total = users.len() as u64;
        for (i, chunk) in users.chunks(BATCH).enumerate() {
            let written = self.write(|w| {
                let mut written = 0;
                for &user in chunk {
                    written += u64::from(self.notification_email(run, w, user)?);
                }
                Ok(written)
            })?;
            report.notification_emails += written;
            let done = ((i + 1) * BATCH).min(users.len()) as u64;
            if progress(&JobProgress {
                step: JobStep::Notifications,
                done,
                total,
            })
            .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// One member's pending notifications → one e-mail; they are marked
    /// as e-mailed in the same transaction.
    fn notification_email(&self, run: &Run<'_>, w: &Write<'_>, user: UserId) -> Result<bool> {
        let c = run.community;
        let clear = |w: &Write<'_>, status: &str, up_to: i64| -> Result<()> {
            w.tx.prepare_cached(
                "UPDATE notifications SET email = ?4 WHERE community_id = ?1 AND user_id = ?2 AND email = 'pending' AND id <= ?3",
            )?
            .execute(params![c, user, up_to, status])?;
            Ok(())
        };
        let prefs = preferences_of(w.tx, c, user, run.default_digest)?;
        let address: Option<String> =
            w.tx.prepare_cached("SELECT email FROM logins WHERE user_id = ?1")?
                .query_row([user], |r| r.get(0))
                .optional()?;
        let Ok(viewer) = run.viewer(w, user) else {
            clear(w, "none", i64::MAX)?;
            return Ok(false);
        };
        let (Some(to), false, false, true) = (
            address,
            prefs.unsubscribed,
            prefs.bounced,
            viewer.role.is_some(),
        ) else {
            clear(w, "none", i64::MAX)?;
            return Ok(false);
        };
        // Only what they can read now (the list's own filter).
        let sql = format!(
            "SELECT n.id, n.kind, a.username, t.title, t.slug, t.id, p.post_number, n.data
             FROM notifications n LEFT JOIN topics t ON t.id = n.topic_id
             LEFT JOIN posts p ON p.id = n.post_id LEFT JOIN users a ON a.id = n.actor_id
             WHERE n.user_id = ?1 AND n.community_id = ?2 AND n.email = 'pending' AND n.read_at IS NULL AND {}
             ORDER BY n.id DESC LIMIT ?3",
            crate::notify::readable_filter(&viewer)
        );
        type Row = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            String,
        );
        let rows: Vec<Row> =
            w.tx.prepare_cached(&sql)?
                .query_map(params![user, c, MAX_NOTIFICATIONS], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })?
                .collect::<db::Result<_>>()?;
        let max_pending: i64 = w
            .tx
            .prepare_cached("SELECT coalesce(max(id), 0) FROM notifications WHERE community_id = ?1 AND user_id = ?2 AND email = 'pending'")?
            .query_row(params![c, user], |r| r.get(0))?;
        if rows.is_empty() {
            clear(w, "none", max_pending)?;
            return Ok(false);
        }
        let unsub = run.unsubscribe_url(user, false)?;
        let mut text = format!("New in {}:\n\n", run.name);
        let mut html = format!("<p>New in {}:</p><ul>", esc(&run.name));
        for (_, kind, who, title, slug, topic, number, data) in &rows {
            let (who, title) = (who.as_deref(), title.as_deref());
            let data: serde_json::Value =
                serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
            let line = match NotificationKind::parse(kind) {
                Some(k) => crate::notify::sentence(k, who, title, &data),
                None => format!(
                    "{} posted in “{}”",
                    who.unwrap_or("Someone"),
                    title.unwrap_or("a topic")
                ),
            };
            let url = match (slug, topic) {
                (Some(s), Some(t)) => {
                    format!("{}/t/{s}/{t}#post-{}", run.base, number.unwrap_or(1))
                }
                _ => format!("{}/notifications", run.base),
            };
            text.push_str(&format!("* {line}\n  {url}\n"));
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                esc(&url),
                esc(&line)
            ));
        }
        text.push_str(&format!(
            "\nChoose what we e-mail you in your preferences. Unsubscribe: {unsub}\n"
        ));
        html.push_str(&format!(
            "</ul><p style=\"font-size:small\"><a href=\"{}\">Unsubscribe</a></p>",
            esc(&unsub)
        ));
        let subject = if rows.len() == 1 {
            format!("[{}] 1 new notification", run.name)
        } else {
            format!("[{}] {} new notifications", run.name, rows.len())
        };
        let stored = run.store(
            w,
            user,
            &to,
            EmailKind::Notifications,
            &format!("n{max_pending}"),
            Some(Draft {
                subject,
                text,
                html,
            }),
        )?;
        clear(w, "sent", max_pending)?;
        Ok(stored)
    }

    fn digests(
        &self,
        run: &mut Run<'_>,
        report: &mut JobReport,
        progress: &mut dyn FnMut(&JobProgress) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let now = self.now();
        let total = self.read(|conn, _| member_count(conn, run.community))?;
        let mut after = 0i64;
        let mut done = 0u64;
        loop {
            let batch = self.read(|conn, _| members_after(conn, run.community, after))?;
            let Some(last) = batch.last() else { break };
            after = last.0.0;
            let (written, skipped) = self.write(|w| {
                let (mut written, mut skipped) = (0u64, 0u64);
                for (user, to) in &batch {
                    let prefs = preferences_of(w.tx, run.community, *user, run.default_digest)?;
                    if prefs.unsubscribed || prefs.bounced {
                        continue;
                    }
                    let Some((period, start, end)) = digest_period(prefs.digest, now) else {
                        continue;
                    };
                    if run.already(w.tx, *user, EmailKind::Digest, &period)? {
                        continue;
                    }
                    let Ok(viewer) = run.viewer(w, *user) else {
                        continue;
                    };
                    let mut topics =
                        run.best_topics(w.tx, &viewer, to_millis(start), to_millis(end))?;
                    // Then what members they follow started, if not there.
                    for t in
                        run.followed_topics(w.tx, &viewer, *user, to_millis(start), to_millis(end))?
                    {
                        if !topics.iter().any(|b| b.id == t.id) {
                            topics.push(t);
                        }
                    }
                    let draft = if topics.is_empty() {
                        None
                    } else {
                        let what = if prefs.digest == DigestFrequency::Daily {
                            "yesterday"
                        } else {
                            "last week"
                        };
                        let mut d = run.topic_list(
                            &format!("The best of {} from {what}:", run.name),
                            &topics,
                            *user,
                            true,
                        )?;
                        d.subject = format!("[{}] {}", run.name, topics[0].title);
                        Some(d)
                    };
                    let had = draft.is_some();
                    if run.store(w, *user, to, EmailKind::Digest, &period, draft)? {
                        if had { written += 1 } else { skipped += 1 }
                    }
                }
                Ok((written, skipped))
            })?;
            report.digests += written;
            report.skipped += skipped;
            done += batch.len() as u64;
            if progress(&JobProgress {
                step: JobStep::Digests,
                done,
                total,
            })
            .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn we_miss_you(
        &self,
        run: &mut Run<'_>,
        report: &mut JobReport,
        progress: &mut dyn FnMut(&JobProgress) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        if run.we_miss_you_days == 0 {
            return Ok(ControlFlow::Continue(()));
        }
        let now = to_millis(self.now());
        let day_ms = 86_400_000i64;
        let cutoff_day = now.div_euclid(day_ms) - i64::from(run.we_miss_you_days);
        // Away since: the last day they did anything here themselves (a
        // visit, a read, a post, a like given: `member_days.acted`), or the
        // day they joined.
        let away: Vec<(UserId, String, i64)> = self.read(|conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT user_id, email, since FROM (
                       SELECT m.user_id, l.email,
                              coalesce((SELECT max(d.day) FROM member_days d
                                        WHERE d.community_id = m.community_id AND d.user_id = m.user_id
                                          AND d.acted = 1),
                                       m.joined_at / 86400000) AS since
                       FROM memberships m JOIN logins l ON l.user_id = m.user_id
                       WHERE m.community_id = ?1) away
                     WHERE since <= ?2 ORDER BY user_id",
                )?
                .query_map(params![run.community, cutoff_day], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<db::Result<_>>()?)
        })?;
        let total = away.len() as u64;
        for (i, chunk) in away.chunks(BATCH).enumerate() {
            let (written, skipped) = self.write(|w| {
                let (mut written, mut skipped) = (0u64, 0u64);
                for (user, to, since_day) in chunk {
                    let prefs = preferences_of(w.tx, run.community, *user, run.default_digest)?;
                    if prefs.unsubscribed || prefs.bounced {
                        continue;
                    }
                    // Once per absence: the absence is named by its first day.
                    let period = format!("away-since:{}", from_millis(since_day * day_ms).date());
                    if run.already(w.tx, *user, EmailKind::WeMissYou, &period)? {
                        continue;
                    }
                    let Ok(viewer) = run.viewer(w, *user) else {
                        continue;
                    };
                    // Up to and including this instant.
                    let topics =
                        run.best_topics(w.tx, &viewer, (since_day + 1) * day_ms, now + 1)?;
                    let draft = if topics.is_empty() {
                        None
                    } else {
                        let mut d = run.topic_list(
                            &format!(
                                "We miss you at {}! Here is the best of what you missed:",
                                run.name
                            ),
                            &topics,
                            *user,
                            false,
                        )?;
                        d.subject = format!("We miss you at {}", run.name);
                        Some(d)
                    };
                    let had = draft.is_some();
                    if run.store(w, *user, to, EmailKind::WeMissYou, &period, draft)? {
                        if had { written += 1 } else { skipped += 1 }
                    }
                }
                Ok((written, skipped))
            })?;
            report.we_miss_you += written;
            report.skipped += skipped;
            let done = ((i + 1) * BATCH).min(away.len()) as u64;
            if progress(&JobProgress {
                step: JobStep::WeMissYou,
                done,
                total,
            })
            .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn deliver(
        &self,
        run: &Run<'_>,
        mailer: &dyn Mailer,
        report: &mut JobReport,
        progress: &mut dyn FnMut(&JobProgress) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        type Pending = (i64, UserId, String, String, String, String, String, String);
        let pending: Vec<Pending> = self.read(|conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, user_id, kind, to_address, subject, text_body, html_body, unsubscribe
                     FROM outbox WHERE community_id = ?1 AND status = 'pending' ORDER BY id",
                )?
                .query_map([run.community], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
                })?
                .collect::<db::Result<_>>()?)
        })?;
        let total = pending.len() as u64;
        for (i, (id, user, kind, to, subject, text, html, unsub)) in pending.into_iter().enumerate()
        {
            // Unsubscribed or bounced since it was written: held back.
            let prefs =
                self.read(|conn, _| preferences_of(conn, run.community, user, run.default_digest))?;
            let kind = EmailKind::parse(&kind).unwrap_or(EmailKind::Notifications);
            // Account mail was asked for just now: it goes regardless.
            let stopped = kind != EmailKind::Account
                && (prefs.unsubscribed
                    || prefs.bounced
                    || (kind == EmailKind::Digest && prefs.digest == DigestFrequency::Never));
            if stopped {
                self.set_status(id, "suppressed", None)?;
                report.suppressed += 1;
            } else {
                let email = Email {
                    id,
                    community: run.community,
                    user,
                    to,
                    from: run.from.clone(),
                    kind,
                    subject,
                    text,
                    html,
                    unsubscribe_url: unsub,
                };
                // Sent outside any transaction: the writer is never held
                // while a mail server thinks.
                match mailer.send(&email) {
                    Ok(()) => {
                        self.set_status(id, "sent", None)?;
                        report.delivered += 1;
                    }
                    Err(MailError::Bounced(why)) => {
                        self.write(|w| {
                            mark_bounced(w.tx, run.community, user, w.now_ms())?;
                            w.tx.prepare_cached("UPDATE outbox SET status = 'bounced', last_error = ?2, attempts = attempts + 1 WHERE id = ?1")?
                                .execute(params![id, why])?;
                            Ok(())
                        })?;
                        report.bounced += 1;
                    }
                    Err(MailError::Transient(why)) => {
                        self.write(|w| {
                            w.tx.prepare_cached(
                                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                                    status = CASE WHEN attempts + 1 >= ?3 THEN 'failed' ELSE status END
                                 WHERE id = ?1",
                            )?
                            .execute(params![id, why, MAX_ATTEMPTS])?;
                            Ok(())
                        })?;
                        report.failed += 1;
                    }
                }
            }
            if progress(&JobProgress {
                step: JobStep::Delivery,
                done: i as u64 + 1,
                total,
            })
            .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn set_status(&self, id: i64, status: &str, error: Option<&str>) -> Result<()> {
        self.write(|w| {
            w.tx.prepare_cached(
                "UPDATE outbox SET status = ?2, last_error = ?3, attempts = attempts + 1,
                    sent_at = CASE WHEN ?2 = 'sent' THEN ?4 ELSE sent_at END WHERE id = ?1",
            )?
            .execute(params![id, status, error, w.now_ms()])?;
            Ok(())
        })
    }

    /// Outbox messages for a member, newest first (admins; for support and
    /// tests): (kind, period, status, subject, text).
    pub fn outbox(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: Option<UserId>,
    ) -> Result<Vec<OutboxEntry>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if !viewer.system {
                viewer.require_admin()?;
            }
            Ok(conn
                .prepare_cached(
                    "SELECT id, user_id, kind, period, status, to_address, subject, text_body, html_body, attempts
                     FROM outbox WHERE community_id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR user_id = ?2) ORDER BY id DESC LIMIT 1000",
                )?
                .query_map(params![community, user], |r| {
                    Ok(OutboxEntry {
                        id: r.get(0)?,
                        user: r.get(1)?,
                        kind: EmailKind::parse(&r.get::<_, String>(2)?).unwrap_or(EmailKind::Notifications),
                        period: r.get(3)?,
                        status: r.get(4)?,
                        to: r.get(5)?,
                        subject: r.get(6)?,
                        text: r.get(7)?,
                        html: r.get(8)?,
                        attempts: r.get(9)?,
                    })
                })?
                .collect::<db::Result<_>>()?)
        })
    }
}

/// A message in the outbox, as [`Forum::outbox`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Its id.
    pub id: i64,
    /// The recipient.
    pub user: UserId,
    /// What it is for.
    pub kind: EmailKind,
    /// The period it covers (`weekly:2026-11-16`, `away-since:…`, `n42`).
    pub period: String,
    /// `pending`, `sent`, `skipped`, `suppressed`, `bounced`, `failed`.
    pub status: String,
    /// The address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The plain text.
    pub text: String,
    /// The HTML.
    pub html: String,
    /// Delivery attempts so far.
    pub attempts: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn periods_are_the_ones_that_just_ended() {
        let wed = datetime!(2026-11-25 10:30 UTC);
        let (key, start, end) = digest_period(DigestFrequency::Weekly, wed).expect("weekly");
        assert_eq!(key, "weekly:2026-11-16");
        assert_eq!(
            (start, end),
            (
                datetime!(2026-11-16 0:00 UTC),
                datetime!(2026-11-23 0:00 UTC)
            )
        );
        let (key, start, end) = digest_period(DigestFrequency::Daily, wed).expect("daily");
        assert_eq!(key, "daily:2026-11-24");
        assert_eq!(
            (start, end),
            (
                datetime!(2026-11-24 0:00 UTC),
                datetime!(2026-11-25 0:00 UTC)
            )
        );
        // On a Monday, last week is the week that just ended.
        let mon = datetime!(2026-11-23 0:00 UTC);
        assert_eq!(
            digest_period(DigestFrequency::Weekly, mon).expect("w").0,
            "weekly:2026-11-16"
        );
        assert!(digest_period(DigestFrequency::Never, wed).is_none());
    }

    #[test]
    fn escaping_covers_html_specials() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
