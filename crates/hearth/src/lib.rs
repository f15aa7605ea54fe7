//! Hearth: an embeddable forum engine for customer communities.
//!
//! A [`Forum`] holds any number of communities in one SQLite file. Each
//! community has categories, members with roles and groups, topics and
//! posts (Markdown, rendered to sanitized HTML), full-text search, and a
//! durable event log. Every read and write goes through one permission
//! check, so nothing leaks between communities or out of private
//! categories. The API is synchronous; call it from a thread pool (or
//! `spawn_blocking`) in async code.
//!
//! ```
//! use hearth::{Actor, CategoryKind, Forum, NewCategory, NewCommunity, NewReply, NewTopic,
//!              NewUser, PageRequest, SearchQuery, TopicFilter};
//!
//! # fn main() -> Result<(), hearth::Error> {
//! # let dir = std::env::temp_dir().join(format!("hearth-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let forum = Forum::open(dir.join("community.db"))?;
//!
//! // The application creates accounts and communities.
//! let ada = forum.create_user(NewUser::new("ada"))?;
//! let bob = forum.create_user(NewUser::new("bob"))?;
//! let community = forum.create_community(&Actor::System, NewCommunity {
//!     slug: "acme".into(),
//!     name: "Acme Community".into(),
//!     owner: Some(ada.id),
//!     ..Default::default()
//! })?;
//!
//! // Owners and admins shape it.
//! let (ada, bob) = (Actor::User(ada.id), Actor::User(bob.id));
//! let qa = forum.create_category(&ada, community.id,
//!     NewCategory::new("questions", "Questions", CategoryKind::QuestionAndAnswer))?;
//!
//! // Members talk.
//! forum.join(&bob, community.id)?;
//! let (topic, _first) = forum.create_topic(&bob, community.id, NewTopic {
//!     category: qa.id,
//!     title: "How do I rotate my API key?".into(),
//!     body: "The **old** key still works after I made a new one.".into(),
//!     tags: vec!["api".into()],
//! })?;
//! let answer = forum.reply(&ada, community.id, topic.id, NewReply {
//!     body: "Revoke it under *Settings → Keys*.".into(),
//!     reply_to: None,
//! })?;
//! forum.accept_answer(&bob, community.id, answer.id)?;
//!
//! // Guests read public categories; search finds the answer.
//! let latest = forum.latest(&Actor::Guest, community.id, &TopicFilter::default(), &PageRequest::first(30))?;
//! assert_eq!(latest.items[0].accepted_answer, Some(answer.id));
//! let found = forum.search(&Actor::Guest, community.id, &SearchQuery::new("rotate key"))?;
//! assert_eq!(found.total, 1);
//! # Ok(()) }
//! ```
//!
//! The pieces, in the order a request meets them:
//!
//! * [`Forum`] and [`Config`]: opening a database, durability, the clock.
//! * [`Actor`] and [`Role`]: who is acting; permissions are checked inside.
//! * Communities ([`Community`], [`CommunitySettings`]), categories
//!   ([`Category`]), members ([`User`], [`Member`], [`Group`]).
//! * Content: [`Topic`], [`Post`], [`TopicView`], likes, accepted answers,
//!   revisions, bookmarks; lists are paged with [`PageRequest`] cursors.
//!   [`Forum::create_topic_once`] and [`Forum::reply_once`] make a create
//!   safe to retry after a lost answer.
//! * [`SearchQuery`] and [`Forum::similar_topics`].
//! * The durable event log: [`Event`], [`Forum::events_after`],
//!   [`Forum::ack_events`].
//! * Moderation: [`TrustLevel`]s earned from activity ([`TrustSettings`]),
//!   watched words and limits ([`NewWatchedWord`], [`ModerationSettings`],
//!   [`CategoryRules`]), the review queue and flags ([`ReviewItem`],
//!   [`Decision`], [`FlagKind`]), moderator actions ([`Pin`],
//!   [`TopicUpdate`], [`NewSplit`]) and the audit log ([`AuditEntry`]).
//!   A post a rule holds comes back as [`Error::PendingReview`].
//! * Sign-in credentials ([`Forum::create_account`], [`Forum::login`]):
//!   an e-mail address and an opaque password hash the application made.
//! * [`Hooks`]: filters before writes, notifications after commits; and
//!   storage for extensions such as the plugin host ([`Forum::ext_apply`]).
//! * [`Error`]: one error type whose variants say what to do next.

