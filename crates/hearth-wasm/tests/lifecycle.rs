//! Installing, upgrading, rolling back and disabling plugins without a
//! restart; who may manage them; reads in render hooks made as the viewer.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{World, plugin_files};
use hearth::{Actor, CategoryKind, NewCategory, NewTopic, Visibility};
use hearth_wasm::{Capability, Error, Hook, HostConfig, PageContext, Slot};
use serde_json::json;

fn footer(w: &World) -> Vec<String> {
    footer_of(&w.host, w.community)
}

/// The page footer a guest sees, rendered by `host`.
fn footer_of(host: &hearth_wasm::PluginHost, community: hearth::CommunityId) -> Vec<String> {
    host.render(
        &Actor::Guest,
        community,
        Slot::PageFooter,
        &PageContext::default(),
    )
    .into_iter()
    .map(|f| f.html)
    .collect()
}

/// The hostile fixture's component under another plugin's name: a second
/// "version" with different behaviour.
fn as_version(name: &str, version: &str, wasm_of: &str, fixture: bool) -> (String, Vec<u8>) {
    let (_, wasm) = plugin_files(wasm_of, fixture);
    let manifest = format!(
        "name = \"{name}\"\nversion = \"{version}\"\napi-version = \"{api}\"\n\
         hooks = [\"render\", \"on-schedule\"]\ncapabilities = [\"settings\", \"read\", \"now\", \"log\", \"kv\"]\n\
         [settings.url]\ntype = \"string\"\ndefault = \"https://help.acme.test\"\n\
         [settings.mode]\ntype = \"string\"\ndefault = \"ok\"\n\
         [limits]\nbackground-ms = 400\n",
        api = common::api_version()
    );
    (manifest, wasm)
}

#[test]
fn upgrade_and_rollback_take_effect_at_once() {
    let w = World::new();
    let (m1, wasm1) = as_version("footer", "1.0.0", "escape-hatch", false);
    w.host.install(&m1, &wasm1).unwrap();
    w.host
        .enable(
            &Actor::System,
            w.community,
            "footer",
            &[Capability::Settings, Capability::Read, Capability::Now],
        )
        .unwrap();
    assert!(footer(&w)[0].contains("help.acme.test"));

    let (m2, wasm2) = as_version("footer", "2.0.0", "hostile", true);
    let status = w.host.install(&m2, &wasm2).unwrap();
    assert_eq!(status.version, "2.0.0");
    assert_eq!(status.previous_version.as_deref(), Some("1.0.0"));
    assert_eq!(footer(&w), ["<p>hostile but fine</p>"]);

    let back = w.host.rollback("footer").unwrap();
    assert_eq!(back.version, "1.0.0");
    assert_eq!(back.previous_version.as_deref(), Some("2.0.0"));
    assert!(footer(&w)[0].contains("help.acme.test"));

    // The choice survives a restart.
    let host2 = hearth_wasm::PluginHost::new(w.forum.clone(), HostConfig::default()).unwrap();
    assert_eq!(host2.status("footer").unwrap().version, "1.0.0");

    // Disabled in the community: nothing renders; the install stays.
    w.host
        .disable(&Actor::System, w.community, "footer")
        .unwrap();
    assert!(footer(&w).is_empty());
    w.host.uninstall("footer").unwrap();
    assert!(matches!(
        w.host.rollback("footer"),
        Err(Error::NotInstalled(_))
    ));
}

