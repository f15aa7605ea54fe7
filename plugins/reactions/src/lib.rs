//! `reactions`: emoji reactions on posts (plugin API 0.2).
//!
//! Under each post (`render-items`, slot `post-footer`, one call per page)
//! a row of the operator's emoji, each a `<hearth-action>` button that the
//! host turns into a form; `react` (an action) toggles the member's
//! reaction. Who reacted with what is kept per post in the key-value store
//! (`post/<id>` → `{"👍": [member ids]}`), so a toggle is one read and one
//! write, saved only when the action is done. `GET
//! /plugins/reactions/post/<id>.json` answers the counts, and posts in the
//! JSON API carry them as `reactions` (an API field the host reads from
//! `api/post/reactions/<id>`). A new reaction tells the post's author
//! (notification kind `reacted`, once per member and emoji).

use std::collections::BTreeMap;

use hearth_plugin::{
    ActionOutcome, ActionRequest, Host, HostError, HostExt, ItemFragment, ItemSlot, ItemsContext,
    Notice, Plugin, Request, Response, escape_into,
};

/// The plugin.
pub struct Reactions;

/// The most emoji the row offers (more in the setting are ignored).
pub const MAX_EMOJI: usize = 12;

/// Who reacted with what on one post: emoji → member ids, sorted.
pub type PostReactions = BTreeMap<String, Vec<i64>>;

fn key(post: i64) -> String {
    let mut k = String::from("post/");
    k.push_str(itoa::Buffer::new().format(post));
    k
}

/// Where the host reads the post's `reactions` API field (declared in
/// `plugin.toml`): `[{"id": "👍", "type": "emoji", "count": 2}]`, in the
/// shape Discourse's reactions plugin gives posts.
fn api_key(post: i64) -> String {
    format!("api/post/reactions/{post}")
}

fn api_value(offered: &[String], r: &PostReactions) -> serde_json::Value {
    serde_json::Value::Array(
        counts(offered, r, None)
            .into_iter()
            .filter(|(_, n, _)| *n > 0)
            .map(|(e, n, _)| serde_json::json!({"id": e, "type": "emoji", "count": n}))
            .collect(),
    )
}

/// The emoji offered, from the setting (at most [`MAX_EMOJI`], no blanks,
/// no repeats).
pub fn offered(host: &dyn Host) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in host.setting_as::<Vec<String>>("emoji").unwrap_or_default() {
        let e = e.trim().to_string();
        if !e.is_empty() && !out.contains(&e) && out.len() < MAX_EMOJI {
            out.push(e);
        }
    }
    out
}

fn load(host: &dyn Host, post: i64) -> Result<PostReactions, String> {
    Ok(host
        .kv_get_json::<PostReactions>(&key(post))
        .map_err(|e| e.to_string())?
        .unwrap_or_default())
}

/// Counts per emoji, in the offered order, with whether `viewer` is among
/// them.
fn counts<'a>(
    offered: &'a [String],
    r: &PostReactions,
    viewer: Option<i64>,
) -> Vec<(&'a str, usize, bool)> {
    offered
        .iter()
        .map(|e| {
            let who = r.get(e).map(Vec::as_slice).unwrap_or(&[]);
            (
                e.as_str(),
                who.len(),
                viewer.is_some_and(|v| who.contains(&v)),
            )
        })
        .collect()
}

