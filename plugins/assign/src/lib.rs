//! `assign`: staff assign a topic to a staff member (plugin API 0.2), as
//! Discourse's assign plugin does for support teams.
//!
//! - On a topic page (`render`, slot `topic-footer`) who has the topic, and
//!   for staff the buttons "Assign to me" and "Unassign" (`<hearth-action>`
//!   forms the host makes). JSON callers assign anyone on the staff by
//!   member id (`value`).
//! - On topic lists (`render-items`, slot `topic-list-badge`, one call per
//!   page) a badge naming the assignee.
//! - The assignee is told (notification kind `assigned`, e-mailed by
//!   default) unless they assigned themselves.
//! - `GET /plugins/assign/mine` (and `mine.json`): the topics assigned to
//!   the viewer that they may still read.
//! - Topics' JSON carries `assigned_to_user` (`{"id", "username"}`), read by
//!   the host from `api/topic/assigned_to_user/<id>`.
//!
//! The store: `topic/<id>` → [`Assignment`]; `member/<id>/<topic, 20
//! digits>` → the index "assigned to me" walks.

use hearth_plugin::{
    ActionOutcome, ActionRequest, Host, HostError, HostExt, ItemFragment, ItemSlot, ItemsContext,
    Notice, Plugin, RenderContext, Request, Response, Slot, escape,
};
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct Assign;

/// Who has a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The assignee's member id.
    pub member: i64,
    /// Their username when assigned (shown on lists without a read).
    pub username: String,
    /// Who assigned it.
    pub by: i64,
    /// When, in milliseconds since the epoch.
    pub at: i64,
}

/// The most topics "assigned to me" lists.
pub const MAX_MINE: u32 = 100;

fn topic_key(topic: i64) -> String {
    format!("topic/{topic}")
}

fn index_key(member: i64, topic: i64) -> String {
    format!("member/{member}/{topic:020}")
}

fn api_key(topic: i64) -> String {
    format!("api/topic/assigned_to_user/{topic}")
}

fn err(e: HostError) -> String {
    e.to_string()
}

fn assignment(host: &dyn Host, topic: i64) -> Result<Option<Assignment>, String> {
    host.kv_get_json(&topic_key(topic)).map_err(err)
}

/// The viewer, if they are on the staff.
fn staff(host: &dyn Host, viewer: Option<i64>) -> Option<hearth_plugin::MemberInfo> {
    let m = host.member(viewer?).ok()??;
    m.is_staff().then_some(m)
}

fn unassign(host: &dyn Host, topic: i64, current: &Assignment) -> Result<(), String> {
    host.kv_delete(&topic_key(topic)).map_err(err)?;
    host.kv_delete(&index_key(current.member, topic))
        .map_err(err)?;
    host.kv_delete(&api_key(topic)).map_err(err)
}

fn assign(
    host: &dyn Host,
    by: &hearth_plugin::MemberInfo,
    topic: i64,
    value: Option<&str>,
) -> Result<ActionOutcome, String> {
    let to = match value {
        None | Some("") => by.id,
        Some(v) => match v.parse::<i64>() {
            Ok(id) => id,
            Err(_) => return Ok(ActionOutcome::Refused("name the member by id".into())),
        },
    };
    let assignee = if to == by.id {
        by.clone()
    } else {
        match host.member(to).map_err(err)? {
            Some(m) if m.is_staff() => m,
            Some(m) => {
                return Ok(ActionOutcome::Refused(format!(
                    "{} is not on the staff; topics are assigned to staff",
                    m.username
                )));
            }
            None => return Ok(ActionOutcome::Refused("no such member".into())),
        }
    };
    let current = assignment(host, topic)?;
    if current.as_ref().is_some_and(|a| a.member == assignee.id) {
        return Ok(message(format!(
            "Already assigned to {}",
            assignee.username
        )));
    }
    if let Some(old) = &current {
        unassign(host, topic, old)?;
    }
    let now = host.now();
    let a = Assignment {
        member: assignee.id,
        username: assignee.username.clone(),
        by: by.id,
        at: now,
    };
    host.kv_set_json(&topic_key(topic), &a).map_err(err)?;
    host.kv_set(&index_key(assignee.id, topic), b"")
        .map_err(err)?;
    host.kv_set_json(
        &api_key(topic),
        &serde_json::json!({"id": assignee.id, "username": assignee.username}),
    )
    .map_err(err)?;
    let title = match host.topic(topic) {
        Ok(Some(t)) => t.title,
        _ => "a topic".into(),
    };
    let text: String = format!("{} assigned “{title}” to you", by.username)
        .chars()
        .take(300)
        .collect();
    let notice = Notice {
        member: assignee.id,
        kind: "assigned".into(),
        topic: Some(topic),
        post: None,
        text,
        // One notice per assignment: assigned again later, told again.
        dedupe_key: format!("assigned/{topic}/{}/{now}", assignee.id),
    };
    match host.notify(&notice) {
        Ok(()) | Err(HostError::Denied(_)) => {}
        Err(e) => return Err(err(e)),
    }
    Ok(message(format!("Assigned to {}", assignee.username)))
}

