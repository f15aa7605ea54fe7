//! Markdown extensions from plugins (API 0.2, hook `render-markup`): the
//! first-party `polls` plugin end to end (a poll block rendered into the
//! post, votes through the action, results beside the post and in its
//! JSON), posts rendered again when the plugin is upgraded or disabled,
//! and a hostile plugin's blocks — a loop, a trap, a huge answer, a
//! script, the wrong number of answers, reads — stopped while the post is
//! still written.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{Actor, PostId, SearchQuery};
use hearth_wasm::{
    ActionInput, ActionReply, Capability, FieldOn, FieldViewer, ItemSlot, PageContext,
};

const POLL: &str = "Our next meetup?\n\n```poll close=2027-01-31\nWhich drink should we serve?\n- Rooibos\n- Coffee\n```\n";

fn enable_polls(w: &World) {
    w.install("polls");
    w.host
        .enable(
            &Actor::System,
            w.community,
            "polls",
            &[Capability::Kv, Capability::Read, Capability::Now],
        )
        .unwrap();
}

fn topic(w: &World, title: &str, body: &str) -> PostId {
    w.alice_topic(title, body).1.id
}

fn html(w: &World, p: PostId) -> String {
    w.forum.post(&Actor::System, w.community, p).unwrap().html
}

fn vote(w: &World, who: hearth::UserId, post: PostId, value: &str) -> ActionReply {
    w.host
        .action(
            &Actor::User(who),
            w.community,
            "polls",
            "vote",
            &ActionInput {
                post: Some(post),
                topic: None,
                fields: vec![("value".into(), value.into())],
            },
        )
        .unwrap()
        .unwrap()
}

#[test]
fn a_poll_is_rendered_into_the_post_voted_on_and_shown_beside_it() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let w = World::new();
    enable_polls(&w);
    let p = topic(&w, "Planning the winter meetup", POLL);
    let h = html(&w, p);
    assert!(
        h.contains("<div class=\"hearth-markup-polls\"><div class=\"polls-poll\"><p class=\"polls-question\"><strong>Which drink should we serve?</strong></p><ol class=\"polls-options\"><li>Rooibos</li><li>Coffee</li></ol>"),
        "{h}"
    );
    assert!(!h.contains("language-poll"), "{h}");
    // Search finds the poll's text.
    let hits = w
        .forum
        .search(
            &Actor::User(w.bob),
            w.community,
            &SearchQuery::new("rooibos"),
        )
        .unwrap();
    assert!(hits.hits.iter().any(|h| h.post == p), "{hits:?}");

    let ActionReply::Done { data: Some(d), .. } = vote(&w, w.bob, p, "poll:0") else {
        panic!("not done")
    };
    assert_eq!(d["voters"], 1);
    assert_eq!(d["my_votes"], serde_json::json!(["0"]));
    assert!(matches!(
        vote(&w, w.bob, p, "poll:7"),
        ActionReply::Refused { .. }
    ));

    // Beside the post: results and, for a member, the host's buttons
    // (links to a confirmation page here: this page context has no form
    // token).
    let page = PageContext {
        path: "/t/planning-the-winter-meetup/1".into(),
        ..PageContext::default()
    };
    let frags = w.host.render_items(
        &Actor::User(w.alice),
        w.community,
        ItemSlot::PostFooter,
        &page,
        &[p.0],
    );
    let footer = &frags[&p.0][0].html;
    assert!(footer.contains("1 voter"), "{footer}");
    assert!(footer.contains("/plugins/polls/a/vote?post="), "{footer}");
    assert!(footer.contains("Vote for Rooibos"), "{footer}");
    // The post's JSON field.
    let fields = w
        .host
        .api_fields(
            w.community,
            FieldOn::Post,
            &[p.0],
            FieldViewer {
                user: None,
                staff: false,
            },
        )
        .unwrap();
    assert_eq!(fields[&p.0]["polls"][0]["options"][0]["votes"], 1);
    assert_eq!(fields[&p.0]["polls"][0]["status"], "open");
}