#[test]
fn a_call_in_flight_finishes_on_the_old_version() {
    let w = World::new();
    let (m1, wasm1) = as_version("worker", "1.0.0", "hostile", true);
    w.host.install(&m1, &wasm1).unwrap();
    w.host
        .enable(
            &Actor::System,
            w.community,
            "worker",
            &[Capability::Settings, Capability::Log],
        )
        .unwrap();
    w.host
        .configure(
            &Actor::System,
            w.community,
            "worker",
            BTreeMap::from([("mode".to_string(), json!("loop"))]),
        )
        .unwrap();
    let host = w.host.clone();
    let community = w.community;
    let in_flight = std::thread::spawn(move || {
        host.run_hook(
            &Actor::System,
            community,
            "worker",
            Hook::OnSchedule,
            &json!(null),
        )
        .unwrap()
        .result
    });
    std::thread::sleep(Duration::from_millis(100));
    // Upgrade while version 1 loops: the new version serves new calls at
    // once; the old call runs to its own deadline.
    let (m2, wasm2) = as_version("worker", "2.0.0", "escape-hatch", false);
    w.host.install(&m2, &wasm2).unwrap();
    assert!(footer(&w)[0].contains("help.acme.test"));
    let old = in_flight.join().unwrap();
    assert!(
        matches!(&old, Err(Error::Timeout { limit, .. }) if limit == "400 ms deadline"),
        "{old:?}"
    );
}

#[test]
fn only_admins_manage_plugins() {
    let w = World::new();
    w.install("escape-hatch");
    for actor in [Actor::Guest, Actor::User(w.alice), Actor::User(w.moderator)] {
        let e = w
            .host
            .enable(&actor, w.community, "escape-hatch", &[Capability::Settings])
            .unwrap_err();
        assert!(
            matches!(e, Error::Forbidden(_) | Error::Forum(_)),
            "{actor:?}: {e}"
        );
    }
    w.host
        .enable(
            &Actor::User(w.owner),
            w.community,
            "escape-hatch",
            &[Capability::Settings],
        )
        .unwrap();
    assert_eq!(
        w.host.enabled_plugins(w.community).unwrap(),
        ["escape-hatch"]
    );
    let e = w
        .host
        .configure(
            &Actor::User(w.alice),
            w.community,
            "escape-hatch",
            BTreeMap::from([("email".to_string(), json!("x@y.z"))]),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_) | Error::Forum(_)), "{e}");
}

#[test]
fn render_reads_are_made_as_the_viewer() {
    let w = World::new();
    w.enable_escape_hatch();
    w.host
        .configure(
            &Actor::System,
            w.community,
            "escape-hatch",
            BTreeMap::from([
                ("url".to_string(), json!("https://help.acme.test")),
                ("stuck-after-hours".to_string(), json!(0)),
            ]),
        )
        .unwrap();
    let private = w
        .forum
        .create_category(
            &Actor::System,
            w.community,
            NewCategory {
                visibility: Visibility::Members,
                ..NewCategory::new("members-qa", "Members Q&A", CategoryKind::QuestionAndAnswer)
            },
        )
        .unwrap();
    let (topic, _) = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: private.id,
                title: "Secret roadmap question".into(),
                body: "When does the private beta end?".into(),
                tags: vec![],
            },
        )
        .unwrap();
    let page = PageContext {
        path: "/t/secret/1".into(),
        topic: Some(topic.id),
        member: None,
        ..Default::default()
    };
    let as_member = w
        .host
        .render(&Actor::User(w.bob), w.community, Slot::TopicFooter, &page);
    assert!(as_member[0].html.contains("Secret roadmap question"));
    // A guest's page never carries the private topic's title.
    let as_guest = w
        .host
        .render(&Actor::Guest, w.community, Slot::TopicFooter, &page);
    assert!(as_guest.is_empty(), "{as_guest:?}");
}