fn row(post: i64, counts: &[(&str, usize, bool)]) -> String {
    // Built with `push_str` rather than `format!`: a page asks for twenty
    // rows of a dozen buttons, and formatting was half of this render.
    let mut ids = itoa::Buffer::new();
    let post = ids.format(post).to_owned();
    let mut html = String::with_capacity(64 + counts.len() * 110);
    html.push_str(r#"<div class="reactions-row">"#);
    for (emoji, n, mine) in counts {
        let class = if *mine {
            "reactions-mine"
        } else {
            "reactions-other"
        };
        html.push_str(r#"<hearth-action name="react" post=""#);
        html.push_str(&post);
        html.push_str(r#"" value=""#);
        escape_into(&mut html, emoji);
        html.push_str(r#"" class=""#);
        html.push_str(class);
        html.push_str(r#"">"#);
        escape_into(&mut html, emoji);
        if *n != 0 {
            html.push(' ');
            html.push_str(ids.format(*n));
        }
        html.push_str("</hearth-action>");
    }
    html.push_str("</div>");
    html
}

/// Tells the post's author that `viewer` reacted, once per member and
/// emoji however often the reaction is taken back and given again (the
/// host tells nobody about their own reaction). Without `read` or
/// `notify` granted, nobody is told and the reaction still counts.
fn tell_author(host: &dyn Host, post: i64, viewer: i64, emoji: &str) -> Result<(), String> {
    let Ok(Some(p)) = host.post(post) else {
        return Ok(());
    };
    let who = match host.member(viewer) {
        Ok(Some(m)) => m.username,
        _ => "Someone".into(),
    };
    let title = match host.topic(p.topic) {
        Ok(Some(t)) => t.title,
        _ => String::new(),
    };
    let mut text = format!("{who} reacted {emoji} to your post");
    if !title.is_empty() {
        text.push_str(&format!(" in “{title}”"));
    }
    let text: String = text.chars().take(300).collect();
    let notice = Notice {
        member: p.author,
        kind: "reacted".into(),
        topic: None,
        post: Some(post),
        text,
        dedupe_key: format!("reacted/{post}/{viewer}/{emoji}"),
    };
    match host.notify(&notice) {
        Ok(()) | Err(HostError::Denied(_)) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

impl Plugin for Reactions {
    fn action(host: &dyn Host, req: ActionRequest) -> Result<ActionOutcome, String> {
        let Some(post) = req.post else {
            return Ok(ActionOutcome::Refused("name the post to react to".into()));
        };
        let Some(viewer) = req.viewer else {
            return Ok(ActionOutcome::Refused("sign in to react".into()));
        };
        let offered = offered(host);
        let Some(emoji) = req
            .field("value")
            .filter(|v| offered.iter().any(|e| e == v))
        else {
            return Ok(ActionOutcome::Refused(format!(
                "react with one of {}",
                offered.join(" ")
            )));
        };
        let mut r = load(host, post)?;
        let who = r.entry(emoji.to_string()).or_default();
        let added = match who.binary_search(&viewer) {
            Ok(at) => {
                who.remove(at);
                false
            }
            Err(at) => {
                who.insert(at, viewer);
                true
            }
        };
        r.retain(|_, who| !who.is_empty());
        if r.is_empty() {
            host.kv_delete(&key(post)).map_err(|e| e.to_string())?;
            host.kv_delete(&api_key(post)).map_err(|e| e.to_string())?;
        } else {
            host.kv_set_json(&key(post), &r)
                .map_err(|e| e.to_string())?;
            host.kv_set_json(&api_key(post), &api_value(&offered, &r))
                .map_err(|e| e.to_string())?;
        }
        if added {
            tell_author(host, post, viewer, emoji)?;
        }
        Ok(ActionOutcome::done_json(&json_of(
            post,
            &counts(&offered, &r, Some(viewer)),
        )))
    }

    fn render_items(host: &dyn Host, ctx: ItemsContext) -> Result<Vec<ItemFragment>, String> {
        if ctx.slot != ItemSlot::PostFooter {
            return Ok(Vec::new());
        }
        let offered = offered(host);
        if offered.is_empty() {
            return Ok(Vec::new());
        }
        // One read for the whole page.
        let keys: Vec<String> = ctx.items.iter().map(|&p| key(p)).collect();
        let all = host
            .kv_get_many_json::<PostReactions>(&keys)
            .map_err(|e| e.to_string())?;
        Ok(ctx
            .items
            .iter()
            .zip(all)
            .map(|(&post, r)| ItemFragment {
                item: post,
                html: row(post, &counts(&offered, &r.unwrap_or_default(), ctx.viewer)),
            })
            .collect())
    }

    fn route(host: &dyn Host, req: Request) -> Result<Option<Response>, String> {
        let Some(id) = req
            .path
            .strip_prefix("/post/")
            .and_then(|p| p.strip_suffix(".json"))
            .and_then(|p| p.parse::<i64>().ok())
        else {
            return Ok(None);
        };
        let r = load(host, id)?;
        Ok(Some(Response::json(&json_of(
            id,
            &counts(&offered(host), &r, req.viewer),
        ))))
    }
}

/// `{"post": 12, "reactions": [{"emoji": "👍", "count": 3, "reacted": true}]}`.
fn json_of(post: i64, counts: &[(&str, usize, bool)]) -> serde_json::Value {
    serde_json::json!({
        "post": post,
        "reactions": counts
            .iter()
            .map(|(e, n, mine)| serde_json::json!({"emoji": e, "count": n, "reacted": mine}))
            .collect::<Vec<_>>(),
    })
}

hearth_plugin::register_plugin!(Reactions);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hearth_plugin::testing::FakeHost;

    fn host() -> FakeHost {
        FakeHost::default().with_setting("emoji", ["👍", "🎉", "👍", " "])
    }

    fn react(host: &FakeHost, viewer: i64, post: i64, emoji: &str) -> ActionOutcome {
        host.take_action::<Reactions>(ActionRequest {
            community: 1,
            name: "react".into(),
            viewer: Some(viewer),
            post: Some(post),
            topic: Some(1),
            fields: vec![("value".into(), emoji.into())],
        })
        .unwrap()
    }

    #[test]
    fn a_row_is_escaped_and_counted() {
        let counts = vec![("👍", 12, true), (r#"<b>"&'"#, 0, false)];
        assert_eq!(
            row(-7, &counts),
            concat!(
                r#"<div class="reactions-row">"#,
                r#"<hearth-action name="react" post="-7" value="👍" class="reactions-mine">👍 12</hearth-action>"#,
                r#"<hearth-action name="react" post="-7" value="&lt;b&gt;&quot;&amp;&#39;" class="reactions-other">&lt;b&gt;&quot;&amp;&#39;</hearth-action>"#,
                "</div>"
            )
        );
    }

    #[test]
    fn offered_emoji_are_cleaned() {
        assert_eq!(offered(&host()), ["👍", "🎉"]);
        let many: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
        let h = FakeHost::default().with_setting("emoji", &many);
        assert_eq!(offered(&h).len(), MAX_EMOJI);
    }

    #[test]
    fn a_reaction_toggles_and_counts() {
        let h = host();
        react(&h, 7, 12, "👍");
        react(&h, 8, 12, "👍");
        let out = react(&h, 8, 12, "🎉");
        let ActionOutcome::Done { json: Some(j), .. } = out else {
            panic!("{out:?}")
        };
        let j: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(
            j["reactions"][0],
            serde_json::json!({"emoji": "👍", "count": 2, "reacted": true})
        );
        assert_eq!(j["reactions"][1]["count"], 1);
        // The API field the host adds to the post's JSON.
        let field: serde_json::Value =
            serde_json::from_slice(&h.kv.borrow()["api/post/reactions/12"]).unwrap();
        assert_eq!(
            field,
            serde_json::json!([
                {"id": "👍", "type": "emoji", "count": 2},
                {"id": "🎉", "type": "emoji", "count": 1}
            ])
        );
        // Again: taken back.
        react(&h, 7, 12, "👍");
        react(&h, 8, 12, "👍");
        react(&h, 8, 12, "🎉");
        assert!(h.kv.borrow().is_empty(), "an empty post leaves no key");
    }

    #[test]
    fn a_new_reaction_tells_the_author_once_per_member_and_emoji() {
        let mut h = host();
        h.posts.insert(
            12,
            hearth_plugin::PostInfo {
                id: 12,
                topic: 3,
                author: 5,
                number: 2,
                created_at: 0,
                like_count: 0,
                body: "Hi".into(),
            },
        );
        react(&h, 7, 12, "👍");
        react(&h, 7, 12, "👍"); // taken back: nobody is told
        let n = h.notices.borrow().clone();
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0].member, 5);
        assert_eq!(n[0].post, Some(12));
        assert_eq!(n[0].kind, "reacted");
        assert_eq!(n[0].text, "Someone reacted 👍 to your post");
        // Given again: the same key, which the host sends only once.
        react(&h, 7, 12, "👍");
        assert_eq!(h.notices.borrow()[1].dedupe_key, n[0].dedupe_key);
        // A refused reaction queues nothing.
        react(&h, 8, 12, "💩");
        assert_eq!(h.notices.borrow().len(), 2);
    }

    #[test]
    fn unknown_emoji_and_missing_posts_are_refused_and_save_nothing() {
        let h = host();
        assert!(matches!(react(&h, 7, 12, "💩"), ActionOutcome::Refused(m) if m.contains("👍")));
        let out = h
            .take_action::<Reactions>(ActionRequest {
                community: 1,
                name: "react".into(),
                viewer: Some(7),
                post: None,
                topic: None,
                fields: vec![("value".into(), "👍".into())],
            })
            .unwrap();
        assert!(matches!(out, ActionOutcome::Refused(_)));
        assert!(h.kv.borrow().is_empty());
    }

    #[test]
    fn one_batched_render_for_every_post_of_a_page() {
        let mut h = host();
        react(&h, 7, 12, "🎉");
        h.read_only = true;
        let ctx = ItemsContext {
            community: 1,
            slot: ItemSlot::PostFooter,
            path: "/t/x/1".into(),
            viewer: Some(7),
            topic: Some(1),
            items: vec![11, 12],
        };
        let out = Reactions::render_items(&h, ctx).unwrap();
        assert_eq!(out.len(), 2);
        assert!(
            out[0]
                .html
                .contains(r#"value="🎉" class="reactions-other">🎉</hearth-action>"#)
        );
        assert!(
            out[1]
                .html
                .contains(r#"value="🎉" class="reactions-mine">🎉 1</hearth-action>"#)
        );
    }
}
