//! Markdown extensions: fenced blocks a hook claims are rendered by it
//! (sanitized with its own allowlist, searchable by its text), a failing
//! hook leaves the block as source and the post written, and a new
//! version, a disabled or a newly enabled extension re-renders exactly the
//! posts that use its syntax.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use hearth::{
    CommunityId, HookError, Hooks, MarkupBlock, MarkupOutput, MarkupSyntax, NewReply, PostEdit,
    PostId, SearchQuery,
};

/// How the test extension behaves now.
#[derive(Clone)]
enum Mode {
    /// Renders as version `.0`.
    Render(&'static str),
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
    /// Claims nothing (disabled).
    Off,
}

struct Polls {
    mode: Mutex<Mode>,
    calls: AtomicUsize,
}

impl Polls {
    fn new() -> Arc<Polls> {
        Arc::new(Polls {
            mode: Mutex::new(Mode::Render("1.0.0")),
            calls: AtomicUsize::new(0),
        })
    }
    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
}

impl Hooks for Polls {
    fn name(&self) -> &str {
        "test-polls"
    }

    fn markup_syntaxes(&self, _: CommunityId) -> Vec<MarkupSyntax> {
        let version = match &*self.mode.lock().unwrap() {
            Mode::Off => return Vec::new(),
            Mode::Render(v) => v.to_string(),
            _ => "1.0.0".into(),
        };
        vec![MarkupSyntax {
            fence: "poll".into(),
            owner: "polls".into(),
            version,
        }]
    }

