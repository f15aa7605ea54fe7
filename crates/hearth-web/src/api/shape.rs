//! Hearth's types in the shapes of Discourse's JSON API: field names,
//! nesting and the fields Discourse's clients expect even where Hearth has
//! no equivalent (present, with a sensible value).

use hearth::{
    BadgeGrant, BadgeTier, Category, DirectoryEntry, Post, Role, SearchHit, Topic, User, UserId,
    UserRef, Visibility,
};
use serde::Serialize;
use serde_json::{Value, json};

use super::html::SafeHtml;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What a shape depends on besides the object: who is looking, and where
/// the router is mounted.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub viewer: Option<UserId>,
    /// Moderators and up (and the system).
    pub staff: bool,
    /// Owners and administrators (and the system).
    pub admin: bool,
    pub base: String,
}

impl Ctx {
    fn mine(&self, user: UserId) -> bool {
        self.viewer == Some(user)
    }
}

/// JSON `null` in a typed shape.
pub(crate) type Null = Option<()>;

/// JSON `{}` in a typed shape.
#[derive(Debug, Serialize)]
pub(crate) struct Empty {}

/// A typed shape as a JSON value (shapes are structs so that every HTML
/// field is a [`SafeHtml`]; callers still compose values).
fn value(shape: impl Serialize) -> Value {
    serde_json::to_value(shape).unwrap_or(Value::Null)
}

pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// [`ts`] of Unix milliseconds (what the web layer's own records keep).
pub(crate) fn ts_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(ts)
        .unwrap_or_default()
}

/// Discourse's avatar template: clients replace `{size}`.
pub(crate) fn avatar_template(ctx: &Ctx, username: &str, avatar_url: Option<&str>) -> String {
    match avatar_url {
        Some(url) => url.to_string(),
        None => format!("{}/letter_avatar/{}/{{size}}.svg", ctx.base, username),
    }
}

/// A member as lists name them (a topic list's `users`, followers).
#[derive(Serialize)]
pub(crate) struct UserRefShape<'a> {
    id: i64,
    username: &'a str,
    name: &'a str,
    avatar_template: String,
}

pub(crate) fn user_ref<'a>(ctx: &Ctx, u: &'a UserRef) -> UserRefShape<'a> {
    UserRefShape {
        id: u.id.0,
        username: &u.username,
        name: &u.display_name,
        avatar_template: avatar_template(ctx, &u.username, u.avatar_url.as_deref()),
    }
}

/// Each member once, in order of first appearance.
fn users_of<'a>(ctx: &Ctx, refs: impl Iterator<Item = &'a UserRef>) -> Vec<UserRefShape<'a>> {
    let mut seen = std::collections::HashSet::new();
    refs.filter(|u| seen.insert(u.id.0))
        .map(|u| user_ref(ctx, u))
        .collect()
}

/// A topic list's poster (`posters`, `participants`).
#[derive(Serialize)]
struct Poster {
    extras: &'static str,
    description: Option<&'static str>,
    user_id: i64,
    primary_group_id: Null,
}

/// One topic of a list (`/latest.json`, a category's list).
#[derive(Serialize)]
pub(crate) struct TopicListItem<'a> {
    id: i64,
    title: &'a str,
    fancy_title: SafeHtml,
    slug: &'a str,
    posts_count: i64,
    reply_count: i64,
    highest_post_number: i64,
    /// `""`: no image (`/latest.json`'s schema requires a string).
    image_url: &'static str,
    created_at: String,
    last_posted_at: String,
    bumped: bool,
    bumped_at: String,
    archetype: &'static str,
    unseen: bool,
    pinned: bool,
    /// `null`, except in `/top.json` (whose document types it a boolean).
    unpinned: Option<bool>,
    visible: bool,
    closed: bool,
    archived: bool,
    /// The document requires booleans; Hearth's lists don't carry the
    /// member's own state yet, so these are `false` (see
    /// docs/discourse-api.md).
    bookmarked: Option<bool>,
    liked: Option<bool>,
    /// A category list's (its document requires one; Hearth's lists carry
    /// no excerpts: `""`).
    #[serde(skip_serializing_if = "Option::is_none")]
    excerpt: Option<&'static str>,
    views: i64,
    like_count: i64,
    has_summary: bool,
    last_poster_username: &'a str,
    /// `null` for a conversation.
    category_id: Option<i64>,
    pinned_globally: bool,
    featured_link: Null,
    has_accepted_answer: bool,
    accepted_answer_post_id: Option<i64>,
    tags: &'a [String],
    posters: Vec<Poster>,
    /// A conversation's: the member's read state and who takes part.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    message: Option<MessageListExtras>,
    /// Plugins' API fields (never one of the names above).
    #[serde(flatten)]
    fields: serde_json::Map<String, Value>,
}

impl TopicListItem<'_> {
    /// The topic's id (to find its plugin fields).
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// Adds plugins' API fields, leaving out any name the item itself
    /// writes (a plugin never replaces a field of the answer).
    pub(crate) fn add_fields(&mut self, fields: serde_json::Map<String, Value>) {
        static NAMES: std::sync::LazyLock<std::collections::BTreeSet<String>> =
            std::sync::LazyLock::new(topic_list_item_names);
        self.fields
            .extend(fields.into_iter().filter(|(k, _)| !NAMES.contains(k)));
    }
}

/// Every name a [`TopicListItem`] can write, read off a sample with each
/// optional part present.
fn topic_list_item_names() -> std::collections::BTreeSet<String> {
    let someone = UserRef {
        id: UserId(1),
        username: String::new(),
        display_name: String::new(),
        avatar_url: None,
    };
    let sample = Topic {
        id: hearth::TopicId(1),
        community: hearth::CommunityId(1),
        category: hearth::CategoryId(1),
        author: someone.clone(),
        title: String::new(),
        slug: String::new(),
        tags: Vec::new(),
        pinned: false,
        pinned_globally: false,
        pinned_until: None,
        closed: false,
        archived: false,
        unlisted: false,
        accepted_answer: None,
        post_count: 0,
        reply_count: 0,
        like_count: 0,
        view_count: 0,
        last_poster: someone,
        created_at: OffsetDateTime::UNIX_EPOCH,
        bumped_at: OffsetDateTime::UNIX_EPOCH,
        deleted: false,
    };
    let mut item = topic_list_item(&sample);
    item.excerpt = Some("");
    item.message = Some(MessageListExtras {
        last_read_post_number: 0,
        unread_posts: 0,
        allowed_user_count: 0,
        participants: Vec::new(),
    });
    match value(&item) {
        Value::Object(map) => map.into_iter().map(|(k, _)| k).collect(),
        _ => Default::default(),
    }
}

/// What a mailbox list adds to a topic (`/topics/private-messages/…`).
#[derive(Serialize)]
struct MessageListExtras {
    last_read_post_number: i64,
    unread_posts: i64,
    allowed_user_count: usize,
    participants: Vec<Poster>,
}

