//! Notifications and watching: the member's list (page and Discourse's
//! `/notifications.json`), marking read, watch levels for topics and
//! categories (Discourse's `POST /t/{id}/notifications` and
//! `POST /category/{id}/notifications`), and per-kind delivery
//! preferences (`/u/{name}/preferences`).

use axum::extract::{Path, State as AxState};
use axum::response::Response;
use hearth::{
    Actor, CategoryId, Delivery, DigestFrequency, Notification, NotificationKind, TopicId,
    WatchLevel,
};
use serde_json::{Value, json};

use crate::api::{id_of, page_request};
use crate::error::{Error, PageError, fail, json_response};
use crate::pages::{Meta, act, act_or_ok, render};
use crate::params::Params;
use crate::readable::ago;
use crate::state::{AppState, State};
use crate::visitor::{Visitor, WantsJson};

/// Where a notification leads.
fn href(s: &AppState, n: &Notification) -> String {
    match (&n.topic_slug, n.topic, n.post_number) {
        (Some(slug), Some(t), Some(p)) => s.url(&format!("/t/{slug}/{}#post-{p}", t.0)),
        (Some(slug), Some(t), None) => s.url(&format!("/t/{slug}/{}", t.0)),
        _ => s.url("/notifications"),
    }
}

/// `GET /notifications` (page) and `/notifications.json` (Discourse's
/// shape: `notifications`, `total_rows_notifications`,
/// `seen_notification_id`, `load_more_notifications`).
pub(crate) async fn list(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let user = match v.require_user() {
        Ok(Actor::User(u)) => u,
        Ok(_) | Err(_) => {
            let e = Error::Engine(hearth::Error::Forbidden {
                reason: "sign in to see your notifications".into(),
            });
            return fail(e, json);
        }
    };
    let result = state
        .run(move |s| {
            let c = s.config.community;
            let unread_only = params.bool("filter_unread").unwrap_or(false)
                || params.str("filter").as_deref() == Some("unread");
            let (page, n) = page_request(&params, 30, |req| {
                Ok(s.forum.notifications(&v.actor, c, req, unread_only)?)
            })?;
            let unread = s.forum.unread_notifications(&v.actor, c)?;
            if json {
                let items: Vec<Value> = page
                    .items
                    .iter()
                    .map(|n| {
                        let actor = n.actor.as_ref().map(|a| a.username.clone());
                        let mut data = json!({
                            "topic_title": n.topic_title,
                            "original_post_id": n.post.map(|p| p.0),
                            "original_post_type": 1,
                            "original_username": actor,
                            "display_username": actor,
                            "message": n.kind.as_str(),
                        });
                        // Badge fields only on badge notifications (the
                        // document types them as strings).
                        if let Some(slug) = n.data["badge"].as_str() {
                            data["badge_slug"] = json!(slug);
                        }
                        // An extension's notice: its text, and who sent
                        // which kind (Discourse's `custom` type).
                        if n.kind == NotificationKind::Custom {
                            data["message"] = json!(n.sentence());
                            data["hearth_source"] = n.data["source"].clone();
                            data["hearth_kind"] = n.data["kind"].clone();
                        }
                        json!({
                            "id": n.id, "user_id": user.0, "external_id": null,
                            "notification_type": n.kind.discourse_type(),
                            "read": n.read, "high_priority": n.kind == NotificationKind::Mentioned,
                            "created_at": crate::api::shape::ts(n.created_at),
                            "post_number": n.post_number, "topic_id": n.topic.map(|t| t.0),
                            "fancy_title": n.topic_title.as_deref().map(crate::api::html::SafeHtml::escape), "slug": n.topic_slug,
                            "data": data,
                        })
                    })
                    .collect();
                // Both always present, as Discourse's (0: none seen; the
                // next page may be empty).
                let seen = page.items.iter().map(|n| n.id).max().unwrap_or(0);
                let more = format!("{}/notifications.json?page={}", s.config.base_path, n + 1);
                return Ok(json_response(
                    axum::http::StatusCode::OK,
                    &json!({
                        "notifications": items,
                        "total_rows_notifications": page.items.len(),
                        "unread_notifications": unread,
                        "seen_notification_id": seen,
                        "load_more_notifications": more,
                    }),
                ));
            }
            let now = s.forum.now();
            let items: Vec<Value> = page
                .items
                .iter()
                .map(|n| {
                    json!({"id": n.id, "text": n.sentence(), "href": href(s, n), "read": n.read,
                           "kind": n.kind.as_str(), "ago": ago(n.created_at, now),
                           "created_at": crate::api::shape::ts(n.created_at)})
                })
                .collect();
            let meta = Meta {
                title: "Notifications".into(),
                noindex: true,
                path: "/notifications".into(),
                ..Default::default()
            };
            let next_url = page.next.map(|_| {
                s.url(&format!(
                    "/notifications?page={}{}",
                    n + 1,
                    if unread_only { "&filter=unread" } else { "" }
                ))
            });
            let body = render(
                s,
                &v,
                "notifications.html",
                meta,
                json!({"items": items, "unread": unread, "unread_only": unread_only,
                       "next_url": next_url, "notice": params.str("notice")}),
            )?;
            Ok(crate::pages::html(body, false))
        })
        .await;
    result.unwrap_or_else(|e| fail(e, json))
}

