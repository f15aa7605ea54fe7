//! `badges`: rule-based badges for contributions that advance the
//! community — answers that solved a question, posts many found useful,
//! knowledge-base articles, flags moderators agreed with, and staying a
//! year. Nothing rewards posting a lot for its own sake.
//!
//! Each rule reacts to events and asks the host for the facts it needs
//! (a post's likes, a topic's category kind, a member's join date). Grants
//! name the post that earned them, and are idempotent: the host ignores a
//! grant the member already holds, so a redelivered event changes nothing.
//!
//! Keys: `solved/<member>/<post>` for each accepted answer (deleted when it
//! is un-accepted), `anniversary/<member>` with the day last checked.

use hearth_plugin::{Event, Host, HostError, HostExt, Plugin};

/// The plugin.
pub struct Badges;

const DAY_MS: i64 = 86_400_000;

fn err(e: HostError) -> String {
    e.to_string()
}

/// The rules in force, from the settings.
pub struct Rules {
    on: Vec<String>,
    silver: i64,
    gold: i64,
    likes: i64,
    anniversary_days: i64,
}

impl Rules {
    /// Reads the settings.
    pub fn from(host: &dyn Host) -> Rules {
        Rules {
            on: host.setting_as("rules").unwrap_or_default(),
            silver: host.setting_as("solutions-silver").unwrap_or(10),
            gold: host.setting_as("solutions-gold").unwrap_or(50),
            likes: host.setting_as("liked-post-likes").unwrap_or(10),
            anniversary_days: host.setting_as("anniversary-days").unwrap_or(365),
        }
    }

    fn has(&self, rule: &str) -> bool {
        self.on.iter().any(|r| r == rule)
    }
}

fn grant(
    host: &dyn Host,
    member: i64,
    badge: &str,
    post: Option<i64>,
    reason: &str,
) -> Result<(), String> {
    if host.grant_badge(member, badge, post, reason).map_err(err)? {
        host.log(
            hearth_plugin::Level::Info,
            &format!("granted {badge} to member {member}"),
        );
    }
    Ok(())
}

fn solutions(host: &dyn Host, member: i64, cap: i64) -> Result<i64, String> {
    let prefix = format!("solved/{member}/");
    let mut count = 0;
    let mut after = String::new();
    loop {
        let page = host.kv_list(&prefix, &after, 1000).map_err(err)?;
        count += page.len() as i64;
        match page.last() {
            Some((k, _)) if page.len() == 1000 && count < cap => after = k.clone(),
            _ => return Ok(count),
        }
    }
}

/// Handles one event.
pub fn handle(host: &dyn Host, rules: &Rules, e: &Event) -> Result<(), String> {
    contribution(host, rules, e)?;
    if rules.has("anniversary")
        && let Some(actor) = e.actor
    {
        anniversary(host, rules, actor, e.created_at)?;
    }
    Ok(())
}

