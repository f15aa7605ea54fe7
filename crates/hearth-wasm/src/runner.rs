//! Running one hook by hand: the engine behind `hearth-plugin run`.

use hearth::{Actor, CommunityId};

use crate::bindings;
use crate::error::{Error, Result};
use crate::host::{HookRun, PluginHost};
use crate::manifest::Hook;

fn bad_input(hook: Hook, e: impl std::fmt::Display) -> Error {
    Error::Manifest(format!("input for {hook}: {e}"))
}

fn field<T: for<'a> serde::Deserialize<'a>>(
    v: &serde_json::Value,
    key: &str,
    hook: Hook,
) -> Result<T> {
    serde_json::from_value(v.get(key).cloned().unwrap_or(serde_json::Value::Null))
        .map_err(|e| bad_input(hook, format!("{key}: {e}")))
}

pub(crate) fn run_hook(
    host: &PluginHost,
    actor: &Actor,
    community: CommunityId,
    name: &str,
    hook: Hook,
    input: &serde_json::Value,
) -> Result<HookRun> {
    let (loaded, stats, enabled) = host
        .targets(community, hook)?
        .into_iter()
        .find(|(l, _, _)| l.manifest.name == name)
        .ok_or_else(|| Error::NotEnabled {
            plugin: name.into(),
            reason: Some(match host.status(name).ok().and_then(|s| s.disabled) {
                Some(why) => why,
                None => format!("not enabled in this community, or it has no {hook} hook"),
            }),
        })?;
    let limits = host.config().limits_for(hook, &loaded.manifest.limits);
    let out = match hook {
        Hook::FilterPost => {
            let draft: hearth::PostDraft =
                serde_json::from_value(input.clone()).map_err(|e| bad_input(hook, e))?;
            let wit = crate::host::to_wit_draft(&draft, &draft.body);
            host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                Actor::System,
                |s, p| {
                    Ok(p.filter_post(s, &wit)?.map(|v| match v {
                        bindings::Verdict::Allow => serde_json::json!({"action": "allow"}),
                        bindings::Verdict::Rewrite(body) => {
                            serde_json::json!({"action": "rewrite", "body": body})
                        }
                        bindings::Verdict::Queue(reason) => {
                            serde_json::json!({"action": "queue", "reason": reason})
                        }
                        bindings::Verdict::Reject(reason) => {
                            serde_json::json!({"action": "reject", "reason": reason})
                        }
                    }))
                },
            )
        }
        Hook::OnEvent => {
            let events: Vec<hearth::Event> =
                serde_json::from_value(input.clone()).map_err(|e| bad_input(hook, e))?;
            let wit: Vec<bindings::Event> =
                events.iter().map(crate::delivery::to_wit_event).collect();
            host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                Actor::System,
                |s, p| Ok(p.on_event(s, &wit)?.map(|()| serde_json::json!(null))),
            )
        }
        Hook::Render => {
            let slot: crate::host::Slot = field(input, "slot", hook)?;
            let ctx = bindings::RenderContext {
                community: community.0,
                slot: slot.to_wit(),
                path: field::<Option<String>>(input, "path", hook)?.unwrap_or_else(|| "/".into()),
                viewer: field(input, "viewer", hook)?,
                topic: field(input, "topic", hook)?,
                member: field(input, "member", hook)?,
            };
            host.call(&loaded, &stats, &enabled, community, hook, *actor, |s, p| {
                Ok(p.render(s, &ctx)?.map(|html| match html {
                    Some(h) if h.len() > limits.max_output => serde_json::json!({
                        "error": format!("{} bytes exceeds the output cap of {}", h.len(), limits.max_output)
                    }),
                    Some(h) => serde_json::json!({
                        "html": h.clone(),
                        "sanitized": crate::plugin_html::sanitize(name, &h),
                    }),
                    None => serde_json::json!(null),
                }))
            })
        }
        Hook::Route => {
            let req = bindings::Request {
                community: community.0,
                path: field::<Option<String>>(input, "path", hook)?.unwrap_or_else(|| "/".into()),
                query: field::<Option<Vec<(String, String)>>>(input, "query", hook)?
                    .unwrap_or_default(),
                viewer: field(input, "viewer", hook)?,
            };
            host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                *actor,
                |s, p| {
                    Ok(p.route(s, &req)?.map(|r| {
                        serde_json::json!(r.map(|r| serde_json::json!({
                            "status": r.status, "content_type": r.content_type, "body": r.body,
                        })))
                    }))
                },
            )
        }
        Hook::OnSchedule => {
            let now = crate::call::millis(host.forum().now());
            host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                Actor::System,
                |s, p| {
                    Ok(p.on_schedule(s, community.0, now)?
                        .map(|()| serde_json::json!(null)))
                },
            )
        }
        Hook::Action => {
            let req = bindings::ActionRequest {
                community: community.0,
                name: field(input, "name", hook)?,
                viewer: field::<Option<i64>>(input, "viewer", hook)?
                    .or(crate::host::viewer_id(actor)),
                post: field(input, "post", hook)?,
                topic: field(input, "topic", hook)?,
                fields: field::<Option<Vec<(String, String)>>>(input, "fields", hook)?
                    .unwrap_or_default(),
            };
            let mut out = host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                *actor,
                |s, p| {
                    Ok(p.action(s, &req)?.map(|o| match o {
                        bindings::ActionOutcome::Done(d) => serde_json::json!({
                            "done": {"message": d.message, "redirect": d.redirect, "json": d.json}
                        }),
                        bindings::ActionOutcome::Refused(reason) => {
                            serde_json::json!({ "refused": reason })
                        }
                    }))
                },
            );
            // As on the site: a refusal saves nothing.
            if out
                .result
                .as_ref()
                .is_ok_and(|v| v.get("refused").is_some())
            {
                out.writes.clear();
            }
            out
        }
        Hook::RenderItems => {
            let slot: crate::manifest::ItemSlot = field(input, "slot", hook)?;
            let ctx = bindings::ItemsContext {
                community: community.0,
                slot: crate::items::slot_to_wit(slot),
                path: field::<Option<String>>(input, "path", hook)?.unwrap_or_else(|| "/".into()),
                viewer: field::<Option<i64>>(input, "viewer", hook)?
                    .or(crate::host::viewer_id(actor)),
                topic: field(input, "topic", hook)?,
                items: field::<Option<Vec<i64>>>(input, "items", hook)?.unwrap_or_default(),
            };
            host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                *actor,
                |s, p| {
                    Ok(p.render_items(s, &ctx)?.map(|items| {
                        serde_json::Value::Array(
                            items
                                .into_iter()
                                .map(|f| {
                                    serde_json::json!({
                                        "item": f.item,
                                        "sanitized": crate::plugin_html::sanitize(name, &f.html),
                                        "html": f.html,
                                    })
                                })
                                .collect(),
                        )
                    }))
                },
            )
        }
        Hook::RenderMarkup => {
            let blocks: Vec<hearth::MarkupBlock> = field(input, "blocks", hook)?;
            let args = crate::markup::to_wit(community, &blocks);
            let clean = hearth::Sanitizer::for_markup(&hearth::CommunitySettings::default(), name)
                .map_err(|e| Error::Runtime(e.to_string()))?;
            host.call(
                &loaded,
                &stats,
                &enabled,
                community,
                hook,
                Actor::System,
                |s, p| {
                    Ok(p.render_markup(s, &args)?.map(|answers| {
                        serde_json::Value::Array(
                            answers
                                .into_iter()
                                .map(|a| match a {
                                    None => serde_json::json!(null),
                                    Some(a) => serde_json::json!({
                                        "sanitized": clean.clean(&a.html),
                                        "html": a.html,
                                        "text": a.text,
                                    }),
                                })
                                .collect(),
                        )
                    }))
                },
            )
        }
    };
    let mut sent = None;
    if out.result.is_ok() && !hook.read_only() && !out.writes.is_empty() {
        sent = Some(host.commit(name, community, &out.writes, &[])?);
    }
    Ok(HookRun {
        result: out.result,
        logs: out.logs,
        usage: out.usage,
        limits,
        notices: out.writes.notices,
        sent,
    })
}
