//! Event delivery: in order, at least once, exactly-once for what a plugin
//! stores, across host restarts; poison events are parked.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{World, open_forum};
use hearth::{Actor, EventId, NewReply, NewTopic};
use hearth_wasm::{HostConfig, PluginHost};
use serde_json::json;

fn configure(host: &PluginHost, w: &World, settings: serde_json::Value) {
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_value(settings).unwrap();
    host.configure(&Actor::System, w.community, "hostile", map)
        .unwrap();
}

/// A JSON list the hostile fixture keeps under `key` (empty if none).
fn kept<T: serde::de::DeserializeOwned>(forum: &hearth::Forum, w: &World, key: &str) -> Vec<T> {
    forum
        .ext_get("plugin:hostile", Some(w.community), key)
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_default()
}

/// The event ids the hostile fixture handled, in order.
fn recorded(forum: &hearth::Forum, w: &World) -> Vec<i64> {
    kept(forum, w, "log")
}

fn activity(forum: &hearth::Forum, w: &World, n: usize) {
    for i in 0..n {
        let (t, _) = forum
            .create_topic(
                &Actor::User(w.alice),
                w.community,
                NewTopic {
                    category: w.talk,
                    title: format!("Topic number {i}"),
                    body: "Some words.".into(),
                    tags: vec![],
                },
            )
            .unwrap();
        forum
            .reply(
                &Actor::User(w.bob),
                w.community,
                t.id,
                NewReply {
                    body: "A reply.".into(),
                    reply_to: None,
                },
            )
            .unwrap();
    }
}

/// Every event the plugin may see (all but staff-only ones), in order.
fn all_events(forum: &hearth::Forum, w: &World) -> Vec<i64> {
    forum
        .events_after(&Actor::System, w.community, EventId(0), 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.audience != hearth::Audience::Staff)
        .map(|e| e.id.0)
        .collect()
}