fn message(text: String) -> ActionOutcome {
    ActionOutcome::Done {
        message: Some(text),
        redirect: None,
        json: None,
    }
}

fn badge(a: &Assignment) -> String {
    format!(
        r#"<span class="assign-badge" title="Assigned to {0}">👤 {0}</span>"#,
        escape(&a.username)
    )
}

impl Plugin for Assign {
    fn action(host: &dyn Host, req: ActionRequest) -> Result<ActionOutcome, String> {
        let Some(topic) = req.topic else {
            return Ok(ActionOutcome::Refused("name the topic".into()));
        };
        let Some(viewer) = req.viewer else {
            return Ok(ActionOutcome::Refused("sign in first".into()));
        };
        let by = staff(host, Some(viewer));
        match req.name.as_str() {
            "assign" => match by {
                Some(by) => assign(host, &by, topic, req.field("value")),
                None => Ok(ActionOutcome::Refused("only staff assign topics".into())),
            },
            "unassign" => {
                let Some(current) = assignment(host, topic)? else {
                    return Ok(message("Not assigned".into()));
                };
                if by.is_none() && current.member != viewer {
                    return Ok(ActionOutcome::Refused(
                        "only staff and the assignee unassign a topic".into(),
                    ));
                }
                unassign(host, topic, &current)?;
                Ok(message("Unassigned".into()))
            }
            other => Ok(ActionOutcome::Refused(format!("no action {other}"))),
        }
    }