/// Two servers on one database, each with its own plugin host (as two
/// processes have them): installs, upgrades, rollbacks, settings, enables
/// and uninstalls made through one reach the other without a restart — at
/// once with `refresh`, and by themselves within `REFRESH_EVERY` when
/// hooks run.
#[test]
fn changes_made_on_one_server_reach_the_other() {
    let w = World::new();
    let other = hearth_wasm::PluginHost::new(
        common::open_forum(&w.location, &w.clock),
        HostConfig::default(),
    )
    .unwrap();
    let footer_there = || footer_of(&other, w.community);
    assert!(!other.refresh().unwrap(), "nothing changed yet");

    let (m1, wasm1) = as_version("footer", "1.0.0", "escape-hatch", false);
    w.host.install(&m1, &wasm1).unwrap();
    let grants = [Capability::Settings, Capability::Read, Capability::Now];
    w.host
        .enable(&Actor::System, w.community, "footer", &grants)
        .unwrap();
    // By itself, once REFRESH_EVERY has passed since the last look.
    std::thread::sleep(hearth_wasm::REFRESH_EVERY);
    let shown = footer_there();
    assert!(
        shown.first().is_some_and(|h| h.contains("help.acme.test")),
        "{shown:?}"
    );
    assert_eq!(other.status("footer").unwrap().version, "1.0.0");

    let (m2, wasm2) = as_version("footer", "2.0.0", "hostile", true);
    w.host.install(&m2, &wasm2).unwrap();
    assert!(other.refresh().unwrap());
    assert_eq!(footer_there(), ["<p>hostile but fine</p>"]);
    let status = other.status("footer").unwrap();
    assert_eq!(
        (status.version.as_str(), status.previous_version.as_deref()),
        ("2.0.0", Some("1.0.0"))
    );

    w.host.rollback("footer").unwrap();
    other.refresh().unwrap();
    assert_eq!(other.status("footer").unwrap().version, "1.0.0");

    let mut settings = BTreeMap::new();
    settings.insert("url".to_string(), json!("https://support.acme.test"));
    w.host
        .configure(&Actor::System, w.community, "footer", settings)
        .unwrap();
    other.refresh().unwrap();
    assert!(footer_there()[0].contains("support.acme.test"));

    w.host
        .disable(&Actor::System, w.community, "footer")
        .unwrap();
    other.refresh().unwrap();
    assert!(footer_there().is_empty());
    assert!(other.enabled_plugins(w.community).unwrap().is_empty());

    w.host.uninstall("footer").unwrap();
    other.refresh().unwrap();
    assert!(matches!(
        other.status("footer"),
        Err(Error::NotInstalled(_))
    ));
}

