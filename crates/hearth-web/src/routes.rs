//! The route table, the dispatchers for paths that serve both a page and
//! JSON (Discourse's `/t/{slug}/{id}` vs `/t/{slug}/{id}.json`), and the
//! middleware stack.

use axum::Router;
use axum::extract::{Path, Request, State as AxState};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hearth::{CategoryId, TopicId};

use crate::api::{self, id_of};
use crate::error::{ApiError, Error, PageError, fail};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::{Visitor, WantsJson};
use crate::{
    admin, analytics, deflect, email, export, follows, ideas, idempotency, kb, messages, moderate,
    notifications, pages, products, profile_edit, read_cache, seo, templates, visitor,
};

/// The Content-Security-Policy of every response: no inline script, no
/// inline style, no plugins, no framing.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
    frame-ancestors 'none'";

pub(crate) fn router(state: State) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/latest", get(latest))
        .route("/latest.json", get(api::latest))
        .route("/categories", get(categories))
        .route(
            "/categories.json",
            get(api::categories).post(api::category::create),
        )
        .route("/categories/{id}", axum::routing::put(category_put))
        .route("/c/{a}", get(category))
        .route("/c/{a}/{b}", get(category))
        .route("/t/{a}", get(topic_by_id).delete(topic_delete))
        .route("/t/{a}/{b}", get(topic).post(topic_post).put(topic_put))
        .route("/t/{a}/{b}/{c}", get(topic_post_number))
        .route("/posts", post(api::create_post))
        .route("/posts.json", get(api::latest_posts).post(api::create_post))
        .route(
            "/posts/{id}",
            get(api::get_post)
                .put(api::update_post)
                .delete(api::delete_post),
        )
        .route(
            "/posts/{id}/{rest}",
            get(api::post_replies).put(api::topic_tools::lock),
        )
        .route("/post_actions", post(api::post_action))
        .route("/post_actions.json", post(api::post_action))
        .route(
            "/post_actions/{id}",
            axum::routing::delete(api::undo_post_action),
        )
        .route("/u/{name}/follow", post(follows::form))
        .route("/u/{name}/messages-block", post(messages::block_form))
        .route(
            "/u/{name}/notification_level.json",
            axum::routing::put(messages::notification_level),
        )
        .route("/u/{name}/follow/{which}", get(follows::list))
        .route(
            "/follow/{name}",
            axum::routing::put(follows::put).delete(follows::delete),
        )
        .route("/messages", get(messages::inbox))
        .route(
            "/messages/new",
            get(messages::new_form).post(messages::send),
        )
        .route("/messages/{a}", get(messages::mailbox_named))
        .route("/messages/{a}/participants", post(messages::participants))
        .route("/topics/private-messages/{name}", get(inbox_json))
        .route("/topics/private-messages-sent/{name}", get(sent_json))
        .route("/search", get(search))
        .route("/search.json", get(api::search))
        .route("/search/query.json", get(api::search))
        .route("/similar.json", get(deflect::similar_json))
        .route("/similar/open", get(deflect::open))
        .route("/support", get(deflect::support))
        .route("/u", get(pages::directory))
        .route("/u/{name}", get(user).put(api::update_user))
        .route("/u/{name}/emails.json", get(api::user_emails))
        .route(
            "/u/activate-account",
            post(crate::mailed_links::resend_signup),
        )
        .route(
            "/u/activate-account/{token}",
            get(crate::mailed_links::confirm_signup_form).post(crate::mailed_links::confirm_signup),
        )
        .route(
            "/u/confirm-email/{token}",
            get(crate::mailed_links::confirm_email_form).post(crate::mailed_links::confirm_email),
        )
        .route(
            "/u/{name}/preferences/email.json",
            axum::routing::put(crate::mailed_links::update_email),
        )
        .route(
            "/u/{name}/preferences/username.json",
            axum::routing::put(api::preferences::username),
        )
        .route(
            "/u/{name}/preferences/avatar/{rest}",
            axum::routing::put(api::preferences::pick_avatar),
        )
        .route(
            "/user_avatar/{name}/refresh_gravatar.json",
            post(api::preferences::refresh_gravatar),
        )
        .route("/u/by-external/{a}", get(api::user_by_external))
        .route("/u/by-external/{a}/{b}", get(api::user_by_external))
        .route("/users/{name}", get(user))
        .route("/users", post(api::create_user))
        .route("/users.json", post(api::create_user))
        .route("/user_badges/{name}", get(api::user_badges))
        .route("/user-badges/{name}", get(api::user_badges))
        .route("/user_actions.json", get(api::user_actions::list))
        // The body limit for uploads is read_body's (the community's).
        .route(
            "/uploads",
            post(api::uploads::create).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/uploads.json",
            post(api::uploads::create).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/uploads/{name}", get(api::uploads::serve))
        .route(
            "/uploads/thumbnails/{name}",
            get(api::uploads::serve_thumbnail),
        )
        .route("/directory_items", get(api::directory))
        .route("/directory_items.json", get(api::directory))
        .route("/tags.json", get(api::tags))
        .route("/top.json", get(api::top))
        .route("/groups.json", get(api::groups::list))
        .route("/groups/by-id/{id}", get(group_by_id))
        .route("/groups/{name}", get(group).put(api::groups::update))
        .route(
            "/groups/{name}/{rest}",
            get(group_members)
                .put(api::groups::add_members)
                .delete(api::groups::remove_members),
        )
        .route("/admin/groups.json", post(api::groups::create))
        .route(
            "/admin/backups.json",
            get(api::backups::list).post(api::backups::create),
        )
        .route(
            "/admin/backups/{filename}",
            get(api::backups::download).put(api::backups::send_link),
        )
        .route(
            "/admin/badges.json",
            get(api::badges::list).post(api::badges::create),
        )
        .route(
            "/admin/badges/{id}",
            axum::routing::put(api::badges::update).delete(api::badges::delete),
        )
        .route(
            "/admin/groups/{id}",
            axum::routing::delete(api::groups::delete),
        )
        .route("/tag/{name}", get(tag))
        .route(
            "/tag_groups.json",
            get(api::tag_groups::list).post(api::tag_groups::create),
        )
        .route(
            "/tag_groups/{id}",
            get(api::tag_groups::get)
                .put(api::tag_groups::update)
                .delete(api::tag_groups::delete),
        )
        .route("/site/basic-info.json", get(api::site::basic_info))
        .route("/site.json", get(api::site::site))
        .route("/about.json", get(api::site::about))
        .route("/session/current.json", get(api::site::current))
        .route("/session/sso", get(crate::sso::start))
        .route("/session/sso_login", get(crate::sso::finish))
        .route("/session/csrf", get(api::csrf))
        .route("/session/csrf.json", get(api::csrf))
        .route("/session/hp.json", get(api::honeypot))
        .route("/session", post(session_json))
        .route("/session.json", post(session_json))
        .route(
            "/new-topic",
            get(pages::new_topic_form).post(pages::create_topic),
        )
        .route("/p/{id}/like", post(pages::like))
        .route("/p/{id}/accept", post(pages::accept))
        .route("/p/{id}/delete", post(pages::delete_post))
        .route("/p/{id}/restore", post(pages::restore_post))
        .route("/login", get(pages::login_form).post(pages::login))
        .route(
            "/password-reset",
            get(crate::mailed_links::ask_form).post(crate::mailed_links::ask),
        )
        .route("/session/forgot_password", post(crate::mailed_links::ask))
        .route(
            "/session/forgot_password.json",
            post(crate::mailed_links::ask),
        )
        .route(
            "/users/password-reset/{token}",
            get(crate::mailed_links::choose_form)
                .post(crate::mailed_links::choose)
                .put(crate::mailed_links::choose),
        )
        .route("/signup", get(pages::signup_form).post(pages::signup))
        .route("/logout", post(pages::logout))
        .route(
            "/invites/{code}",
            get(pages::invite_form).post(pages::accept_invite),
        )
        .route("/invites.json", post(api::invites::create))
        .route(
            "/invites/create-multiple.json",
            post(api::invites::create_multiple),
        )
        .route("/voting/vote", post(vote))
        .route("/voting/vote.json", post(vote))
        .route("/voting/unvote", post(unvote))
        .route("/voting/unvote.json", post(unvote))
        .route(
            "/email/unsubscribe",
            get(email::confirm).post(email::unsubscribe),
        )
        .route("/kb", get(kb::index))
        .route("/kb.json", get(kb::index))
        .route("/kb/new", get(kb::new_form).post(kb::create))
        .route("/kb/{id}/edit", get(kb::edit_form).post(kb::revise))
        .route("/kb/{id}/publish", post(kb::publish))
        .route("/kb/{id}/helpful", post(kb::rate))
        .route("/search/click", get(kb::search_click))
        .route("/notifications", get(notifications::list))
        .route("/notifications.json", get(notifications::list))
        .route(
            "/notifications/mark-read",
            post(notifications::mark_read).put(notifications::mark_read),
        )
        .route(
            "/notifications/mark-read.json",
            axum::routing::put(notifications::mark_read).post(notifications::mark_read),
        )
        .route(
            "/category/{id}/notifications",
            post(notifications::watch_category),
        )
        .route(
            "/u/{name}/preferences",
            get(notifications::preferences_form).post(notifications::save_preferences),
        )
        .route(
            "/u/{name}/preferences/profile",
            get(profile_edit::form).post(profile_edit::save),
        )
        .route("/u/{name}/security", get(crate::security::page))
        .route(
            "/u/{name}/sessions/{id}/end",
            post(crate::security::end_one),
        )
        .route(
            "/u/{name}/sessions/end-others",
            post(crate::security::end_others),
        )
        .route("/u/{name}/password", post(crate::security::change_password))
        .route("/u/{name}/export", post(crate::own_account::export))
        .route("/u/{name}/delete-account", post(crate::own_account::delete))
        .route("/review", get(admin::review))
        .route("/review/{id}", post(admin::decide))
        .route("/admin", get(admin::admin))
        .route("/admin/users.json", get(api::admin_users::list))
        .route("/admin/users/list/{flag}", get(api::admin_users::list_flag))
        .route(
            "/admin/users/{id}",
            get(api::admin_users::show).delete(api::admin_users::delete),
        )
        .route(
            "/admin/users/{id}/{action}",
            axum::routing::put(admin_user_put).post(admin_user_post),
        )
        .route("/admin/export", get(export::export))
        .route("/admin/analytics", get(analytics::page))
        .route("/admin/analytics.json", get(analytics::page))
        .route("/admin/settings", post(admin::settings))
        .route("/admin/categories", post(admin::new_category))
        .route("/admin/words", post(admin::add_word))
        .route("/admin/words/{id}/delete", post(admin::remove_word))
        .route("/admin/plugins/{name}/{action}", post(admin::plugin_action))
        .route("/admin/api-keys", post(admin::new_api_key))
        .route("/admin/products", post(products::admin_save))
        .route("/products", get(products::catalogue))
        .route("/products.json", get(products::catalogue))
        .route("/products/{sku}", get(products::product))
        .route("/products/{sku}/go", get(products::go))
        .route("/admin/api-keys/{id}/revoke", post(admin::revoke_api_key))
        .route(
            "/plugins/{name}/a/{action}",
            get(crate::plugin_actions::confirm).post(crate::plugin_actions::take),
        )
        .route("/plugins/{name}", get(plugin_root))
        .route("/plugins/{name}/{*rest}", get(plugin_rest))
        .route(
            "/letter_avatar/{username}/{size}",
            get(pages::letter_avatar),
        )
        .route("/assets/hearth.css", get(css))
        .route("/assets/hearth.js", get(js))
        .route("/assets/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/robots.txt", get(seo::robots))
        .route("/sitemap.xml", get(seo::sitemap))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::guard,
        ))
        .layer(middleware::from_fn(utf8_only))
        .layer(middleware::from_fn_with_state(state.clone(), read_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pages::error_pages,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            read_cache::serve,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            visitor::resolve,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(crate::request_id::assign))
        .with_state(state)
}