/// `POST /notifications/mark-read` (form) and `PUT /notifications/mark-read`
/// (Discourse: optional `id`; all when absent).
pub(crate) async fn mark_read(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    act_or_ok(
        state,
        v,
        params,
        json,
        json!({"success": "OK"}),
        |s, actor, params| {
            let id = params.int("id")?;
            s.forum
                .mark_notifications_read(&actor, s.config.community, id)?;
            Ok("/notifications".into())
        },
    )
    .await
}

fn level_of(params: &Params) -> Result<WatchLevel, Error> {
    let raw = params.need("notification_level")?;
    WatchLevel::parse(raw.trim()).ok_or_else(|| {
        Error::BadRequest(format!(
            "notification_level must be 0-3 or muted, normal, tracking, watching; not {raw:?}"
        ))
    })
}

/// What a watch form answers: JSON for the API, back to the page otherwise.
async fn watch<F>(state: State, v: Visitor, json: bool, params: Params, f: F) -> Response
where
    F: FnOnce(&AppState, Actor, WatchLevel) -> Result<String, Error> + Send + 'static,
{
    act_or_ok(
        state,
        v,
        params,
        json,
        json!({"success": "OK"}),
        move |s, actor, params| {
            let level = level_of(&params)?;
            f(s, actor, level)
        },
    )
    .await
}

/// `POST /t/{id}/notifications` (`notification_level`).
pub(crate) async fn watch_topic(
    state: State,
    v: Visitor,
    id: &str,
    json: bool,
    params: Params,
) -> Response {
    let id = match id_of(id) {
        Ok(id) => TopicId(id),
        Err(e) => return fail(e, json),
    };
    watch(state, v, json, params, move |s, actor, level| {
        let c = s.config.community;
        s.forum.watch_topic(&actor, c, id, level)?;
        let t = s.forum.topic_only(&actor, c, id)?;
        Ok(format!("/t/{}/{}", t.slug, t.id.0))
    })
    .await
}

/// `POST /category/{id}/notifications` (`notification_level`).
pub(crate) async fn watch_category(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let id = match id_of(&id) {
        Ok(id) => CategoryId(id),
        Err(e) => return fail(e, json),
    };
    watch(state, v, json, params, move |s, actor, level| {
        let c = s.config.community;
        s.forum.watch_category(&actor, c, id, level)?;
        let cat = s.forum.category(&actor, c, id)?;
        Ok(format!("/c/{}/{}", cat.slug, cat.id.0))
    })
    .await
}