fn contribution(host: &dyn Host, rules: &Rules, e: &Event) -> Result<(), String> {
    match e.kind.as_str() {
        "topic.solved" => {
            let (Some(post), Some(author)) = (e.post, e.subject) else {
                return Ok(());
            };
            if let Some(prev) = e.data()["previous"].as_i64() {
                // The previously accepted answer no longer counts.
                if let Ok(Some(p)) = host.post(prev) {
                    host.kv_delete(&format!("solved/{}/{prev:020}", p.author))
                        .map_err(err)?;
                }
            }
            host.kv_set(&format!("solved/{author}/{post:020}"), b"")
                .map_err(err)?;
            let n = solutions(host, author, rules.gold.max(rules.silver))?;
            if rules.has("first-solution") {
                grant(
                    host,
                    author,
                    "first-solution",
                    Some(post),
                    "first accepted answer",
                )?;
            }
            if rules.has("solutions-silver") && n >= rules.silver {
                grant(
                    host,
                    author,
                    "solutions-silver",
                    Some(post),
                    &format!("{} accepted answers", rules.silver),
                )?;
            }
            if rules.has("solutions-gold") && n >= rules.gold {
                grant(
                    host,
                    author,
                    "solutions-gold",
                    Some(post),
                    &format!("{} accepted answers", rules.gold),
                )?;
            }
        }
        "topic.unsolved" => {
            if let (Some(post), Some(author)) = (e.post, e.subject) {
                host.kv_delete(&format!("solved/{author}/{post:020}"))
                    .map_err(err)?;
            }
        }
        "post.liked" if rules.has("liked-post") => {
            let Some(id) = e.post else { return Ok(()) };
            if let Some(p) = host.post(id).map_err(err)?
                && p.like_count >= rules.likes
            {
                grant(
                    host,
                    p.author,
                    "liked-post",
                    Some(p.id),
                    &format!("{} likes", p.like_count),
                )?;
            }
        }
        "post.created" if rules.has("first-article") => {
            let (Some(topic), Some(post), Some(author)) = (e.topic, e.post, e.actor) else {
                return Ok(());
            };
            if e.data()["post_number"].as_i64() != Some(1) {
                return Ok(());
            }
            if let Some(t) = host.topic(topic).map_err(err)?
                && t.category_kind == "knowledge_base"
            {
                grant(
                    host,
                    author,
                    "first-article",
                    Some(post),
                    "first knowledge-base article",
                )?;
            }
        }
        "review.decided" if rules.has("helpful-flag") => {
            if let Some(flaggers) = e.data()["agreed_flaggers"].as_array() {
                for f in flaggers.iter().filter_map(|f| f.as_i64()) {
                    grant(
                        host,
                        f,
                        "helpful-flag",
                        None,
                        "a flag moderators agreed with",
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks a member's anniversary at most once a day, when they act.
fn anniversary(host: &dyn Host, rules: &Rules, member: i64, at: i64) -> Result<(), String> {
    let key = format!("anniversary/{member}");
    let day = at.div_euclid(DAY_MS);
    let last: Option<i64> = host
        .kv_get(&key)
        .map_err(err)?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok());
    if last.is_some_and(|l| l == -1 || l >= day) {
        return Ok(());
    }
    let Some(m) = host.member(member).map_err(err)? else {
        return Ok(());
    };
    if at - m.joined_at >= rules.anniversary_days * DAY_MS {
        grant(
            host,
            member,
            "anniversary",
            None,
            &format!("{} days a member", rules.anniversary_days),
        )?;
        host.kv_set(&key, b"-1").map_err(err)?;
    } else {
        host.kv_set(&key, day.to_string().as_bytes()).map_err(err)?;
    }
    Ok(())
}

impl Plugin for Badges {
    fn on_event(host: &dyn Host, events: Vec<Event>) -> Result<(), String> {
        let rules = Rules::from(host);
        for e in &events {
            handle(host, &rules, e)?;
        }
        Ok(())
    }
}

hearth_plugin::register_plugin!(Badges);

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_plugin::testing::FakeHost;
    use hearth_plugin::{MemberInfo, PostInfo, TopicInfo};

    fn host() -> FakeHost {
        FakeHost::default()
            .with_setting(
                "rules",
                [
                    "first-solution",
                    "solutions-silver",
                    "solutions-gold",
                    "liked-post",
                    "first-article",
                    "anniversary",
                    "helpful-flag",
                ],
            )
            .with_setting("solutions-silver", 3)
            .with_setting("solutions-gold", 5)
            .with_setting("liked-post-likes", 10)
            .with_setting("anniversary-days", 365)
    }

    fn event(id: i64, kind: &str) -> Event {
        Event {
            id,
            community: 1,
            kind: kind.into(),
            category: None,
            topic: None,
            post: None,
            actor: None,
            subject: None,
            data: "{}".into(),
            created_at: 0,
        }
    }

    fn solved(id: i64, post: i64, author: i64) -> Event {
        Event {
            post: Some(post),
            subject: Some(author),
            ..event(id, "topic.solved")
        }
    }

    fn badges_of(host: &FakeHost, member: i64) -> Vec<(String, Option<i64>)> {
        host.grants
            .borrow()
            .iter()
            .filter(|g| g.member == member)
            .map(|g| (g.badge.clone(), g.post))
            .collect()
    }

    #[test]
    fn accepted_answers_earn_tiers_once() {
        let host = host();
        let events: Vec<Event> = (1..=5).map(|i| solved(i, 100 + i, 7)).collect();
        Badges::on_event(&host, events.clone()).unwrap();
        Badges::on_event(&host, events).unwrap(); // redelivered
        assert_eq!(
            badges_of(&host, 7),
            [
                ("first-solution".to_string(), Some(101)),
                ("solutions-silver".to_string(), Some(103)),
                ("solutions-gold".to_string(), Some(105)),
            ]
        );
    }

    #[test]
    fn unaccepted_answers_stop_counting() {
        let host = host();
        Badges::on_event(&host, vec![solved(1, 101, 7), solved(2, 102, 7)]).unwrap();
        let mut un = event(3, "topic.unsolved");
        un.post = Some(102);
        un.subject = Some(7);
        Badges::on_event(&host, vec![un, solved(4, 103, 7)]).unwrap();
        assert!(
            !badges_of(&host, 7)
                .iter()
                .any(|(b, _)| b == "solutions-silver")
        );
    }

    #[test]
    fn likes_articles_flags_and_anniversaries() {
        let mut host = host();
        host.posts.insert(
            5,
            PostInfo {
                id: 5,
                topic: 2,
                author: 8,
                number: 2,
                created_at: 0,
                like_count: 10,
                body: String::new(),
            },
        );
        host.posts.insert(
            6,
            PostInfo {
                id: 6,
                topic: 3,
                author: 9,
                number: 1,
                created_at: 0,
                like_count: 9,
                body: String::new(),
            },
        );
        host.topics.insert(
            3,
            TopicInfo {
                id: 3,
                category: 1,
                category_kind: "knowledge_base".into(),
                title: "How to".into(),
                slug: "how-to".into(),
                author: 9,
                created_at: 0,
                reply_count: 0,
                accepted_answer: None,
                closed: false,
            },
        );
        host.members.insert(
            9,
            MemberInfo {
                id: 9,
                username: "kb".into(),
                display_name: String::new(),
                role: "expert".into(),
                trust_level: 2,
                joined_at: 0,
            },
        );
        let liked = |id, post| Event {
            post: Some(post),
            actor: Some(1),
            ..event(id, "post.liked")
        };
        let article = Event {
            topic: Some(3),
            post: Some(6),
            actor: Some(9),
            data: r#"{"post_number": 1}"#.into(),
            created_at: 364 * DAY_MS,
            ..event(3, "post.created")
        };
        let decided = Event {
            data: r#"{"agreed_flaggers": [4, 5]}"#.into(),
            ..event(4, "review.decided")
        };
        let later = Event {
            actor: Some(9),
            created_at: 365 * DAY_MS,
            ..event(5, "post.liked")
        };
        Badges::on_event(
            &host,
            vec![liked(1, 5), liked(2, 6), article, decided, later],
        )
        .unwrap();
        assert_eq!(badges_of(&host, 8), [("liked-post".to_string(), Some(5))]);
        assert_eq!(
            badges_of(&host, 9),
            [
                ("first-article".to_string(), Some(6)),
                ("anniversary".to_string(), None)
            ]
        );
        assert_eq!(badges_of(&host, 4), [("helpful-flag".to_string(), None)]);
    }

    #[test]
    fn rules_can_be_switched_off() {
        let host = FakeHost::default().with_setting("rules", ["liked-post"]);
        Badges::on_event(&host, vec![solved(1, 101, 7)]).unwrap();
        assert!(badges_of(&host, 7).is_empty());
    }
}