/// API fields: values the plugin keeps, read in bulk for the items asked
/// about, each field shown only to whom its visibility names; a value
/// that is not JSON is left out; a disabled plugin adds nothing.
#[test]
fn api_fields_follow_their_visibility() {
    use hearth_wasm::{FieldOn, FieldViewer};
    if common::api_version() != "0.2.0" {
        // Fields are API 0.2; the 0.1 build of the fixture declares none.
        return;
    }
    let w = World::new();
    w.enable_hostile();
    let put = |key: &str, value: &str| hearth::ExtOp::Put {
        key: key.into(),
        value: value.as_bytes().to_vec(),
    };
    w.forum
        .ext_apply(
            "plugin:hostile",
            Some(w.community),
            &[
                put("api/post/hostile_public/1", r#"{"votes":3}"#),
                put("api/post/hostile_public/2", "not json"),
                put("api/topic/hostile_staff/5", r#""needs a look""#),
                put("api/user/hostile_own/7", "[1,2]"),
                put("api/user/hostile_own/8", "[3]"),
            ],
        )
        .unwrap();
    let guest = FieldViewer::default();
    let member = FieldViewer {
        user: Some(7),
        staff: false,
    };
    let staff = FieldViewer {
        user: Some(9),
        staff: true,
    };
    let fields = |on, items: &[i64], viewer| {
        w.host
            .api_fields(w.community, on, items, viewer)
            .unwrap()
            .into_iter()
            .map(|(id, m)| (id, serde_json::Value::Object(m)))
            .collect::<BTreeMap<_, _>>()
    };
    // Public: everyone; item 2's value is not JSON, item 3 has none.
    let posts = fields(FieldOn::Post, &[1, 2, 3], guest);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[&1], json!({"hostile_public": {"votes": 3}}));
    // Only the items asked about.
    assert!(fields(FieldOn::Post, &[3], guest).is_empty());
    // Staff: moderators and staff only.
    assert!(fields(FieldOn::Topic, &[5], member).is_empty());
    assert_eq!(
        fields(FieldOn::Topic, &[5], staff)[&5],
        json!({"hostile_staff": "needs a look"})
    );
    // Self: the member's own, nobody else's — staff included.
    assert_eq!(
        fields(FieldOn::User, &[7, 8], member),
        BTreeMap::from([(7, json!({"hostile_own": [1, 2]}))])
    );
    assert!(fields(FieldOn::User, &[7, 8], staff).is_empty());
    assert!(fields(FieldOn::User, &[7, 8], guest).is_empty());
    // Disabled: nothing.
    w.host
        .disable(&Actor::System, w.community, "hostile")
        .unwrap();
    assert!(fields(FieldOn::Post, &[1], guest).is_empty());
}

/// Installing what is installed changes nothing (no compile, the version
/// to roll back to kept); a new manifest for the same component takes
/// effect and keeps that version too.
#[test]
fn installing_the_same_again_keeps_the_version_to_roll_back_to() {
    let w = World::new();
    let (m1, wasm1) = as_version("footer", "1.0.0", "escape-hatch", false);
    let (m2, wasm2) = as_version("footer", "2.0.0", "hostile", true);
    w.host.install(&m1, &wasm1).unwrap();
    w.host.install(&m2, &wasm2).unwrap();
    let again = w.host.install(&m2, &wasm2).unwrap();
    assert_eq!(
        (again.version.as_str(), again.previous_version.as_deref()),
        ("2.0.0", Some("1.0.0"))
    );
    let m2b = m2.replace("version = \"2.0.0\"", "version = \"2.0.1\"");
    let changed = w.host.install(&m2b, &wasm2).unwrap();
    assert_eq!(
        (
            changed.version.as_str(),
            changed.previous_version.as_deref()
        ),
        ("2.0.1", Some("1.0.0"))
    );
    assert_eq!(w.host.rollback("footer").unwrap().version, "1.0.0");
}

/// A plugin that lists the page slots it fills is asked for those only: a
/// call per slot it fills, none for the others (each call is an instance).
#[test]
fn render_is_asked_only_for_the_slots_a_plugin_lists() {
    let w = World::new();
    let (manifest, wasm) = as_version("footer", "1.0.0", "escape-hatch", false);
    let manifest = manifest.replace(
        "hooks = [\"render\", \"on-schedule\"]",
        "hooks = [\"render\", \"on-schedule\"]\nslots = [\"page-footer\"]",
    );
    w.host.install(&manifest, &wasm).unwrap();
    let grants = [Capability::Settings, Capability::Read, Capability::Now];
    w.host
        .enable(&Actor::System, w.community, "footer", &grants)
        .unwrap();
    let calls = |w: &World| w.host.status("footer").unwrap().counters.calls;
    let before = calls(&w);
    for slot in [Slot::Sidebar, Slot::TopicFooter, Slot::Profile] {
        let out = w
            .host
            .render(&Actor::Guest, w.community, slot, &PageContext::default());
        assert!(out.is_empty(), "{slot:?}: {out:?}");
    }
    assert_eq!(calls(&w), before, "no call for a slot it does not list");
    assert!(footer(&w)[0].contains("help.acme.test"));
    assert_eq!(calls(&w), before + 1);

    // A slot named without the hook, or twice, is refused at install.
    for (bad, says) in [
        (
            manifest.replace(
                "hooks = [\"render\", \"on-schedule\"]",
                "hooks = [\"on-schedule\"]",
            ),
            "the `render` hook is not",
        ),
        (
            manifest.replace("[\"page-footer\"]", "[\"sidebar\", \"sidebar\"]"),
            "listed twice",
        ),
    ] {
        let e = w.host.install(&bad, &wasm).unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
}
