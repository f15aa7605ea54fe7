//! Remembered renders: a page slot's or an item slot's answer is reused
//! only while every read it made answers the same — for the same plugin
//! build, reader and context — and never when the render did something a
//! replay cannot repeat (the exact clock); the clock rounded to a step
//! counts as a read until the step is over.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::World;
use hearth::{Actor, NewCategory, NewTopic, Visibility};
use hearth_wasm::{Capability, HostConfig, ItemSlot, PageContext, Slot};
use serde_json::json;

fn api_0_2() -> bool {
    common::api_version() == "0.2.0"
}

/// The hostile fixture in `mode`, allowed to read the forum.
fn hostile(config: HostConfig, mode: &str) -> World {
    let w = World::with_config(config);
    w.install_fixture("hostile");
    w.grant_hostile(&[Capability::Read]);
    set_mode(&w, mode);
    w
}

fn set_mode(w: &World, mode: &str) {
    w.hostile_mode(mode);
}

fn calls(w: &World, plugin: &str) -> u64 {
    w.host.status(plugin).unwrap().counters.calls
}

/// The post footer the fixture renders for post 1, as `reader`.
fn footer(w: &World, reader: Actor) -> String {
    let items = w.host.render_items(
        &reader,
        w.community,
        ItemSlot::PostFooter,
        &PageContext::default(),
        &[1],
    );
    items[&1][0].html.clone()
}

fn topic(w: &World, category: hearth::CategoryId, title: &str) -> hearth::Topic {
    w.forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category,
                title: title.into(),
                body: "Read me through the list interface.".into(),
                tags: vec![],
            },
        )
        .unwrap()
        .0
}

/// In `lists` mode the fixture reads the latest topics, a topic's posts
/// and posts by id as the page's viewer.
#[test]
fn a_render_is_reused_only_while_its_reads_answer_the_same() {
    if !api_0_2() {
        return;
    }
    let w = hostile(HostConfig::default(), "lists");
    let inner = w
        .forum
        .create_category(
            &Actor::User(w.owner),
            w.community,
            NewCategory::new("inner", "Inner circle", hearth::CategoryKind::Discussion)
                .visibility(Visibility::Members),
        )
        .unwrap();
    topic(&w, w.talk, "A public topic about lists");
    topic(&w, inner.id, "A members-only topic about lists");
    let bob = Actor::User(w.bob);
    // Whether the plugin ran for this render (event deliveries count as
    // calls too, so the counter is read right around it).
    let render = |reader: Actor| {
        let before = calls(&w, "hostile");
        let html = footer(&w, reader);
        (html, calls(&w, "hostile") - before == 1)
    };

    let (first, ran) = render(bob);
    assert!(first.contains("members-only") && ran, "{first}");
    // The same reader and page, nothing changed: the plugin does not run.
    assert_eq!(render(bob), (first.clone(), false));

    // Another reader is another call (and sees only what it may).
    let (guest, ran) = render(Actor::Guest);
    assert!(!guest.contains("members-only") && ran, "{guest}");

    // A new topic changes what the latest topics answer.
    topic(&w, w.talk, "Fresh news about lists");
    let (fresh, ran) = render(bob);
    assert!(fresh.contains("Fresh news") && ran, "{fresh}");
    assert_eq!(render(bob), (fresh.clone(), false));

    // The reader loses access: the remembered answer (which showed the
    // members-only topic) is not served; the plugin runs and leaves it out.
    let owners = w
        .forum
        .create_group(&Actor::User(w.owner), w.community, "owners", "")
        .unwrap();
    w.forum
        .update_category(
            &Actor::User(w.owner),
            w.community,
            inner.id,
            NewCategory::new("inner", "Inner circle", hearth::CategoryKind::Discussion)
                .visibility(Visibility::Groups)
                .groups(&[owners.id]),
        )
        .unwrap();
    let (narrowed, ran) = render(bob);
    assert!(!narrowed.contains("members-only") && ran, "{narrowed}");
    assert_eq!(render(bob), (narrowed, false));

    // The operator changes a setting the render read: it runs again.
    set_mode(&w, "script");
    let (other, ran) = render(bob);
    assert!(other.contains("visible") && ran, "{other}");
}

