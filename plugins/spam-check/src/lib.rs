//! `spam-check`: new posts by members below a trust level are sent to an
//! Akismet-compatible service (plugin API 0.2); the ones it calls spam are
//! held for review (`hold-posts`), and the moderator's decision is
//! reported back to the service (`submit-ham` when the moderator approves,
//! `submit-spam` otherwise), so it learns this community.
//!
//! - On `post.created`: the post and its author are read; below the
//!   `below-trust` setting, `POST {url}/1.1/comment-check` with the API key
//!   (a secret setting), the community's address, the author and the text.
//!   `true` holds the post and remembers `held/<review>`.
//! - On `review.decided` (a staff event) for a review it opened: reports
//!   the decision and forgets it.
//!
//! A service that cannot be reached fails the batch: the host delivers the
//! events again later (and parks one that keeps failing), so no post goes
//! unchecked silently.

use hearth_plugin::{Event, Host, HostError, HostExt, HttpRequest, Level, Plugin, register_plugin};
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct SpamCheck;

/// What is remembered about a held post, to report the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The post.
    pub post: i64,
    /// Its author's username.
    pub author: String,
    /// Its text as checked.
    pub content: String,
}

fn err(e: HostError) -> String {
    e.to_string()
}

struct Service {
    url: String,
    key: String,
    site: String,
}

impl Service {
    fn from(host: &dyn Host) -> Option<Service> {
        let key: String = host.setting_as("api-key").unwrap_or_default();
        if key.is_empty() {
            return None;
        }
        let url: String = host
            .setting_as("url")
            .unwrap_or_else(|| "https://rest.akismet.com".into());
        Some(Service {
            url: url.trim_end_matches('/').to_string(),
            key,
            site: host.setting_as("site").unwrap_or_default(),
        })
    }

    /// Calls `/1.1/<what>` with the post's fields; the answer's text.
    fn call(
        &self,
        host: &dyn Host,
        what: &str,
        author: &str,
        content: &str,
    ) -> Result<String, String> {
        let req = HttpRequest::post_form(
            &format!("{}/1.1/{what}", self.url),
            &[
                ("api_key", &self.key),
                ("blog", &self.site),
                ("comment_type", "forum-post"),
                ("comment_author", author),
                ("comment_content", content),
            ],
        );
        let r = host.http_fetch(&req).map_err(err)?;
        if r.status != 200 {
            return Err(format!("{what}: the service answered {}", r.status));
        }
        Ok(r.text().trim().to_string())
    }
}

fn check(host: &dyn Host, service: &Service, post: i64) -> Result<(), String> {
    let Some(p) = host.post(post).map_err(err)? else {
        return Ok(());
    };
    let Some(author) = host.member(p.author).map_err(err)? else {
        return Ok(());
    };
    let below: i64 = host.setting_as("below-trust").unwrap_or(2);
    if i64::from(author.trust_level) >= below {
        return Ok(());
    }
    match service
        .call(host, "comment-check", &author.username, &p.body)?
        .as_str()
    {
        "true" => {
            let review = host
                .hold_post(post, "the spam service calls it spam")
                .map_err(err)?;
            let held = Held {
                post,
                author: author.username,
                content: p.body,
            };
            host.kv_set_json(&format!("held/{review}"), &held)
                .map_err(err)
        }
        "false" => Ok(()),
        other => {
            // Akismet answers "invalid" for a bad key: say so, hold nothing.
            host.log(
                Level::Warn,
                &format!("comment-check answered {other:?}; check the API key and address"),
            );
            Ok(())
        }
    }
}

fn report(host: &dyn Host, service: &Service, e: &Event) -> Result<(), String> {
    let data = e.data();
    let Some(review) = data["review"].as_i64() else {
        return Ok(());
    };
    let key = format!("held/{review}");
    let Some(held) = host.kv_get_json::<Held>(&key).map_err(err)? else {
        return Ok(());
    };
    let what = if data["decision"] == "approve" {
        "submit-ham"
    } else {
        "submit-spam"
    };
    service.call(host, what, &held.author, &held.content)?;
    host.kv_delete(&key).map_err(err)
}

impl Plugin for SpamCheck {
    fn on_event(host: &dyn Host, events: Vec<Event>) -> Result<(), String> {
        let Some(service) = Service::from(host) else {
            return Ok(());
        };
        for e in &events {
            match (e.kind.as_str(), e.post) {
                ("post.created", Some(post)) => check(host, &service, post)?,
                ("review.decided", _) => report(host, &service, e)?,
                _ => {}
            }
        }
        Ok(())
    }
}