fn topic_list_item(t: &Topic) -> TopicListItem<'_> {
    let mut posters = vec![Poster {
        extras: if t.author.id == t.last_poster.id {
            "latest single"
        } else {
            ""
        },
        description: Some("Original Poster"),
        user_id: t.author.id.0,
        primary_group_id: None,
    }];
    if t.last_poster.id != t.author.id {
        posters.push(Poster {
            extras: "latest",
            description: Some("Most Recent Poster"),
            user_id: t.last_poster.id.0,
            primary_group_id: None,
        });
    }
    TopicListItem {
        id: t.id.0,
        title: &t.title,
        fancy_title: SafeHtml::escape(&t.title),
        slug: &t.slug,
        posts_count: t.post_count,
        reply_count: t.reply_count,
        highest_post_number: t.post_count,
        image_url: "",
        created_at: ts(t.created_at),
        last_posted_at: ts(t.bumped_at),
        bumped: true,
        bumped_at: ts(t.bumped_at),
        archetype: "regular",
        unseen: false,
        pinned: t.pinned || t.pinned_globally,
        unpinned: None,
        visible: !t.unlisted,
        closed: t.closed,
        archived: t.archived,
        bookmarked: Some(false),
        liked: Some(false),
        excerpt: None,
        views: t.view_count,
        like_count: t.like_count,
        has_summary: false,
        last_poster_username: &t.last_poster.username,
        category_id: Some(t.category.0),
        pinned_globally: t.pinned_globally,
        featured_link: None,
        has_accepted_answer: t.accepted_answer.is_some(),
        accepted_answer_post_id: t.accepted_answer.map(|p| p.0),
        tags: &t.tags,
        posters,
        message: None,
        fields: serde_json::Map::new(),
    }
}

/// `/topics/private-messages/{username}.json` and `-sent`: the member's
/// conversations as a topic list (`archetype` `private_message`, no
/// category), with read state and participants.
pub(crate) fn message_list(
    ctx: &Ctx,
    items: &[hearth::MessageSummary],
    more_url: Option<String>,
) -> Value {
    let topics: Vec<TopicListItem<'_>> = items
        .iter()
        .map(|m| {
            let mut item = topic_list_item(&m.topic);
            item.archetype = "private_message";
            item.category_id = None;
            item.highest_post_number = m.highest_post_number;
            item.unseen = m.last_read_post_number == 0;
            item.message = Some(MessageListExtras {
                last_read_post_number: m.last_read_post_number,
                unread_posts: m.unread_posts,
                allowed_user_count: m.participants.users.len(),
                participants: m
                    .participants
                    .users
                    .iter()
                    .map(|u| Poster {
                        extras: "",
                        description: None,
                        user_id: u.id.0,
                        primary_group_id: None,
                    })
                    .collect(),
            });
            item
        })
        .collect();
    value(MessageList {
        users: users_of(
            ctx,
            items.iter().flat_map(|m| {
                [&m.topic.author, &m.topic.last_poster]
                    .into_iter()
                    .chain(m.participants.users.iter())
            }),
        ),
        primary_groups: [],
        topic_list: MessageTopicList {
            can_create_topic: ctx.viewer.is_some(),
            draft: None,
            draft_key: "new_private_message",
            draft_sequence: 0,
            more_topics_url: more_url,
            per_page: 30,
            topics,
        },
    })
}

/// [`message_list`]'s document.
#[derive(Serialize)]
struct MessageList<'a> {
    users: Vec<UserRefShape<'a>>,
    primary_groups: [u8; 0],
    topic_list: MessageTopicList<'a>,
}

#[derive(Serialize)]
struct MessageTopicList<'a> {
    can_create_topic: bool,
    draft: Null,
    draft_key: &'static str,
    draft_sequence: u8,
    more_topics_url: Option<String>,
    per_page: u8,
    topics: Vec<TopicListItem<'a>>,
}

/// A topic list document (`/latest.json`, a category's, a tag's,
/// `/top.json`), serialised as it stands: no `Value` tree in between.
#[derive(Serialize)]
pub(crate) struct TopicListDoc<'a> {
    users: Vec<UserRefShape<'a>>,
    primary_groups: [Empty; 0],
    flair_groups: [Empty; 0],
    pub topic_list: TopicListBody<'a>,
}

/// A [`TopicListDoc`]'s `topic_list`.
#[derive(Serialize)]
pub(crate) struct TopicListBody<'a> {
    can_create_topic: bool,
    more_topics_url: Option<String>,
    pub per_page: usize,
    top_tags: [Empty; 0],
    /// `/top.json`'s period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_period: Option<&'static str>,
    /// A tag's list names the tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Value>,
    pub topics: Vec<TopicListItem<'a>>,
}

impl TopicListBody<'_> {
    /// `/top.json`'s document types `unpinned` as a boolean (string or
    /// null in the other lists).
    pub(crate) fn unpinned_as_booleans(&mut self) {
        for t in &mut self.topics {
            t.unpinned = Some(false);
        }
    }
}

/// `/latest.json`, `/c/{slug}/{id}.json` (`category`: that document's
/// `bookmarked` and `liked` are string-or-null, and it requires an
/// `excerpt`).
pub(crate) fn topic_list<'a>(
    ctx: &Ctx,
    topics: &'a [Topic],
    can_create_topic: bool,
    more_url: Option<String>,
    category: bool,
) -> TopicListDoc<'a> {
    let item = |t| {
        let mut item = topic_list_item(t);
        if category {
            item.bookmarked = None;
            item.liked = None;
            item.excerpt = Some("");
        }
        item
    };
    TopicListDoc {
        users: users_of(ctx, topics.iter().flat_map(|t| [&t.author, &t.last_poster])),
        primary_groups: [],
        flair_groups: [],
        topic_list: TopicListBody {
            can_create_topic,
            more_topics_url: more_url,
            per_page: 30,
            top_tags: [],
            for_period: None,
            tags: None,
            topics: topics.iter().map(item).collect(),
        },
    }
}

/// A category (`/categories.json`). Hearth's descriptions are plain text:
/// `description` is that text escaped, `description_text` the text.
#[derive(Serialize)]
struct CategoryShape<'a> {
    id: i64,
    name: &'a str,
    color: String,
    text_color: &'static str,
    style_type: &'static str,
    emoji: Null,
    icon: Null,
    slug: &'a str,
    topic_count: i64,
    post_count: i64,
    position: i64,
    description: SafeHtml,
    description_text: &'a str,
    description_excerpt: SafeHtml,
    topic_url: String,
    read_restricted: bool,
    permission: u8,
    has_children: bool,
    subcategory_count: usize,
    can_edit: bool,
    topic_title_placeholder: Null,
    default_list_filter: &'static str,
    uploaded_logo_dark: Null,
    uploaded_background_dark: Null,
    parent_category_id: Option<i64>,
    sort_order: &'static str,
    topics_day: u8,
    topics_week: u8,
    topics_month: u8,
    topics_year: u8,
    topics_all_time: i64,
    subcategory_ids: Vec<i64>,
    kind: &'static str,
    #[serde(flatten)]
    defaults: &'static CategoryDefaults,
}

/// The settings of a Discourse category that Hearth's categories don't
/// have, at Discourse's defaults: the same in every category shape.
#[derive(Debug, Serialize)]
pub(crate) struct CategoryDefaults {
    notification_level: u8,
    topic_template: Null,
    sort_ascending: Null,
    show_subcategory_list: bool,
    num_featured_topics: u8,
    default_view: Null,
    subcategory_list_style: &'static str,
    default_top_period: &'static str,
    minimum_required_tags: u8,
    navigate_to_first_post_after_read: bool,
    uploaded_logo: Null,
    uploaded_background: Null,
}

/// See [`CategoryDefaults`].
pub(crate) const CATEGORY_DEFAULTS: CategoryDefaults = CategoryDefaults {
    notification_level: 1,
    topic_template: None,
    sort_ascending: None,
    show_subcategory_list: false,
    num_featured_topics: 3,
    default_view: None,
    subcategory_list_style: "rows_with_featured_topics",
    default_top_period: "all",
    minimum_required_tags: 0,
    navigate_to_first_post_after_read: false,
    uploaded_logo: None,
    uploaded_background: None,
};