#[test]
fn delivery_survives_a_restart_mid_stream_without_loss_or_reordering() {
    let config = HostConfig {
        event_batch: 4,
        // This test is about delivery: a busy CI machine must not turn the
        // restarted host's first (cold) draft check into a timeout that
        // holds the post for review (deadlines: tests/hostile.rs).
        interactive_deadline: std::time::Duration::from_secs(2),
        ..HostConfig::default()
    };
    let w = World::with_config(config.clone());
    w.enable_hostile();
    activity(&w.forum, &w, 10);
    let events = all_events(&w.forum, &w);
    let stop_at = events[events.len() / 2];
    // The stream stops at the "poison" event (a failure the plugin will
    // recover from after the restart).
    configure(&w.host, &w, json!({"mode": "record", "poison": stop_at}));
    let report = w.host.deliver_events().unwrap();
    assert_eq!(report.failures.len(), 1);
    let before: Vec<i64> = events
        .iter()
        .copied()
        .take_while(|e| *e < stop_at)
        .collect();
    assert_eq!(recorded(&w.forum, &w), before);

    // Restart: a new forum handle and a new host on the same file.
    let World {
        dir: _dir,
        location,
        clock,
        host,
        forum,
        ..
    } = w;
    drop(host);
    drop(forum);
    let forum = open_forum(&location, &clock);
    let host = PluginHost::new(forum.clone(), config).unwrap();
    let w2 = WorldRef {
        community: community_of(&forum),
    };
    let map: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(json!({"mode": "record", "poison": 0})).unwrap();
    host.configure(&Actor::System, w2.community, "hostile", map)
        .unwrap();
    // More activity while it was down.
    let alice = forum.user_by_username("alice").unwrap().id;
    forum
        .create_topic(
            &Actor::User(alice),
            w2.community,
            NewTopic {
                category: forum
                    .category_by_slug(&Actor::System, w2.community, "talk")
                    .unwrap()
                    .id,
                title: "Written during the outage".into(),
                body: "Hello.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let report = host.deliver_events().unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let log: Vec<i64> = forum
        .ext_get("plugin:hostile", Some(w2.community), "log")
        .unwrap()
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let everything: Vec<i64> = forum
        .events_after(&Actor::System, w2.community, EventId(0), 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.audience != hearth::Audience::Staff)
        .map(|e| e.id.0)
        .collect();
    assert_eq!(log, everything, "every event once, in order");
    assert_eq!(
        host.event_cursor(w2.community, "hostile").unwrap().0,
        *everything.last().unwrap()
    );
}

struct WorldRef {
    community: hearth::CommunityId,
}

fn community_of(forum: &hearth::Forum) -> hearth::CommunityId {
    forum.community_by_slug(&Actor::System, "acme").unwrap().id
}

#[test]
fn a_poison_event_is_parked_and_the_stream_moves_on() {
    let w = World::with_config(HostConfig {
        park_after: 3,
        interactive_deadline: std::time::Duration::from_secs(2),
        ..HostConfig::default()
    });
    w.enable_hostile();
    activity(&w.forum, &w, 3);
    let events = all_events(&w.forum, &w);
    let poison = events[2];
    configure(&w.host, &w, json!({"mode": "record", "poison": poison}));
    for pass in 1..=3 {
        let report = w.host.deliver_events().unwrap();
        if pass < 3 {
            assert_eq!(report.failures.len(), 1, "pass {pass}");
            assert_eq!(report.parked, 0);
        } else {
            assert_eq!(report.parked, 1);
        }
    }
    let parked = w.host.parked_events(w.community, "hostile").unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event.0, poison);
    assert_eq!(parked[0].attempts, 3);
    assert!(
        parked[0]
            .error
            .contains(&format!("cannot handle event {poison}"))
    );
    let expected: Vec<i64> = events.iter().copied().filter(|e| *e != poison).collect();
    assert_eq!(recorded(&w.forum, &w), expected);
    // Three failures in a row (below the disable threshold of 5), then
    // successes: the plugin stays enabled.
    let status = w.host.status("hostile").unwrap();
    assert!(status.disabled.is_none());
    assert_eq!(status.counters.parked_events, 1);
}

#[test]
fn staff_events_reach_only_plugins_granted_them() {
    let w = World::new();
    w.enable_hostile();
    configure(&w.host, &w, json!({"mode": "record"}));
    // A flag: staff-only events (post.flagged, review.queued).
    w.forum
        .set_trust_level(
            &Actor::System,
            w.community,
            w.bob,
            Some(hearth::TrustLevel::Basic),
            None,
        )
        .unwrap();
    let (_, post) = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: w.talk,
                title: "Something to flag".into(),
                body: "Buy cheap watches here.".into(),
                tags: vec![],
            },
        )
        .unwrap();
    w.forum
        .flag_post(
            &Actor::User(w.bob),
            w.community,
            post.id,
            hearth::FlagKind::Spam,
            "",
        )
        .unwrap();
    w.host.deliver_events().unwrap();
    let staff: Vec<i64> = w
        .forum
        .events_after(&Actor::System, w.community, EventId(0), 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.audience == hearth::Audience::Staff)
        .map(|e| e.id.0)
        .collect();
    assert!(!staff.is_empty());
    let seen = recorded(&w.forum, &w);
    assert!(
        staff.iter().all(|s| !seen.contains(s)),
        "{seen:?} {staff:?}"
    );
}