#[test]
fn upgrading_or_disabling_the_plugin_renders_its_posts_again() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let w = World::new();
    enable_polls(&w);
    let polls: Vec<PostId> = (0..3)
        .map(|i| topic(&w, &format!("Poll number {i} of three"), POLL))
        .collect();
    let plain = topic(&w, "No poll in this one", "Just words about a poll.");
    // The first pass records what the posts were rendered with.
    assert_eq!(w.host.refresh_markup().unwrap(), 0);
    assert!(w.host.markup_job().is_none());

    // A new version: its posts, and only those, are rendered again.
    let (manifest, wasm) = common::plugin_files("polls", false);
    let newer = manifest.replace("version = \"0.1.0\"", "version = \"0.1.1\"");
    assert_ne!(newer, manifest);
    w.host.install(&newer, &wasm).unwrap();
    assert_eq!(w.host.refresh_markup().unwrap(), 3);
    assert_eq!(w.host.refresh_markup().unwrap(), 0);
    let marks: String = w
        .forum
        .post(&Actor::System, w.community, plain)
        .unwrap()
        .html;
    assert!(!marks.contains("hearth-markup"));

    // Disabled: the blocks are shown as their source.
    w.host
        .disable(&Actor::System, w.community, "polls")
        .unwrap();
    assert_eq!(w.host.refresh_markup().unwrap(), 3);
    for p in &polls {
        let h = html(&w, *p);
        assert!(h.contains("<code class=\"language-poll\">"), "{h}");
        assert!(!h.contains("hearth-markup"), "{h}");
    }
    // Enabled again: polls again.
    enable_polls(&w);
    assert_eq!(w.host.refresh_markup().unwrap(), 3);
    assert!(html(&w, polls[1]).contains("hearth-markup-polls"));
}

#[test]
fn hostile_markup_is_stopped_and_the_post_is_still_written() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let w = World::new();
    w.enable_hostile();
    // (Its draft filter appends " (checked)" to each body, so every body
    // ends with a paragraph after the block.)
    let mut failures = 0;
    for (i, mode) in ["loop", "trap", "huge", "count", "none"].iter().enumerate() {
        let p = topic(
            &w,
            &format!("Hostile block number {i}"),
            &format!("Before.\n\n```hostile\n{mode}\n```\n\nAfter."),
        );
        let h = html(&w, p);
        assert!(
            h.contains(&format!("<code class=\"language-hostile\">{mode}")),
            "{mode}: {h}"
        );
        assert!(h.contains("After."), "{mode}: {h}");
        let status = w.host.status("hostile").unwrap();
        if *mode != "none" {
            failures += 1;
            assert_eq!(status.counters.failures, failures, "{mode}");
            let last = status.counters.last_error.unwrap_or_default();
            assert!(last.contains("hostile"), "{mode}: {last}");
        }
    }
    // Cleaned with the plugin's allowlist: its own class kept, no script,
    // handler, form or action element.
    let p = topic(
        &w,
        "A hostile script block",
        "```hostile\nscript\n```\n\nThe end.",
    );
    let h = html(&w, p);
    assert!(h.contains("<p class=\"hostile-ok\">visible</p>"), "{h}");
    for bad in [
        "<script",
        "onerror",
        "<form",
        "<button",
        "hearth-action",
        "other",
    ] {
        assert!(!h.contains(bad), "{bad} in {h}");
    }
    // No reads: the store is denied and settings answer nothing.
    let p = topic(
        &w,
        "A hostile peeking block",
        "```hostile\npeek\n```\n\nThe end.",
    );
    let h = html(&w, p);
    assert!(h.contains("kv: Err(Denied("), "{h}");
    assert!(h.contains("setting: None"), "{h}");
    // The info string reaches the plugin, escaped on the way back.
    let p = topic(
        &w,
        "A hostile block with an info string",
        "```hostile <b>x</b>\nok\n```\n\nThe end.",
    );
    assert!(
        html(&w, p).contains("ok: &lt;b&gt;x&lt;/b&gt;"),
        "{}",
        html(&w, p)
    );
}