/// `children`: the ids of its subcategories the visitor may read.
pub(crate) fn category(ctx: &Ctx, c: &Category, children: Vec<i64>) -> Value {
    let excerpt: String = c.description.chars().take(300).collect();
    value(CategoryShape {
        id: c.id.0,
        name: &c.name,
        color: color_of(&c.slug),
        text_color: "FFFFFF",
        style_type: "square",
        emoji: None,
        icon: None,
        slug: &c.slug,
        topic_count: c.topic_count,
        post_count: c.post_count,
        position: c.position,
        description: SafeHtml::escape(&c.description),
        description_text: &c.description,
        description_excerpt: SafeHtml::escape(&excerpt),
        topic_url: format!("{}/c/{}/{}", ctx.base, c.slug, c.id.0),
        read_restricted: c.visibility != Visibility::Public,
        permission: if c.read_only { 3 } else { 1 },
        has_children: !children.is_empty(),
        subcategory_count: children.len(),
        can_edit: ctx.admin,
        topic_title_placeholder: None,
        default_list_filter: "all",
        uploaded_logo_dark: None,
        uploaded_background_dark: None,
        parent_category_id: c.parent.map(|p| p.0),
        sort_order: "",
        topics_day: 0,
        topics_week: 0,
        topics_month: 0,
        topics_year: 0,
        topics_all_time: c.topic_count,
        subcategory_ids: children,
        kind: c.kind.as_str(),
        defaults: &CATEGORY_DEFAULTS,
    })
}

/// What every one-category shape of the document holds (`/site.json`'s
/// categories, `getCategory`, `createCategory`, `updateCategory`).
#[derive(Debug, Serialize)]
pub(crate) struct CategoryCore {
    id: i64,
    name: String,
    color: String,
    text_color: &'static str,
    style_type: &'static str,
    emoji: Null,
    icon: Null,
    slug: String,
    topic_count: i64,
    post_count: i64,
    position: i64,
    description: SafeHtml,
    description_text: String,
    description_excerpt: SafeHtml,
    topic_url: String,
    read_restricted: bool,
    permission: u8,
    can_edit: bool,
    topic_title_placeholder: Null,
    has_children: bool,
    subcategory_count: usize,
    sort_order: Null,
    default_list_filter: &'static str,
    required_tag_groups: [(); 0],
    read_only_banner: Null,
    uploaded_logo_dark: Null,
    uploaded_background_dark: Null,
    form_template_ids: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_category_id: Option<i64>,
    #[serde(flatten)]
    defaults: &'static CategoryDefaults,
}

/// [`CategoryCore`] of `c`, which has `children` subcategories the
/// visitor may read.
pub(crate) fn category_core(ctx: &Ctx, c: &Category, children: usize) -> CategoryCore {
    let excerpt: String = c.description.chars().take(300).collect();
    CategoryCore {
        id: c.id.0,
        name: c.name.clone(),
        color: color_of(&c.slug),
        text_color: "FFFFFF",
        style_type: "square",
        emoji: None,
        icon: None,
        slug: c.slug.clone(),
        topic_count: c.topic_count,
        post_count: c.post_count,
        position: c.position,
        description: SafeHtml::escape(&c.description),
        description_text: c.description.clone(),
        description_excerpt: SafeHtml::escape(&excerpt),
        topic_url: format!("{}/c/{}/{}", ctx.base, c.slug, c.id.0),
        read_restricted: c.visibility != Visibility::Public,
        // 3: read-only (Discourse's numbering), unless staff.
        permission: if c.read_only && !ctx.staff { 3 } else { 1 },
        can_edit: ctx.admin,
        topic_title_placeholder: None,
        has_children: children > 0,
        subcategory_count: children,
        sort_order: None,
        default_list_filter: "all",
        required_tag_groups: [],
        read_only_banner: None,
        uploaded_logo_dark: None,
        uploaded_background_dark: None,
        form_template_ids: [],
        parent_category_id: c.parent.map(|p| p.0),
        defaults: &CATEGORY_DEFAULTS,
    }
}

/// A stable colour per category slug (Discourse categories have one).
pub(crate) fn color_of(slug: &str) -> String {
    const PALETTE: [&str; 8] = [
        "0088CC", "BF1E2E", "3AB54A", "F7941D", "652D90", "12A89D", "ED207B", "25AAE2",
    ];
    let h = slug
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    PALETTE[(h % PALETTE.len() as u32) as usize].to_string()
}

/// What every post shape of the document holds.
#[derive(Serialize)]
struct PostCore<'a> {
    id: i64,
    name: &'a str,
    username: &'a str,
    avatar_template: String,
    created_at: String,
    cooked: SafeHtml,
    raw: &'a str,
    post_number: i64,
    post_type: u8,
    /// The topic's posts, as Discourse's post serializer reports them.
    posts_count: i64,
    updated_at: String,
    reply_count: u8,
    /// The number of the post this one replies to, where the operation
    /// knows it.
    reply_to_post_number: Option<i64>,
    quote_count: u8,
    incoming_link_count: u8,
    reads: u8,
    readers_count: u8,
    score: u8,
    yours: bool,
    topic_id: i64,
    topic_slug: &'a str,
    topic_title: &'a str,
    category_id: i64,
    display_username: &'a str,
    primary_group_name: Null,
    flair_name: Null,
    flair_url: Null,
    flair_bg_color: Null,
    flair_color: Null,
    version: i64,
    can_edit: bool,
    can_delete: bool,
    can_recover: bool,
    can_see_hidden_post: bool,
    can_wiki: bool,
    user_title: Null,
    bookmarked: bool,
    moderator: bool,
    admin: bool,
    staff: bool,
    user_id: i64,
    hidden: bool,
    trust_level: u8,
    deleted_at: Option<String>,
    user_deleted: bool,
    edit_reason: Null,
    can_view_edit_history: bool,
    wiki: bool,
    /// `Some(0)`: none (the topic schemas require an integer); `None` where
    /// the operation's schema says string or null (`/posts.json`).
    reviewable_id: Option<u8>,
    reviewable_score_count: u8,
    reviewable_score_pending_count: u8,
    /// `/t/{slug}/{topic}/{number}`, under the site's base path.
    post_url: String,
}

/// One post (`/posts/{id}.json`, a topic's post stream, replies): the
/// core, the like as an action with its count, and Hearth's own fields
/// (accepted answers, official posts).
#[derive(Serialize)]
struct PostShape<'a> {
    #[serde(flatten)]
    core: PostCore<'a>,
    reply_to_post_id: Option<i64>,
    read: bool,
    actions_summary: [Value; 1],
    official: bool,
    accepted_answer: bool,
    can_accept_answer: bool,
    can_unaccept_answer: bool,
    /// On topic pages only (the single-post documents have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    link_counts: Option<Vec<LinkCount<'a>>>,
}

/// Discourse's `moderator` flag: moderators who are not admins (admins
/// have `admin`; both are `staff`).
fn discourse_moderator(role: Option<Role>) -> bool {
    role.is_some_and(|r| r.is_moderator() && !r.is_admin())
}

/// A post's `link_counts`: the links in it. Hearth counts no clicks and
/// fetches no titles (`0`, `""`).
#[derive(Serialize)]
struct LinkCount<'a> {
    url: &'a str,
    internal: bool,
    reflection: bool,
    title: &'static str,
    clicks: u8,
}

