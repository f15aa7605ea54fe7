//! [`FakeHost`]: an in-memory [`Host`] for unit-testing plugin logic with
//! plain `cargo test`, no WebAssembly involved.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::host::Host;
use crate::types::{
    ActionOutcome, ActionRequest, HostError, HttpRequest, HttpResponse, Level, MemberInfo, Notice,
    Period, PostInfo, TopicInfo,
};

/// A badge grant a test can inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Member.
    pub member: i64,
    /// Badge slug.
    pub badge: String,
    /// The post that earned it.
    pub post: Option<i64>,
    /// Why.
    pub reason: String,
}

/// An in-memory host. Fill the public fields, run your hooks with
/// `&host`, then inspect `kv`, `grants`, `awards`, `notices` and `logs`.
///
/// ```
/// use hearth_plugin::{Host, HostExt, testing::FakeHost};
///
/// let host = FakeHost::default().with_setting("top", 5);
/// assert_eq!(host.setting_as::<u32>("top"), Some(5));
/// host.kv_set("k", b"v").unwrap();
/// assert_eq!(host.kv_get("k").unwrap().as_deref(), Some(&b"v"[..]));
/// ```
#[derive(Debug, Default)]
pub struct FakeHost {
    /// Settings as JSON values.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// What `now` returns.
    pub now: i64,
    /// The key-value store.
    pub kv: RefCell<BTreeMap<String, Vec<u8>>>,
    /// Members by id.
    pub members: BTreeMap<i64, MemberInfo>,
    /// Topics by id.
    pub topics: BTreeMap<i64, TopicInfo>,
    /// Posts by id.
    pub posts: BTreeMap<i64, PostInfo>,
    /// Points by (member, period).
    pub points: BTreeMap<(i64, &'static str), i64>,
    /// Slugs of badges that can be earned once per post (others once).
    pub multiple_badges: std::collections::BTreeSet<String>,
    /// Badges granted (and not revoked).
    pub grants: RefCell<Vec<Grant>>,
    /// Points awarded, by key.
    pub awards: RefCell<BTreeMap<String, (i64, i64)>>,
    /// Log lines.
    pub logs: RefCell<Vec<(Level, String)>>,
    /// Notices queued (kept only for an action that is done).
    pub notices: RefCell<Vec<Notice>>,
    /// Canned answers to outbound requests, by URL (others fail with
    /// `unavailable`).
    pub http_answers: BTreeMap<String, HttpResponse>,
    /// The outbound requests made, in order.
    pub http_requests: RefCell<Vec<HttpRequest>>,
    /// Posts held for review, with the reason.
    pub held: RefCell<Vec<(i64, String)>>,
    /// Posts hidden (`hide_post`), with the reason.
    pub hidden: RefCell<Vec<(i64, String)>>,
    /// Posts flagged (`flag_post`), with the reason.
    pub flagged: RefCell<Vec<(i64, String)>>,
    /// Topics closed, with the reason.
    pub closed: RefCell<Vec<(i64, String)>>,
    /// Replies queued for the bot member: (topic, body, reply to); kept
    /// only for an action that is done.
    pub replies: RefCell<Vec<(i64, String, Option<i64>)>>,
    /// Refuse writes (key-value, badges, points) with `denied`, as the
    /// real host does while a `render` or `route` runs. Set it when
    /// testing those hooks: see [`FakeHost::read_only`].
    pub read_only: bool,
    /// Set while [`FakeHost::take_action`] runs an action: badges and
    /// points are refused, as on the real host.
    acting: Cell<bool>,
}

impl FakeHost {
    /// Sets a setting.
    pub fn with_setting(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.settings.insert(
            key.into(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
        self
    }

    /// A host that refuses writes, as the real one does during `render`
    /// and `route` (a page view or GET must not change anything).
    ///
    /// ```
    /// use hearth_plugin::{Host, HostError, testing::FakeHost};
    ///
    /// let host = FakeHost::default().read_only();
    /// assert!(matches!(host.kv_set("k", b"v"), Err(HostError::Denied(_))));
    /// assert!(host.kv.borrow().is_empty());
    /// ```
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Runs `P`'s action as the real host does: badges and points are
    /// refused while it runs, and the store is put back as it was unless
    /// the action returns [`ActionOutcome::Done`].
    ///
    /// ```
    /// use hearth_plugin::{ActionOutcome, ActionRequest, Host, Plugin, testing::FakeHost};
    ///
    /// struct Counter;
    /// impl Plugin for Counter {
    ///     fn action(host: &dyn Host, req: ActionRequest) -> Result<ActionOutcome, String> {
    ///         host.kv_set("clicked", b"yes").map_err(|e| e.to_string())?;
    ///         Ok(match req.field("ok") {
    ///             Some(_) => ActionOutcome::done(),
    ///             None => ActionOutcome::Refused("not ok".into()),
    ///         })
    ///     }
    /// }
    ///
    /// let host = FakeHost::default();
    /// let req = |fields: Vec<(String, String)>| ActionRequest {
    ///     community: 1, name: "click".into(), viewer: Some(7), post: None, topic: None, fields,
    /// };
    /// host.take_action::<Counter>(req(vec![])).unwrap();
    /// assert!(host.kv.borrow().is_empty());
    /// host.take_action::<Counter>(req(vec![("ok".into(), "1".into())])).unwrap();
    /// assert_eq!(host.kv.borrow().len(), 1);
    /// ```
    pub fn take_action<P: crate::Plugin>(
        &self,
        req: ActionRequest,
    ) -> Result<ActionOutcome, String> {
        let before = self.kv.borrow().clone();
        let notices = self.notices.borrow().len();
        let replies = self.replies.borrow().len();
        self.acting.set(true);
        let out = P::action(self, req);
        self.acting.set(false);
        if !matches!(out, Ok(ActionOutcome::Done { .. })) {
            *self.kv.borrow_mut() = before;
            self.notices.borrow_mut().truncate(notices);
            self.replies.borrow_mut().truncate(replies);
        }
        out
    }

    fn writable(&self, what: &str) -> Result<(), HostError> {
        if self.read_only {
            return Err(HostError::Denied(format!(
                "{what}: page renders and GET routes are read-only; \
                 write from `on-event` or `on-schedule` instead"
            )));
        }
        Ok(())
    }

    fn writable_now(&self, what: &str) -> Result<(), HostError> {
        self.writable(what)?;
        if self.acting.get() {
            return Err(HostError::Denied(format!(
                "{what} in `action`: an action's writes are saved only if it is done; \
                 grant badges and points from `on-event` or `on-schedule`"
            )));
        }
        Ok(())
    }
}

/// One page of `all` (already ordered), as the real host bounds it.
fn page<T: Clone>(
    all: Vec<&T>,
    limit: u32,
    key: impl Fn(&T) -> i64,
) -> Result<(Vec<T>, Option<String>), HostError> {
    if !(1..=100).contains(&limit) {
        return Err(HostError::Invalid(format!(
            "limit is 1 to 100, not {limit}"
        )));
    }
    let more = all.len() > limit as usize;
    let items: Vec<T> = all.into_iter().take(limit as usize).cloned().collect();
    let next = if more {
        items.last().map(|t| key(t).to_string())
    } else {
        None
    };
    Ok((items, next))
}

fn period_name(p: Period) -> &'static str {
    match p {
        Period::Week => "week",
        Period::Month => "month",
        Period::AllTime => "all-time",
    }
}

impl Host for FakeHost {
    /// The topics in [`FakeHost::topics`], newest id first; the cursor is
    /// the last id of the page.
    fn latest_topics(
        &self,
        category: Option<i64>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<TopicInfo>, Option<String>), HostError> {
        let after: i64 = after.and_then(|a| a.parse().ok()).unwrap_or(i64::MAX);
        let mut all: Vec<&TopicInfo> = self
            .topics
            .values()
            .filter(|t| category.is_none_or(|c| t.category == c) && t.id < after)
            .collect();
        all.sort_by_key(|t| std::cmp::Reverse(t.id));
        page(all, limit, |t| t.id)
    }
    /// The posts in [`FakeHost::posts`] of the topic, in number order; the
    /// cursor is the last number of the page.
    fn topic_posts(
        &self,
        topic: i64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<PostInfo>, Option<String>), HostError> {
        let after: i64 = after.and_then(|a| a.parse().ok()).unwrap_or(0);
        let mut all: Vec<&PostInfo> = self
            .posts
            .values()
            .filter(|p| p.topic == topic && p.number > after)
            .collect();
        all.sort_by_key(|p| p.number);
        page(all, limit, |p| p.number)
    }
    /// Records the hold; refused in renders, routes and actions, as on the
    /// real host.
    fn hold_post(&self, post: i64, reason: &str) -> Result<i64, HostError> {
        self.writable_now("hold-post")?;
        let mut held = self.held.borrow_mut();
        held.push((post, reason.to_string()));
        Ok(held.len() as i64)
    }
    /// Records the hide; refused where `hold_post` is.
    fn hide_post(&self, post: i64, reason: &str) -> Result<i64, HostError> {
        self.writable_now("hide-post")?;
        let mut hidden = self.hidden.borrow_mut();
        hidden.push((post, reason.to_string()));
        Ok(hidden.len() as i64)
    }
    /// Records the flag; refused where `hold_post` is.
    fn flag_post(&self, post: i64, reason: &str) -> Result<i64, HostError> {
        self.writable_now("flag-post")?;
        let mut flagged = self.flagged.borrow_mut();
        flagged.push((post, reason.to_string()));
        Ok(flagged.len() as i64)
    }
    /// Records the close; refused where `hold_post` is.
    fn close_topic(&self, topic: i64, reason: &str) -> Result<(), HostError> {
        self.writable_now("close-topic")?;
        self.closed.borrow_mut().push((topic, reason.to_string()));
        Ok(())
    }
    /// Queues the reply (at most 10 per call are allowed by the real
    /// host); refused in renders and routes.
    fn reply(&self, topic: i64, body: &str, reply_to: Option<i64>) -> Result<(), HostError> {
        self.writable("reply")?;
        if body.trim().is_empty() {
            return Err(HostError::Invalid("a reply needs some text".into()));
        }
        self.replies
            .borrow_mut()
            .push((topic, body.to_string(), reply_to));
        Ok(())
    }
    /// Answers from [`FakeHost::http_answers`]; refused while read-only,
    /// as the real host refuses renders and routes.
    fn http_fetch(&self, req: &HttpRequest) -> Result<HttpResponse, HostError> {
        if self.read_only {
            return Err(HostError::Denied(
                "http: outside services are called from actions, events and schedules".into(),
            ));
        }
        self.http_requests.borrow_mut().push(req.clone());
        self.http_answers
            .get(&req.url)
            .cloned()
            .ok_or_else(|| HostError::Unavailable(format!("no answer for {}", req.url)))
    }
    /// Checks the bounds the real host checks (not the kind, which the
    /// real host reads from `plugin.toml`).
    fn notify(&self, notice: &Notice) -> Result<(), HostError> {
        self.writable("notify")?;
        let chars = notice.text.chars().count();
        if chars == 0 || chars > 300 || notice.text.chars().any(char::is_control) {
            return Err(HostError::Invalid(
                "text: one line of 1 to 300 characters".into(),
            ));
        }
        if notice.dedupe_key.is_empty() || notice.dedupe_key.len() > 200 {
            return Err(HostError::Invalid("dedupe_key: 1 to 200 bytes".into()));
        }
        if self.notices.borrow().len() >= 100 {
            return Err(HostError::Invalid("at most 100 notices per call".into()));
        }
        self.notices.borrow_mut().push(notice.clone());
        Ok(())
    }
    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
    fn setting(&self, key: &str) -> Option<String> {
        self.settings.get(key).map(|v| v.to_string())
    }
    fn now(&self) -> i64 {
        self.now
    }
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.kv.borrow().get(key).cloned())
    }
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), HostError> {
        self.writable("kv-set")?;
        self.kv.borrow_mut().insert(key.into(), value.to_vec());
        Ok(())
    }
    fn kv_delete(&self, key: &str) -> Result<(), HostError> {
        self.writable("kv-delete")?;
        self.kv.borrow_mut().remove(key);
        Ok(())
    }
    fn kv_list(
        &self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, HostError> {
        Ok(self
            .kv
            .borrow()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && k.as_str() > after)
            .take(limit.clamp(1, 1000) as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn member(&self, id: i64) -> Result<Option<MemberInfo>, HostError> {
        Ok(self.members.get(&id).cloned())
    }
    fn topic(&self, id: i64) -> Result<Option<TopicInfo>, HostError> {
        Ok(self.topics.get(&id).cloned())
    }
    fn post(&self, id: i64) -> Result<Option<PostInfo>, HostError> {
        Ok(self.posts.get(&id).cloned())
    }
    fn points(&self, member: i64, period: Period) -> Result<i64, HostError> {
        Ok(*self
            .points
            .get(&(member, period_name(period)))
            .unwrap_or(&0))
    }
    fn member_badges(&self, member: i64) -> Result<Vec<String>, HostError> {
        Ok(self
            .grants
            .borrow()
            .iter()
            .filter(|g| g.member == member)
            .map(|g| g.badge.clone())
            .collect())
    }
    fn grant_badge(
        &self,
        member: i64,
        badge: &str,
        post: Option<i64>,
        reason: &str,
    ) -> Result<bool, HostError> {
        self.writable_now("grant-badge")?;
        let mut grants = self.grants.borrow_mut();
        let multiple = self.multiple_badges.contains(badge);
        if grants
            .iter()
            .any(|g| g.member == member && g.badge == badge && (!multiple || g.post == post))
        {
            return Ok(false);
        }
        grants.push(Grant {
            member,
            badge: badge.into(),
            post,
            reason: reason.into(),
        });
        Ok(true)
    }
    fn revoke_badge(&self, member: i64, badge: &str, post: Option<i64>) -> Result<bool, HostError> {
        self.writable_now("revoke-badge")?;
        let mut grants = self.grants.borrow_mut();
        let before = grants.len();
        grants.retain(|g| {
            !(g.member == member && g.badge == badge && (post.is_none() || g.post == post))
        });
        Ok(grants.len() != before)
    }
    fn award_points(&self, member: i64, points: i64, key: &str) -> Result<bool, HostError> {
        self.writable_now("award-points")?;
        let mut awards = self.awards.borrow_mut();
        if awards.contains_key(key) {
            return Ok(false);
        }
        awards.insert(key.into(), (member, points));
        Ok(true)
    }
}