/// The watch selector's context for a page (`None` for guests).
pub(crate) fn watch_form(
    s: &AppState,
    actor: &Actor,
    category: Option<CategoryId>,
    topic: Option<TopicId>,
) -> Option<Value> {
    if !matches!(actor, Actor::User(_)) {
        return None;
    }
    let level = s
        .forum
        .watch_level(actor, s.config.community, category, topic)
        .ok()?;
    let action = match (topic, category) {
        (Some(t), _) => s.url(&format!("/t/{}/notifications", t.0)),
        (None, Some(c)) => s.url(&format!("/category/{}/notifications", c.0)),
        (None, None) => return None,
    };
    let levels = [
        (WatchLevel::Watching, "Watching: every new post"),
        (
            WatchLevel::Tracking,
            "Tracking: replies to you and mentions",
        ),
        (WatchLevel::Normal, "Normal: replies to you and mentions"),
        (WatchLevel::Muted, "Muted: nothing at all"),
    ]
    .map(|(l, label)| json!({"value": l.number(), "label": label, "selected": l == level}));
    Some(json!({"action": action, "levels": levels, "current": level.as_str()}))
}

fn delivery_label(d: Delivery) -> &'static str {
    match d {
        Delivery::InApp => "In the app",
        Delivery::Email => "In the app and by e-mail",
        Delivery::Off => "Off",
    }
}

fn kind_label(k: NotificationKind) -> &'static str {
    match k {
        NotificationKind::Mentioned => "Someone mentions you",
        NotificationKind::Replied => "Someone replies to you",
        NotificationKind::Liked => "Someone likes your post",
        NotificationKind::Posted => "A new post in something you watch",
        NotificationKind::BadgeGranted => "You get a badge",
        NotificationKind::Accepted => "Your answer is accepted",
        NotificationKind::NewTopic => "A new topic in a category you watch",
        NotificationKind::IdeaStatus => "An idea you voted for changes status",
        NotificationKind::InvitedToTopic => "Someone invites you to a topic",
        NotificationKind::PrivateMessage => "A new private message to you",
        NotificationKind::FollowingCreatedTopic => "A member you follow starts a topic",
        NotificationKind::FollowingReplied => "A member you follow replies",
        NotificationKind::InvitedToMessage => "Someone adds you to a conversation",
        NotificationKind::Custom => "A plugin tells you something",
    }
}

/// A kind of notification a running plugin sends, as the preferences
/// page lists it.
struct PluginKind {
    plugin: String,
    kind: String,
    label: String,
    default: Delivery,
}

impl PluginKind {
    /// The form field's key (also the engine's preference key).
    fn key(&self) -> String {
        format!("ext:{}:{}", self.plugin, self.kind)
    }
}

/// The kinds the plugins running in this community may send; none when
/// plugins are off (or the host cannot say, which is logged: the page
/// still shows the forum's own kinds).
fn plugin_kinds(s: &AppState) -> Vec<PluginKind> {
    let Some(host) = &s.plugins else {
        return Vec::new();
    };
    match host.notification_kinds(s.config.community) {
        Ok(kinds) => kinds
            .into_iter()
            .map(|(plugin, k)| PluginKind {
                default: k.default_delivery(),
                plugin,
                kind: k.kind,
                label: k.label,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "plugins' notification kinds are unavailable");
            Vec::new()
        }
    }
}

pub(crate) fn own(v: &Visitor, name: &str) -> Result<(), Error> {
    match &v.user {
        Some(u) if u.username.eq_ignore_ascii_case(name) => Ok(()),
        Some(_) => Err(hearth::Error::NotFound { what: "page" }.into()),
        None => Err(hearth::Error::Forbidden {
            reason: "sign in to change your preferences".into(),
        }
        .into()),
    }
}