fn post_core<'a>(ctx: &Ctx, p: &'a Post, topic: &'a Topic) -> PostCore<'a> {
    let mine = ctx.mine(p.author.id);
    PostCore {
        id: p.id.0,
        name: &p.author.display_name,
        username: &p.author.username,
        avatar_template: avatar_template(ctx, &p.author.username, p.author.avatar_url.as_deref()),
        created_at: ts(p.created_at),
        cooked: SafeHtml::post(p),
        raw: &p.source,
        post_number: p.post_number,
        post_type: 1,
        posts_count: topic.post_count,
        updated_at: ts(p.updated_at),
        reply_count: 0,
        reply_to_post_number: None,
        quote_count: 0,
        incoming_link_count: 0,
        reads: 0,
        readers_count: 0,
        score: 0,
        yours: mine,
        topic_id: p.topic.0,
        topic_slug: &topic.slug,
        topic_title: &topic.title,
        category_id: topic.category.0,
        display_username: &p.author.display_name,
        primary_group_name: None,
        flair_name: None,
        flair_url: None,
        flair_bg_color: None,
        flair_color: None,
        version: p.version,
        can_edit: ctx.viewer.is_some() && (mine || ctx.staff),
        can_delete: ctx.viewer.is_some() && (mine || ctx.staff) && !p.deleted,
        can_recover: ctx.staff && p.deleted,
        can_see_hidden_post: ctx.staff,
        can_wiki: false,
        user_title: None,
        bookmarked: p.bookmarked,
        moderator: discourse_moderator(p.author_role),
        admin: p.author_role.is_some_and(Role::is_admin),
        staff: p.author_role.is_some_and(Role::is_moderator),
        user_id: p.author.id.0,
        hidden: p.hidden,
        trust_level: p.author_trust.number(),
        deleted_at: p.deleted.then(|| ts(p.updated_at)),
        user_deleted: false,
        edit_reason: None,
        can_view_edit_history: true,
        wiki: false,
        reviewable_id: Some(0),
        reviewable_score_count: 0,
        reviewable_score_pending_count: 0,
        post_url: format!(
            "{}/t/{}/{}/{}",
            ctx.base, topic.slug, p.topic.0, p.post_number
        ),
    }
}

/// Whether the visitor may like `p` (not their own, not twice).
fn can_like(ctx: &Ctx, p: &Post) -> bool {
    ctx.viewer.is_some() && !ctx.mine(p.author.id) && !p.liked
}

fn post_shape<'a>(
    ctx: &Ctx,
    p: &'a Post,
    topic: &'a Topic,
    links: Option<&'a [hearth::PostLink]>,
) -> PostShape<'a> {
    let asker = ctx.viewer.is_some() && (ctx.mine(topic.author.id) || ctx.staff);
    PostShape {
        core: post_core(ctx, p, topic),
        reply_to_post_id: p.reply_to.map(|r| r.0),
        read: true,
        actions_summary: [json!({
            "id": 2,
            "count": p.like_count,
            "acted": p.liked,
            "can_act": can_like(ctx, p),
            "can_undo": p.liked,
        })],
        official: p.official,
        accepted_answer: p.accepted,
        can_accept_answer: asker && p.post_number > 1 && !p.accepted,
        can_unaccept_answer: asker && p.accepted,
        link_counts: links.map(|links| {
            links
                .iter()
                .filter(|l| l.post == p.id)
                .map(|l| LinkCount {
                    url: &l.url,
                    internal: l.internal,
                    reflection: false,
                    title: "",
                    clicks: 0,
                })
                .collect()
        }),
    }
}

pub(crate) fn post(ctx: &Ctx, p: &Post, topic: &Topic) -> Value {
    value(post_shape(ctx, p, topic, None))
}

/// A reply of `/posts/{id}/replies.json` (`postReplies`): the core, the
/// post it answers and its author, and Hearth's own fields.
#[derive(Serialize)]
struct ReplyShape<'a> {
    #[serde(flatten)]
    core: PostCore<'a>,
    reply_to_user: UserRefShape<'a>,
    actions_summary: [CanAct; 1],
    official: bool,
    accepted_answer: bool,
}

/// `p`, a reply to `parent`, as `postReplies` lists it.
pub(crate) fn reply(ctx: &Ctx, p: &Post, parent: &Post, topic: &Topic) -> Value {
    let mut core = post_core(ctx, p, topic);
    core.reply_to_post_number = Some(parent.post_number);
    value(ReplyShape {
        core,
        reply_to_user: user_ref(ctx, &parent.author),
        actions_summary: [CanAct {
            id: 2,
            can_act: can_like(ctx, p),
        }],
        official: p.official,
        accepted_answer: p.accepted,
    })
}

/// `listPosts`' action summary: the like, and whether the visitor may.
#[derive(Serialize)]
struct CanAct {
    id: u8,
    can_act: bool,
}

/// A post of `/posts.json` (`listPosts`): the post with its topic named.
#[derive(Serialize)]
struct LatestPost<'a> {
    #[serde(flatten)]
    post: PostCore<'a>,
    actions_summary: [CanAct; 1],
    badges_granted: [(); 0],
    flair_group_id: Null,
    topic_slug: &'a str,
    topic_title: &'a str,
    topic_html_title: SafeHtml,
    category_id: i64,
    /// The source's first [`EXCERPT_CHARS`] characters, escaped.
    excerpt: SafeHtml,
    truncated: bool,
}

/// How long a post's excerpt is, in characters.
const EXCERPT_CHARS: usize = 300;

pub(crate) fn latest_post(ctx: &Ctx, p: &Post, topic: &Topic) -> Value {
    let excerpt: String = p.source.chars().take(EXCERPT_CHARS).collect();
    let mut core = post_core(ctx, p, topic);
    core.reviewable_id = None;
    value(LatestPost {
        post: core,
        actions_summary: [CanAct {
            id: 2,
            can_act: can_like(ctx, p),
        }],
        badges_granted: [],
        flair_group_id: None,
        topic_slug: &topic.slug,
        topic_title: &topic.title,
        topic_html_title: SafeHtml::escape(&topic.title),
        category_id: topic.category.0,
        truncated: excerpt.len() < p.source.len(),
        excerpt: SafeHtml::escape(&excerpt),
    })
}

/// A topic with its posts (`/t/{id}.json`).
#[derive(Serialize)]
pub(crate) struct TopicView<'a> {
    pub post_stream: PostStream<'a>,
    timeline_lookup: [u8; 0],
    suggested_topics: [u8; 0],
    tags: Vec<TagShape<'a>>,
    tags_descriptions: Empty,
    pub id: i64,
    title: &'a str,
    fancy_title: SafeHtml,
    posts_count: i64,
    created_at: String,
    views: i64,
    reply_count: i64,
    like_count: i64,
    last_posted_at: String,
    visible: bool,
    closed: bool,
    archived: bool,
    has_summary: bool,
    archetype: &'static str,
    slug: &'a str,
    /// `null` for a conversation.
    category_id: Option<i64>,
    word_count: usize,
    deleted_at: Null,
    user_id: i64,
    featured_link: Null,
    pinned_globally: bool,
    pinned_at: Null,
    pinned_until: Option<String>,
    image_url: Null,
    slow_mode_seconds: u8,
    draft: Null,
    draft_key: String,
    draft_sequence: u8,
    unpinned: Null,
    pinned: bool,
    current_post_number: u8,
    highest_post_number: i64,
    deleted_by: Null,
    actions_summary: [u8; 0],
    chunk_size: u8,
    bookmarked: bool,
    topic_timer: Null,
    message_bus_last_id: u8,
    participant_count: usize,
    show_read_indicator: bool,
    thumbnails: Null,
    accepted_answer: Option<AcceptedAnswer<'a>>,
    has_accepted_answer: bool,
    kind: &'static str,
    bookmarks: [u8; 0],
    has_deleted: bool,
    slow_mode_enabled_until: Null,
    details: TopicDetails<'a>,
}

/// A topic's `details`: what the visitor may do, who started it and who
/// posted last, who takes part.
#[derive(Serialize)]
struct TopicDetails<'a> {
    can_edit: bool,
    can_delete: bool,
    can_create_post: bool,
    can_reply_as_new_topic: bool,
    can_flag_topic: bool,
    can_invite_to: bool,
    can_move_posts: bool,
    can_split_merge_topic: bool,
    can_close_topic: bool,
    can_archive_topic: bool,
    can_pin_unpin_topic: bool,
    can_toggle_topic_visibility: bool,
    can_moderate_category: bool,
    can_review_topic: bool,
    /// Converting to a private message: Hearth has none.
    can_convert_topic: bool,
    can_edit_staff_notes: bool,
    can_remove_allowed_users: bool,
    can_remove_self_id: i64,
    notification_level: u8,
    participants: Vec<Participant>,
    created_by: Person,
    last_poster: Person,
    /// A conversation's members by name and its groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_users: Option<Vec<Person>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_groups: Option<Vec<GroupRef<'a>>>,
}

