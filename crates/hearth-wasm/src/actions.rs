//! Actions (API 0.2): what members do to a plugin — vote, react, assign —
//! posted to `/plugins/<name>/a/<action>`. The web layer checks sign-in,
//! the form token and the rate limit; the host checks what the member named
//! (they may read the post and topic), runs the plugin as that member and
//! saves its key-value writes only when it answers `done`.

use hearth::{Actor, CommunityId, PostId, TopicId};
use serde::Serialize;

use crate::bindings::{ActionOutcome, ActionRequest};
use crate::error::{Error, Result};
use crate::host::PluginHost;
use crate::manifest::{ActionSpec, Hook};

/// The most form fields an action passes on.
pub const MAX_ACTION_FIELDS: usize = 50;
/// The largest field value an action passes on, in bytes.
pub const MAX_ACTION_FIELD: usize = 10 << 10;
/// The longest message or refusal a plugin may show, in bytes.
const MAX_MESSAGE: usize = 500;

/// What a member sent with an action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionInput {
    /// The post it is about (field `post`).
    pub post: Option<PostId>,
    /// The topic it is about (field `topic`).
    pub topic: Option<TopicId>,
    /// The other fields, without the site's own
    /// (`authenticity_token`, `return_to`).
    pub fields: Vec<(String, String)>,
}

/// What an action came to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ActionReply {
    /// Done; the plugin's writes are saved.
    Done {
        /// A short line to show the member.
        message: Option<String>,
        /// A path on this site to return to (starts with one `/`).
        redirect: Option<String>,
        /// A JSON document for callers that asked for JSON.
        data: Option<serde_json::Value>,
    },
    /// Refused (by the plugin, or because the member named something they
    /// cannot see); nothing was saved.
    Refused {
        /// Why, to show the member.
        reason: String,
    },
}

impl PluginHost {
    /// The action `action` of plugin `plugin`, if the plugin is enabled and
    /// running in `community` and declares it.
    pub fn action_spec(
        &self,
        community: CommunityId,
        plugin: &str,
        action: &str,
    ) -> Option<ActionSpec> {
        let targets = self.targets(community, Hook::Action).ok()?;
        let (loaded, _, _) = targets.iter().find(|(l, _, _)| l.manifest.name == plugin)?;
        loaded.manifest.action(action).cloned()
    }

