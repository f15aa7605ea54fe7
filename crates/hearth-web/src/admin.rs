//! Moderator and admin pages: the review queue, and the admin screen
//! (community settings, categories, watched words, plugins, API keys).
//! Every action is a form with a CSRF token; the engine (and the plugin
//! host) decide who may do what.

use std::collections::BTreeMap;

use axum::extract::{Path, State as AxState};
use axum::response::{IntoResponse, Response};
use hearth::{
    Actor, CategoryKind, Decision, NewCategory, NewWatchedWord, PageRequest, RegistrationMode,
    ReviewFilter, ReviewId, ReviewStatus, Visibility, WordAction,
};
use hearth_wasm::SettingType;
use serde_json::{Value, json};

use crate::api::id_of;
use crate::auth;
use crate::error::{Error, PageError};
use crate::pages::{Meta, render};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

type PageResult = Result<Response, PageError>;

/// Admins of the community (and the system) only.
pub(crate) fn require_admin(s: &AppState, actor: &Actor) -> Result<(), Error> {
    let ok = match actor {
        Actor::System => true,
        Actor::User(u) => s
            .forum
            .member(actor, s.config.community, *u)
            .is_ok_and(|m| m.role.is_admin()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(hearth::Error::Forbidden {
            reason: "only admins may do that".into(),
        }
        .into())
    }
}

fn back(to: &str, notice: &str) -> String {
    let q = serde_urlencoded::to_string([("notice", notice)]).unwrap_or_default();
    format!("{to}?{q}")
}

/// Runs an admin form's action (see [`crate::pages::act`]), then returns
/// to the admin screen with `notice`.
async fn act<F>(state: State, v: Visitor, params: Params, notice: &'static str, f: F) -> PageResult
where
    F: FnOnce(&AppState, Actor, Params) -> Result<(), Error> + Send + 'static,
{
    crate::pages::act(state, v, params, move |s, actor, params| {
        f(s, actor, params)?;
        Ok(back("/admin", notice))
    })
    .await
}

/// `GET /review`: the queue of held and flagged posts.
pub(crate) async fn review(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let body = state
        .run(move |s| {
            let c = s.config.community;
            let filter = ReviewFilter {
                status: Some(ReviewStatus::Pending),
                ..Default::default()
            };
            let page = s
                .forum
                .review_queue(&v.actor, c, &filter, &PageRequest::first(50))?;
            let items: Vec<Value> = page
                .items
                .iter()
                .map(|i| {
                    json!({
                        "id": i.id.0, "kind": format!("{:?}", i.kind), "author": i.author.username,
                        "title": i.title, "body": i.body, "reason": i.reason,
                        "flags": i.flags.len(), "hidden": i.hidden,
                        "topic": i.topic.map(|t| t.0),
                    })
                })
                .collect();
            let meta = Meta {
                title: "Review queue".into(),
                noindex: true,
                path: "/review".into(),
                ..Default::default()
            };
            render(
                s,
                &v,
                "review.html",
                meta,
                json!({"items": items, "notice": params.str("notice")}),
            )
        })
        .await?;
    Ok(axum::response::Html(body).into_response())
}

/// `POST /review/{id}`: `decision` = approve | reject (with `reason`).
pub(crate) async fn decide(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = ReviewId(id_of(&id)?);
    let decision = match params.str("decision").as_deref() {
        Some("approve") => Decision::Approve,
        Some("reject") => Decision::Reject {
            reason: params
                .str("reason")
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "This post does not follow the community guidelines.".into()),
        },
        _ => return Err(Error::BadRequest("decision must be approve or reject".into()).into()),
    };
    crate::pages::act(state, v, params, move |s, actor, _| {
        s.forum
            .decide_review(&actor, s.config.community, id, decision)?;
        Ok(back("/review", "Decided."))
    })
    .await
}

fn plugin_rows(s: &AppState) -> Result<Vec<Value>, Error> {
    let Some(host) = &s.plugins else {
        return Ok(Vec::new());
    };
    let c = s.config.community;
    let enabled = host.enabled_plugins(c)?;
    let mut rows = Vec::new();
    for st in host.plugins() {
        let on = enabled.contains(&st.name);
        let manifest = host.manifest(&st.name)?;
        let (values, secrets) = if on {
            (host.settings(c, &st.name)?, host.secrets_set(c, &st.name)?)
        } else {
            (BTreeMap::new(), Vec::new())
        };
        let settings: Vec<Value> = manifest
            .settings
            .iter()
            .map(|(key, spec)| {
                let value = values.get(key).unwrap_or(&spec.default);
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                if spec.kind == SettingType::Secret {
                    // Never the value: only whether one is set.
                    return json!({
                        "key": key, "description": spec.description, "kind": "secret",
                        "set": secrets.contains(key),
                    });
                }
                json!({
                    "key": key, "description": spec.description, "value": text,
                    "kind": format!("{:?}", spec.kind).to_lowercase(),
                    "checked": value.as_bool().unwrap_or(false),
                    "choices": spec.choices,
                })
            })
            .collect();
        // The hosts it may call here: each the manifest names, ticked
        // unless the operator took it away.
        let allowed = if on {
            host.http_hosts_allowed(c, &st.name)?
        } else {
            None
        };
        let hosts: Vec<Value> = manifest
            .http_hosts()
            .iter()
            .map(|h| {
                json!({
                    "host": h,
                    "allowed": allowed.as_ref().is_none_or(|a| a.contains(h)),
                })
            })
            .collect();
        rows.push(json!({
            "hosts": hosts,
            "name": st.name, "version": st.version, "description": st.description,
            "enabled": on, "disabled_reason": st.disabled,
            "calls": st.counters.calls, "failures": st.counters.failures,
            "last_error": st.counters.last_error, "parked": st.counters.parked_events,
            "capabilities": st.capabilities.iter().map(|c| format!("{c:?}").to_lowercase()).collect::<Vec<_>>(),
            "settings": settings,
        }));
    }
    Ok(rows)
}

/// `GET /admin`.
pub(crate) async fn admin(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let notice = params.str("notice");
    let body = state.run(move |s| admin_page(s, &v, notice, None)).await?;
    Ok(axum::response::Html(body).into_response())
}

fn admin_page(
    s: &AppState,
    v: &Visitor,
    notice: Option<String>,
    new_key: Option<String>,
) -> Result<String, Error> {
    {
        {
            require_admin(s, &v.actor)?;
            let c = s.config.community;
            let community = s.forum.community(&v.actor, c)?;
            let cats: Vec<Value> = s
                .forum
                .categories(&v.actor, c)?
                .iter()
                .map(|c| json!({"name": c.name, "slug": c.slug, "kind": c.kind.as_str(), "visibility": c.visibility.as_str(), "topics": c.topic_count}))
                .collect();
            let words: Vec<Value> = s
                .forum
                .watched_words(&v.actor, c)?
                .iter()
                .map(|w| json!({"id": w.id, "pattern": w.pattern, "action": format!("{:?}", w.action), "reason": w.reason}))
                .collect();
            let keys: Vec<Value> = auth::api_keys_with_last_use(&s.forum, c)?
                .into_iter()
                .map(|(_, k)| {
                    let user = k.user.and_then(|u| s.forum.user(u).ok()).map(|u| u.username);
                    let last_used = k.last_used_at.map(crate::api::shape::ts_ms);
                    json!({"id": k.id, "user": user, "description": k.description, "revoked": k.revoked_at.is_some(),
                           "scopes": if k.scopes.is_empty() { "global".to_string() } else { k.scopes.join(", ") },
                           "last_used": last_used})
                })
                .collect();
            let meta = Meta {
                title: "Admin".into(),
                noindex: true,
                path: "/admin".into(),
                ..Default::default()
            };
            render(
                s,
                v,
                "admin.html",
                meta,
                json!({
                    "community": {
                        "name": community.name,
                        "registration": format!("{:?}", community.settings.registration),
                        "public_access": community.settings.public_access,
                        "base_url": community.settings.base_url,
                        "support_url": community.settings.support_url,
                        "attachment_kinds": ATTACHMENT_KINDS.iter().map(|(k, label)| json!({
                            "name": k.name(),
                            "label": label,
                            "on": community.settings.limits.attachments.contains(k),
                        })).collect::<Vec<_>>(),
                    },
                    "categories": cats,
                    "words": words,
                    "plugins": plugin_rows(s)?,
                    "has_plugins": s.plugins.is_some(),
                    // Posts being rendered again after a Markdown
                    // extension changed (this community's only).
                    "markup_job": s.plugins.as_ref().and_then(|h| h.markup_job())
                        .filter(|j| j.community == s.config.community)
                        .map(|j| json!({
                            "done": crate::readable::count(j.done as i64, "post", None),
                            "total": j.total,
                            "percent": (j.done * 100).checked_div(j.total).unwrap_or(0),
                        })),
                    "keys": keys,
                    "products": crate::products::admin_rows(s, v)?,
                    "new_key": new_key,
                    "notice": notice,
                }),
            )
        }
    }
}

/// The attachment kinds the settings form offers, with their labels.
const ATTACHMENT_KINDS: [(hearth::AttachmentKind, &str); 3] = [
    (hearth::AttachmentKind::Pdf, "PDF documents"),
    (
        hearth::AttachmentKind::Text,
        "Text files (logs, CSV, JSON, configuration)",
    ),
    (hearth::AttachmentKind::Zip, "ZIP archives (never unpacked)"),
];

/// `POST /admin/settings`: name, registration, public access, base URL,
/// the files members may attach.
pub(crate) async fn settings(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    act(
        state,
        v,
        params,
        "Settings saved.",
        move |s, actor, params| {
            let c = s.config.community;
            let mut community = s.forum.community(&actor, c)?;
            community.settings.registration = match params.str("registration").as_deref() {
                Some("InviteOnly") => RegistrationMode::InviteOnly,
                Some("Approval") => RegistrationMode::Approval,
                _ => RegistrationMode::Open,
            };
            community.settings.public_access = params.bool("public_access").unwrap_or(false);
            community.settings.base_url = params.str("base_url").filter(|u| !u.trim().is_empty());
            community.settings.support_url = params
                .str("support_url")
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty());
            if params.bool("attachments_shown").unwrap_or(false) {
                community.settings.limits.attachments = ATTACHMENT_KINDS
                    .iter()
                    .filter(|(k, _)| {
                        params
                            .bool(&format!("attach_{}", k.name()))
                            .unwrap_or(false)
                    })
                    .map(|(k, _)| *k)
                    .collect();
            }
            let name = params.str("name").unwrap_or(community.name);
            s.forum
                .update_community(&actor, c, &name, community.settings)?;
            Ok(())
        },
    )
    .await
}