/// A user as `details.created_by` and `last_poster` name them.
#[derive(Serialize)]
struct Person {
    id: i64,
    username: String,
    name: String,
    avatar_template: String,
}

fn person(ctx: &Ctx, u: &UserRef) -> Person {
    Person {
        id: u.id.0,
        username: u.username.clone(),
        name: u.display_name.clone(),
        avatar_template: avatar_template(ctx, &u.username, u.avatar_url.as_deref()),
    }
}

/// One participant of a topic, with their posts on this page.
#[derive(Serialize)]
struct Participant {
    #[serde(flatten)]
    who: Person,
    post_count: usize,
    primary_group_name: Null,
    flair_name: Null,
    flair_url: Null,
    flair_color: Null,
    flair_bg_color: Null,
    flair_group_id: Null,
    admin: bool,
    moderator: bool,
    trust_level: u8,
}

/// A topic's posts and their ids.
#[derive(Serialize)]
pub(crate) struct PostStream<'a> {
    posts: Vec<PostShape<'a>>,
    stream: Vec<i64>,
}

/// A topic's accepted answer in `/t/{id}.json`, as Discourse's Solved
/// plugin shows it.
#[derive(Serialize)]
struct AcceptedAnswer<'a> {
    post_id: i64,
    post_number: i64,
    username: &'a str,
    name: &'a str,
    /// The answer's first [`EXCERPT_CHARS`] characters, escaped.
    excerpt: SafeHtml,
}

/// A tag as `/t/{id}.json` and `/tag_groups.json` name it.
#[derive(Serialize)]
pub(crate) struct TagShape<'a> {
    id: i64,
    name: &'a str,
    /// Hearth's tags are lower-case words already: the name is the slug.
    slug: &'a str,
}

impl<'a> TagShape<'a> {
    pub(crate) fn new(id: i64, name: &'a str) -> Self {
        TagShape {
            id,
            name,
            slug: name,
        }
    }
}

/// `/t/{id}.json`.
///
/// `posts` are the view's pages read together (taken out of `view.posts`).
pub(crate) fn topic_view<'a>(
    ctx: &Ctx,
    view: &'a hearth::TopicView,
    posts: &'a [Post],
    links: &'a [hearth::PostLink],
) -> TopicView<'a> {
    let topic = &view.topic;
    let message = view.participants.as_ref();
    let mut participants: Vec<Participant> = Vec::new();
    for p in posts {
        match participants.iter_mut().find(|x| x.who.id == p.author.id.0) {
            Some(x) => x.post_count += 1,
            None => participants.push(Participant {
                who: person(ctx, &p.author),
                post_count: 1,
                primary_group_name: None,
                flair_name: None,
                flair_url: None,
                flair_color: None,
                flair_bg_color: None,
                flair_group_id: None,
                admin: p.author_role.is_some_and(Role::is_admin),
                moderator: discourse_moderator(p.author_role),
                trust_level: p.author_trust.number(),
            }),
        }
    }
    let participant_count = participants.len();
    let signed_in = ctx.viewer.is_some();
    let mine = ctx.mine(topic.author.id);
    TopicView {
        post_stream: PostStream {
            posts: posts
                .iter()
                .map(|p| post_shape(ctx, p, topic, Some(links)))
                .collect(),
            stream: posts.iter().map(|p| p.id.0).collect(),
        },
        timeline_lookup: [],
        suggested_topics: [],
        tags: view
            .tags
            .iter()
            .map(|t| TagShape::new(t.id, &t.name))
            .collect(),
        tags_descriptions: Empty {},
        id: topic.id.0,
        title: &topic.title,
        fancy_title: SafeHtml::escape(&topic.title),
        posts_count: topic.post_count,
        created_at: ts(topic.created_at),
        views: topic.view_count,
        reply_count: topic.reply_count,
        like_count: topic.like_count,
        last_posted_at: ts(topic.bumped_at),
        visible: !topic.unlisted,
        closed: topic.closed,
        archived: topic.archived,
        has_summary: false,
        archetype: if message.is_some() {
            "private_message"
        } else {
            "regular"
        },
        slug: &topic.slug,
        category_id: message.is_none().then_some(topic.category.0),
        word_count: posts
            .iter()
            .map(|p| p.source.split_whitespace().count())
            .sum(),
        deleted_at: None,
        user_id: topic.author.id.0,
        featured_link: None,
        pinned_globally: topic.pinned_globally,
        pinned_at: None,
        pinned_until: topic.pinned_until.map(ts),
        image_url: None,
        slow_mode_seconds: 0,
        draft: None,
        draft_key: format!("topic_{}", topic.id.0),
        draft_sequence: 0,
        unpinned: None,
        pinned: topic.pinned || topic.pinned_globally,
        current_post_number: 1,
        highest_post_number: topic.post_count,
        deleted_by: None,
        actions_summary: [],
        chunk_size: 20,
        bookmarked: false,
        topic_timer: None,
        message_bus_last_id: 0,
        participant_count,
        show_read_indicator: false,
        thumbnails: None,
        // `null` when the visitor may not see the answer (hidden).
        accepted_answer: view.accepted_answer.as_ref().map(|a| AcceptedAnswer {
            post_id: a.id.0,
            post_number: a.post_number,
            username: &a.author.username,
            name: &a.author.display_name,
            excerpt: SafeHtml::escape(&a.source.chars().take(EXCERPT_CHARS).collect::<String>()),
        }),
        has_accepted_answer: topic.accepted_answer.is_some(),
        kind: view.kind.as_str(),
        bookmarks: [],
        has_deleted: posts.iter().any(|p| p.deleted),
        slow_mode_enabled_until: None,
        details: TopicDetails {
            can_edit: signed_in && (mine || ctx.staff),
            can_delete: signed_in && (mine || ctx.staff),
            can_create_post: signed_in && !topic.closed && !topic.archived,
            can_reply_as_new_topic: signed_in,
            can_flag_topic: signed_in,
            can_invite_to: signed_in,
            can_move_posts: ctx.staff,
            can_split_merge_topic: ctx.staff,
            can_close_topic: ctx.staff,
            can_archive_topic: ctx.staff,
            can_pin_unpin_topic: ctx.staff,
            can_toggle_topic_visibility: ctx.staff,
            can_moderate_category: ctx.staff,
            can_review_topic: ctx.staff,
            can_convert_topic: false,
            can_edit_staff_notes: ctx.staff,
            can_remove_allowed_users: false,
            can_remove_self_id: ctx.viewer.map_or(0, |u| u.0),
            notification_level: 1,
            participants,
            created_by: person(ctx, &topic.author),
            last_poster: person(ctx, &topic.last_poster),
            allowed_users: message.map(|m| m.users.iter().map(|u| person(ctx, u)).collect()),
            allowed_groups: message.map(|m| {
                m.groups
                    .iter()
                    .map(|g| GroupRef {
                        id: g.id.0,
                        name: &g.name,
                    })
                    .collect()
            }),
        },
    }
}

/// A group a conversation is with.
#[derive(Serialize)]
struct GroupRef<'a> {
    id: i64,
    name: &'a str,
}

/// One post found by a search.
#[derive(Serialize)]
struct SearchPost<'a> {
    id: i64,
    name: &'a str,
    username: &'a str,
    avatar_template: String,
    created_at: String,
    like_count: u8,
    blurb: SafeHtml,
    post_number: i64,
    topic_title_headline: SafeHtml,
    topic_id: i64,
}

