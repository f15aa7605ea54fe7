//! The values hooks receive and return, as plain Rust types (the same on
//! WebAssembly and in native tests).

use serde::{Deserialize, Serialize};

/// Why a post is being filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// The first post of a new topic.
    NewTopic,
    /// A reply.
    Reply,
    /// An edit.
    Edit,
}

/// A post about to be created or edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostDraft {
    /// New topic, reply or edit.
    pub kind: DraftKind,
    /// The community.
    pub community: i64,
    /// The category.
    pub category: i64,
    /// The topic (absent for a new topic).
    pub topic: Option<i64>,
    /// The post being edited.
    pub post: Option<i64>,
    /// The author (for edits, the editor).
    pub author: i64,
    /// The title (new topics, edits of a first post).
    pub title: Option<String>,
    /// Markdown source.
    pub body: String,
}

/// A filter's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Write it as it is.
    Allow,
    /// Write it with this Markdown body instead.
    Rewrite(String),
    /// Hold it for review; the reason is shown to the author.
    Queue(String),
    /// Refuse it; the reason is shown to the author.
    Reject(String),
}

/// One entry of the durable event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Strictly increasing: use it to stay idempotent.
    pub id: i64,
    /// The community.
    pub community: i64,
    /// Dotted kind, e.g. `reward.earned`.
    pub kind: String,
    /// The category involved.
    pub category: Option<i64>,
    /// The topic involved.
    pub topic: Option<i64>,
    /// The post involved.
    pub post: Option<i64>,
    /// Who did it.
    pub actor: Option<i64>,
    /// The member it happened to.
    pub subject: Option<i64>,
    /// Kind-specific details, a JSON object.
    pub data: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl Event {
    /// `data` parsed (`Null` if it is not JSON).
    pub fn data(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null)
    }
}

/// A page slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Slot {
    /// The footer of every page.
    PageFooter,
    /// Beside the main content.
    Sidebar,
    /// Under a topic.
    TopicFooter,
    /// On a profile.
    Profile,
}

/// What a render call knows about the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderContext {
    /// The community.
    pub community: i64,
    /// The slot.
    pub slot: Slot,
    /// The page's path.
    pub path: String,
    /// The signed-in viewer.
    pub viewer: Option<i64>,
    /// The topic shown.
    pub topic: Option<i64>,
    /// The member whose profile is shown.
    pub member: Option<i64>,
}

/// A GET request under `/plugins/<name>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The community.
    pub community: i64,
    /// The path below the plugin's prefix, starting with `/`.
    pub path: String,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// The signed-in viewer.
    pub viewer: Option<i64>,
}

impl Request {
    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A route's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `text/html` or `application/json`.
    pub content_type: String,
    /// The body.
    pub body: String,
}

impl Response {
    /// A 200 HTML page (the host sanitizes it).
    pub fn html(body: impl Into<String>) -> Response {
        Response {
            status: 200,
            content_type: "text/html".into(),
            body: body.into(),
        }
    }

    /// A 200 JSON document.
    pub fn json(value: &serde_json::Value) -> Response {
        Response {
            status: 200,
            content_type: "application/json".into(),
            body: value.to_string(),
        }
    }
}

/// A member's action (API 0.2), posted to `/plugins/<name>/a/<action>`.
/// The host has checked sign-in, the form token and the rate limit, and
/// that the viewer may read `post` and `topic`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// The community.
    pub community: i64,
    /// The action's name, as declared under `[[actions]]`.
    pub name: String,
    /// The member taking it (none only for actions open to guests).
    pub viewer: Option<i64>,
    /// The post it is about.
    pub post: Option<i64>,
    /// The topic it is about (the post's, when a post is named).
    pub topic: Option<i64>,
    /// The other form fields, sorted by name.
    pub fields: Vec<(String, String)>,
}

impl ActionRequest {
    /// The first value of a field.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What an action came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionOutcome {
    /// Done: the store writes are saved.
    Done {
        /// A short line shown to the member.
        message: Option<String>,
        /// A path on this site to return to; none returns to the page the
        /// form was on.
        redirect: Option<String>,
        /// A JSON document for callers that asked for JSON.
        json: Option<String>,
    },
    /// Refused: the reason is shown and nothing is saved.
    Refused(String),
}

impl ActionOutcome {
    /// Done, with nothing to say: the member returns to the page.
    pub fn done() -> ActionOutcome {
        ActionOutcome::Done {
            message: None,
            redirect: None,
            json: None,
        }
    }

    /// Done, with a JSON document for callers that asked for JSON.
    pub fn done_json(value: &serde_json::Value) -> ActionOutcome {
        ActionOutcome::Done {
            message: None,
            redirect: None,
            json: Some(value.to_string()),
        }
    }
}

/// A notice to one member (API 0.2, capability `notify`), of a kind the
/// manifest declares under `[[notifications]]`. It is sent when the hook
/// succeeds (an action's when it is done), through the forum's own
/// notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The member told.
    pub member: i64,
    /// A declared kind.
    pub kind: String,
    /// The topic it is about.
    pub topic: Option<i64>,
    /// The post it is about (its topic is implied).
    pub post: Option<i64>,
    /// One line of plain text, 1 to 300 characters.
    pub text: String,
    /// Sent at most once per member and key (1 to 200 bytes).
    pub dedupe_key: String,
}

