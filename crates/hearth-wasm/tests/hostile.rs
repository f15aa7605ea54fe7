//! Plugins that misbehave on purpose: each is stopped within its limit,
//! reported with a typed error naming it, and leaves the forum working
//! with no post or event lost.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::World;
use hearth::{Actor, NewTopic, ReviewFilter};
use hearth_wasm::{Capability, Error, Hook, HostConfig, PageContext, Slot};
use serde_json::json;

fn hostile(config: HostConfig, mode: &str) -> World {
    let w = World::with_config(config);
    w.enable_hostile();
    set_mode(&w, mode);
    w
}

/// Default limits but a 1 s deadline, for tests of the other limits.
fn roomy() -> HostConfig {
    HostConfig {
        interactive_deadline: std::time::Duration::from_secs(1),
        ..HostConfig::default()
    }
}

fn set_mode(w: &World, mode: &str) {
    w.hostile_mode(mode);
}

/// Runs one hook of the hostile plugin by hand.
fn run(w: &World, actor: Actor, hook: Hook, input: serde_json::Value) -> hearth_wasm::HookRun {
    w.host
        .run_hook(&actor, w.community, "hostile", hook, &input)
        .unwrap()
}

fn render_error(w: &World) -> Error {
    run(
        w,
        Actor::Guest,
        Hook::Render,
        json!({"slot": "page-footer"}),
    )
    .result
    .unwrap_err()
}

/// The forum still takes a post and shows it.
fn forum_works(w: &World) {
    hostile_off(w);
    let (t, _) = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: w.talk,
                title: "Still here after the plugin misbehaved".into(),
                body: "The forum keeps working.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    assert_eq!(
        w.forum
            .topic_only(&Actor::Guest, w.community, t.id)
            .unwrap()
            .title,
        "Still here after the plugin misbehaved"
    );
}

fn hostile_off(w: &World) {
    set_mode(w, "ok");
}

#[test]
fn an_infinite_loop_hits_the_deadline() {
    let w = hostile(HostConfig::default(), "loop");
    let e = render_error(&w);
    assert!(
        matches!(&e, Error::Timeout { plugin, limit, .. } if plugin == "hostile" && limit == "10 ms deadline"),
        "{e}"
    );
    forum_works(&w);
}

#[test]
fn fuel_stops_a_loop_deterministically() {
    let w = hostile(
        HostConfig {
            fuel: true,
            default_fuel: 5_000_000,
            interactive_deadline: std::time::Duration::from_secs(2),
            ..HostConfig::default()
        },
        "loop",
    );
    let e = render_error(&w);
    assert!(
        matches!(&e, Error::Timeout { limit, .. } if limit == "fuel budget of 5000000"),
        "{e}"
    );
}

#[test]
fn unbounded_memory_growth_hits_the_memory_cap() {
    // Faulting in 16 MiB takes about 8 ms here; give the deadline room so
    // the memory cap is what stops it.
    let w = hostile(roomy(), "grow");
    let e = render_error(&w);
    match &e {
        Error::LimitExceeded {
            plugin, message, ..
        } => {
            assert_eq!(plugin, "hostile");
            assert!(
                message.contains("memory") && message.contains("16384 KiB"),
                "{message}"
            );
        }
        other => panic!("expected a memory limit error, got {other}"),
    }
    let status = w.host.status("hostile").unwrap();
    assert!(status.counters.memory_high_water <= 16 << 20);
    forum_works(&w);
}

#[test]
fn deep_recursion_overflows_the_capped_stack() {
    let w = hostile(HostConfig::default(), "recurse");
    let e = render_error(&w);
    assert!(
        matches!(&e, Error::LimitExceeded { message, .. } if message.contains("stack overflow")),
        "{e}"
    );
    forum_works(&w);
}

#[test]
fn a_panic_is_a_trap_with_its_message() {
    let w = hostile(HostConfig::default(), "trap");
    let e = render_error(&w);
    assert!(
        matches!(&e, Error::Trap { plugin, message, .. }
            if plugin == "hostile" && message.contains("hostile plugin panicked on purpose")),
        "{e}"
    );
    forum_works(&w);
}