/// One topic a search found posts in.
#[derive(Serialize)]
struct SearchTopic<'a> {
    id: i64,
    title: &'a str,
    fancy_title: SafeHtml,
    slug: &'a str,
    posts_count: Null,
    reply_count: Null,
    highest_post_number: Null,
    created_at: String,
    category_id: i64,
    has_accepted_answer: bool,
    archetype: &'static str,
    tags: [u8; 0],
}

/// `/search.json`.
pub(crate) fn search<'a>(
    ctx: &Ctx,
    term: &'a str,
    hits: &'a [SearchHit],
    more: bool,
) -> SearchResult<'a> {
    let posts: Vec<SearchPost<'_>> = hits
        .iter()
        .map(|h| SearchPost {
            id: h.post.0,
            name: &h.author.display_name,
            username: &h.author.username,
            avatar_template: avatar_template(
                ctx,
                &h.author.username,
                h.author.avatar_url.as_deref(),
            ),
            created_at: ts(h.created_at),
            like_count: 0,
            blurb: SafeHtml::snippet(h),
            post_number: h.post_number,
            topic_title_headline: SafeHtml::escape(&h.title),
            topic_id: h.topic.0,
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let topics: Vec<SearchTopic<'_>> = hits
        .iter()
        .filter(|h| seen.insert(h.topic.0))
        .map(|h| SearchTopic {
            id: h.topic.0,
            title: &h.title,
            fancy_title: SafeHtml::escape(&h.title),
            slug: &h.slug,
            posts_count: None,
            reply_count: None,
            highest_post_number: None,
            created_at: ts(h.created_at),
            category_id: h.category.0,
            has_accepted_answer: h.solved,
            archetype: "regular",
            tags: [],
        })
        .collect();
    SearchResult {
        posts,
        topics,
        users: [],
        categories: [],
        tags: [],
        groups: [],
        grouped_search_result: Grouped {
            more_posts: more.then_some(true),
            more_users: None,
            more_categories: None,
            term,
            search_log_id: 0,
            more_full_page_results: more.then_some(true),
            can_create_topic: ctx.viewer.is_some(),
            error: None,
            post_ids: hits.iter().map(|h| h.post.0).collect(),
            user_ids: [],
            category_ids: [],
            tag_ids: [],
            group_ids: [],
        },
    }
}

/// `/search.json`'s document.
#[derive(Serialize)]
pub(crate) struct SearchResult<'a> {
    posts: Vec<SearchPost<'a>>,
    topics: Vec<SearchTopic<'a>>,
    users: [u8; 0],
    categories: [u8; 0],
    tags: [u8; 0],
    groups: [u8; 0],
    grouped_search_result: Grouped<'a>,
}

/// What a search found, by kind (only posts: Hearth searches posts).
#[derive(Serialize)]
struct Grouped<'a> {
    /// `true` when there are more, else `null` (as Discourse).
    more_posts: Option<bool>,
    more_users: Null,
    more_categories: Null,
    term: &'a str,
    search_log_id: u8,
    more_full_page_results: Option<bool>,
    can_create_topic: bool,
    error: Null,
    post_ids: Vec<i64>,
    user_ids: [u8; 0],
    category_ids: [u8; 0],
    tag_ids: [u8; 0],
    group_ids: [u8; 0],
}

/// Discourse's badge type ids: 1 gold, 2 silver, 3 bronze.
pub(crate) fn badge_type(tier: BadgeTier) -> i64 {
    match tier {
        BadgeTier::Gold => 1,
        BadgeTier::Silver => 2,
        BadgeTier::Bronze => 3,
    }
}

/// One of Discourse's badge types.
#[derive(Serialize)]
pub(crate) struct BadgeType {
    id: u8,
    name: &'static str,
    sort_order: u8,
}

/// Discourse's three badge types, as every badge answer lists them.
pub(crate) const BADGE_TYPES: [BadgeType; 3] = [
    BadgeType {
        id: 1,
        name: "Gold",
        sort_order: 9,
    },
    BadgeType {
        id: 2,
        name: "Silver",
        sort_order: 8,
    },
    BadgeType {
        id: 3,
        name: "Bronze",
        sort_order: 7,
    },
];

/// A badge; Discourse renders its `description` as HTML.
#[derive(Serialize)]
pub(crate) struct BadgeShape<'a> {
    id: i64,
    name: &'a str,
    description: SafeHtml,
    grant_count: usize,
    allow_title: bool,
    multiple_grant: bool,
    icon: &'a str,
    image_url: Null,
    listable: bool,
    enabled: bool,
    badge_grouping_id: u8,
    system: bool,
    slug: &'a str,
    manually_grantable: bool,
    badge_type_id: i64,
}

pub(crate) fn badge(b: &hearth::Badge, grant_count: usize) -> BadgeShape<'_> {
    BadgeShape {
        id: b.id,
        name: &b.name,
        description: SafeHtml::escape(&b.description),
        grant_count,
        allow_title: false,
        multiple_grant: b.multiple,
        icon: &b.icon,
        image_url: None,
        listable: true,
        enabled: true,
        badge_grouping_id: 1,
        system: false,
        slug: &b.slug,
        manually_grantable: true,
        badge_type_id: badge_type(b.tier),
    }
}

/// `/user_badges/{username}.json`.
pub(crate) fn user_badges<'a>(
    ctx: &Ctx,
    user: &'a User,
    grants: &'a [BadgeGrant],
) -> UserBadges<'a> {
    let mut badges: Vec<&hearth::Badge> = Vec::new();
    for g in grants {
        if !badges.iter().any(|b| b.id == g.badge.id) {
            badges.push(&g.badge);
        }
    }
    UserBadges {
        badges: badges
            .iter()
            .map(|b| badge(b, grants.iter().filter(|g| g.badge.id == b.id).count()))
            .collect(),
        badge_types: BADGE_TYPES,
        granted_bies: [],
        users: [UserRefShape {
            id: user.id.0,
            username: &user.username,
            name: &user.display_name,
            avatar_template: avatar_template(ctx, &user.username, user.avatar_url.as_deref()),
        }],
        user_badges: grants
            .iter()
            .enumerate()
            .map(|(i, g)| UserBadge {
                id: i + 1,
                granted_at: ts(g.granted_at),
                created_at: ts(g.granted_at),
                grouping_position: 0,
                is_favorite: false,
                can_favorite: false,
                badge_id: g.badge.id,
                user_id: user.id.0,
                granted_by_id: -1,
                post_id: g.post.map(|p| p.0),
                reason: &g.reason,
            })
            .collect(),
    }
}

/// [`user_badges`]' document.
#[derive(Serialize)]
pub(crate) struct UserBadges<'a> {
    badges: Vec<BadgeShape<'a>>,
    badge_types: [BadgeType; 3],
    granted_bies: [u8; 0],
    users: [UserRefShape<'a>; 1],
    user_badges: Vec<UserBadge<'a>>,
}

/// One grant of a badge to the member.
#[derive(Serialize)]
struct UserBadge<'a> {
    /// Its place in the member's list (Hearth's grants have no own id).
    id: usize,
    granted_at: String,
    created_at: String,
    grouping_position: u8,
    is_favorite: bool,
    can_favorite: bool,
    badge_id: i64,
    user_id: i64,
    /// Granted by the system.
    granted_by_id: i8,
    post_id: Option<i64>,
    reason: &'a str,
}