/// `POST /admin/categories`: a new category.
pub(crate) async fn new_category(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    act(
        state,
        v,
        params,
        "Category created.",
        move |s, actor, params| {
            let kind = match params.str("kind").as_deref() {
                Some("question_and_answer") => CategoryKind::QuestionAndAnswer,
                Some("knowledge_base") => CategoryKind::KnowledgeBase,
                Some("blog") => CategoryKind::Blog,
                Some("ideas") => CategoryKind::Ideas,
                Some("announcements") => CategoryKind::Announcements,
                _ => CategoryKind::Discussion,
            };
            let visibility = match params.str("visibility").as_deref() {
                Some("members") => Visibility::Members,
                _ => Visibility::Public,
            };
            let name = params.need("name")?;
            let slug = params
                .str("slug")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| hearth::slugify(&name));
            let new = NewCategory::new(&slug, &name, kind)
                .visibility(visibility)
                .description(&params.str("description").unwrap_or_default());
            s.forum.create_category(&actor, s.config.community, new)?;
            Ok(())
        },
    )
    .await
}

/// `POST /admin/words`: a watched word.
pub(crate) async fn add_word(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    act(
        state,
        v,
        params,
        "Watched word added.",
        move |s, actor, params| {
            let action = match params.str("action").as_deref() {
                Some("require_approval") => WordAction::RequireApproval,
                Some("flag") => WordAction::Flag,
                Some("censor") => WordAction::Censor,
                _ => WordAction::Block,
            };
            let mut word = NewWatchedWord::word(&params.need("pattern")?, action);
            word.reason = params.str("reason").unwrap_or_default();
            s.forum.add_watched_word(&actor, s.config.community, word)?;
            Ok(())
        },
    )
    .await
}