#![deny(missing_docs)]

mod account_mail;
mod activity;
mod analytics;
mod audit;
mod badges;
mod category;
mod changes;
mod clock;
mod community;
mod copy;
mod curate;
mod db;
mod deflection;
mod directory;
mod due;
mod error;
mod events;
mod extdata;
mod external;
mod external_topics;
mod follows;
mod forum;
mod hooks;
mod ideas;
mod ids;
mod imaging;
mod invites;
mod jobs;
mod kb;
mod lease;
mod lifecycle;
mod login;
mod mail;
mod markup;
mod member;
mod messages;
mod notices;
mod notify;
mod once;
mod own_account;
mod page;
mod permissions;
mod products;
mod profile_fields;
mod rank;
mod render;
mod review;
mod rewards;
mod rules;
mod search;
mod store;
mod tag_groups;
mod text;
mod throttle;
mod timers;
mod topic;
mod transfer;
mod trust;
mod upload_store;
mod uploads;

pub use account_mail::AccountEmail;
pub use activity::{ActionKind, MAX_USER_ACTIONS, UserAction};
pub use analytics::{Analytics, Contributor, DayPoint, HelpfulArticle, MAX_ANALYTICS_DAYS};
pub use audit::{AuditAction, AuditEntry, AuditFilter, Target};
pub use badges::{Badge, BadgeChange, BadgeCount, BadgeGrant, BadgeTier, NewBadge};
pub use category::{Category, CategoryKind, NewCategory, Visibility};
pub use changes::{CHANGE_POLL, ChangeStamp};
pub use clock::{Clock, ManualClock, SystemClock};
pub use community::{
    About, Community, CommunitySettings, ContentLimits, MAX_WELCOME_CHARS, NewCommunity,
    RegistrationMode,
};
pub use copy::CopyReport;
pub use curate::{NewSplit, Pin, TopicUpdate};
pub use deflection::DeflectionReport;
pub use directory::{DirectoryEntry, DirectoryOrder};
pub use error::{Error, Problem, Result, Unavailable};
pub use events::{Audience, Event, EventKind};
pub use extdata::{
    ExtOp, MAX_EXT_KEY, MAX_EXT_KEYS_READ, MAX_EXT_NAMESPACE, MAX_EXT_VALUE,
    SECRET_NAMESPACE_PREFIX,
};
pub use external::{ExternalAccount, ExternalSignIn, NO_PASSWORD};
pub use external_topics::MAX_EXTERNAL_ID;
pub use follows::{MAX_FOLLOW_LIST, MAX_FOLLOWING};
pub use forum::{Config, Forum};
pub use hooks::{
    DraftKind, HookError, Hooks, MarkupBlock, MarkupOutput, MarkupSyntax, PostDraft, PostFilter,
    markup_fence_ok,
};
pub use ideas::{Idea, IdeaFilter, IdeaStatus, MAX_IDEA_NOTE};
pub use ids::{CategoryId, CommunityId, EventId, GroupId, PostId, ReviewId, TopicId, UserId};
pub use imaging::{MAX_ANIMATION_PIXELS, THUMBNAIL_BOX};
pub use invites::{Invite, JoinRequest, NewInvite};
pub use jobs::{EMAIL_JOB_LEASE, JobProgress, JobReport, JobStep, OutboxEntry};
pub use kb::{Article, ArticleRevision, ArticleStatus, NewArticle};
pub use lease::{Lease, unique_token};
pub use lifecycle::{MAX_DELETE_POSTS, UNCONFIRMED_ACCOUNT_DAYS};
pub use login::{Login, NewLogin};
pub use mail::{
    DigestFrequency, Email, EmailKind, EmailPreferences, EmailSettings, FileMailer, MailError,
    Mailer,
};
pub use member::{
    Group, GroupMember, MAX_GROUP_CHANGE, MAX_GROUP_PAGE, MAX_MEMBER_LIST, MAX_MEMBERS_BY_IDS,
    Member, MemberFilter, MemberOrder, MemberQuery, NewUser, ProfileUpdate, SYSTEM_USERNAME, User,
};
pub use messages::{
    MAX_MESSAGE_RECIPIENTS, Mailbox, MessageGroup, MessageSettings, MessageSummary, NewMessage,
    Participant, Participants,
};
pub use notices::{ExtNotice, MAX_NOTICE_KEY, MAX_NOTICE_TEXT, NoticeTally};
pub use notify::{Delivery, Notification, NotificationKind, WatchLevel};
pub use once::{MAX_REQUEST_KEY, REQUEST_KEY_TTL_HOURS};
pub use own_account::{OWN_DATA_FORMAT, OWN_DATA_VERSION};
pub use page::{Cursor, MAX_PAGE, Page, PageRequest};
pub use permissions::{Actor, Role};
pub use products::{MAX_PRODUCTS_PER_POST, NewProduct, Product, ProductClicks};
pub use profile_fields::{
    FieldKind, FieldOption, FieldVisibility, MAX_FIELD_OPTIONS, MAX_PROFILE_FIELDS, MemberField,
    ProfileField,
};
pub use render::{
    ALLOWED_ATTRIBUTES, ALLOWED_SCHEMES, ALLOWED_TAGS, EXTERNAL_REL, PLUGIN_ACTION_TAG,
    RENDER_VERSION, Sanitizer, render_markdown, sanitize_html,
};
pub use review::{Decision, Flag, FlagKind, ReviewFilter, ReviewItem, ReviewKind, ReviewStatus};
pub use rewards::{Period, PointEntry, RewardRules, Rule, Standing};
pub use rules::{
    CategoryRules, MAX_PATTERN_BYTES, MAX_WATCHED_WORDS, ModerationSettings, NewWatchedWord,
    RateLimits, ScreenedDraft, WatchedWord, WordAction,
};
pub use search::{SEARCH_WINDOW, SearchHit, SearchQuery, SearchResults, SimilarTopic};
pub use store::{Durability, StoreConfig};
pub use tag_groups::{GroupTag, MAX_TAG_GROUP_TAGS, NewTagGroup, TagGroup};
pub use text::{RESERVED_USERNAMES, slugify, validate_username};
pub use throttle::{Attempt, MAX_THROTTLE_KEY, Throttle};
pub use timers::{MAX_TIMER_DAYS, TimerAction, TimerWhen, TopicTimer};
pub use topic::{
    MAX_LATEST_POSTS, MAX_POSTS_BY_IDS, MAX_REPLIES, MAX_TAGS, MAX_TOP_TOPICS, NewReply, NewTopic,
    Post, PostEdit, PostLink, PostSource, Revision, Tag, TagCount, TopPeriod, Topic, TopicFilter,
    TopicFlag, TopicView, UserRef,
};
pub use transfer::{EXPORT_VERSION, TransferReport};
pub use trust::{
    Activity, LevelRequirements, NewMemberLimits, RegularRequirements, Trust, TrustLevel,
    TrustSettings,
};
#[cfg(feature = "object-store")]
pub use upload_store::ObjectStoreUploads;
pub use upload_store::UploadStorage;
pub use uploads::{AttachmentKind, MAX_UPLOAD_PIXELS, NewUpload, Upload};