/// What a profile shows besides the account.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub user: User,
    pub role: Role,
    pub trust_level: u8,
    pub joined_at: OffsetDateTime,
    pub grants: Vec<BadgeGrant>,
    pub points: i64,
    pub post_count: i64,
    pub topic_count: i64,
    pub likes_received: i64,
    pub likes_given: i64,
    pub email: Option<String>,
    /// The bio as the engine renders it.
    pub bio_html: String,
    /// The profile fields the viewer may see, answered or not.
    pub fields: Vec<hearth::MemberField>,
    /// The member's own category levels (only when they look at their
    /// own profile; empty otherwise).
    pub watches: Vec<(hearth::CategoryId, hearth::WatchLevel)>,
    /// Whom the member blocked from messaging them (only on their own
    /// profile): Discourse's `muted_usernames`.
    pub blocked: Vec<String>,
}

/// `/u/{username}.json`.
/// A member's profile (`/u/{username}.json`'s `user`).
#[derive(Serialize)]
struct UserShape<'a> {
    id: i64,
    username: &'a str,
    name: &'a str,
    avatar_template: String,
    last_posted_at: Null,
    last_seen_at: Option<String>,
    created_at: String,
    joined_at: String,
    ignored: bool,
    muted: bool,
    can_ignore_user: bool,
    can_mute_user: bool,
    can_send_private_messages: bool,
    can_send_private_message_to_user: bool,
    trust_level: u8,
    moderator: bool,
    admin: bool,
    title: Option<&'static str>,
    badge_count: usize,
    post_count: i64,
    topic_count: i64,
    likes_received: i64,
    likes_given: i64,
    points: i64,
    profile_view_count: u8,
    time_read: u8,
    recent_time_read: u8,
    primary_group_id: Null,
    primary_group_name: Null,
    flair_group_id: Null,
    featured_topic: Null,
    bio_raw: &'a str,
    bio_cooked: SafeHtml,
    bio_excerpt: SafeHtml,
    website: Option<&'a str>,
    website_name: Option<&'a str>,
    location: Option<&'a str>,
    card_background_upload_url: Null,
    profile_background_upload_url: Null,
    can_edit: bool,
    can_edit_username: bool,
    can_edit_email: bool,
    can_edit_name: bool,
    can_be_deleted: bool,
    can_delete_all_posts: bool,
    invited_by: Null,
    groups: [u8; 0],
    /// Hearth has no custom user fields (yet): `{}`.
    custom_fields: Empty,
    /// Answered profile fields the viewer may see, by key: the text, or
    /// the chosen options' labels joined with commas.
    user_fields: std::collections::BTreeMap<&'a str, String>,
    role: &'static str,
    /// Only for the member themself and staff.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Option<&'a str>>,
    // What Discourse's document requires besides. Hearth has no flair,
    // staged accounts, second factor, profile headers, tag watching,
    // ignoring, PM allow-lists, mailing-list mode or notification
    // schedules: those answer as Discourse does for a member without them.
    flair_name: Null,
    flair_url: Null,
    flair_bg_color: Null,
    flair_color: Null,
    staged: bool,
    uploaded_avatar_id: Null,
    has_title_badges: bool,
    pending_count: u8,
    second_factor_enabled: bool,
    can_upload_profile_header: bool,
    can_upload_user_card_background: bool,
    locale: Null,
    /// The member's own category levels: only on their own profile.
    muted_category_ids: Vec<i64>,
    regular_category_ids: [u8; 0],
    tracked_category_ids: Vec<i64>,
    watched_category_ids: Vec<i64>,
    watched_first_post_category_ids: [u8; 0],
    watched_tags: [u8; 0],
    watching_first_post_tags: [u8; 0],
    tracked_tags: [u8; 0],
    muted_tags: [u8; 0],
    system_avatar_upload_id: Null,
    system_avatar_template: String,
    /// Whom the member blocked from messaging them: only on their own
    /// profile.
    muted_usernames: &'a [String],
    ignored_usernames: [u8; 0],
    allowed_pm_usernames: [u8; 0],
    mailing_list_posts_per_day: u8,
    can_change_bio: bool,
    can_change_location: bool,
    can_change_website: bool,
    can_change_tracking_preferences: bool,
    user_api_keys: Null,
    user_auth_tokens: [u8; 0],
    user_notification_schedule: NotificationSchedule,
    use_logo_small_as_avatar: bool,
    featured_user_badge_ids: [u8; 0],
    group_users: [u8; 0],
    user_option: UserOption,
}

/// Discourse's `user_notification_schedule` for a member without one:
/// off, 08:00–17:00 (minutes of the day) every day.
#[derive(Serialize)]
struct NotificationSchedule {
    enabled: bool,
    day_0_start_time: u16,
    day_0_end_time: u16,
    day_1_start_time: u16,
    day_1_end_time: u16,
    day_2_start_time: u16,
    day_2_end_time: u16,
    day_3_start_time: u16,
    day_3_end_time: u16,
    day_4_start_time: u16,
    day_4_end_time: u16,
    day_5_start_time: u16,
    day_5_end_time: u16,
    day_6_start_time: u16,
    day_6_end_time: u16,
}

impl NotificationSchedule {
    fn off() -> Self {
        let (start, end) = (480, 1020);
        NotificationSchedule {
            enabled: false,
            day_0_start_time: start,
            day_0_end_time: end,
            day_1_start_time: start,
            day_1_end_time: end,
            day_2_start_time: start,
            day_2_end_time: end,
            day_3_start_time: start,
            day_3_end_time: end,
            day_4_start_time: start,
            day_4_end_time: end,
            day_5_start_time: start,
            day_5_end_time: end,
            day_6_start_time: start,
            day_6_end_time: end,
        }
    }
}

/// Discourse's `user_option`: Hearth's members have none of these
/// interface options, so each is Discourse's default (how a client
/// should treat them); notification choices are Hearth's own
/// (`/notifications/preferences`).
#[derive(Serialize)]
struct UserOption {
    user_id: i64,
    mailing_list_mode: bool,
    mailing_list_mode_frequency: u8,
    email_digests: bool,
    email_level: u8,
    email_messages_level: u8,
    external_links_in_new_tab: bool,
    color_scheme_id: Null,
    dark_scheme_id: Null,
    dynamic_favicon: bool,
    enable_quoting: bool,
    enable_smart_lists: bool,
    enable_markdown_monospace_font: bool,
    digest_after_minutes: u32,
    automatically_unpin_topics: bool,
    auto_track_topics_after_msecs: u32,
    notification_level_when_replying: u8,
    new_topic_duration_minutes: u32,
    email_previous_replies: u8,
    email_in_reply_to: bool,
    like_notification_frequency: u8,
    notify_on_linked_posts: bool,
    push_notification_level: &'static str,
    enable_upcoming_change_available_notifications: bool,
    include_tl0_in_digests: bool,
    theme_ids: [u8; 0],
    theme_key_seq: u8,
    allow_private_messages: bool,
    enable_allowed_pm_users: bool,
    homepage_id: Null,
    hide_profile_and_presence: bool,
    hide_profile: bool,
    hide_presence: bool,
    text_size: &'static str,
    text_size_seq: u8,
    title_count_mode: &'static str,
    timezone: Null,
    skip_new_user_tips: bool,
    topics_unread_when_closed: bool,
    interface_color_mode: u8,
    show_original_content: bool,
    send_shortcut: &'static str,
    automatically_translate: bool,
    understood_languages: [u8; 0],
}