    fn render_markup(
        &self,
        _: CommunityId,
        syntax: &MarkupSyntax,
        blocks: &[MarkupBlock],
    ) -> Result<Vec<Option<MarkupOutput>>, HookError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mode = self.mode.lock().unwrap().clone();
        match mode {
            Mode::Fail => return Err(HookError("broken".into())),
            Mode::Panic => panic!("markup hook panicked"),
            _ => {}
        }
        Ok(blocks
            .iter()
            .map(|b| {
                let items: String = b
                    .source
                    .lines()
                    .filter_map(|l| l.strip_prefix("- "))
                    .map(|o| format!("<li class=\"polls-option\">{o}</li>"))
                    .collect();
                Some(MarkupOutput {
                    html: format!(
                        "<ul class=\"polls-list admin\" data-x=\"1\" onclick=\"x()\">{items}</ul>\
                         <script>alert(1)</script><span class=\"polls-v\">v{}</span>\
                         <hearth-action name=\"vote\">Vote</hearth-action>{}",
                        syntax.version,
                        if b.info.is_empty() {
                            String::new()
                        } else {
                            format!("<p>{}</p>", b.info)
                        }
                    ),
                    text: format!(
                        "Poll: {}",
                        b.source
                            .lines()
                            .filter_map(|l| l.strip_prefix("- "))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            })
            .collect())
    }
}

const BODY: &str = "Which do you prefer?\n\n```poll type=single\n- Quokkatea\n- Coffee\n```\n\nAnd:\n\n```poll\n- Left\n- Right\n```\n\n```rust\nfn main() {}\n```\n";

fn reply(w: &World, body: &str) -> PostId {
    w.forum()
        .reply(
            &w.member,
            w.c,
            w.topics[0].0,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap()
        .id
}

fn html(w: &World, p: PostId) -> String {
    w.forum().post(&w.admin, w.c, p).unwrap().html
}

fn markup_of(w: &World, p: PostId) -> Option<String> {
    w.t.query_one::<Option<String>>(&format!("SELECT markup FROM posts WHERE id = {}", p.0))
}

#[test]
fn a_claimed_block_is_rendered_by_its_owner_once_per_post_and_sanitized() {
    let w = World::new();
    let polls = Polls::new();
    w.forum().register_hooks(polls.clone());
    let p = reply(&w, BODY);
    // Both poll blocks in one call.
    assert_eq!(polls.calls.load(Ordering::SeqCst), 1);
    let h = html(&w, p);
    assert!(
        h.contains("<div class=\"hearth-markup-polls\"><ul class=\"polls-list\"><li class=\"polls-option\">Quokkatea</li>"),
        "{h}"
    );
    assert!(h.contains("<p>type=single</p>"), "{h}");
    for gone in [
        "script",
        "onclick",
        "data-x",
        "admin",
        "hearth-action",
        "```poll",
    ] {
        assert!(!h.contains(gone), "{gone} in {h}");
    }
    // The other fenced block is still code.
    assert!(h.contains("<code class=\"language-rust\">"), "{h}");
    assert_eq!(
        markup_of(&w, p).as_deref(),
        Some("|poll=polls@1.0.0|rust=|")
    );
    // Search reads the block's text.
    let hits = w
        .forum()
        .search(&w.member, w.c, &SearchQuery::new("quokkatea"))
        .unwrap();
    assert!(hits.hits.iter().any(|h| h.post == p), "{hits:?}");
}

#[test]
fn a_failing_or_panicking_extension_leaves_the_source_and_the_post_written() {
    for mode in [Mode::Fail, Mode::Panic] {
        let w = World::new();
        let polls = Polls::new();
        w.forum().register_hooks(polls.clone());
        polls.set(mode);
        let p = reply(&w, BODY);
        let h = html(&w, p);
        assert!(
            h.contains("<code class=\"language-poll\">- Quokkatea"),
            "{h}"
        );
        assert!(!h.contains("hearth-markup"), "{h}");
        assert_eq!(markup_of(&w, p).as_deref(), Some("|poll=|rust=|"));
        // Once it works again, re-rendering fixes exactly that post.
        polls.set(Mode::Render("1.0.0"));
        let mut seen = Vec::new();
        let n = w
            .forum()
            .rerender_markup(w.c, &["poll"], 10, &mut |d, t| seen.push((d, t)))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(seen, vec![(1, 1)]);
        assert!(html(&w, p).contains("hearth-markup-polls"));
    }
}

#[test]
fn upgrading_disabling_and_enabling_re_render_only_the_posts_that_use_the_syntax() {
    let w = World::new();
    let polls = Polls::new();
    w.forum().register_hooks(polls.clone());
    let with: Vec<PostId> = (0..5).map(|_| reply(&w, BODY)).collect();
    let without = reply(&w, "No poll here, although the word poll appears.");
    let code_only = reply(&w, "```rust\nlet poll = 1;\n```");
    assert!(html(&w, with[0]).contains("v1.0.0"));

    // A new version: the five posts, in batches of two, with progress.
    polls.set(Mode::Render("1.1.0"));
    let mut seen = Vec::new();
    let n = w
        .forum()
        .rerender_markup(w.c, &["poll"], 2, &mut |d, t| seen.push((d, t)))
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(seen, vec![(2, 5), (4, 5), (5, 5)]);
    for p in &with {
        assert!(html(&w, *p).contains("v1.1.0"), "{}", html(&w, *p));
        assert_eq!(
            markup_of(&w, *p).as_deref(),
            Some("|poll=polls@1.1.0|rust=|")
        );
    }
    // Nothing left: running it again renders nothing (and a fence that is
    // not a syntax name is ignored).
    assert_eq!(
        w.forum()
            .rerender_markup(w.c, &["poll", "Bad Fence%"], 2, &mut |_, _| {})
            .unwrap(),
        0
    );

    // Disabled: the blocks are shown as their source.
    polls.set(Mode::Off);
    assert_eq!(
        w.forum()
            .rerender_markup(w.c, &["poll"], 100, &mut |_, _| {})
            .unwrap(),
        5
    );
    let h = html(&w, with[2]);
    assert!(h.contains("<code class=\"language-poll\">"), "{h}");
    assert!(!h.contains("hearth-markup"), "{h}");
    // The post without a block and the one with only code were never
    // touched (their record says so).
    assert_eq!(markup_of(&w, without).as_deref(), Some(""));
    assert_eq!(markup_of(&w, code_only).as_deref(), Some("|rust=|"));

    // Enabled again: rendered again.
    polls.set(Mode::Render("1.1.0"));
    assert_eq!(
        w.forum()
            .rerender_markup(w.c, &["poll"], 100, &mut |_, _| {})
            .unwrap(),
        5
    );
    assert!(html(&w, with[4]).contains("v1.1.0"));
}

#[test]
fn posts_rendered_before_the_record_existed_are_found_by_their_source() {
    let w = World::new();
    // Written while no extension claimed `poll`, then the record wiped as
    // a post from before schema v16 has none.
    let old = reply(&w, BODY);
    let other = reply(&w, "Nothing to see");
    w.t.execute("UPDATE posts SET markup = NULL", &[]);
    let polls = Polls::new();
    w.forum().register_hooks(polls.clone());
    let n = w
        .forum()
        .rerender_markup(w.c, &["poll"], 100, &mut |_, _| {})
        .unwrap();
    // Only posts whose source mentions the fence are candidates.
    assert!(n >= 1, "{n}");
    assert!(html(&w, old).contains("hearth-markup-polls"));
    assert_eq!(markup_of(&w, other), None);
}

#[test]
fn edits_render_blocks_again() {
    let w = World::new();
    let polls = Polls::new();
    w.forum().register_hooks(polls.clone());
    let p = reply(&w, "Plain first.");
    assert_eq!(markup_of(&w, p).as_deref(), Some(""));
    w.forum()
        .edit_post(
            &w.member,
            w.c,
            p,
            PostEdit {
                body: "Now a poll:\n\n```poll\n- Yes\n- No\n```".into(),
                title: None,
                reason: None,
                base_version: None,
            },
        )
        .unwrap();
    assert!(html(&w, p).contains("<li class=\"polls-option\">Yes</li>"));
    assert_eq!(markup_of(&w, p).as_deref(), Some("|poll=polls@1.0.0|"));
}

#[test]
fn another_community_is_not_re_rendered() {
    let w = World::new();
    let polls = Polls::new();
    w.forum().register_hooks(polls.clone());
    let p = reply(&w, BODY);
    polls.set(Mode::Render("2.0.0"));
    let other = CommunityId(w.c.0 + 1000);
    assert_eq!(
        w.forum()
            .rerender_markup(other, &["poll"], 100, &mut |_, _| {})
            .unwrap(),
        0
    );
    assert!(html(&w, p).contains("v1.0.0"));
}

/// Claims `quiz` under an owner that is not a name.
struct BadOwner;

impl Hooks for BadOwner {
    fn name(&self) -> &str {
        "bad-owner"
    }
    fn markup_syntaxes(&self, _: CommunityId) -> Vec<MarkupSyntax> {
        vec![MarkupSyntax {
            fence: "quiz".into(),
            owner: "x\" onclick=\"alert(1)".into(),
            version: "1".into(),
        }]
    }
    fn render_markup(
        &self,
        _: CommunityId,
        _: &MarkupSyntax,
        blocks: &[MarkupBlock],
    ) -> Result<Vec<Option<MarkupOutput>>, HookError> {
        Ok(blocks
            .iter()
            .map(|_| {
                Some(MarkupOutput {
                    html: "<p>quiz</p>".into(),
                    text: "quiz".into(),
                })
            })
            .collect())
    }
}

#[test]
fn an_owner_that_is_not_a_name_renders_nothing() {
    let w = World::new();
    w.forum().register_hooks(Arc::new(BadOwner));
    let p = reply(&w, "```quiz\nQ?\n```\n\nAfter.");
    let h = html(&w, p);
    assert!(!h.contains("onclick"), "{h}");
    assert!(h.contains("<code class=\"language-quiz\">"), "{h}");
}

#[test]
fn a_post_todays_limits_refuse_keeps_its_html_when_rendered_again() {
    let w = World::new();
    let polls = Polls::new();
    w.forum().register_hooks(polls.clone());
    let list: String = (0..150).map(|i| format!("- item {i}\n")).collect();
    let p = reply(&w, &format!("{BODY}\n{list}"));
    let before = html(&w, p);
    assert!(before.contains("v1.0.0"));
    // The community's element budget shrinks below the post's size.
    let c = w.forum().community(&w.admin, w.c).unwrap();
    let mut settings = c.settings.clone();
    settings.limits.max_elements = 100;
    w.forum()
        .update_community(&w.owner, w.c, &c.name, settings)
        .unwrap();
    polls.set(Mode::Render("1.1.0"));
    w.forum()
        .rerender_markup(w.c, &["poll"], 10, &mut |_, _| {})
        .unwrap();
    // Not replaced by its text: as it was.
    assert_eq!(html(&w, p), before);
}
