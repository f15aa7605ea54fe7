//! [`Host`]: what a plugin can ask of the forum. On WebAssembly it calls
//! the real host; in native tests, [`FakeHost`](crate::testing::FakeHost).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::{
    HostError, HttpRequest, HttpResponse, Level, MemberInfo, Notice, Period, PostInfo, TopicInfo,
};

/// The host functions. Each needs a capability listed in `plugin.toml`
/// and granted by the operator; calling one the manifest does not list
/// stops the plugin, calling one the operator withheld returns
/// [`HostError::Denied`].
pub trait Host {
    /// Capability `log`: a line in the host's log, tagged with the plugin.
    fn log(&self, level: Level, message: &str);
    /// Capability `settings`: a setting's value as JSON text.
    fn setting(&self, key: &str) -> Option<String>;
    /// Capability `now`: the forum's clock, in milliseconds since the epoch.
    /// A render that asks runs again on every page.
    fn now(&self) -> i64;
    /// Capability `now` (API 0.2): the clock rounded down to a multiple of
    /// `step_ms` (0 counts as 1) — the start of this minute, hour or day.
    /// A render that asks only this may be reused by the host until the
    /// next step begins, so prefer it to [`now`](Self::now) in renders
    /// that need only so fine a time. The default rounds [`now`](Self::now).
    fn now_rounded(&self, step_ms: u32) -> i64 {
        let now = self.now();
        now - now.rem_euclid(i64::from(step_ms.max(1)))
    }
    /// Capability `kv`: a value from the plugin's store (this community).
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError>;
    /// Capability `kv` (API 0.2): the values under many keys at once, in
    /// the order asked — one host call and one read for a whole page (at
    /// most 500 keys). The default asks [`kv_get`](Self::kv_get) per key.
    fn kv_get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, HostError> {
        keys.iter().map(|k| self.kv_get(k)).collect()
    }
    /// Capability `kv`: stores a value; durable when the hook returns `Ok`.
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), HostError>;
    /// Capability `kv`: deletes a key.
    fn kv_delete(&self, key: &str) -> Result<(), HostError>;
    /// Capability `kv`: up to `limit` entries with keys starting with
    /// `prefix` and sorting after `after`, in key order.
    fn kv_list(
        &self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, HostError>;
    /// Capability `read`: a member.
    fn member(&self, id: i64) -> Result<Option<MemberInfo>, HostError>;
    /// Capability `read`: a topic the reader may see.
    fn topic(&self, id: i64) -> Result<Option<TopicInfo>, HostError>;
    /// Capability `read`: a post the reader may see.
    fn post(&self, id: i64) -> Result<Option<PostInfo>, HostError>;
    /// Capability `read`: a member's points in a period.
    fn points(&self, member: i64, period: Period) -> Result<i64, HostError>;
    /// Capability `read`: the badge slugs a member holds.
    fn member_badges(&self, member: i64) -> Result<Vec<String>, HostError>;
    /// Capability `badges`: grants a badge declared in `plugin.toml`.
    fn grant_badge(
        &self,
        member: i64,
        badge: &str,
        post: Option<i64>,
        reason: &str,
    ) -> Result<bool, HostError>;
    /// Capability `badges`: revokes a badge.
    fn revoke_badge(&self, member: i64, badge: &str, post: Option<i64>) -> Result<bool, HostError>;
    /// Capability `points`: awards points once per key.
    fn award_points(&self, member: i64, points: i64, key: &str) -> Result<bool, HostError>;
    /// Capability `notify` (API 0.2): queues a notice, sent when the hook
    /// succeeds. Refused in renders and GET routes, over 100 notices per
    /// call, or for a kind not declared. The default refuses (a host of
    /// your own that sends none).
    fn notify(&self, notice: &Notice) -> Result<(), HostError> {
        let _ = notice;
        Err(HostError::Denied("this host sends no notices".into()))
    }
    /// Capability `read` (API 0.2): the latest topics (of a category, or
    /// all), up to `limit` (1 to 100) after a previous page's cursor, with
    /// the next page's cursor. The default refuses.
    fn latest_topics(
        &self,
        category: Option<i64>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<TopicInfo>, Option<String>), HostError> {
        let _ = (category, after, limit);
        Err(HostError::Denied("this host lists no topics".into()))
    }
    /// Capability `read` (API 0.2): a topic's posts in order, up to
    /// `limit` (1 to 100) after a previous page's cursor. The default
    /// refuses.
    fn topic_posts(
        &self,
        topic: i64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<PostInfo>, Option<String>), HostError> {
        let _ = (topic, after, limit);
        Err(HostError::Denied("this host lists no posts".into()))
    }
    /// Capability `read` (API 0.2): up to 100 posts by id in one call, in
    /// the order asked. The default asks [`post`](Self::post) per id.
    fn posts_by_ids(&self, ids: &[i64]) -> Result<Vec<Option<PostInfo>>, HostError> {
        ids.iter().map(|id| self.post(*id)).collect()
    }
    /// Capability `read` (API 0.2): up to 100 members by user id in one
    /// call, in the order asked. The default asks
    /// [`member`](Self::member) per id.
    fn members_by_ids(&self, ids: &[i64]) -> Result<Vec<Option<MemberInfo>>, HostError> {
        ids.iter().map(|id| self.member(*id)).collect()
    }
    /// Capability `hold-posts` (API 0.2): hides a published post until a
    /// moderator decides, with `reason` in the review queue; returns the
    /// review item. From `on-event` and `on-schedule`. The default refuses.
    fn hold_post(&self, post: i64, reason: &str) -> Result<i64, HostError> {
        let _ = (post, reason);
        Err(HostError::Denied("this host holds no posts".into()))
    }
    /// Capability `hide-posts` (API 0.2): hides a post until a moderator
    /// decides (`hidden by <plugin>: <reason>`); returns the review item.
    /// From `on-event` and `on-schedule`. The default refuses.
    fn hide_post(&self, post: i64, reason: &str) -> Result<i64, HostError> {
        let _ = (post, reason);
        Err(HostError::Denied("this host hides no posts".into()))
    }
    /// Capability `flag-posts` (API 0.2): puts a post before the
    /// moderators, leaving it shown; returns the review item. From
    /// `on-event` and `on-schedule`. The default refuses.
    fn flag_post(&self, post: i64, reason: &str) -> Result<i64, HostError> {
        let _ = (post, reason);
        Err(HostError::Denied("this host flags no posts".into()))
    }
    /// Capability `close-topics` (API 0.2): closes a topic, the audit log
    /// naming the plugin. From `on-event` and `on-schedule`. The default
    /// refuses.
    fn close_topic(&self, topic: i64, reason: &str) -> Result<(), HostError> {
        let _ = (topic, reason);
        Err(HostError::Denied("this host closes no topics".into()))
    }
    /// Capability `reply` (API 0.2): queues a reply by the plugin's bot
    /// member, posted after the hook succeeds (at most 10 per call). The
    /// default refuses.
    fn reply(&self, topic: i64, body: &str, reply_to: Option<i64>) -> Result<(), HostError> {
        let _ = (topic, body, reply_to);
        Err(HostError::Denied("this host posts no replies".into()))
    }
    /// Capability `http` (API 0.2): one request to a host `[http]` names,
    /// from actions, events and schedules; within the call's deadline. The
    /// default refuses.
    fn http_fetch(&self, req: &HttpRequest) -> Result<HttpResponse, HostError> {
        let _ = req;
        Err(HostError::Denied("this host makes no requests".into()))
    }
}

/// Conveniences over [`Host`]: typed settings and JSON values.
pub trait HostExt: Host {
    /// A setting parsed into `T`; `None` if absent or of another type.
    fn setting_as<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.setting(key)
            .and_then(|s| serde_json::from_str(&s).ok())
    }

    /// A JSON value from the store.
    fn kv_get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, HostError> {
        match self.kv_get(key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| HostError::Invalid(format!("{key}: {e}"))),
            None => Ok(None),
        }
    }

    /// Many JSON values from the store, in the order asked (see
    /// [`Host::kv_get_many`]).
    fn kv_get_many_json<T: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<T>>, HostError> {
        self.kv_get_many(keys)?
            .into_iter()
            .zip(keys)
            .map(|(v, key)| match v {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| HostError::Invalid(format!("{key}: {e}"))),
                None => Ok(None),
            })
            .collect()
    }

    /// Stores a value as JSON.
    fn kv_set_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), HostError> {
        let bytes = serde_json::to_vec(value).map_err(|e| HostError::Invalid(e.to_string()))?;
        self.kv_set(key, &bytes)
    }

    /// Logs at `info`.
    fn info(&self, message: &str) {
        self.log(Level::Info, message)
    }
}

impl<H: Host + ?Sized> HostExt for H {}