impl UserOption {
    fn defaults(user_id: i64) -> Self {
        UserOption {
            user_id,
            mailing_list_mode: false,
            mailing_list_mode_frequency: 1,
            email_digests: true,
            email_level: 1,
            email_messages_level: 0,
            external_links_in_new_tab: false,
            color_scheme_id: None,
            dark_scheme_id: None,
            dynamic_favicon: false,
            enable_quoting: true,
            enable_smart_lists: true,
            enable_markdown_monospace_font: false,
            digest_after_minutes: 10_080,
            automatically_unpin_topics: true,
            auto_track_topics_after_msecs: 240_000,
            notification_level_when_replying: 2,
            new_topic_duration_minutes: 2_880,
            email_previous_replies: 2,
            email_in_reply_to: true,
            like_notification_frequency: 1,
            notify_on_linked_posts: true,
            push_notification_level: "always",
            enable_upcoming_change_available_notifications: false,
            include_tl0_in_digests: false,
            theme_ids: [],
            theme_key_seq: 0,
            allow_private_messages: true,
            enable_allowed_pm_users: false,
            homepage_id: None,
            hide_profile_and_presence: false,
            hide_profile: false,
            hide_presence: false,
            text_size: "normal",
            text_size_seq: 0,
            title_count_mode: "notifications",
            timezone: None,
            skip_new_user_tips: false,
            topics_unread_when_closed: true,
            interface_color_mode: 0,
            show_original_content: false,
            send_shortcut: "ctrl_enter",
            automatically_translate: false,
            understood_languages: [],
        }
    }
}

/// `/u/{username}.json`.
pub(crate) fn user(ctx: &Ctx, p: &Profile) -> Value {
    let u = &p.user;
    let mine = ctx.mine(u.id);
    let excerpt: String = u.bio.chars().take(300).collect();
    // The member's own choices, on their own profile only.
    let watched = |level: hearth::WatchLevel| -> Vec<i64> {
        if !mine {
            return Vec::new();
        }
        p.watches
            .iter()
            .filter(|(_, l)| *l == level)
            .map(|(c, _)| c.0)
            .collect()
    };
    let user = UserShape {
        id: u.id.0,
        username: &u.username,
        name: &u.display_name,
        avatar_template: avatar_template(ctx, &u.username, u.avatar_url.as_deref()),
        last_posted_at: None,
        last_seen_at: u.last_seen_at.map(ts),
        created_at: ts(u.created_at),
        joined_at: ts(p.joined_at),
        ignored: false,
        muted: false,
        can_ignore_user: false,
        can_mute_user: false,
        can_send_private_messages: false,
        can_send_private_message_to_user: false,
        trust_level: p.trust_level,
        moderator: p.role.is_moderator(),
        admin: p.role.is_admin(),
        title: p.role.is_official().then(|| role_title(p.role)),
        badge_count: p.grants.len(),
        post_count: p.post_count,
        topic_count: p.topic_count,
        likes_received: p.likes_received,
        likes_given: p.likes_given,
        points: p.points,
        profile_view_count: 0,
        time_read: 0,
        recent_time_read: 0,
        primary_group_id: None,
        primary_group_name: None,
        flair_group_id: None,
        featured_topic: None,
        bio_raw: &u.bio,
        bio_cooked: SafeHtml::bio(&p.bio_html),
        bio_excerpt: SafeHtml::escape(&excerpt),
        website: Some(u.website.as_str()).filter(|w| !w.is_empty()),
        website_name: Some(u.website.as_str())
            .filter(|w| !w.is_empty())
            .map(|w| w.split("://").nth(1).unwrap_or(w).trim_end_matches('/')),
        location: Some(u.location.as_str()).filter(|l| !l.is_empty()),
        card_background_upload_url: None,
        profile_background_upload_url: None,
        can_edit: mine || ctx.staff,
        can_edit_username: false,
        can_edit_email: mine,
        can_edit_name: mine || ctx.staff,
        can_be_deleted: false,
        can_delete_all_posts: false,
        invited_by: None,
        groups: [],
        custom_fields: Empty {},
        user_fields: p
            .fields
            .iter()
            .filter(|f| !f.values.is_empty())
            .map(|f| (f.field.key.as_str(), f.display()))
            .collect(),
        role: p.role.as_str(),
        email: (mine || ctx.staff).then_some(p.email.as_deref()),
        flair_name: None,
        flair_url: None,
        flair_bg_color: None,
        flair_color: None,
        staged: false,
        uploaded_avatar_id: None,
        has_title_badges: false,
        pending_count: 0,
        second_factor_enabled: false,
        can_upload_profile_header: false,
        can_upload_user_card_background: false,
        locale: None,
        muted_category_ids: watched(hearth::WatchLevel::Muted),
        regular_category_ids: [],
        tracked_category_ids: watched(hearth::WatchLevel::Tracking),
        watched_category_ids: watched(hearth::WatchLevel::Watching),
        watched_first_post_category_ids: [],
        watched_tags: [],
        watching_first_post_tags: [],
        tracked_tags: [],
        muted_tags: [],
        system_avatar_upload_id: None,
        system_avatar_template: avatar_template(ctx, &u.username, None),
        muted_usernames: if mine { &p.blocked } else { &[] },
        ignored_usernames: [],
        allowed_pm_usernames: [],
        mailing_list_posts_per_day: 0,
        can_change_bio: mine,
        can_change_location: mine,
        can_change_website: mine,
        can_change_tracking_preferences: mine,
        user_api_keys: None,
        user_auth_tokens: [],
        user_notification_schedule: NotificationSchedule::off(),
        use_logo_small_as_avatar: false,
        featured_user_badge_ids: [],
        group_users: [],
        user_option: UserOption::defaults(u.id.0),
    };
    value(UserDocument {
        user_badges: [],
        badges: p.grants.iter().map(|g| badge(&g.badge, 1)).collect(),
        badge_types: BADGE_TYPES,
        users: [],
        topics: [],
        user,
    })
}

/// `/u/{username}.json`'s document.
#[derive(Serialize)]
struct UserDocument<'a> {
    user_badges: [u8; 0],
    badges: Vec<BadgeShape<'a>>,
    badge_types: [BadgeType; 3],
    users: [u8; 0],
    topics: [u8; 0],
    user: UserShape<'a>,
}

pub(crate) fn role_title(role: Role) -> &'static str {
    match role {
        Role::Owner | Role::Admin => "Admin",
        Role::Moderator => "Moderator",
        Role::Staff => "Staff",
        Role::Expert => "Expert",
        _ => "Member",
    }
}

/// `/directory_items.json`.
pub(crate) fn directory<'a>(
    ctx: &Ctx,
    entries: &'a [DirectoryEntry],
    more_url: String,
) -> Directory<'a> {
    Directory {
        directory_items: entries
            .iter()
            .map(|e| DirectoryItem {
                id: e.user.id.0,
                likes_received: e.likes_received,
                likes_given: e.likes_given,
                topics_entered: e.topics_entered,
                topic_count: e.topic_count,
                post_count: e.post_count,
                posts_read: e.posts_read,
                days_visited: e.days_visited,
                user: DirectoryUser {
                    who: user_ref(ctx, &e.user),
                    title: e.role.is_official().then(|| role_title(e.role)),
                },
            })
            .collect(),
        meta: DirectoryMeta {
            last_updated_at: None,
            total_rows_directory_items: entries.len(),
            load_more_directory_items: more_url,
        },
    }
}

/// [`directory`]'s document.
#[derive(Serialize)]
pub(crate) struct Directory<'a> {
    directory_items: Vec<DirectoryItem<'a>>,
    meta: DirectoryMeta,
}

/// A member's row in the directory, with their figures.
#[derive(Serialize)]
struct DirectoryItem<'a> {
    id: i64,
    likes_received: i64,
    likes_given: i64,
    topics_entered: i64,
    topic_count: i64,
    post_count: i64,
    posts_read: i64,
    days_visited: i64,
    user: DirectoryUser<'a>,
}

#[derive(Serialize)]
struct DirectoryUser<'a> {
    #[serde(flatten)]
    who: UserRefShape<'a>,
    /// "Admin", "Moderator", … for staff; `null` for members.
    title: Option<&'static str>,
}

#[derive(Serialize)]
struct DirectoryMeta {
    last_updated_at: Null,
    total_rows_directory_items: usize,
    load_more_directory_items: String,
}