/// Reads the request body within `Limits::body_timeout` (408 after it,
/// 413 over `Limits::body_bytes`), so a client trickling a body can't hold
/// a handler; handlers then read it from memory.
async fn read_body(AxState(state): AxState<State>, req: Request, next: Next) -> Response {
    // HTTP/1.1 has a body only with a length or a transfer encoding.
    let h = req.headers();
    let no_body = match h.get(header::CONTENT_LENGTH) {
        Some(len) => len.as_bytes() == b"0",
        None => !h.contains_key(header::TRANSFER_ENCODING),
    };
    if no_body {
        return next.run(req).await;
    }
    let json = crate::visitor::wants_json(req.method(), req.uri(), req.headers());
    let limits = &state.config.limits;
    // A multipart form may carry a file (an upload, a composer's picture,
    // an avatar): it may be as large as the community allows files to be.
    let upload = req.method() == axum::http::Method::POST
        && h.get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"));
    let max = match upload {
        true => upload_body_limit(&state),
        false => limits.body_bytes,
    };
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(limits.body_timeout, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => crate::error::fail(crate::error::Error::TooLarge { limit: max }, json),
        Err(_) => {
            let mut res = crate::error::fail(
                crate::error::Error::SlowBody {
                    after: limits.body_timeout,
                },
                json,
            );
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    }
}

/// Refuses a path or query that percent-decodes to invalid UTF-8 with a
/// 400 and the code `invalid_utf8` (as the client asked: JSON or page),
/// before any handler could read it with replacement characters.
async fn utf8_only(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let bad = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .is_err()
    };
    let part = if bad(uri.path()) {
        Some("path")
    } else if uri.query().is_some_and(|q| bad(&q.replace('+', " "))) {
        Some("query")
    } else {
        None
    };
    match part {
        Some(part) => {
            let json = crate::visitor::wants_json(req.method(), req.uri(), req.headers());
            crate::error::fail(crate::error::Error::InvalidUtf8 { part }, json)
        }
        None => next.run(req).await,
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A response may carry a stricter policy of its own (an upload's).
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A page may be stricter (a secret in its address: no referrer).
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    res
}

async fn latest(
    s: AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if json {
        api::latest(s, v, params).await.into_response()
    } else {
        pages::home(s, v, params).await.into_response()
    }
}

/// `/groups/{name}.json`.
async fn group(AxState(s): AxState<State>, v: Visitor, Path(name): Path<String>) -> Response {
    let which = api::groups::GroupRef::Name(api::name_of(&name).to_string());
    api::groups::show(s, v, which).await.into_response()
}

/// `/groups/by-id/{id}.json`.
async fn group_by_id(AxState(s): AxState<State>, v: Visitor, Path(id): Path<String>) -> Response {
    match api::id_of(&id) {
        Ok(id) => api::groups::show(s, v, api::groups::GroupRef::Id(hearth::GroupId(id)))
            .await
            .into_response(),
        Err(e) => fail(e, true),
    }
}

/// `/groups/{name}/members.json`; any other sub-path names nothing.
async fn group_members(
    AxState(s): AxState<State>,
    v: Visitor,
    Path((name, rest)): Path<(String, String)>,
    params: Params,
) -> Response {
    if api::name_of(&rest) != "members" {
        return no_such_path(true);
    }
    api::groups::members(s, v, api::name_of(&name).to_string(), params)
        .await
        .into_response()
}

/// `/tag/{name}.json` (or JSON asked for): the tag's topics; the page is
/// the latest list filtered by the tag.
async fn tag(
    AxState(s): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    Path(name): Path<String>,
    params: Params,
) -> Response {
    let (tag, suffixed) = match name.strip_suffix(".json") {
        Some(t) => (t.to_lowercase(), true),
        None => (name.to_lowercase(), false),
    };
    if json || suffixed {
        api::tag_topics(s, v, tag, params).await.into_response()
    } else {
        let query = serde_urlencoded::to_string([("tag", tag.as_str())]).unwrap_or_default();
        axum::response::Redirect::to(&s.url(&format!("/latest?{query}"))).into_response()
    }
}

async fn categories(
    s: AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if json {
        api::categories(s, v).await.into_response()
    } else {
        pages::home(s, v, params).await.into_response()
    }
}

/// `/c/{slug}/{id}` and `/c/{id}`.
async fn category(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(parts): Path<Vec<String>>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let (slug, id) = match parts.as_slice() {
        // `/c/{id}/show.json`: the category itself (`getCategory`).
        [id, show] if (show == "show" || show == "show.json") && is_number(id) => {
            return match id_of(id) {
                Ok(id) => api::category::show(state, v, CategoryId(id))
                    .await
                    .into_response(),
                Err(e) => fail(e, true),
            };
        }
        [slug, id] => (slug.clone(), id.clone()),
        [id] => (String::new(), id.clone()),
        _ => return fallback(WantsJson(json)).await,
    };
    if json {
        return api::category_topics(AxState(state), v, Path((slug, id)), params)
            .await
            .into_response();
    }
    match id_of(&id) {
        Ok(id) => pages::category(state, v, CategoryId(id), params)
            .await
            .into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

/// `PUT /admin/users/{id}/silence.json`, `…/suspend.json`,
/// `…/activate.json`, `…/deactivate.json` and `…/anonymize.json`.
async fn admin_user_put(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((id, action)): Path<(String, String)>,
    params: Params,
) -> Response {
    use api::admin_users::AccountAction;
    let id = match id_of(&id) {
        Ok(id) => hearth::UserId(id),
        Err(e) => return fail(e, true),
    };
    let sanction = match api::name_of(&action) {
        "silence" => api::sanctions::Sanction::Silence,
        "suspend" => api::sanctions::Sanction::Suspend,
        other => {
            let account = match other {
                "activate" => AccountAction::Activate,
                "deactivate" => AccountAction::Deactivate,
                "anonymize" => AccountAction::Anonymize,
                _ => return no_such_path(true),
            };
            return api::admin_users::account(state, v, id, account, params)
                .await
                .into_response();
        }
    };
    api::sanctions::apply(state, v, id, sanction, params)
        .await
        .into_response()
}

/// `POST /admin/users/{id}/log_out.json`.
async fn admin_user_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((id, action)): Path<(String, String)>,
    params: Params,
) -> Response {
    if api::name_of(&action) != "log_out" {
        return no_such_path(true);
    }
    match id_of(&id) {
        Ok(id) => api::admin_users::log_out(state, v, hearth::UserId(id), params)
            .await
            .into_response(),
        Err(e) => fail(e, true),
    }
}

/// `PUT /categories/{id}.json` (Discourse's `updateCategory`).
async fn category_put(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> Response {
    match id_of(&id) {
        Ok(id) => api::category::update(state, v, CategoryId(id), params)
            .await
            .into_response(),
        Err(e) => fail(e, true),
    }
}

async fn topic_at(state: State, v: Visitor, id: &str, json: bool, params: Params) -> Response {
    let id = match id_of(id) {
        Ok(id) => TopicId(id),
        Err(e) => return fail(e, json),
    };
    if json {
        api::topic(state, v, id, false).await.into_response()
    } else {
        pages::topic(state, v, id, params).await.into_response()
    }
}

async fn topic_by_id(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(a): Path<String>,
    WantsJson(json): WantsJson,
) -> Response {
    if json {
        return topic_at(state, v, &a, true, Params::default()).await;
    }
    match id_of(&a) {
        Ok(id) => pages::topic_by_id(state, v, TopicId(id))
            .await
            .into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

async fn topic(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((a, b)): Path<(String, String)>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if a == "external_id" {
        return api::topic_tools::by_external_id(state, v, b)
            .await
            .into_response();
    }
    if b == "posts.json" || b == "posts" {
        return match id_of(&a) {
            Ok(id) => api::topic(state, v, TopicId(id), true)
                .await
                .into_response(),
            Err(e) => ApiError(e).into_response(),
        };
    }
    // `/t/{id}/{post_number}` (both numeric) or `/t/{slug}/{id}`; any
    // other second segment (`post_ids.json`, `views.json`…) is a document
    // this server does not have, never the topic under another name.
    let id = match (is_number(&a), is_number(&b)) {
        (true, true) => &a,
        (false, true) => &b,
        _ => return no_such_path(json),
    };
    topic_at(state, v, id, json, params).await
}

/// `/t/{slug}/{id}/{post_number}`.
async fn topic_post_number(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((_slug, id, n)): Path<(String, String, String)>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if !(is_number(&id) && is_number(&n)) {
        return no_such_path(json);
    }
    topic_at(state, v, &id, json, params).await
}

/// Whether a path segment is a number (`42` or `42.json`).
fn is_number(segment: &str) -> bool {
    let digits = segment.strip_suffix(".json").unwrap_or(segment);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// 404 for a path the router matched by shape but that names nothing.
fn no_such_path(json: bool) -> Response {
    fail(
        Error::Engine(hearth::Error::NotFound { what: "page" }),
        json,
    )
}

/// The largest body a request carrying an upload may have: the
/// community's file limit and room for the form's other fields (never
/// less than any request may have).
pub(crate) fn upload_body_limit(state: &AppState) -> usize {
    let limits = &state.config.limits;
    state
        .community()
        .map(|c| c.settings.limits.upload_max_bytes as usize + (64 << 10))
        .unwrap_or(limits.body_bytes)
        .max(limits.body_bytes)
}

/// The topic page's forms: `POST /t/{id}/reply`, and the moderator's
/// `status`, `move`, `merge` and `split`.
async fn topic_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((a, b)): Path<(String, String)>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if b == "reply" {
        return pages::reply(state, v, &a, params).await.into_response();
    }
    if b == "status" || b == "status.json" {
        return moderate::status(state, v, &a, params, json).await;
    }
    if (b == "invite" || b == "invite.json")
        && let Some(id) = topic_id(&a)
    {
        return api::invites::to_topic(state, v, id, params)
            .await
            .into_response();
    }
    if (b == "invite-group" || b == "invite-group.json")
        && let Some(id) = topic_id(&a)
    {
        return api::messages::invite_group(state, v, id, params)
            .await
            .into_response();
    }
    if (b == "timer" || b == "timer.json")
        && let Some(id) = topic_id(&a)
    {
        return api::topic_tools::set_timer(state, v, id, params)
            .await
            .into_response();
    }
    if ideas::TOPIC_ACTIONS.contains(&b.as_str()) {
        return ideas::topic_action(state, v, &a, &b, json, params).await;
    }
    if b == "notifications" || b == "notifications.json" {
        return notifications::watch_topic(state, v, &a, json, params).await;
    }
    let id = match id_of(&a) {
        Ok(id) => TopicId(id),
        Err(e) => return fail(e, json),
    };
    match b.as_str() {
        "products" => products::tag_topic(state, v, id, params).await,
        "promote" => kb::promote(state, v, id, params).await,
        "move" => moderate::move_topic(state, v, id, params).await,
        "merge" => moderate::merge(state, v, id, params).await,
        "split" => moderate::split(state, v, id, params).await,
        _ => fail(
            Error::Engine(hearth::Error::NotFound { what: "page" }),
            json,
        ),
    }
}

/// `GET /topics/private-messages/{username}.json`.
async fn inbox_json(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Response {
    api::messages::list(state, v, name, hearth::Mailbox::Inbox, params)
        .await
        .into_response()
}

/// `GET /topics/private-messages-sent/{username}.json`.
async fn sent_json(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Response {
    api::messages::list(state, v, name, hearth::Mailbox::Sent, params)
        .await
        .into_response()
}

async fn vote(AxState(state): AxState<State>, v: Visitor, params: Params) -> Response {
    ideas::vote_api(state, v, params, true).await
}

async fn unvote(AxState(state): AxState<State>, v: Visitor, params: Params) -> Response {
    ideas::vote_api(state, v, params, false).await
}

/// `PUT /t/{id}/status` (Discourse's API for pin, close, archive, unlist).
async fn topic_put(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((a, b)): Path<(String, String)>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if b == "status" || b == "status.json" {
        return moderate::status(state, v, &a, params, true).await;
    }
    // `PUT /t/-/{id}.json`: Discourse's slug placeholder, then the id.
    if a == "-"
        && let Some(id) = topic_id(&b)
    {
        return api::update_topic(state, v, id, params)
            .await
            .into_response();
    }
    if (b == "change-timestamp" || b == "change-timestamp.json")
        && let Some(id) = topic_id(&a)
    {
        return api::topic_tools::change_timestamp(state, v, id, params)
            .await
            .into_response();
    }
    if (b == "bookmark" || b == "bookmark.json")
        && let Some(id) = topic_id(&a)
    {
        return api::bookmark_topic(state, v, id, params)
            .await
            .into_response();
    }
    no_such_path(json)
}

/// A topic id path segment (`42` or `42.json`).
fn topic_id(segment: &str) -> Option<TopicId> {
    is_number(segment)
        .then(|| id_of(segment).ok())
        .flatten()
        .map(TopicId)
}

/// `DELETE /t/{id}.json` (Discourse's `removeTopic`).
async fn topic_delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(a): Path<String>,
    params: Params,
) -> Response {
    match topic_id(&a) {
        Some(id) => api::remove_topic(state, v, id, params)
            .await
            .into_response(),
        None => no_such_path(true),
    }
}

async fn search(
    s: AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    if json {
        api::search(s, v, params).await.into_response()
    } else {
        pages::search(s, v, params).await.into_response()
    }
}

async fn user(
    s: AxState<State>,
    v: Visitor,
    name: Path<String>,
    WantsJson(json): WantsJson,
) -> Response {
    if json {
        api::user(s, v, name).await.into_response()
    } else {
        pages::profile(s, v, name).await.into_response()
    }
}

/// `POST /session.json`: Discourse's sign-in (`login`, `password`); sets
/// the session cookie and answers with the user.
async fn session_json(AxState(state): AxState<State>, v: Visitor, params: Params) -> Response {
    let run = async {
        params.check_csrf(&v)?;
        let login = params.need("login")?;
        let password = params.need("password")?;
        let user = pages::check_credentials(&state, &v, login, password).await?;
        let ttl = state.config.session_ttl;
        let ip = v.ip.to_string();
        let (token, account) = state
            .run(move |s| {
                let (token, _) =
                    crate::auth::start_session(&s.forum, s.config.community, user, ttl, &ip)?;
                Ok((token, s.forum.user(user)?))
            })
            .await?;
        let ctx = api::ctx(&state, &hearth::Actor::User(user))?;
        let body = serde_json::json!({
            "user": {
                "id": account.id.0,
                "username": account.username,
                "name": account.display_name,
                "avatar_template": api::shape::avatar_template(&ctx, &account.username, account.avatar_url.as_deref()),
            }
        });
        let mut res = crate::error::json_response(axum::http::StatusCode::OK, &body);
        let cookie = crate::visitor::set_cookie(
            &state,
            v.secure,
            crate::visitor::SESSION_COOKIE,
            &token,
            ttl.as_secs() as i64,
        );
        if let Ok(h) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, h);
        }
        Ok::<_, Error>(res)
    };
    match run.await {
        Ok(res) => res,
        // What Discourse answers an account that is not activated yet.
        Err(Error::Unconfirmed { email }) => {
            let message = Error::Unconfirmed {
                email: email.clone(),
            }
            .public_message();
            crate::error::json_response(
                axum::http::StatusCode::OK,
                &serde_json::json!({
                    "error": message,
                    "reason": "not_activated",
                    "sent_to_email": email,
                    "current_email": email,
                }),
            )
        }
        Err(e) => ApiError(e).into_response(),
    }
}

async fn plugin_root(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Response {
    pages::plugin_route(state, v, name, String::new(), params)
        .await
        .into_response()
}

async fn plugin_rest(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((name, rest)): Path<(String, String)>,
    params: Params,
) -> Response {
    pages::plugin_route(state, v, name, rest, params)
        .await
        .into_response()
}

async fn css(AxState(state): AxState<State>) -> Response {
    let mut res = state.templates.css.clone().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

async fn icon() -> Response {
    let mut res = templates::ICON.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}

async fn js() -> Response {
    let mut res = templates::JS.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

async fn fallback(WantsJson(json): WantsJson) -> Response {
    if json {
        api::not_found().await
    } else {
        pages::not_found().await.into_response()
    }
}