    fn render(host: &dyn Host, ctx: RenderContext) -> Result<Option<String>, String> {
        if ctx.slot != Slot::TopicFooter {
            return Ok(None);
        }
        let Some(topic) = ctx.topic else {
            return Ok(None);
        };
        let current = assignment(host, topic)?;
        let is_staff = staff(host, ctx.viewer).is_some();
        let mine = current
            .as_ref()
            .is_some_and(|a| Some(a.member) == ctx.viewer);
        if current.is_none() && !is_staff {
            return Ok(None);
        }
        let mut html = String::from(r#"<div class="assign-status">"#);
        match &current {
            Some(a) => html.push_str(&format!(
                r#"<p>Assigned to <a href="/u/{0}">{0}</a></p>"#,
                escape(&a.username)
            )),
            None => html.push_str("<p>Not assigned</p>"),
        }
        if is_staff && !mine {
            html.push_str(&format!(
                r#"<hearth-action name="assign" topic="{topic}" class="assign-me">Assign to me</hearth-action>"#
            ));
        }
        if current.is_some() && (is_staff || mine) {
            html.push_str(&format!(
                r#"<hearth-action name="unassign" topic="{topic}" class="assign-drop">Unassign</hearth-action>"#
            ));
        }
        html.push_str("</div>");
        Ok(Some(html))
    }

    fn render_items(host: &dyn Host, ctx: ItemsContext) -> Result<Vec<ItemFragment>, String> {
        if ctx.slot != ItemSlot::TopicListBadge {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ctx.items.iter().map(|t| topic_key(*t)).collect();
        let found: Vec<Option<Assignment>> = host.kv_get_many_json(&keys).map_err(err)?;
        Ok(ctx
            .items
            .iter()
            .zip(found)
            .filter_map(|(t, a)| {
                a.map(|a| ItemFragment {
                    item: *t,
                    html: badge(&a),
                })
            })
            .collect())
    }

    fn route(host: &dyn Host, req: Request) -> Result<Option<Response>, String> {
        let json = match req.path.as_str() {
            "/mine" => false,
            "/mine.json" => true,
            _ => return Ok(None),
        };
        let Some(viewer) = req.viewer else {
            let body = "Sign in to see the topics assigned to you.";
            return Ok(Some(Response {
                status: 403,
                content_type: if json {
                    "application/json"
                } else {
                    "text/html"
                }
                .into(),
                body: if json {
                    serde_json::json!({"error": body}).to_string()
                } else {
                    format!("<p>{body}</p>")
                },
            }));
        };
        let index = host
            .kv_list(&format!("member/{viewer}/"), "", MAX_MINE)
            .map_err(err)?;
        let mut topics = Vec::new();
        for (key, _) in index {
            let Some(id) = key.rsplit('/').next().and_then(|t| t.parse::<i64>().ok()) else {
                continue;
            };
            // As the viewer: a topic they may no longer read is left out.
            if let Ok(Some(t)) = host.topic(id) {
                topics.push(t);
            }
        }
        if json {
            let list: Vec<serde_json::Value> = topics
                .iter()
                .map(|t| serde_json::json!({"id": t.id, "title": t.title, "slug": t.slug, "closed": t.closed}))
                .collect();
            return Ok(Some(Response::json(&serde_json::json!({"topics": list}))));
        }
        let mut html = String::from("<h1>Assigned to you</h1>");
        if topics.is_empty() {
            html.push_str(
                "<p>Nothing is assigned to you. Staff assign topics from the topic page.</p>",
            );
        } else {
            html.push_str("<ul class=\"assign-mine\">");
            for t in &topics {
                html.push_str(&format!(
                    r#"<li><a href="/t/{}/{}">{}</a></li>"#,
                    escape(&t.slug),
                    t.id,
                    escape(&t.title)
                ));
            }
            html.push_str("</ul>");
        }
        Ok(Some(Response::html(html)))
    }
}

hearth_plugin::register_plugin!(Assign);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use hearth_plugin::testing::FakeHost;
    use hearth_plugin::{MemberInfo, TopicInfo};

    fn member(id: i64, name: &str, role: &str) -> MemberInfo {
        MemberInfo {
            id,
            username: name.into(),
            display_name: name.into(),
            role: role.into(),
            trust_level: 1,
            joined_at: 0,
        }
    }

    fn host() -> FakeHost {
        let mut h = FakeHost::default();
        h.now = 1_000;
        for m in [
            member(1, "sam", "staff"),
            member(2, "mo", "moderator"),
            member(3, "ann", "member"),
        ] {
            h.members.insert(m.id, m);
        }
        h.topics.insert(
            9,
            TopicInfo {
                id: 9,
                category: 1,
                category_kind: "question_and_answer".into(),
                title: "Printer offline".into(),
                slug: "printer-offline".into(),
                author: 3,
                created_at: 0,
                reply_count: 0,
                accepted_answer: None,
                closed: false,
            },
        );
        h
    }

    fn act(h: &FakeHost, name: &str, viewer: i64, value: Option<&str>) -> ActionOutcome {
        h.take_action::<Assign>(ActionRequest {
            community: 1,
            name: name.into(),
            viewer: Some(viewer),
            post: None,
            topic: Some(9),
            fields: value
                .map(|v| vec![("value".to_string(), v.to_string())])
                .unwrap_or_default(),
        })
        .unwrap()
    }

    #[test]
    fn staff_assign_the_assignee_is_told_and_lists_show_it() {
        let h = host();
        // sam assigns mo: mo is told, once.
        assert!(matches!(
            act(&h, "assign", 1, Some("2")),
            ActionOutcome::Done { .. }
        ));
        let told = h.notices.borrow().clone();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].member, 2);
        assert_eq!(told[0].topic, Some(9));
        assert_eq!(told[0].text, "sam assigned “Printer offline” to you");
        assert_eq!(
            assignment(&h, 9).unwrap().unwrap().username,
            "mo",
            "kept for lists"
        );
        let api: serde_json::Value =
            serde_json::from_slice(&h.kv.borrow()["api/topic/assigned_to_user/9"]).unwrap();
        assert_eq!(api, serde_json::json!({"id": 2, "username": "mo"}));
        // The list badge, one batched call.
        let badges = Assign::render_items(
            &h,
            ItemsContext {
                community: 1,
                slot: ItemSlot::TopicListBadge,
                path: "/latest".into(),
                viewer: None,
                topic: None,
                items: vec![8, 9],
            },
        )
        .unwrap();
        assert_eq!(badges.len(), 1);
        assert_eq!(badges[0].item, 9);
        assert!(badges[0].html.contains("👤 mo"));
        // sam takes it over: mo's index entry goes, sam (assigning
        // themselves) is the actor, so the host tells nobody — the fake
        // host queues it, the real one drops it as the actor's own.
        act(&h, "assign", 1, None);
        let kv = h.kv.borrow();
        assert!(kv.contains_key(&index_key(1, 9)));
        assert!(!kv.contains_key(&index_key(2, 9)));
    }

    #[test]
    fn members_may_not_assign_and_only_staff_are_assignees() {
        let h = host();
        assert!(
            matches!(act(&h, "assign", 3, None), ActionOutcome::Refused(m) if m.contains("only staff"))
        );
        assert!(
            matches!(act(&h, "assign", 1, Some("3")), ActionOutcome::Refused(m) if m.contains("not on the staff"))
        );
        assert!(matches!(
            act(&h, "assign", 1, Some("x")),
            ActionOutcome::Refused(_)
        ));
        assert!(matches!(
            act(&h, "assign", 1, Some("77")),
            ActionOutcome::Refused(_)
        ));
        assert!(h.kv.borrow().is_empty(), "refusals save nothing");
        assert!(h.notices.borrow().is_empty());
        // The assignee may hand it back; another member may not.
        act(&h, "assign", 1, Some("2"));
        assert!(matches!(
            act(&h, "unassign", 3, None),
            ActionOutcome::Refused(_)
        ));
        assert!(matches!(
            act(&h, "unassign", 2, None),
            ActionOutcome::Done { .. }
        ));
        assert!(h.kv.borrow().is_empty(), "unassigning leaves no key");
    }

    #[test]
    fn the_topic_footer_offers_staff_the_buttons_and_members_only_the_name() {
        let h = host();
        let footer = |viewer: Option<i64>| {
            Assign::render(
                &h,
                RenderContext {
                    community: 1,
                    slot: Slot::TopicFooter,
                    path: "/t/printer-offline/9".into(),
                    viewer,
                    topic: Some(9),
                    member: None,
                },
            )
            .unwrap()
        };
        assert_eq!(footer(Some(3)), None, "nothing to say to a member yet");
        assert!(
            footer(Some(1))
                .unwrap()
                .contains(r#"name="assign" topic="9""#)
        );
        act(&h, "assign", 1, Some("2"));
        let member = footer(None).unwrap();
        assert!(member.contains("Assigned to <a href=\"/u/mo\">mo</a>"));
        assert!(!member.contains("hearth-action"));
        let mo = footer(Some(2)).unwrap();
        assert!(mo.contains("unassign") && !mo.contains("Assign to me"));
    }

    #[test]
    fn mine_lists_what_the_viewer_may_read() {
        let h = host();
        act(&h, "assign", 1, Some("2"));
        let get = |viewer: Option<i64>, path: &str| {
            Assign::route(
                &h,
                Request {
                    community: 1,
                    path: path.into(),
                    query: vec![],
                    viewer,
                },
            )
            .unwrap()
            .unwrap()
        };
        let page = get(Some(2), "/mine");
        assert!(
            page.body
                .contains(r#"<a href="/t/printer-offline/9">Printer offline</a>"#)
        );
        let json: serde_json::Value =
            serde_json::from_str(&get(Some(2), "/mine.json").body).unwrap();
        assert_eq!(json["topics"][0]["id"], 9);
        assert!(get(Some(1), "/mine").body.contains("Nothing is assigned"));
        assert_eq!(get(None, "/mine").status, 403);
    }
}