/// `POST /admin/words/{id}/delete`.
pub(crate) async fn remove_word(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = id_of(&id)?;
    act(
        state,
        v,
        params,
        "Watched word removed.",
        move |s, actor, _| {
            Ok(s.forum
                .remove_watched_word(&actor, s.config.community, id)?)
        },
    )
    .await
}

/// `POST /admin/plugins/{name}/{action}`: enable (granting what the
/// manifest asks for), disable, configure, reenable.
pub(crate) async fn plugin_action(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((name, action)): Path<(String, String)>,
    params: Params,
) -> PageResult {
    crate::pages::act(state, v, params, move |s, actor, params| {
        let host = s
            .plugins
            .as_ref()
            .ok_or(hearth::Error::NotFound { what: "plugin" })?;
        let c = s.config.community;
        let notice = match action.as_str() {
            "enable" => {
                let caps = host.manifest(&name)?.capabilities;
                host.enable(&actor, c, &name, &caps)?;
                Ok(format!("{name} enabled."))
            }
            "disable" => {
                host.disable(&actor, c, &name)?;
                Ok(format!("{name} disabled."))
            }
            "reenable" => {
                require_admin(s, &actor)?;
                host.reenable(&name)?;
                Ok(format!("{name} re-enabled."))
            }
            "configure" => {
                let manifest = host.manifest(&name)?;
                let mut values = BTreeMap::new();
                for (key, spec) in &manifest.settings {
                    // Keys taken whole (they may hold dots).
                    let raw = params.str_in("setting", key).unwrap_or_default();
                    let value = match spec.kind {
                        SettingType::Boolean => {
                            json!(params.bool_in("setting", key).unwrap_or(false))
                        }
                        SettingType::Integer => match raw.trim().parse::<i64>() {
                            Ok(n) => json!(n),
                            Err(_) => {
                                return Err(Error::Engine(hearth::Error::Invalid {
                                    field: "setting",
                                    reason: format!("{key} must be a whole number"),
                                    problem: hearth::Problem::Other,
                                }));
                            }
                        },
                        SettingType::List => json!(
                            raw.split(',')
                                .map(str::trim)
                                .filter(|x| !x.is_empty())
                                .collect::<Vec<_>>()
                        ),
                        SettingType::String | SettingType::Choice => json!(raw),
                        // Write-only: empty keeps what is set, the clear
                        // box removes it.
                        SettingType::Secret => {
                            if params.bool_in("clear", key).unwrap_or(false) {
                                json!("")
                            } else if raw.is_empty() {
                                continue;
                            } else {
                                json!(raw)
                            }
                        }
                    };
                    values.insert(key.clone(), value);
                }
                host.configure(&actor, c, &name, values)?;
                Ok(format!("{name} settings saved."))
            }
            "hosts" => {
                let named = host.manifest(&name)?.http_hosts().to_vec();
                let ticked: Vec<String> = named
                    .iter()
                    .filter(|h| params.bool_in("host", h).unwrap_or(false))
                    .cloned()
                    .collect();
                let narrowed = (ticked.len() < named.len()).then_some(ticked);
                host.limit_http_hosts(&actor, c, &name, narrowed)?;
                Ok(format!("The hosts {name} may call are saved."))
            }
            _ => Err(hearth::Error::NotFound { what: "page" }.into()),
        };
        notice.map(|notice| back("/admin", &notice))
    })
    .await
}

/// `POST /admin/api-keys`: a key for a user (`username`) or a global one.
pub(crate) async fn new_api_key(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let actor = params.writer(&v)?;
    let body = state
        .run(move |s| {
            require_admin(s, &actor)?;
            let user = match params.str("username").filter(|u| !u.trim().is_empty()) {
                Some(name) => Some(s.forum.user_by_username(&name)?.id),
                None => None,
            };
            let description = params.str("description").unwrap_or_default();
            let scopes = auth::parse_scopes(&params.str("scopes").unwrap_or_default())?;
            let (key, _) =
                auth::create_api_key(&s.forum, s.config.community, user, &description, scopes)?;
            // Shown once, in this answer (never in a URL); only its digest is stored.
            admin_page(s, &v, Some("API key created.".into()), Some(key))
        })
        .await?;
    Ok(axum::response::Html(body).into_response())
}

/// `POST /admin/api-keys/{id}/revoke`.
pub(crate) async fn revoke_api_key(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    act(state, v, params, "API key revoked.", move |s, actor, _| {
        require_admin(s, &actor)?;
        auth::revoke_api_key(&s.forum, s.config.community, &id)
    })
    .await
}