#[test]
fn a_huge_render_is_refused_and_the_page_renders_without_it() {
    let w = hostile(roomy(), "huge");
    let fragments = w.host.render(
        &Actor::Guest,
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert!(fragments.is_empty());
    let status = w.host.status("hostile").unwrap();
    let last = status.counters.last_error.unwrap();
    assert!(last.contains("output cap is 65536 bytes"), "{last}");
    forum_works(&w);
}

#[test]
fn scripts_and_handlers_are_stripped_from_renders() {
    let w = hostile(HostConfig::default(), "script");
    let fragments = w.host.render(
        &Actor::Guest,
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert_eq!(fragments.len(), 1);
    let html = &fragments[0].html;
    assert!(html.contains("<p>visible</p>"), "{html}");
    for bad in ["<script", "alert(1)", "onerror", "javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
}

#[test]
fn a_host_call_without_the_capability_is_stopped() {
    let w = hostile(HostConfig::default(), "nocap");
    let e = render_error(&w);
    match &e {
        Error::Denied {
            plugin, message, ..
        } => {
            assert_eq!(plugin, "hostile");
            assert!(
                message.contains("award-points") && message.contains("`points`"),
                "{message}"
            );
        }
        other => panic!("expected Denied, got {other}"),
    }
    // No points were awarded.
    assert_eq!(
        w.forum
            .points(
                &Actor::System,
                w.community,
                hearth::UserId(1),
                hearth::Period::AllTime
            )
            .unwrap(),
        0
    );
}

#[test]
fn a_granted_capability_can_be_withheld_by_the_operator() {
    let w = hostile(HostConfig::default(), "record");
    // kv is in the manifest; enable without granting it.
    w.host
        .enable(
            &Actor::System,
            w.community,
            "hostile",
            &[Capability::Log, Capability::Settings],
        )
        .unwrap();
    set_mode(&w, "record");
    let e = run(&w, Actor::System, Hook::OnEvent, json!([]))
        .result
        .unwrap_err();
    assert!(
        matches!(&e, Error::Failed { message, .. } if message.contains("has not granted `kv`")),
        "{e}"
    );
    // And the operator cannot grant what the manifest does not ask for.
    let e = w
        .host
        .enable(
            &Actor::System,
            w.community,
            "hostile",
            &[Capability::Points],
        )
        .unwrap_err();
    assert!(matches!(e, Error::Capability { .. }), "{e}");
}

#[test]
fn garbage_from_a_filter_holds_the_post_for_review() {
    let w = hostile(HostConfig::default(), "garbage");
    let body = "A perfectly normal question about invoices.";
    let err = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: w.qa,
                title: "Where are my invoices?".into(),
                body: body.into(),
                tags: vec![],
            },
        )
        .unwrap_err();
    let hearth::Error::PendingReview { review, .. } = err else {
        panic!("expected the post to wait for review, got {err}");
    };
    // The post is not lost: it waits, with the author's own text.
    let item = w
        .forum
        .review_item(&Actor::User(w.moderator), w.community, review)
        .unwrap();
    let payload = serde_json::to_string(&item).unwrap();
    assert!(payload.contains(body), "{payload}");
    let last = w
        .host
        .status("hostile")
        .unwrap()
        .counters
        .last_error
        .unwrap();
    assert!(
        last.contains("malformed result") && last.contains("control character"),
        "{last}"
    );
    let queue = w
        .forum
        .review_queue(
            &Actor::User(w.moderator),
            w.community,
            &ReviewFilter::default(),
            &hearth::PageRequest::first(10),
        )
        .unwrap();
    assert_eq!(queue.items.len(), 1);
    forum_works(&w);
}

#[test]
fn a_working_filter_rewrites_and_a_failing_one_fails_closed() {
    let w = hostile(HostConfig::default(), "ok");
    let (_, post) = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: w.talk,
                title: "Filtered".into(),
                body: "hello".into(),
                tags: vec![],
            },
        )
        .unwrap();
    assert_eq!(post.source, "hello (checked)");
    set_mode(&w, "trap");
    let err = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: w.talk,
                title: "Filtered again".into(),
                body: "hello again".into(),
                tags: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, hearth::Error::PendingReview { .. }), "{err}");
}