register_plugin!(SpamCheck);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hearth_plugin::testing::FakeHost;
    use hearth_plugin::{HttpResponse, MemberInfo, PostInfo};

    fn answer(text: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![],
            body: text.as_bytes().to_vec(),
        }
    }

    fn host(verdict: &str) -> FakeHost {
        let mut h = FakeHost::default()
            .with_setting("api-key", "k-123")
            .with_setting("url", "https://spam.example/")
            .with_setting("site", "https://community.example")
            .with_setting("below-trust", 2);
        h.members.insert(
            4,
            MemberInfo {
                id: 4,
                username: "newbie".into(),
                display_name: "Newbie".into(),
                role: "member".into(),
                trust_level: 0,
                joined_at: 0,
            },
        );
        h.posts.insert(
            40,
            PostInfo {
                id: 40,
                topic: 7,
                author: 4,
                number: 1,
                created_at: 0,
                like_count: 0,
                body: "Cheap watches at my shop".into(),
            },
        );
        for (path, text) in [
            ("comment-check", verdict),
            ("submit-ham", "Thanks"),
            ("submit-spam", "Thanks"),
        ] {
            h.http_answers
                .insert(format!("https://spam.example/1.1/{path}"), answer(text));
        }
        h
    }

    fn event(kind: &str, post: Option<i64>, data: &str) -> Event {
        Event {
            id: 1,
            community: 1,
            kind: kind.into(),
            category: None,
            topic: None,
            post,
            actor: None,
            subject: None,
            data: data.into(),
            created_at: 0,
        }
    }

    #[test]
    fn spam_is_held_and_the_decision_is_reported() {
        let h = host("true");
        SpamCheck::on_event(&h, vec![event("post.created", Some(40), "{}")]).unwrap();
        assert_eq!(
            h.held.borrow()[0],
            (40, "the spam service calls it spam".into())
        );
        let sent = h.http_requests.borrow()[0].clone();
        assert_eq!(sent.url, "https://spam.example/1.1/comment-check");
        let body = String::from_utf8(sent.body).unwrap();
        assert!(body.contains("api_key=k-123"), "{body}");
        assert!(body.contains("comment_author=newbie"), "{body}");
        assert!(
            body.contains("comment_content=Cheap+watches+at+my+shop"),
            "{body}"
        );
        // The moderator approves (review 1, as the fake host numbers it).
        SpamCheck::on_event(
            &h,
            vec![event(
                "review.decided",
                Some(40),
                r#"{"review": 1, "decision": "approve"}"#,
            )],
        )
        .unwrap();
        assert_eq!(
            h.http_requests.borrow()[1].url,
            "https://spam.example/1.1/submit-ham"
        );
        assert!(h.kv.borrow().is_empty(), "forgotten once reported");
        // A decision about a review it did not open is none of its business.
        SpamCheck::on_event(
            &h,
            vec![event(
                "review.decided",
                None,
                r#"{"review": 9, "decision": "reject"}"#,
            )],
        )
        .unwrap();
        assert_eq!(h.http_requests.borrow().len(), 2);
    }

    #[test]
    fn ham_trusted_members_and_a_missing_key_send_or_hold_nothing() {
        let h = host("false");
        SpamCheck::on_event(&h, vec![event("post.created", Some(40), "{}")]).unwrap();
        assert!(h.held.borrow().is_empty());
        let h = host("true").with_setting("below-trust", 0);
        SpamCheck::on_event(&h, vec![event("post.created", Some(40), "{}")]).unwrap();
        assert!(h.http_requests.borrow().is_empty());
        let h = host("true").with_setting("api-key", "");
        SpamCheck::on_event(&h, vec![event("post.created", Some(40), "{}")]).unwrap();
        assert!(h.http_requests.borrow().is_empty());
        // A bad key: logged, nothing held.
        let h = host("invalid");
        SpamCheck::on_event(&h, vec![event("post.created", Some(40), "{}")]).unwrap();
        assert!(h.held.borrow().is_empty());
        assert!(h.logs.borrow()[0].1.contains("check the API key"));
        // An unreachable service fails the batch (delivered again later).
        let mut h = host("true");
        h.http_answers.clear();
        assert!(SpamCheck::on_event(&h, vec![event("post.created", Some(40), "{}")]).is_err());
    }
}