    /// Runs a member's action. `Ok(None)`: no such action here (a 404).
    /// A guest taking an action not declared `guests = true` gets
    /// [`Error::Forbidden`]. A post or topic the actor cannot read is
    /// refused before the plugin runs. Key-value writes are saved only if
    /// the plugin answers `done`; a malformed answer is the plugin's
    /// failure and saves nothing.
    pub fn action(
        &self,
        actor: &Actor,
        community: CommunityId,
        plugin: &str,
        action: &str,
        input: &ActionInput,
    ) -> Result<Option<ActionReply>> {
        let Some((loaded, stats, enabled)) = self
            .targets(community, Hook::Action)?
            .into_iter()
            .find(|(l, _, _)| l.manifest.name == plugin)
        else {
            return Ok(None);
        };
        let Some(spec) = loaded.manifest.action(action) else {
            return Ok(None);
        };
        if *actor == Actor::Guest && !spec.guests {
            return Err(Error::Forbidden(format!(
                "sign in to use {action} ({plugin})"
            )));
        }
        let refused = |reason: String| Ok(Some(ActionReply::Refused { reason }));
        if input.fields.len() > MAX_ACTION_FIELDS {
            return refused(format!("at most {MAX_ACTION_FIELDS} fields"));
        }
        if let Some((k, _)) = input
            .fields
            .iter()
            .find(|(k, v)| k.len() > 100 || v.len() > MAX_ACTION_FIELD)
        {
            return refused(format!(
                "field {:?} is too long (names up to 100 bytes, values up to {MAX_ACTION_FIELD})",
                truncate(k, 100)
            ));
        }
        let forum = self.forum();
        let mut topic = input.topic;
        if let Some(post) = input.post {
            match forum.post(actor, community, post) {
                Ok(p) if !p.deleted => {
                    if topic.is_some_and(|t| t != p.topic) {
                        return refused(format!("post {} is not in topic {}", post.0, p.topic.0));
                    }
                    topic = Some(p.topic);
                }
                Ok(_) | Err(hearth::Error::NotFound { .. }) => {
                    return refused(format!("post {} is not there", post.0));
                }
                Err(e) => return Err(e.into()),
            }
        } else if let Some(t) = topic {
            match forum.topic_only(actor, community, t) {
                Ok(_) => {}
                Err(hearth::Error::NotFound { .. } | hearth::Error::Moved { .. }) => {
                    return refused(format!("topic {} is not there", t.0));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let req = ActionRequest {
            community: community.0,
            name: action.to_string(),
            viewer: crate::host::viewer_id(actor),
            post: input.post.map(|p| p.0),
            topic: topic.map(|t| t.0),
            fields: input.fields.clone(),
        };
        let max = self
            .config()
            .limits_for(Hook::Action, &loaded.manifest.limits)
            .max_output;
        let out = self.call(
            &loaded,
            &stats,
            &enabled,
            community,
            Hook::Action,
            *actor,
            |store, p| p.action(store, &req),
        );
        let done = match out.result? {
            ActionOutcome::Refused(reason) => {
                return refused(truncate(&reason, MAX_MESSAGE).to_string());
            }
            ActionOutcome::Done(done) => done,
        };
        let checked = check_done(done, max).map_err(|message| Error::Failed {
            plugin: plugin.into(),
            hook: Hook::Action.as_str().into(),
            message: format!("malformed result: {message}"),
        });
        let reply = match checked {
            Ok(reply) => reply,
            Err(e) => {
                self.count_failure(plugin, &stats, &e);
                return Err(e);
            }
        };
        self.commit(plugin, community, &out.writes, &[])?;
        Ok(Some(reply))
    }
}

/// Checks a plugin's `done`: a site path to return to, a short message,
/// JSON that parses and fits the output cap.
fn check_done(
    done: crate::bindings::ActionDone,
    max: usize,
) -> std::result::Result<ActionReply, String> {
    if let Some(r) = &done.redirect
        && !is_site_path(r)
    {
        return Err(format!(
            "redirect {:?} is not a path on this site (start it with one `/`)",
            truncate(r, 100)
        ));
    }
    if let Some(m) = &done.message
        && m.len() > MAX_MESSAGE
    {
        return Err(format!(
            "a message of {} bytes (at most {MAX_MESSAGE})",
            m.len()
        ));
    }
    let data = match done.json {
        None => None,
        Some(j) if j.len() > max => {
            return Err(format!(
                "JSON of {} bytes; the output cap is {max}",
                j.len()
            ));
        }
        Some(j) => Some(serde_json::from_str(&j).map_err(|e| format!("json is not JSON: {e}"))?),
    };
    Ok(ActionReply::Done {
        message: done.message,
        redirect: done.redirect,
        data,
    })
}

/// A path on this site: one leading `/`, no backslashes or control
/// characters, at most 2,000 bytes. Anything else could send the member
/// elsewhere (`//evil.example`, `/\evil.example`) or put a line break into
/// a `Location` header. Plugins' redirects must pass it; the site's own
/// "return to" addresses use it too.
pub fn is_site_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && p.len() <= 2000
        && !p.chars().any(|c| c == '\\' || c.is_control())
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_site_paths_are_redirects() {
        for ok in ["/", "/t/x/1", "/plugins/polls?x=1#r"] {
            assert!(is_site_path(ok), "{ok}");
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\nSet-Cookie: x",
            &format!("/{}", "a".repeat(2000)),
        ] {
            assert!(!is_site_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