#[test]
fn repeated_failures_disable_the_plugin_until_reenabled() {
    let w = hostile(HostConfig::default(), "trap");
    // Another server on the same database.
    let other = hearth_wasm::PluginHost::new(
        common::open_forum(&w.location, &w.clock),
        HostConfig::default(),
    )
    .unwrap();
    other.refresh().unwrap();
    assert!(other.status("hostile").unwrap().disabled.is_none());
    for _ in 0..5 {
        assert!(
            w.host
                .render(
                    &Actor::Guest,
                    w.community,
                    Slot::PageFooter,
                    &PageContext::default()
                )
                .is_empty()
        );
    }
    let status = w.host.status("hostile").unwrap();
    let reason = status.disabled.clone().expect("disabled after 5 failures");
    assert!(
        reason.contains("5 consecutive failures") && reason.contains("panicked"),
        "{reason}"
    );
    assert_eq!(status.counters.failures, 5);
    // Disabled: not called any more.
    set_mode(&w, "ok");
    w.host.render(
        &Actor::Guest,
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert_eq!(w.host.status("hostile").unwrap().counters.calls, 5);
    // The state survives a restart of the host.
    let host2 = hearth_wasm::PluginHost::new(w.forum.clone(), HostConfig::default()).unwrap();
    assert!(host2.status("hostile").unwrap().disabled.is_some());
    // The other server stops calling it too, and follows the re-enable.
    assert!(other.refresh().unwrap());
    assert!(other.status("hostile").unwrap().disabled.is_some());
    w.host.reenable("hostile").unwrap();
    other.refresh().unwrap();
    assert!(other.status("hostile").unwrap().disabled.is_none());
    let fragments = w.host.render(
        &Actor::Guest,
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert_eq!(fragments.len(), 1);
}

#[test]
fn an_exhausted_pool_is_an_error_not_a_crash() {
    let w = hostile(
        HostConfig {
            max_instances: 1,
            background_deadline: std::time::Duration::from_millis(800),
            ..HostConfig::default()
        },
        "loop",
    );
    // One call holds the only instance slot (a loop until its 800 ms
    // deadline) while another asks for one.
    let host = w.host.clone();
    let community = w.community;
    let busy = std::thread::spawn(move || {
        host.run_hook(
            &Actor::System,
            community,
            "hostile",
            Hook::OnSchedule,
            &json!(null),
        )
        .unwrap()
        .result
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let e = render_error(&w);
    assert!(
        matches!(&e, Error::PoolExhausted { plugin, limit: 1 } if plugin == "hostile"),
        "{e}"
    );
    assert!(matches!(busy.join().unwrap(), Err(Error::Timeout { .. })));
}

#[test]
fn a_busy_server_fails_no_honest_plugin_call() {
    // Mode `work` came after the frozen API 0.1 build of the fixture; the
    // clock is the host's, the same for every API version.
    if !api_0_2() {
        return;
    }
    // A render that computes a few milliseconds, with a 50 ms deadline.
    let w = hostile(
        HostConfig {
            interactive_deadline: std::time::Duration::from_millis(50),
            ..HostConfig::default()
        },
        "work",
    );
    let footer = |host: &hearth_wasm::PluginHost, community| {
        host.run_hook(
            &Actor::Guest,
            community,
            "hostile",
            Hook::Render,
            &json!({"slot": "page-footer"}),
        )
        .unwrap()
        .result
    };
    let alone = std::time::Instant::now();
    footer(&w.host, w.community).unwrap();
    let alone = alone.elapsed();
    // Forty at once on this machine's few cores: each waits for a core far
    // longer than its deadline, but runs only its few milliseconds. The
    // time it ran is what counts, so none fails and the plugin stays on
    // (counting the wait would fail them and, after a streak, disable it).
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..40)
        .map(|_| {
            let (host, community) = (w.host.clone(), w.community);
            std::thread::spawn(move || {
                (0..3)
                    .map(|_| footer(&host, community).map(|_| ()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for r in t.join().unwrap() {
            r.unwrap();
        }
    }
    let busy = started.elapsed();
    assert!(w.host.status("hostile").unwrap().disabled.is_none());
    eprintln!("one call alone: {alone:?}; 120 calls on 40 threads: {busy:?}");
}

/// What the hostile plugin's store holds under `key`.
fn stored(w: &World, key: &str) -> Option<Vec<u8>> {
    w.forum
        .ext_get("plugin:hostile", Some(w.community), key)
        .unwrap()
}

#[test]
fn renders_and_get_routes_cannot_write() {
    let w = hostile(HostConfig::default(), "write");
    let keep = [hearth::ExtOp::Put {
        key: "kept".into(),
        value: b"old".to_vec(),
    }];
    w.forum
        .ext_apply_all(Some(w.community), &[("plugin:hostile", &keep)])
        .unwrap();
    let refused = |html: &str| {
        assert_eq!(
            html.matches("Denied").count(),
            2,
            "both writes are refused: {html}"
        );
        assert!(html.contains("read-only"), "the refusal says why: {html}");
    };

    // A page render: the fragment still shows, its writes are refused.
    let fragments = w.host.render(
        &Actor::User(w.alice),
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert_eq!(fragments.len(), 1);
    refused(&fragments[0].html);

    // A GET route, as a guest and as a member (an image tag in a post
    // would make a member's browser send exactly this request).
    for actor in [Actor::Guest, Actor::User(w.alice)] {
        let resp = w
            .host
            .route(
                &actor,
                w.community,
                "hostile",
                "/anything",
                &[],
                &Default::default(),
            )
            .unwrap()
            .unwrap();
        assert_eq!(resp.status, 200);
        refused(&resp.body);
    }

    // The runner's hand-run of the same hooks obeys the same rule.
    for (hook, input) in [
        (Hook::Render, json!({"slot": "sidebar"})),
        (Hook::Route, json!({"path": "/"})),
    ] {
        let out = run(&w, Actor::Guest, hook, input).result.unwrap();
        // A render's fragment or a route's response.
        let html = out.get("html").or(out.get("body")).unwrap();
        refused(html.as_str().unwrap());
    }

    // Nothing was stored, nothing deleted, and the refusals are not
    // failures: the plugin is healthy.
    assert_eq!(stored(&w, "written"), None);
    assert_eq!(stored(&w, "kept").as_deref(), Some(&b"old"[..]));
    let status = w.host.status("hostile").unwrap();
    assert_eq!(status.counters.last_error, None);

    // The same writes from a hook that may write are committed.
    run(&w, Actor::System, Hook::OnSchedule, json!({}))
        .result
        .unwrap();
    assert_eq!(stored(&w, "written").as_deref(), Some(&b"by hostile"[..]));
    assert_eq!(stored(&w, "kept"), None);
    forum_works(&w);
}

/// API 0.2 hooks exist only in the 0.2 builds (the suite also runs with
/// the 0.1 builds: `HEARTH_PLUGIN_API=0.1`).
fn api_0_2() -> bool {
    common::api_version() == "0.2.0"
}

fn act(w: &World, actor: Actor) -> Result<Option<hearth_wasm::ActionReply>, Error> {
    w.host.action(
        &actor,
        w.community,
        "hostile",
        "act",
        &hearth_wasm::ActionInput::default(),
    )
}

fn keep(w: &World) {
    let keep = [hearth::ExtOp::Put {
        key: "kept".into(),
        value: b"old".to_vec(),
    }];
    w.forum
        .ext_apply_all(Some(w.community), &[("plugin:hostile", &keep)])
        .unwrap();
}

#[test]
fn an_action_saves_its_writes_only_when_done() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "write");
    keep(&w);
    let member = Actor::User(w.alice);
    // Refused by the plugin after writing: nothing saved, nothing deleted.
    match act(&w, member).unwrap() {
        Some(hearth_wasm::ActionReply::Refused { reason }) => {
            assert_eq!(reason, "refused on purpose")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stored(&w, "acted"), None);
    assert_eq!(stored(&w, "kept").as_deref(), Some(&b"old"[..]));
    // A redirect off the site is a malformed answer: the plugin's failure.
    set_mode(&w, "redirect");
    let err = act(&w, member).unwrap_err();
    assert!(
        matches!(&err, Error::Failed { plugin, hook, message }
            if plugin == "hostile" && hook == "action" && message.contains("not a path on this site")),
        "{err}"
    );
    assert_eq!(stored(&w, "acted"), None);
    // A trap and an endless loop: stopped, named, nothing saved.
    set_mode(&w, "trap");
    assert!(matches!(act(&w, member), Err(Error::Trap { .. })));
    set_mode(&w, "loop");
    let started = std::time::Instant::now();
    assert!(matches!(act(&w, member), Err(Error::Timeout { .. })));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(stored(&w, "acted"), None);
    // Done: the write is saved.
    set_mode(&w, "ok");
    assert!(matches!(
        act(&w, member).unwrap(),
        Some(hearth_wasm::ActionReply::Done { .. })
    ));
    assert_eq!(stored(&w, "acted").as_deref(), Some(&b"yes"[..]));
    // Guests may not take an action not declared for them, and unknown
    // actions are not there.
    assert!(matches!(act(&w, Actor::Guest), Err(Error::Forbidden(_))));
    let none = w.host.action(
        &member,
        w.community,
        "hostile",
        "explode",
        &hearth_wasm::ActionInput::default(),
    );
    assert!(matches!(none, Ok(None)));
    forum_works(&w);
}

#[test]
fn an_action_names_only_posts_its_member_may_read() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "ok");
    let (_, hidden) = w
        .forum
        .create_topic(
            &Actor::User(w.moderator),
            w.community,
            NewTopic {
                category: w.talk,
                title: "Only for some".into(),
                body: "A post to name".into(),
                tags: vec![],
            },
        )
        .unwrap();
    w.forum
        .delete_post(&Actor::User(w.moderator), w.community, hidden.id)
        .unwrap();
    let input = hearth_wasm::ActionInput {
        post: Some(hidden.id),
        ..Default::default()
    };
    let reply = w
        .host
        .action(&Actor::User(w.alice), w.community, "hostile", "act", &input)
        .unwrap();
    assert!(
        matches!(&reply, Some(hearth_wasm::ActionReply::Refused { reason }) if reason.contains("is not there")),
        "{reply:?}"
    );
    // The plugin never ran.
    assert_eq!(stored(&w, "acted"), None);
    let fields = hearth_wasm::ActionInput {
        fields: (0..=hearth_wasm::MAX_ACTION_FIELDS)
            .map(|i| (format!("f{i}"), "x".into()))
            .collect(),
        ..Default::default()
    };
    let reply = w
        .host
        .action(
            &Actor::User(w.alice),
            w.community,
            "hostile",
            "act",
            &fields,
        )
        .unwrap();
    assert!(matches!(
        reply,
        Some(hearth_wasm::ActionReply::Refused { .. })
    ));
    assert_eq!(stored(&w, "acted"), None);
}

#[test]
fn batched_item_renders_are_sanitized_capped_and_read_only() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "script");
    keep(&w);
    let page = PageContext::default();
    let items = w.host.render_items(
        &Actor::User(w.alice),
        w.community,
        hearth_wasm::ItemSlot::PostFooter,
        &page,
        &[11, 12, 11],
    );
    // Only the items asked about, each once (a post shown twice on a page
    // is asked about once), scripts and handlers gone.
    assert_eq!(items.keys().copied().collect::<Vec<_>>(), [11, 12]);
    assert!(items.values().all(|f| f.len() == 1), "{items:?}");
    for f in items.values().flatten() {
        assert_eq!(f.plugin, "hostile");
        assert!(f.html.contains("visible"), "{}", f.html);
        for bad in ["<script", "onerror", "javascript:"] {
            assert!(!f.html.contains(bad), "{}", f.html);
        }
    }
    // Slots the manifest does not list are not asked for.
    let none = w.host.render_items(
        &Actor::User(w.alice),
        w.community,
        hearth_wasm::ItemSlot::PostMenu,
        &page,
        &[11],
    );
    assert!(none.is_empty());
    // Over the output cap: nothing rendered, the failure counted.
    set_mode(&w, "huge");
    let huge = w.host.render_items(
        &Actor::User(w.alice),
        w.community,
        hearth_wasm::ItemSlot::PostFooter,
        &page,
        &[11],
    );
    assert!(huge.is_empty());
    let status = w.host.status("hostile").unwrap();
    let last = status.counters.last_error.unwrap_or_default();
    assert!(
        last.contains("hostile") && last.contains("render-items"),
        "{last}"
    );
    // Writes are refused, as in every render.
    set_mode(&w, "write");
    let items = w.host.render_items(
        &Actor::User(w.alice),
        w.community,
        hearth_wasm::ItemSlot::PostFooter,
        &page,
        &[11],
    );
    assert!(items[&11][0].html.contains("Denied"), "{:?}", items);
    assert_eq!(stored(&w, "written"), None);
    assert_eq!(stored(&w, "kept").as_deref(), Some(&b"old"[..]));
    forum_works(&w);
}

#[test]
fn a_notify_storm_is_capped_and_renders_cannot_notify() {
    if !api_0_2() {
        return;
    }
    let w = hostile(
        HostConfig {
            notices_per_hour: 60,
            ..roomy()
        },
        "notify",
    );
    w.grant_hostile(&[Capability::Notify]);
    w.host
        .configure(
            &Actor::System,
            w.community,
            "hostile",
            BTreeMap::from([
                ("mode".to_string(), json!("notify")),
                ("target".to_string(), json!(w.alice.0)),
            ]),
        )
        .unwrap();
    let alice = Actor::User(w.alice);
    let unread = || w.forum.unread_notifications(&alice, w.community).unwrap();

    // A page render may not notify: every notice is refused as a write.
    let fragments = w.host.render(
        &Actor::User(w.bob),
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert_eq!(fragments.len(), 1);
    assert!(
        fragments[0].html.contains("queued 0"),
        "{}",
        fragments[0].html
    );
    assert!(
        fragments[0].html.contains("read-only"),
        "{}",
        fragments[0].html
    );
    assert_eq!(unread(), 0);

    // A schedule may: 100 of the 150 are queued (the per-call cap), and
    // 60 of those are sent (the hourly cap); the rest are counted.
    run(&w, Actor::System, Hook::OnSchedule, json!({}))
        .result
        .unwrap();
    assert_eq!(unread(), 60);
    let status = w.host.status("hostile").unwrap();
    assert_eq!(status.counters.notices_sent, 60);
    // 50 over the per-call cap and the too-long one (also over it), then
    // 40 over the hourly cap.
    assert_eq!(status.counters.notices_capped, 91);
    assert_eq!(
        status.counters.last_error, None,
        "refusals are not failures"
    );
    let list = w
        .forum
        .notifications(&alice, w.community, &hearth::PageRequest::first(100), false)
        .unwrap();
    assert!(
        list.items
            .iter()
            .all(|n| n.kind == hearth::NotificationKind::Custom)
    );
    assert!(list.items.iter().any(|n| n.sentence() == "Poke 0"));

    // An hour later the same storm sends only what was not sent before
    // (one notice per dedupe key), up to the cap again.
    w.clock.advance(time::Duration::minutes(61));
    run(&w, Actor::System, Hook::OnSchedule, json!({}))
        .result
        .unwrap();
    assert_eq!(unread(), 100);
    let status = w.host.status("hostile").unwrap();
    assert_eq!(status.counters.notices_sent, 100);
    assert_eq!(status.counters.notices_not_sent, 60, "already sent");
    forum_works(&w);
}

#[test]
fn a_secret_setting_reaches_only_its_plugin_and_never_leaves() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "secret");
    let configure = |values: serde_json::Value| {
        let values: BTreeMap<String, serde_json::Value> = serde_json::from_value(values).unwrap();
        w.host
            .configure(&Actor::System, w.community, "hostile", values)
            .unwrap();
    };
    let seen = || -> String {
        let fragments = w.host.render(
            &Actor::User(w.alice),
            w.community,
            Slot::PageFooter,
            &PageContext::default(),
        );
        fragments[0].html.clone()
    };
    assert!(seen().contains("secret of 0 bytes"), "{}", seen());
    configure(json!({"mode": "secret", "api-key": "sk-live-1234"}));
    // The plugin reads it in its own calls...
    assert!(seen().contains("secret of 12 bytes"), "{}", seen());
    // ...but it is never read back: not in the settings, only "set".
    let settings = w.host.settings(w.community, "hostile").unwrap();
    assert!(!settings.contains_key("api-key"), "{settings:?}");
    assert_eq!(settings["mode"], json!("secret"));
    assert_eq!(
        w.host.secrets_set(w.community, "hostile").unwrap(),
        vec!["api-key".to_string()]
    );
    // Saving the other settings keeps it; "" clears it.
    configure(json!({"mode": "secret", "poison": 3}));
    assert!(seen().contains("secret of 12 bytes"), "{}", seen());
    // The community's export leaves it out (the operator sets it again).
    let mut file = Vec::new();
    w.forum
        .export_community(&Actor::System, w.community, &mut file, &mut |_, _| {})
        .unwrap();
    let text = String::from_utf8_lossy(&file);
    assert!(!text.contains("sk-live-1234"), "exported");
    assert!(text.contains("plugin:hostile") || text.contains("extension_data"));
    // Nor does the host's own debug output of what is enabled show it.
    let debug = format!("{:?}", w.host);
    assert!(!debug.contains("sk-live-1234"), "{debug}");
    configure(json!({"mode": "secret", "api-key": ""}));
    assert!(seen().contains("secret of 0 bytes"), "{}", seen());
    assert!(
        w.host
            .secrets_set(w.community, "hostile")
            .unwrap()
            .is_empty()
    );
    // A manifest may not ship a secret.
    let shipped = r#"
        name = "leaky"
        version = "1.0.0"
        api-version = "0.2.0"
        hooks = ["render"]
        [settings.key]
        type = "secret"
        default = "sk-in-the-manifest"
    "#;
    let err = hearth_wasm::Manifest::parse(shipped).unwrap_err();
    assert!(err.to_string().contains("a secret's default"), "{err}");
}

#[test]
fn a_plugin_holds_new_posts_for_review_only_when_granted() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "hold");
    let post = |title: &str| {
        w.forum
            .create_topic(
                &Actor::User(w.alice),
                w.community,
                NewTopic {
                    category: w.talk,
                    title: title.into(),
                    body: "Cheap watches, visit my shop.".into(),
                    tags: vec![],
                },
            )
            .unwrap()
    };
    // Without the grant: `denied`, the event batch fails and nothing is
    // hidden.
    let (t, _) = post("Cheap watches for everyone here");
    let _ = w.host.deliver_events();
    assert!(w.forum.topic_only(&Actor::Guest, w.community, t.id).is_ok());
    // Granted: the next new post is hidden and waits for a moderator, the
    // reason naming the plugin.
    w.grant_hostile(&[Capability::HoldPosts]);
    w.host.deliver_events().unwrap();
    let (t2, _) = post("Cheaper watches for everyone here");
    w.host.deliver_events().unwrap();
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, t2.id)
            .is_err()
    );
    let queue = w
        .forum
        .review_queue(
            &Actor::User(w.moderator),
            w.community,
            &ReviewFilter::default(),
            &hearth::PageRequest::first(50),
        )
        .unwrap();
    assert!(
        queue
            .items
            .iter()
            .any(|i| i.reason == "held by hostile: the fixture says spam"),
        "{:?}",
        queue.items.iter().map(|i| &i.reason).collect::<Vec<_>>()
    );
    // A render may not hold anything.
    let fragments = w.host.render(
        &Actor::User(w.bob),
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    assert!(
        fragments[0].html.contains("Denied") && fragments[0].html.contains("read-only"),
        "{}",
        fragments[0].html
    );
    forum_works(&w);
}