impl Notice {
    /// A notice about a post.
    pub fn about_post(
        member: i64,
        kind: &str,
        post: i64,
        text: impl Into<String>,
        dedupe_key: impl Into<String>,
    ) -> Notice {
        Notice {
            member,
            kind: kind.into(),
            topic: None,
            post: Some(post),
            text: text.into(),
            dedupe_key: dedupe_key.into(),
        }
    }
}

/// An outbound HTTP request (API 0.2, capability `http`), to a host the
/// manifest names under `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD`.
    pub method: String,
    /// An `https://` URL.
    pub url: String,
    /// Headers to send (the host sets `Host`, `Content-Length`,
    /// `Connection`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A `POST` of a form (`application/x-www-form-urlencoded`), as
    /// Akismet-like services take it.
    pub fn post_form(url: &str, fields: &[(&str, &str)]) -> HttpRequest {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
            .collect();
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.join("&").into_bytes(),
        }
    }
}

fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An answer to an [`HttpRequest`] (any status; a redirect is not
/// followed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where per-item fragments go (API 0.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemSlot {
    /// Below each post's text (items are post ids).
    PostFooter,
    /// Among each post's buttons (items are post ids).
    PostMenu,
    /// Beside each topic's title on lists (items are topic ids).
    TopicListBadge,
    /// The composer's help area (one item: the category id).
    ComposerHelp,
}

/// What a batched render knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsContext {
    /// The community.
    pub community: i64,
    /// The slot.
    pub slot: ItemSlot,
    /// The page's path.
    pub path: String,
    /// The signed-in viewer.
    pub viewer: Option<i64>,
    /// The topic shown (post slots).
    pub topic: Option<i64>,
    /// The items, in page order, all readable by the viewer.
    pub items: Vec<i64>,
}

/// One item's fragment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFragment {
    /// The item (a post, topic or category id from the context).
    pub item: i64,
    /// HTML; the host sanitizes it and turns `<hearth-action>` elements
    /// into forms.
    pub html: String,
}

/// One fenced Markdown block of a post (```` ```poll ````) for
/// [`Plugin::render_markup`](crate::Plugin::render_markup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupBlock {
    /// The community.
    pub community: i64,
    /// The fence word, one of `markup` in `plugin.toml`.
    pub fence: String,
    /// The rest of the info string, trimmed (```` ```poll multiple ````
    /// gives `multiple`).
    pub info: String,
    /// The block's text, as the author wrote it.
    pub source: String,
}

/// What a [`MarkupBlock`] renders to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupOutput {
    /// HTML, stored with the post after the host sanitizes it (what posts
    /// allow, plus `span` and classes under `<plugin>-`; no action
    /// buttons — put those beside the post with `render_items`).
    pub html: String,
    /// Plain text for search, excerpts and e-mails.
    pub text: String,
}

/// How loud a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Very detailed.
    Trace,
    /// Detailed.
    Debug,
    /// Normal.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

/// A period for points totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    /// Since Monday 00:00 UTC.
    Week,
    /// Since the 1st of the month, UTC.
    Month,
    /// Ever.
    AllTime,
}

/// Why a host call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostError {
    /// The operator did not grant the capability in this community.
    Denied(String),
    /// A value was out of bounds or unknown.
    Invalid(String),
    /// The host could not do it now; try again later.
    Unavailable(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Denied(m) => write!(f, "denied: {m}"),
            HostError::Invalid(m) => write!(f, "invalid: {m}"),
            HostError::Unavailable(m) => write!(f, "unavailable: {m}"),
        }
    }
}

impl std::error::Error for HostError {}

/// A member as plugins see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// User id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `owner`, `admin`, `moderator`, `staff`, `expert` or `member`.
    pub role: String,
    /// 0 to 4.
    pub trust_level: u8,
    /// Milliseconds since the Unix epoch.
    pub joined_at: i64,
}

impl MemberInfo {
    /// Owners, admins, moderators and staff.
    pub fn is_staff(&self) -> bool {
        matches!(
            self.role.as_str(),
            "owner" | "admin" | "moderator" | "staff"
        )
    }
}

/// A topic as plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    /// Topic id.
    pub id: i64,
    /// Category id.
    pub category: i64,
    /// `discussion`, `question_and_answer`, `knowledge_base`, `blog`,
    /// `ideas` or `announcements`.
    pub category_kind: String,
    /// Title.
    pub title: String,
    /// URL slug.
    pub slug: String,
    /// Author's user id.
    pub author: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Replies.
    pub reply_count: i64,
    /// The accepted answer.
    pub accepted_answer: Option<i64>,
    /// Closed to replies.
    pub closed: bool,
}

impl TopicInfo {
    /// The topic's path on the forum, e.g. `/t/how-do-i/12`.
    pub fn path(&self) -> String {
        format!("/t/{}/{}", self.slug, self.id)
    }
}

/// A post as plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostInfo {
    /// Post id.
    pub id: i64,
    /// Topic id.
    pub topic: i64,
    /// Author's user id.
    pub author: i64,
    /// 1 for a topic's first post.
    pub number: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Likes.
    pub like_count: i64,
    /// Markdown source.
    pub body: String,
}