/// Each part of a call's context names its own remembered answer: another
/// item list, path, topic, slot or reader runs the plugin; the same call
/// again does not.
#[test]
fn another_context_is_another_call() {
    if !api_0_2() {
        return;
    }
    let w = hostile(HostConfig::default(), "lists");
    let t = topic(&w, w.talk, "A public topic about lists");
    let bob = Actor::User(w.bob);
    let page = |path: &str, topic: Option<hearth::TopicId>| PageContext {
        path: path.into(),
        topic,
        ..Default::default()
    };
    let ran = |reader: Actor, slot: ItemSlot, page: &PageContext, items: &[i64]| {
        let before = calls(&w, "hostile");
        w.host.render_items(&reader, w.community, slot, page, items);
        calls(&w, "hostile") - before == 1
    };
    let post = ItemSlot::PostFooter;
    let cases: Vec<(Actor, ItemSlot, PageContext, Vec<i64>)> = vec![
        (bob, post, page("/t/a/1", Some(t.id)), vec![1]),
        (bob, post, page("/t/a/1", Some(t.id)), vec![1, 2]),
        (bob, post, page("/t/a/1", Some(t.id)), vec![2, 1]),
        (bob, post, page("/t/a/12", Some(t.id)), vec![1]),
        (bob, post, page("/t/a/1", None), vec![1]),
        (
            Actor::User(w.alice),
            post,
            page("/t/a/1", Some(t.id)),
            vec![1],
        ),
        (Actor::Guest, post, page("/t/a/1", Some(t.id)), vec![1]),
        (
            bob,
            ItemSlot::TopicListBadge,
            page("/t/a/1", Some(t.id)),
            vec![1],
        ),
    ];
    for (i, (reader, slot, page, items)) in cases.iter().enumerate() {
        assert!(
            ran(*reader, *slot, page, items),
            "case {i}: the first call runs"
        );
        assert!(
            !ran(*reader, *slot, page, items),
            "case {i}: the same call is remembered"
        );
    }
    // Page slots too: another topic, member or slot is another call.
    let render = |slot: Slot, page: &PageContext| {
        let before = calls(&w, "hostile");
        w.host.render(&bob, w.community, slot, page);
        calls(&w, "hostile") - before
    };
    let pages = [
        (Slot::PageFooter, page("/t/a/1", Some(t.id))),
        (Slot::PageFooter, page("/t/a/1", None)),
        (Slot::TopicFooter, page("/t/a/1", Some(t.id))),
        (
            Slot::PageFooter,
            PageContext {
                member: Some(w.alice),
                ..page("/t/a/1", Some(t.id))
            },
        ),
    ];
    for (i, (slot, page)) in pages.iter().enumerate() {
        assert_eq!(render(*slot, page), 1, "page case {i}: the first call runs");
        assert_eq!(
            render(*slot, page),
            0,
            "page case {i}: the same call is remembered"
        );
    }
}