#[test]
fn list_reads_show_each_reader_only_what_they_may_read() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "lists");
    w.grant_hostile(&[Capability::Read]);
    let members = w
        .forum
        .create_category(
            &Actor::User(w.owner),
            w.community,
            hearth::NewCategory::new("inner", "Inner circle", hearth::CategoryKind::Discussion)
                .visibility(hearth::Visibility::Members),
        )
        .unwrap();
    for (cat, title) in [
        (w.talk, "A public topic about lists"),
        (members.id, "A members-only topic about lists"),
    ] {
        w.forum
            .create_topic(
                &Actor::User(w.alice),
                w.community,
                NewTopic {
                    category: cat,
                    title: title.into(),
                    body: "Read me through the list interface.".into(),
                    tags: vec![],
                },
            )
            .unwrap();
    }
    let seen = |viewer: Actor| {
        w.host.render(
            &viewer,
            w.community,
            Slot::PageFooter,
            &PageContext::default(),
        )[0]
        .html
        .clone()
    };
    // A guest's page: the public topic only; a member's: both.
    let guest = seen(Actor::Guest);
    assert!(guest.contains("A public topic about lists"), "{guest}");
    assert!(!guest.contains("members-only"), "{guest}");
    let member = seen(Actor::User(w.bob));
    assert!(
        member.contains("A members-only topic about lists"),
        "{member}"
    );
    // Paging, a topic's posts, posts by id (the unknown one is none), and
    // the bound.
    assert!(member.contains("posts Some(1)"), "{member}");
    assert!(
        member.contains("next: true") || member.contains(", true))"),
        "{member}"
    );
    assert!(member.contains("false]"), "an unknown id is none: {member}");
    assert!(member.contains("over true"), "{member}");
    // Members by id, in the order asked, as `member` answers each.
    let expected: Vec<Option<String>> = [2, 999_999, 1]
        .iter()
        .map(|id| {
            w.forum
                .member(&Actor::User(w.bob), w.community, hearth::UserId(*id))
                .ok()
                .map(|m| m.user.username)
        })
        .collect();
    assert!(expected[0].is_some() && expected[1].is_none());
    let expected = format!("members {:?}", Ok::<_, ()>(expected));
    let text = member.replace("&quot;", "\"");
    assert!(text.contains(&expected), "{expected} in {text}");
    assert!(member.contains("members over true"), "{member}");
}