/// Two hosts on one database (two servers): one worker pass at a time, so
/// the plugin sees each event once however many servers run a worker.
#[test]
fn one_worker_pass_at_a_time_across_hosts() {
    let w = World::new();
    w.enable_hostile();
    configure(&w.host, &w, json!({"mode": "record"}));
    assert!(
        w.host.work_once().unwrap(),
        "nothing else runs: the pass runs"
    );
    let before = recorded(&w.forum, &w);
    activity(&w.forum, &w, 3);
    let other = PluginHost::new(open_forum(&w.location, &w.clock), HostConfig::default()).unwrap();
    // While this server's pass runs, the other's is turned away.
    let inner = w
        .forum
        .exclusively("hearth-wasm worker", hearth_wasm::WORKER_LEASE, || {
            other.work_once()
        })
        .unwrap()
        .expect("the lease was free");
    assert!(!inner.unwrap(), "turned away");
    assert_eq!(
        recorded(&w.forum, &w),
        before,
        "nothing delivered meanwhile"
    );
    // Then it runs, and the first server's next pass finds nothing new.
    assert!(other.work_once().unwrap());
    assert!(w.host.work_once().unwrap());
    let log = recorded(&w.forum, &w);
    assert_eq!(log, all_events(&w.forum, &w), "each event once, in order");
}

/// What the hostile fixture read of each event's post (`read` granted).
fn bodies(forum: &hearth::Forum, w: &World) -> Vec<String> {
    kept(forum, w, "bodies")
}

/// Private conversations reach a plugin only when the operator granted
/// it `private-messages`: without it, neither their events nor their
/// posts (even with `read`); with it, both, in the same ordered stream.
#[test]
fn conversations_reach_only_plugins_granted_private_messages() {
    use hearth_wasm::Capability;
    if common::api_version() != "0.2.0" {
        // The 0.1 build of the fixture asks for neither capability.
        return;
    }
    const SECRET: &str = "quokkasecret";
    let w = World::new();
    w.install_fixture("hostile");
    let enable = |extra: &[Capability]| {
        let mut grants = vec![
            Capability::Log,
            Capability::Settings,
            Capability::Kv,
            Capability::Read,
        ];
        grants.extend_from_slice(extra);
        w.host
            .enable(&Actor::System, w.community, "hostile", &grants)
            .unwrap();
    };
    enable(&[]);
    configure(&w.host, &w, json!({"mode": "record"}));
    for member in [w.alice, w.bob] {
        w.forum
            .set_trust_level(
                &Actor::System,
                w.community,
                member,
                Some(hearth::TrustLevel::Basic),
                None,
            )
            .unwrap();
    }
    activity(&w.forum, &w, 1);
    let bob = w.forum.user(w.bob).unwrap().username;
    let (conversation, _) = w
        .forum
        .send_message(
            &Actor::User(w.alice),
            w.community,
            hearth::NewMessage {
                title: "Between the two of us".into(),
                body: format!("The code word is {SECRET}."),
                users: vec![bob],
                groups: vec![],
            },
        )
        .unwrap();
    let theirs: Vec<i64> = w
        .forum
        .events_after_with_conversations(&Actor::System, w.community, EventId(0), 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.topic == Some(conversation.id))
        .map(|e| e.id.0)
        .collect();
    assert!(!theirs.is_empty());

    w.host.deliver_events().unwrap();
    let seen = recorded(&w.forum, &w);
    assert!(theirs.iter().all(|e| !seen.contains(e)), "{seen:?}");
    assert_eq!(seen, all_events(&w.forum, &w), "everything else, in order");
    let read = bodies(&w.forum, &w);
    assert!(
        !read.is_empty() && read.iter().all(|b| !b.contains(SECRET)),
        "{read:?}"
    );

    // Granted: the same stream from the start, conversations included.
    enable(&[Capability::PrivateMessages]);
    w.host.clear_data(w.community, "hostile").unwrap();
    configure(&w.host, &w, json!({"mode": "record"}));
    w.host.deliver_events().unwrap();
    let seen = recorded(&w.forum, &w);
    assert!(
        theirs.iter().all(|e| seen.contains(e)),
        "{seen:?} {theirs:?}"
    );
    assert!(seen.windows(2).all(|p| p[0] < p[1]), "in order: {seen:?}");
    assert!(
        bodies(&w.forum, &w).iter().any(|b| b.contains(SECRET)),
        "the conversation's post is read"
    );
}