/// `GET /u/{name}/preferences`: how each kind of notification reaches you.
pub(crate) async fn preferences_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    own(&v, &name)?;
    let body = state
        .run(move |s| {
            let prefs = s.forum.notification_preferences(&v.actor, s.config.community)?;
            let mail = s.forum.email_preferences(&v.actor, s.config.community)?;
            let digests: Vec<Value> = [DigestFrequency::Daily, DigestFrequency::Weekly, DigestFrequency::Never]
                .iter()
                .map(|d| json!({"value": d.as_str(), "selected": *d == mail.digest,
                                "label": match d { DigestFrequency::Daily => "Every day",
                                    DigestFrequency::Weekly => "Every week", DigestFrequency::Never => "Never" }}))
                .collect();
            let row = |key: &str, label: &str, d: Delivery| {
                let options: Vec<Value> = [Delivery::Email, Delivery::InApp, Delivery::Off]
                    .iter()
                    .map(|o| json!({"value": o.as_str(), "label": delivery_label(*o), "selected": *o == d}))
                    .collect();
                json!({"kind": key, "label": label, "options": options})
            };
            let mut rows: Vec<Value> = prefs
                .iter()
                .map(|(k, d)| row(k.as_str(), kind_label(*k), *d))
                .collect();
            let kinds = plugin_kinds(s);
            let keys: Vec<(&str, &str, Delivery)> =
                kinds.iter().map(|k| (k.plugin.as_str(), k.kind.as_str(), k.default)).collect();
            let chosen = s.forum.ext_notice_preferences(&v.actor, s.config.community, &keys)?;
            for (k, d) in kinds.iter().zip(chosen) {
                rows.push(row(&k.key(), &format!("{} ({})", k.label, k.plugin), d));
            }
            let meta = Meta {
                title: "Notification preferences".into(),
                noindex: true,
                path: format!("/u/{name}/preferences"),
                ..Default::default()
            };
            render(
                s,
                &v,
                "preferences.html",
                meta,
                json!({"rows": rows, "username": name, "notice": params.str("notice"),
                       "digests": digests, "subscribed": !mail.unsubscribed, "bounced": mail.bounced}),
            )
        })
        .await?;
    Ok(crate::pages::html(body, false))
}

/// `POST /u/{name}/preferences`: one select per kind (`delivery[kind]`).
pub(crate) async fn save_preferences(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    own(&v, &name)?;
    act(state, v, params, move |s, actor, params| {
        let c = s.config.community;
        for kind in NotificationKind::ALL {
            let Some(raw) = params.str(&format!("delivery.{}", kind.as_str())) else {
                continue;
            };
            let delivery = Delivery::parse(&raw).ok_or_else(|| {
                Error::BadRequest(format!(
                    "delivery for {} must be email, in_app or off",
                    kind.as_str()
                ))
            })?;
            s.forum
                .set_notification_preference(&actor, c, *kind, delivery)?;
        }
        for k in plugin_kinds(s) {
            let Some(raw) = params.str(&format!("delivery.{}", k.key())) else {
                continue;
            };
            let delivery = Delivery::parse(&raw).ok_or_else(|| {
                Error::BadRequest(format!(
                    "delivery for {} must be email, in_app or off",
                    k.key()
                ))
            })?;
            s.forum
                .set_ext_notice_preference(&actor, c, &k.plugin, &k.kind, delivery)?;
        }
        if let Some(raw) = params.str("digest") {
            let digest = DigestFrequency::parse(&raw)
                .ok_or_else(|| Error::BadRequest("digest must be daily, weekly or never".into()))?;
            let subscribed = params.bool("email_subscribed").unwrap_or(false);
            s.forum
                .set_email_preferences(&actor, c, digest, subscribed)?;
        }
        Ok(format!("/u/{name}/preferences?notice=Saved."))
    })
    .await
}

/// Unread notifications the header's bell counts exactly; from this many
/// on it says "99+" (and counts no further: each one counted is checked
/// against what the member may still read, on every page).
const BELL_CAP: u64 = 100;

/// What the header's bell shows: `""` for none (and for guests, and on
/// any error: a badge is not worth failing a page for), the number, or
/// "99+". The count is reused while nothing it depends on changed (see
/// `bell`).
pub(crate) fn unread(s: &AppState, actor: &Actor) -> String {
    let Actor::User(user) = *actor else {
        return String::new();
    };
    let stamp = s.bells.stamp(s.read_cache.generation());
    let n = match s.bells.get(user, stamp) {
        Some(n) => n,
        None => match s
            .forum
            .unread_notifications_up_to(actor, s.config.community, BELL_CAP)
        {
            Ok(n) => {
                s.bells.put(user, stamp, n);
                n
            }
            Err(_) => 0,
        },
    };
    match n {
        0 => String::new(),
        n if n >= BELL_CAP => format!("{}+", BELL_CAP - 1),
        n => n.to_string(),
    }
}