#[test]
fn a_moderation_bot_hides_flags_closes_and_replies_only_as_granted() {
    if !api_0_2() {
        return;
    }
    let w = hostile(roomy(), "moderate");
    let post = |title: &str, body: &str| w.alice_topic(title, body);
    let moderated = |w: &World| -> Vec<String> {
        w.forum
            .ext_get("plugin:hostile", Some(w.community), "moderated")
            .unwrap()
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap_or_default()
    };
    // Read, but none of the moderation grants: each is `denied`, nothing
    // happens, and no bot exists.
    w.grant_hostile(&[Capability::Read]);
    let (t0, _) = post(
        "Please hide me, flag me and close me",
        "hide me flag me close me",
    );
    w.host.deliver_events().unwrap();
    let said = moderated(&w);
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(said.iter().all(|s| s.contains("Denied")), "{said:?}");
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, t0.id)
            .is_ok()
    );
    assert!(w.host.bot_of("hostile").unwrap().is_none());

    // Granted: each acts through the engine's rules, attributed to the
    // plugin.
    w.grant_hostile(&[
        Capability::Read,
        Capability::HidePosts,
        Capability::FlagPosts,
        Capability::CloseTopics,
        Capability::Reply,
    ]);
    let (hidden, _) = post("A post asking to be hidden", "Please hide me now.");
    let (flagged, flagged_post) = post("A post asking to be flagged", "Please flag me now.");
    let (closed, _) = post("A topic asking to be closed", "Please close me now.");
    w.host.deliver_events().unwrap();
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, hidden.id)
            .is_err()
    );
    assert!(
        !w.forum
            .post(&Actor::Guest, w.community, flagged_post.id)
            .unwrap()
            .hidden
    );
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, closed.id)
            .unwrap()
            .closed
    );
    let queue = w
        .forum
        .review_queue(
            &Actor::User(w.moderator),
            w.community,
            &ReviewFilter::default(),
            &hearth::PageRequest::first(50),
        )
        .unwrap();
    let reasons: Vec<&str> = queue.items.iter().map(|i| i.reason.as_str()).collect();
    assert!(
        reasons.contains(&"hidden by hostile: asked to"),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"flagged by hostile: asked to"),
        "{reasons:?}"
    );
    // The bot replied as `hostile-bot`, a member, where it may: the
    // hidden topic (which it may not see) and the closed one refused its
    // replies (counted); its own posts were not handed back to the plugin
    // (no reply to a reply).
    let bot = w.host.bot_of("hostile").unwrap().expect("a bot member");
    assert_eq!(w.forum.user(bot).unwrap().username, "hostile-bot");
    let view = w
        .forum
        .topic(
            &Actor::Guest,
            w.community,
            flagged.id,
            &hearth::PageRequest::first(10),
        )
        .unwrap();
    let replies: Vec<(&str, &str)> = view
        .posts
        .items
        .iter()
        .skip(1)
        .map(|p| (p.author.username.as_str(), p.source.as_str()))
        .collect();
    assert_eq!(
        replies,
        [(
            "hostile-bot",
            format!("The bot saw post {}.", flagged_post.id.0).as_str()
        )]
    );
    w.host.deliver_events().unwrap();
    let status = w.host.status("hostile").unwrap().counters;
    assert!(status.replies_posted >= 1, "{status:?}");
    assert_eq!(status.replies_refused, 2, "{status:?}");
    assert!(
        status
            .last_error
            .unwrap_or_default()
            .contains("bot reply was refused"),
    );
    let again = w
        .forum
        .topic(
            &Actor::Guest,
            w.community,
            flagged.id,
            &hearth::PageRequest::first(10),
        )
        .unwrap();
    assert_eq!(again.posts.items.len(), 2, "the bot did not answer itself");

    // From a render nothing acts; from an action only the reply is queued
    // (and posted, as the action is done).
    let fragments = w.host.render(
        &Actor::User(w.bob),
        w.community,
        Slot::PageFooter,
        &PageContext::default(),
    );
    let html = &fragments[0].html;
    assert_eq!(html.matches("Denied").count(), 4, "{html}");
    act(&w, Actor::User(w.bob)).unwrap();
    let said = String::from_utf8(
        w.forum
            .ext_get("plugin:hostile", Some(w.community), "moderate-action")
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(said.matches("Denied").count(), 3, "{said}");
    assert!(said.contains("reply Ok(())"), "{said}");
    // The draft filter (which runs in this mode too) acted on nothing:
    // topic 1 of the first phase is still open.
    assert!(
        !w.forum
            .topic_only(&Actor::Guest, w.community, t0.id)
            .unwrap()
            .closed
    );
    forum_works(&w);
}