/// Remembered renders are reused without their reads while nothing is
/// committed (SQLite's data version) — but a commit by anyone, also a
/// second handle on the same database (as another process would be),
/// makes the next view replay them, and a changed answer runs the plugin.
#[test]
fn a_change_committed_elsewhere_is_never_missed() {
    if !api_0_2() {
        return;
    }
    let w = hostile(HostConfig::default(), "lists");
    let inner = w
        .forum
        .create_category(
            &Actor::User(w.owner),
            w.community,
            NewCategory::new("inner", "Inner circle", hearth::CategoryKind::Discussion)
                .visibility(Visibility::Members),
        )
        .unwrap();
    topic(&w, inner.id, "A members-only topic about lists");
    let bob = Actor::User(w.bob);
    let render = |reader: Actor| {
        let before = calls(&w, "hostile");
        let html = footer(&w, reader);
        (html, calls(&w, "hostile") - before == 1)
    };
    let (first, ran) = render(bob);
    assert!(first.contains("members-only") && ran, "{first}");
    // Views in a row with nothing committed in between: reused.
    for _ in 0..3 {
        assert_eq!(render(bob), (first.clone(), false));
    }
    // Another handle (its own connections, as another process has)
    // narrows the category: the next view replays, finds the change and
    // runs the plugin, which leaves the topic out.
    let other = common::open_forum(&w.location, &w.clock);
    let owners = other
        .create_group(&Actor::User(w.owner), w.community, "owners", "")
        .unwrap();
    other
        .update_category(
            &Actor::User(w.owner),
            w.community,
            inner.id,
            NewCategory::new("inner", "Inner circle", hearth::CategoryKind::Discussion)
                .visibility(Visibility::Groups)
                .groups(&[owners.id]),
        )
        .unwrap();
    let (narrowed, ran) = render(bob);
    assert!(!narrowed.contains("members-only") && ran, "{narrowed}");
    // A commit that changes nothing the render read: replayed, reused.
    other
        .create_topic(
            &Actor::User(w.owner),
            w.community,
            NewTopic {
                category: owners_only(&w, &other, owners.id),
                title: "Only owners read this one".into(),
                body: "Nobody else sees it in any list.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    assert_eq!(render(bob), (narrowed, false));
}

/// A category only the group reads.
fn owners_only(w: &World, f: &hearth::Forum, group: hearth::GroupId) -> hearth::CategoryId {
    f.create_category(
        &Actor::User(w.owner),
        w.community,
        NewCategory::new("owners", "Owners", hearth::CategoryKind::Discussion)
            .visibility(Visibility::Groups)
            .groups(&[group]),
    )
    .unwrap()
    .id
}

/// A render that reads the clock runs on every page; one that reads it
/// rounded (`now-rounded`) is reused until the next step begins, then runs
/// again and shows the new time.
#[test]
fn the_clock_runs_a_render_every_time_the_rounded_clock_once_a_step() {
    if !api_0_2() {
        return;
    }
    let w = World::new();
    w.install_fixture("hostile");
    w.grant_hostile(&[Capability::Now]);
    set_mode(&w, "clock");
    let before = calls(&w, "hostile");
    for n in 1..=3 {
        assert!(footer(&w, Actor::Guest).starts_with("clock "));
        assert_eq!(calls(&w, "hostile"), before + n);
    }
    // The clock stands at 09:00:00.
    set_mode(&w, "minute");
    let first = footer(&w, Actor::Guest);
    assert!(first.starts_with("minute "), "{first}");
    let ran = calls(&w, "hostile");
    w.clock.advance(time::Duration::seconds(59));
    assert_eq!(footer(&w, Actor::Guest), first);
    assert_eq!(calls(&w, "hostile"), ran, "reused within the minute");
    w.clock.advance(time::Duration::seconds(1));
    let next = footer(&w, Actor::Guest);
    assert_ne!(next, first, "the next minute shows the new time");
    assert_eq!(calls(&w, "hostile"), ran + 1);
    // Without the capability the rounded clock stops the render, as `now`
    // does, and nothing is remembered.
    w.grant_hostile(&[]);
    w.clock.advance(time::Duration::minutes(1));
    let failures = w.host.status("hostile").unwrap().counters.failures;
    let denied = w.host.render_items(
        &Actor::Guest,
        w.community,
        ItemSlot::PostFooter,
        &PageContext::default(),
        &[1],
    );
    assert!(denied.is_empty(), "{denied:?}");
    let status = w.host.status("hostile").unwrap();
    assert_eq!(status.counters.failures, failures + 1);
    assert!(
        status
            .counters
            .last_error
            .is_some_and(|e| e.contains("now-rounded")),
    );
}

/// The escape hatch on a question's page asks the time to the minute
/// (whether the question is "stuck"): reused within the minute; its footer
/// away from topics, which reads only its settings, is reused too.
#[test]
fn the_escape_hatch_is_remembered_within_the_minute() {
    let w = World::new();
    w.enable_escape_hatch();
    w.host
        .configure(
            &Actor::System,
            w.community,
            "escape-hatch",
            BTreeMap::from([("url".to_string(), json!("https://help.acme.test"))]),
        )
        .unwrap();
    let (t, _) = w.alice_topic("Nobody answers me", "Is anyone there at all?");
    let render = |page: &PageContext| {
        w.host
            .render(&Actor::Guest, w.community, Slot::PageFooter, page)
            .into_iter()
            .map(|f| f.html)
            .collect::<String>()
    };
    let on_topic = PageContext {
        topic: Some(t.id),
        ..PageContext::default()
    };
    // Built for API 0.1 (the compatibility run), the plugin asks `now`:
    // it runs on every page, as before.
    let per_minute = if api_0_2() { 1 } else { 3 };
    let before = calls(&w, "escape-hatch");
    for _ in 1..=3 {
        assert!(render(&on_topic).contains("help.acme.test"));
    }
    assert_eq!(calls(&w, "escape-hatch"), before + per_minute);
    w.clock.advance(time::Duration::minutes(1));
    assert!(render(&on_topic).contains("help.acme.test"));
    let ran = before + per_minute + 1;
    assert_eq!(calls(&w, "escape-hatch"), ran, "a new minute");
    let away = PageContext::default();
    assert!(render(&away).contains("help.acme.test"));
    assert!(render(&away).contains("help.acme.test"));
    assert_eq!(calls(&w, "escape-hatch"), ran + 1);
}

/// With `remember_renders` off every page runs every plugin.
#[test]
fn remembering_can_be_turned_off() {
    if !api_0_2() {
        return;
    }
    let w = hostile(
        HostConfig {
            remember_renders: false,
            ..HostConfig::default()
        },
        "ok",
    );
    let before = calls(&w, "hostile");
    for n in 1..=3 {
        assert!(footer(&w, Actor::Guest).contains("ok"));
        assert_eq!(calls(&w, "hostile"), before + n);
    }
}
