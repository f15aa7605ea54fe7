//! `escape-hatch`: a way to a person on every page.
//!
//! The page footer shows the support contact from the settings. On a
//! question (a Q&A topic) that has had no accepted answer for
//! `stuck-after-hours`, the footer and the topic footer offer "Still stuck?
//! Contact support" with a link that carries the topic's URL, so the
//! support agent starts where the member got stuck.

use hearth_plugin::{Host, HostExt, Plugin, RenderContext, Slot, TopicInfo, escape};

/// The plugin.
pub struct EscapeHatch;

struct Contact {
    url: String,
    email: String,
    phone: String,
    hours: String,
}

impl Contact {
    fn from(host: &dyn Host) -> Contact {
        let get = |k: &str| {
            host.setting_as::<String>(k)
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        Contact {
            url: get("url"),
            email: get("email"),
            phone: get("phone"),
            hours: get("hours"),
        }
    }

    fn is_empty(&self) -> bool {
        self.url.is_empty() && self.email.is_empty() && self.phone.is_empty()
    }
}

/// Percent-encodes a URL component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn footer(c: &Contact) -> String {
    let mut parts = Vec::new();
    if !c.url.is_empty() {
        parts.push(format!(
            r#"<a href="{}">Contact support</a>"#,
            escape(&c.url)
        ));
    }
    if !c.email.is_empty() {
        parts.push(format!(r#"<a href="mailto:{0}">{0}</a>"#, escape(&c.email)));
    }
    if !c.phone.is_empty() {
        parts.push(escape(&c.phone));
    }
    if !c.hours.is_empty() {
        parts.push(escape(&c.hours));
    }
    format!(
        "<p><strong>Need a person?</strong> {}</p>",
        parts.join(" · ")
    )
}

/// Whether a topic is a question still waiting for an answer after
/// `after_ms`.
pub fn is_stuck(topic: &TopicInfo, now: i64, after_ms: i64) -> bool {
    topic.category_kind == "question_and_answer"
        && topic.accepted_answer.is_none()
        && !topic.closed
        && now - topic.created_at >= after_ms
}

fn stuck(host: &dyn Host, c: &Contact, topic: &TopicInfo) -> String {
    let site: String = host.setting_as("site-url").unwrap_or_default();
    let topic_url = format!("{}{}", site.trim_end_matches('/'), topic.path());
    let link = if !c.url.is_empty() {
        let sep = if c.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}topic={}", c.url, encode(&topic_url))
    } else {
        format!(
            "mailto:{}?subject={}&body={}",
            c.email,
            encode(&format!("Still stuck: {}", topic.title)),
            encode(&topic_url)
        )
    };
    format!(
        r#"<p class="still-stuck"><strong>Still stuck?</strong> <a href="{}">Contact support</a> about “{}”.</p>"#,
        escape(&link),
        escape(&topic.title)
    )
}

impl Plugin for EscapeHatch {
    fn render(host: &dyn Host, ctx: RenderContext) -> Result<Option<String>, String> {
        if !matches!(ctx.slot, Slot::PageFooter | Slot::TopicFooter) {
            return Ok(None);
        }
        let contact = Contact::from(host);
        if contact.is_empty() {
            return Ok(None);
        }
        let mut html = String::new();
        if let Some(id) = ctx.topic {
            // Topics the viewer cannot read come back as None: nothing shown.
            if let Ok(Some(topic)) = host.topic(id) {
                let hours: i64 = host.setting_as("stuck-after-hours").unwrap_or(24);
                if (contact.url.len() + contact.email.len()) > 0
                    // To the minute (its end, so that 0 hours means at
                    // once): the host may reuse this footer until the
                    // minute is over.
                    && is_stuck(&topic, host.now_rounded(60_000) + 60_000, hours * 3_600_000)
                {
                    html.push_str(&stuck(host, &contact, &topic));
                }
            }
        }
        if ctx.slot == Slot::PageFooter {
            html.push_str(&footer(&contact));
        }
        Ok((!html.is_empty()).then(|| format!(r#"<div class="escape-hatch">{html}</div>"#)))
    }
}

hearth_plugin::register_plugin!(EscapeHatch);

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_plugin::testing::FakeHost;

    fn question(created_at: i64, solved: bool) -> TopicInfo {
        TopicInfo {
            id: 12,
            category: 3,
            category_kind: "question_and_answer".into(),
            title: "Login <fails>".into(),
            slug: "login-fails".into(),
            author: 1,
            created_at,
            reply_count: 0,
            accepted_answer: solved.then_some(99),
            closed: false,
        }
    }

    fn ctx(slot: Slot, topic: Option<i64>) -> RenderContext {
        RenderContext {
            community: 1,
            slot,
            path: "/".into(),
            viewer: None,
            topic,
            member: None,
        }
    }

    fn host() -> FakeHost {
        FakeHost::default()
            .with_setting("url", "https://help.example.com/new")
            .with_setting("email", "help@example.com")
            .with_setting("phone", "+1 555 0100")
            .with_setting("hours", "Mon-Fri 9-17")
            .with_setting("stuck-after-hours", 24)
            .with_setting("site-url", "https://community.example.com/")
    }

    #[test]
    fn footer_shows_every_contact() {
        let html = EscapeHatch::render(&host(), ctx(Slot::PageFooter, None))
            .unwrap()
            .unwrap();
        for part in [
            "https://help.example.com/new",
            "mailto:help@example.com",
            "+1 555 0100",
            "Mon-Fri 9-17",
        ] {
            assert!(html.contains(part), "{part} missing from {html}");
        }
        assert!(!html.contains("Still stuck"));
    }

    #[test]
    fn nothing_without_a_contact() {
        let host = FakeHost::default();
        assert_eq!(
            EscapeHatch::render(&host, ctx(Slot::PageFooter, None)).unwrap(),
            None
        );
    }

    #[test]
    fn stuck_only_after_the_threshold_and_while_unsolved() {
        let day = 24 * 3_600_000;
        let mut h = host();
        h.now = 10 * day;
        // Decided to the minute: a minute and a millisecond short of the
        // threshold is not stuck yet.
        h.topics
            .insert(12, question(10 * day - day + 60_001, false));
        let fresh = EscapeHatch::render(&h, ctx(Slot::PageFooter, Some(12)))
            .unwrap()
            .unwrap();
        assert!(!fresh.contains("Still stuck"));
        h.topics.insert(12, question(9 * day, false));
        let html = EscapeHatch::render(&h, ctx(Slot::TopicFooter, Some(12)))
            .unwrap()
            .unwrap();
        assert!(html.contains("Still stuck"), "{html}");
        assert!(
            html.contains("topic=https%3A%2F%2Fcommunity.example.com%2Ft%2Flogin-fails%2F12"),
            "{html}"
        );
        assert!(html.contains("Login &lt;fails&gt;"), "{html}");
        h.topics.insert(12, question(9 * day, true));
        assert_eq!(
            EscapeHatch::render(&h, ctx(Slot::TopicFooter, Some(12))).unwrap(),
            None
        );
    }

    #[test]
    fn encodes_urls() {
        assert_eq!(encode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    }
}
