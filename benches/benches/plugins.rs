//! Plugin host benchmarks: a render hook including a fresh instantiation,
//! a no-op call on a warm instance, API 0.2's batched slots and actions
//! (reactions, assign, polls), rendering a poll block, and rendering
//! posts again after a plugin upgrade (`HEARTH_BENCH_RERENDER` posts,
//! default 2,000).
//!
//! Needs the plugins built: `cargo xtask plugins`, then
//! `cargo bench -p hearth-benches --bench plugins`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hearth::{
    Actor, CategoryKind, CommunitySettings, Forum, NewCategory, NewCommunity, NewTopic, NewUser,
};
use hearth_wasm::{Capability, HostConfig, PageContext, PluginHost, Slot};

fn plugin(name: &str, fixture: bool) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(if fixture { "plugins-test" } else { "plugins" })
        .join(name);
    assert!(
        dir.is_dir(),
        "{} missing: run `cargo xtask plugins`",
        dir.display()
    );
    dir
}

fn plugins(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let forum = Arc::new(Forum::open(dir.path().join("bench.db")).unwrap());
    let owner = forum.create_user(NewUser::new("ada")).unwrap().id;
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "bench".into(),
                name: "Bench".into(),
                owner: Some(owner),
                settings: CommunitySettings::for_bulk_writes(),
            },
        )
        .unwrap()
        .id;
    let qa = forum
        .create_category(
            &Actor::System,
            community,
            NewCategory::new("q", "Questions", CategoryKind::QuestionAndAnswer),
        )
        .unwrap();
    let (topic, _) = forum
        .create_topic(
            &Actor::User(owner),
            community,
            NewTopic {
                category: qa.id,
                title: "A question that stays open".into(),
                body: "Nobody knows yet.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let host = PluginHost::new(forum.clone(), HostConfig::default()).unwrap();
    host.install_dir(plugin("escape-hatch", false)).unwrap();
    host.install_dir(plugin("leaderboard", false)).unwrap();
    let all = [
        Capability::Settings,
        Capability::Read,
        Capability::Now,
        Capability::Kv,
        Capability::Log,
    ];
    host.enable(&Actor::System, community, "escape-hatch", &all[..3])
        .unwrap();
    host.enable(&Actor::System, community, "leaderboard", &all)
        .unwrap();
    host.configure(
        &Actor::System,
        community,
        "escape-hatch",
        BTreeMap::from([
            (
                "url".to_string(),
                serde_json::json!("https://help.example.com"),
            ),
            ("email".to_string(), serde_json::json!("help@example.com")),
            ("stuck-after-hours".to_string(), serde_json::json!(0)),
        ]),
    )
    .unwrap();
    // Only the footer plugin renders the footer slot.
    host.disable(&Actor::System, community, "leaderboard")
        .unwrap();

    let mut g = c.benchmark_group("plugins");
    g.bench_function("render page-footer (fresh instance, 4 host calls)", |b| {
        let page = PageContext::default();
        b.iter(|| {
            let f = host.render(&Actor::Guest, community, Slot::PageFooter, &page);
            assert_eq!(f.len(), 1);
        })
    });
    g.bench_function(
        "render page-footer on a stuck question (7 host calls)",
        |b| {
            let page = PageContext {
                path: "/t/x/1".into(),
                topic: Some(topic.id),
                member: None,
                ..Default::default()
            };
            b.iter(|| {
                let f = host.render(&Actor::Guest, community, Slot::PageFooter, &page);
                assert!(f[0].html.contains("Still stuck"));
            })
        },
    );
    host.enable(&Actor::System, community, "leaderboard", &all)
        .unwrap();
    g.bench_function("no-op hook call on a warm instance", |b| {
        b.iter_custom(|iters| {
            host.bench_warm_calls(community, "leaderboard", iters)
                .unwrap()
        })
    });
    g.bench_function("instantiate + 2 no-op calls + drop", |b| {
        b.iter(|| host.bench_warm_calls(community, "leaderboard", 1).unwrap())
    });
    // API 0.2: a 20-post topic page's batched post footer (reactions on
    // every post), and one member's action.
    host.install_dir(plugin("reactions", false)).unwrap();
    host.enable(
        &Actor::System,
        community,
        "reactions",
        &[Capability::Settings, Capability::Kv],
    )
    .unwrap();
    let mut posts = vec![
        forum
            .topic(
                &Actor::System,
                community,
                topic.id,
                &hearth::PageRequest::first(1),
            )
            .unwrap()
            .posts
            .items[0]
            .id,
    ];
    for i in 1..20 {
        let p = forum
            .reply(
                &Actor::User(owner),
                community,
                topic.id,
                hearth::NewReply {
                    body: format!("Reply number {i}"),
                    reply_to: None,
                },
            )
            .unwrap();
        posts.push(p.id);
    }
    let members: Vec<hearth::UserId> = (0..3)
        .map(|i| {
            let u = forum
                .create_user(NewUser::new(&format!("member{i}")))
                .unwrap()
                .id;
            forum.join(&Actor::User(u), community).unwrap();
            u
        })
        .collect();
    // A member's reaction to a post, as the plugin's button sends it, and
    // the action that toggles it.
    let reaction = |post: hearth::PostId, emoji: &str| hearth_wasm::ActionInput {
        post: Some(post),
        fields: vec![("value".into(), emoji.into())],
        ..Default::default()
    };
    let react = |member: hearth::UserId, input: &hearth_wasm::ActionInput| {
        host.action(&Actor::User(member), community, "reactions", "react", input)
            .unwrap()
    };
    for p in &posts {
        for (i, m) in members.iter().enumerate() {
            react(*m, &reaction(*p, ["👍", "❤️", "🎉"][i]));
        }
    }
    let ids: Vec<i64> = posts.iter().map(|p| p.0).collect();
    let member_page = PageContext {
        path: "/t/x/1".into(),
        topic: Some(topic.id),
        forms: hearth_wasm::ActionForms {
            base: String::new(),
            token: Some("t".repeat(64)),
        },
        ..Default::default()
    };
    // A member's post footers (one batched call per plugin) and topic
    // footer, as a topic page asks for them.
    let footers = |host: &PluginHost, page: &PageContext, items: &[i64]| {
        host.render_items(
            &Actor::User(members[0]),
            community,
            hearth_wasm::ItemSlot::PostFooter,
            page,
            items,
        )
    };
    let topic_footer = |host: &PluginHost| {
        host.render(
            &Actor::User(members[0]),
            community,
            Slot::TopicFooter,
            &member_page,
        )
    };
    g.bench_function(
        "reactions: post footers of a 20-post page (1 batched call, member)",
        |b| {
            b.iter(|| {
                let f = footers(&host, &member_page, &ids);
                assert_eq!(
                    f.len(),
                    20,
                    "{:?}",
                    host.status("reactions").map(|s| s.counters.last_error)
                );
            })
        },
    );
    {
        let cold = cold_host(&forum);
        g.bench_function("nothing remembered: reactions' post footers only", |b| {
            b.iter(|| footers(&cold, &member_page, &ids))
        });
    }
    g.bench_function("reactions: one action (toggle, saved)", |b| {
        let input = reaction(posts[0], "😮");
        b.iter(|| react(members[1], &input))
    });
    // With `read` and `notify` granted, a new reaction also tells the
    // post's author (three reads and a notice; taken back, nothing): the
    // toggle alternates, so this is the mean of the two.
    host.enable(
        &Actor::System,
        community,
        "reactions",
        &[
            Capability::Settings,
            Capability::Kv,
            Capability::Read,
            Capability::Notify,
        ],
    )
    .unwrap();
    g.bench_function(
        "reactions: one action, the author told (toggle, saved)",
        |b| {
            let input = reaction(posts[1], "😮");
            b.iter(|| react(members[2], &input))
        },
    );
    // assign: the badges of a 30-topic list, 10 of them assigned (one
    // batched call, one bulk read).
    host.install_dir(plugin("assign", false)).unwrap();
    host.enable(
        &Actor::System,
        community,
        "assign",
        &[
            Capability::Kv,
            Capability::Read,
            Capability::Notify,
            Capability::Now,
        ],
    )
    .unwrap();
    let mut listed = Vec::new();
    for i in 0..30 {
        let (t, _) = forum
            .create_topic(
                &Actor::User(members[0]),
                community,
                NewTopic {
                    category: qa.id,
                    title: format!("Question number {i} for the list"),
                    body: "Still open.".into(),
                    tags: vec![],
                },
            )
            .unwrap();
        if i % 3 == 0 {
            let input = hearth_wasm::ActionInput {
                topic: Some(t.id),
                ..Default::default()
            };
            host.action(&Actor::User(owner), community, "assign", "assign", &input)
                .unwrap();
        }
        listed.push(t.id.0);
    }
    let list_page = PageContext {
        path: "/latest".into(),
        ..member_page.clone()
    };
    g.bench_function(
        "assign: topic-list badges of a 30-topic list (1 batched call)",
        |b| {
            b.iter(|| {
                let f = host.render_items(
                    &Actor::User(members[0]),
                    community,
                    hearth_wasm::ItemSlot::TopicListBadge,
                    &list_page,
                    &listed,
                );
                assert_eq!(f.len(), 10);
            })
        },
    );
    // polls: the same 20-post page with a poll in every other post, and
    // the whole page's plugin work as a member — post footers (reactions
    // and polls, one batched call each) and the topic footer (assign).
    host.install_dir(plugin("polls", false)).unwrap();
    host.enable(
        &Actor::System,
        community,
        "polls",
        &[Capability::Kv, Capability::Read, Capability::Now],
    )
    .unwrap();
    let poll_body = "Which one?\n\n```poll\nPick the slot that suits you\n- Tuesday morning\n- Thursday evening\n- Friday noon\n```\n";
    for (i, p) in posts.iter().enumerate().step_by(2) {
        forum
            .edit_post(
                &Actor::User(owner),
                community,
                *p,
                hearth::PostEdit {
                    body: poll_body.into(),
                    title: None,
                    reason: None,
                    base_version: None,
                },
            )
            .unwrap();
        let input = hearth_wasm::ActionInput {
            post: Some(*p),
            fields: vec![("value".into(), format!("poll:{}", i % 3))],
            ..Default::default()
        };
        host.action(&Actor::User(members[0]), community, "polls", "vote", &input)
            .unwrap();
    }
    // The engine read polls made of the page's posts (as the member) until
    // the host read only their sources (next).
    g.bench_function("engine: posts_by_ids of the 20-post page (member)", |b| {
        b.iter(|| {
            let got = forum
                .posts_by_ids(&Actor::User(members[0]), community, &posts)
                .unwrap();
            assert_eq!(got.len(), 20);
        })
    });
    // What the host reads for `posts-by-ids` since: the sources only.
    g.bench_function("engine: post_sources of the 20-post page (member)", |b| {
        b.iter(|| {
            let got = forum
                .post_sources(&Actor::User(members[0]), community, &posts)
                .unwrap();
            assert_eq!(got.len(), 20);
        })
    });
    // The whole page's plugin work, once as a repeated view (each render
    // remembered and reused while its reads answer the same: the host
    // replays the reads, no plugin runs) and once with nothing remembered
    // (every plugin runs: a first view, or one whose reads changed) — in
    // one snapshot, as hearth-web runs a page (`AppState::read`), so the
    // snapshot and the member's permissions are loaded once a page.
    // `topic_footers`: the fragments the topic footer shows (assign shows
    // none to a member on an unassigned topic; the escape hatch one).
    let cold = cold_host(&forum);
    let page_work = |host: &PluginHost, topic_footers: usize| {
        forum.in_snapshot(|| {
            let f = footers(host, &member_page, &ids);
            assert_eq!(f.len(), 20);
            assert_eq!(
                f[&ids[0]].len(),
                2,
                "{:?}",
                host.plugins()
                    .into_iter()
                    .map(|s| (s.name, s.counters.last_error))
                    .collect::<Vec<_>>()
            );
            assert_eq!(topic_footer(host).len(), topic_footers);
        })
    };
    // This community also runs the escape hatch, whose topic footer (help
    // when a question is stuck) is a fourth plugin on the page.
    for (label, host) in [
        (
            "topic page, member: post footers (reactions + polls) and topic footer (assign + escape hatch)",
            &host,
        ),
        (
            "topic page, member, nothing remembered: post footers (reactions + polls) and topic footer (assign + escape hatch)",
            &cold,
        ),
    ] {
        g.bench_function(label, |b| b.iter(|| page_work(host, 1)));
    }
    // Issue 15's page: polls, reactions and assign, nothing else.
    host.disable(&Actor::System, community, "escape-hatch")
        .unwrap();
    cold.refresh().unwrap();
    assert_eq!(
        cold.enabled_plugins(community).unwrap(),
        ["assign", "leaderboard", "polls", "reactions"]
    );
    for (label, host) in [
        ("topic page, member, polls + reactions + assign only", &host),
        (
            "topic page, member, nothing remembered, polls + reactions + assign only",
            &cold,
        ),
    ] {
        g.bench_function(label, |b| b.iter(|| page_work(host, 0)));
    }
    // A first view as a server has it: remembering on, nothing remembered
    // yet (each render is remembered afterwards).
    g.bench_function(
        "topic page, member, first view (remembered afterwards), polls + reactions + assign only",
        |b| {
            b.iter_batched(
                || host.forget_renders(),
                |()| page_work(&host, 0),
                criterion::BatchSize::PerIteration,
            )
        },
    );
    // The view after another member's reaction: every remembered render
    // replays its reads (something was committed); reactions' answer
    // differently, so reactions runs again.
    g.bench_function(
        "topic page, member, the view after a reaction, polls + reactions + assign only",
        |b| {
            let input = reaction(posts[5], "😮");
            b.iter_custom(|iters| {
                let mut spent = std::time::Duration::ZERO;
                for _ in 0..iters {
                    react(members[1], &input);
                    let start = std::time::Instant::now();
                    page_work(&host, 0);
                    spent += start.elapsed();
                }
                spent
            })
        },
    );
    g.bench_function("nothing remembered: topic footer only (assign)", |b| {
        b.iter(|| topic_footer(&cold))
    });
    host.enable(&Actor::System, community, "escape-hatch", &all[..3])
        .unwrap();
    cold.refresh().unwrap();
    g.bench_function(
        "nothing remembered: topic footer only (assign + escape hatch)",
        |b| b.iter(|| topic_footer(&cold)),
    );
    g.bench_function(
        "nothing remembered: post footers only (reactions + polls)",
        |b| b.iter(|| footers(&cold, &member_page, &ids)),
    );
    // Most topics have no poll: a 20-post page without one.
    let (plain_topic, first) = forum
        .create_topic(
            &Actor::User(owner),
            community,
            NewTopic {
                category: qa.id,
                title: "A topic without a poll".into(),
                body: "Nothing to vote on here, only talk.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let mut plain: Vec<i64> = vec![first.id.0];
    for i in 1..20 {
        let p = forum
            .reply(
                &Actor::User(owner),
                community,
                plain_topic.id,
                hearth::NewReply {
                    body: format!("Plain reply number {i}"),
                    reply_to: None,
                },
            )
            .unwrap();
        plain.push(p.id.0);
    }
    let plain_page = PageContext {
        path: "/t/y/2".into(),
        topic: Some(plain_topic.id),
        ..member_page.clone()
    };
    g.bench_function(
        "nothing remembered: post footers of a 20-post page without polls (reactions + polls)",
        |b| {
            b.iter(|| {
                let f = footers(&cold, &plain_page, &plain);
                assert_eq!(f.len(), 20);
            })
        },
    );
    g.bench_function("polls: vote (toggle, saved)", |b| {
        let input = hearth_wasm::ActionInput {
            post: Some(posts[0]),
            fields: vec![("value".into(), "poll:1".into())],
            ..Default::default()
        };
        b.iter(|| {
            host.action(&Actor::User(members[1]), community, "polls", "vote", &input)
                .unwrap()
        })
    });
    // Rendering a post with a poll block (the plugin's call and its
    // sanitizing included) against the same post with the block as code.
    let as_code = poll_body.replace("```poll", "```text");
    g.bench_function("render a post with a poll block", |b| {
        b.iter(|| {
            let html = forum
                .preview(&Actor::User(owner), community, poll_body)
                .unwrap();
            assert!(html.contains("hearth-markup-polls"));
        })
    });
    g.bench_function("render the same post, the block as code", |b| {
        b.iter(|| {
            forum
                .preview(&Actor::User(owner), community, &as_code)
                .unwrap()
        })
    });
    // Re-rendering after an upgrade: posts with a poll, each iteration a
    // new version (installing it is not timed).
    let rerender_posts: usize = std::env::var("HEARTH_BENCH_RERENDER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let (poll_topic, _) = forum
        .create_topic(
            &Actor::User(owner),
            community,
            NewTopic {
                category: qa.id,
                title: "Many polls in one long thread".into(),
                body: poll_body.into(),
                tags: vec![],
            },
        )
        .unwrap();
    for _ in 1..rerender_posts {
        forum
            .reply(
                &Actor::User(owner),
                community,
                poll_topic.id,
                hearth::NewReply {
                    body: poll_body.into(),
                    reply_to: None,
                },
            )
            .unwrap();
    }
    host.refresh_markup().unwrap();
    let manifest = std::fs::read_to_string(plugin("polls", false).join("plugin.toml")).unwrap();
    let wasm = std::fs::read(plugin("polls", false).join("polls.wasm")).unwrap();
    let mut version = 0u32;
    g.sample_size(10);
    g.bench_function(
        format!(
            "polls upgraded: render again every post with a poll ({rerender_posts} + 10 posts)"
        ),
        |b| {
            b.iter_custom(|iters| {
                let mut spent = std::time::Duration::ZERO;
                for _ in 0..iters {
                    version += 1;
                    let m = manifest.replace(
                        "version = \"0.1.0\"",
                        &format!("version = \"0.1.0-bench.{version}\""),
                    );
                    host.install(&m, &wasm).unwrap();
                    let start = std::time::Instant::now();
                    let n = host.refresh_markup().unwrap();
                    spent += start.elapsed();
                    assert!(n as usize >= rerender_posts, "{n}");
                }
                spent
            })
        },
    );
    let fragment = r#"<div class="escape-hatch"><p><strong>Need a person?</strong> <a href="https://help.example.com">Contact support</a> · <a href="mailto:help@example.com">help@example.com</a></p></div>"#;
    let sanitizer = hearth::Sanitizer::new(&CommunitySettings::default()).unwrap();
    g.bench_function("sanitize a footer fragment", |b| {
        b.iter(|| sanitizer.clean(fragment))
    });
    g.finish();
}

criterion_group!(benches, plugins);
criterion_main!(benches);

/// A host that remembers no render: every view is a first view.
fn cold_host(forum: &Arc<Forum>) -> PluginHost {
    PluginHost::new(
        forum.clone(),
        HostConfig {
            remember_renders: false,
            ..HostConfig::default()
        },
    )
    .unwrap()
}
