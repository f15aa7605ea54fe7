//! Plugin actions (plugin API 0.2) through HTTP, with the first-party
//! `reactions` plugin: the host-made forms on topic pages, sign-in, the
//! form token, the per-member rate limit, refusals that save nothing, the
//! guests' confirmation page, JSON callers and the batched post footer.

#![allow(clippy::unwrap_used)]
mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::Actor;
use hearth_wasm::Capability;
use serde_json::json;

fn with_reactions() -> Fixture {
    fixture_with_plugins(|host, community| {
        host.install_dir(plugin_dir("reactions")).expect("install");
        host.enable(
            &Actor::System,
            community,
            "reactions",
            &[Capability::Settings, Capability::Kv],
        )
        .expect("enable");
    })
}

/// The hostile fixture (mode "ok"), enabled with log, settings and kv.
fn with_hostile() -> Fixture {
    fixture_with_plugins(|host, community| {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/plugins-test/hostile");
        host.install_dir(dir)
            .expect("install the hostile fixture (cargo xtask plugins)");
        host.enable(
            &Actor::System,
            community,
            "hostile",
            &[Capability::Log, Capability::Settings, Capability::Kv],
        )
        .expect("enable");
    })
}

/// The reactions counts the plugin keeps for a post.
async fn counts(f: &Fixture, post: hearth::PostId) -> serde_json::Value {
    let r = send(
        &f.app,
        get(&format!("/plugins/reactions/post/{}.json", post.0)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["reactions"].clone()
}

fn count_of(c: &serde_json::Value, emoji: &str) -> u64 {
    c.as_array()
        .unwrap()
        .iter()
        .find(|r| r["emoji"] == emoji)
        .and_then(|r| r["count"].as_u64())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_member_reacts_from_the_topic_page_without_javascript() {
    let f = with_reactions();
    let topic = f.topic_url(f.public_topic);
    let post = f.first_post(f.public_topic);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get(&topic).await;
    assert_eq!(page.status, StatusCode::OK);
    // One row per post, each emoji a real form carrying the page's token;
    // the plugin's fragment sits in an element naming it.
    assert!(
        page.body.contains("class=\"plugin plugin-reactions\""),
        "{}",
        page.body
    );
    // The footer's buttons share one form (the token and the way back
    // once); each says where it posts.
    let mine = format!("action=\"/plugins/reactions/a/react?post={}&amp;", post.0);
    assert_eq!(
        page.body.matches(&format!(" {mine}")).count(),
        1,
        "{}",
        page.body
    );
    assert!(page.body.matches(&format!("form{mine}")).count() > 1);
    let target = Browser::button_target(
        &page.body,
        &format!(
            "/plugins/reactions/a/react?post={}&amp;value=%F0%9F%91%8D",
            post.0
        ),
    );
    let token = Browser::token_in(&page.body);
    // As a browser presses the button: its target, the form's fields.
    let r = ada
        .send(req(Method::POST, &target).form(&[
            ("authenticity_token", token.as_str()),
            ("return_to", &topic),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), topic);
    assert_eq!(count_of(&counts(&f, post).await, "👍"), 1);
    // Posts in the JSON API carry the plugin's `reactions` field, as
    // Discourse's reactions plugin gives it (read from the plugin's store,
    // no plugin call).
    let expected = json!([{"id": "👍", "type": "emoji", "count": 1}]);
    let t = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0))).await;
    let first = &t.json()["post_stream"]["posts"][0];
    assert_eq!(first["id"], post.0);
    assert_eq!(first["reactions"], expected, "{}", t.body);
    let p = send(&f.app, get(&format!("/posts/{}.json", post.0))).await;
    assert_eq!(p.json()["reactions"], expected, "{}", p.body);
    let page = ada.get(&topic).await;
    assert!(
        page.body
            .contains("class=\"hearth-action reactions-mine\">👍 1</button>"),
        "{}",
        page.body
    );
    // The same form again takes it back.
    ada.send(req(Method::POST, "/plugins/reactions/a/react").form(&[
        ("authenticity_token", &token),
        ("post", &post.0.to_string()),
        ("value", "👍"),
    ]))
    .await;
    assert_eq!(count_of(&counts(&f, post).await, "👍"), 0);
}

#[tokio::test]
async fn forms_without_the_token_or_from_guests_change_nothing() {
    let f = with_reactions();
    let post = f.first_post(f.public_topic).0.to_string();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    // No token (a form on another site): refused.
    let r = ada
        .send(
            req(Method::POST, "/plugins/reactions/a/react")
                .form(&[("post", &post), ("value", "👍")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Nor with the fields in the target, as the page's buttons carry them
    // (a cross-site form can name any target), the token left out.
    let r = ada
        .send(
            req(
                Method::POST,
                &format!("/plugins/reactions/a/react?post={post}&value=%F0%9F%91%8D"),
            )
            .form(&[("return_to", "/")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // A guest: sign in first, even with their own token.
    let mut guest = Browser::new(&f);
    let token = guest.csrf().await;
    let r = guest
        .send(
            req(Method::POST, "/plugins/reactions/a/react")
                .header("Accept", "application/json")
                .form(&[
                    ("authenticity_token", &token),
                    ("post", &post),
                    ("value", "👍"),
                ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error_code"], "not_signed_in", "{}", r.body);
    assert_eq!(
        count_of(&counts(&f, f.first_post(f.public_topic)).await, "👍"),
        0
    );
}

#[tokio::test]
async fn guests_see_links_to_a_confirmation_page_that_asks_them_to_sign_in() {
    let f = with_reactions();
    let topic = f.topic_url(f.public_topic);
    let post = f.first_post(f.public_topic);
    let page = send(&f.app, get(&topic)).await;
    // Guests' pages are shared (the guest cache): no token, no form.
    let link = format!("/plugins/reactions/a/react?post={}&amp;value=", post.0);
    assert!(page.body.contains(&link), "{}", page.body);
    assert!(
        !page.body.contains("class=\"hearth-actions\""),
        "{}",
        page.body
    );
    let href = format!(
        "/plugins/reactions/a/react?post={}&value=%F0%9F%91%8D&return_to={topic}",
        post.0
    );
    let r = send(&f.app, get(&href)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.header("location").starts_with("/login?next="),
        "{}",
        r.header("location")
    );
    // Signed in, the same link is a page with the form (and a GET acts not).
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let confirm = ada.get(&href).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(count_of(&counts(&f, post).await, "👍"), 0);
    let token = Browser::token_in(&confirm.body);
    assert!(
        confirm.body.contains("name=\"value\" value=\"👍\""),
        "{}",
        confirm.body
    );
    let r = ada
        .send(req(Method::POST, "/plugins/reactions/a/react").form(&[
            ("authenticity_token", &token),
            ("post", &post.0.to_string()),
            ("value", "👍"),
            ("return_to", &topic),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count_of(&counts(&f, post).await, "👍"), 1);
    // The confirmation page is never shared through the guest cache.
    let a = Browser::new(&f).get(&href).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn json_callers_refusals_hidden_posts_and_unknown_actions() {
    let f = with_reactions();
    let post = f.first_post(f.public_topic);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let token = ada.csrf().await;
    let call = |body: serde_json::Value| {
        req(Method::POST, "/plugins/reactions/a/react")
            .header("X-CSRF-Token", &token)
            .json(body)
    };
    let r = ada.send(call(json!({"post": post.0, "value": "🎉"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["success"], "OK");
    assert_eq!(
        r.json()["data"]["reactions"][2],
        json!({"emoji": "🎉", "count": 1, "reacted": true})
    );
    // The plugin refuses an emoji it does not offer: 422, nothing saved.
    let r = ada.send(call(json!({"post": post.0, "value": "💩"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("eact with one of 👍"), "{}", r.body);
    assert_eq!(count_of(&counts(&f, post).await, "💩"), 0);
    // A post the member cannot read is refused before the plugin runs.
    let hidden = f.first_post(f.staff_topic);
    let r = ada
        .send(call(json!({"post": hidden.0, "value": "🎉"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("is not there"), "{}", r.body);
    let r = send(
        &f.app,
        get(&format!("/plugins/reactions/post/{}.json", hidden.0)),
    )
    .await;
    assert_eq!(r.json()["reactions"][2]["count"], 0);
    // Unknown actions and plugins are 404s, whatever the token.
    for path in ["/plugins/reactions/a/explode", "/plugins/nobody/a/react"] {
        let r = ada
            .send(
                req(Method::POST, path)
                    .header("X-CSRF-Token", &token)
                    .json(json!({})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn each_member_may_act_per_minute_as_often_as_the_manifest_says() {
    let f = with_reactions();
    let post = f.first_post(f.public_topic);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let token = ada.csrf().await;
    // reactions declares per-minute = 60.
    for i in 0..60 {
        let r = ada
            .send(
                req(Method::POST, "/plugins/reactions/a/react")
                    .header("X-CSRF-Token", &token)
                    .json(json!({"post": post.0, "value": "👍"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "call {i}: {}", r.body);
    }
    let r = ada
        .send(
            req(Method::POST, "/plugins/reactions/a/react")
                .header("X-CSRF-Token", &token)
                .json(json!({"post": post.0, "value": "👍"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(!r.header("retry-after").is_empty());
    // An even number of toggles: nothing left, and the 61st changed nothing.
    assert_eq!(count_of(&counts(&f, post).await, "👍"), 0);
    // Another member has a bucket of their own.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let token = bob.csrf().await;
    let r = bob
        .send(
            req(Method::POST, "/plugins/reactions/a/react")
                .header("X-CSRF-Token", &token)
                .json(json!({"post": post.0, "value": "👍"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn composers_and_lists_show_plugins_item_fragments() {
    let f = with_hostile();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    // In mode "ok" the fixture answers every item of every slot it lists
    // (post-footer, composer-help) with a span of its own class.
    let fragment = "<div class=\"plugin plugin-hostile composer-help\"><span class=\"hostile-ok\">ok</span></div>";
    let page = ada.get("/new-topic").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(fragment), "{}", page.body);
    let topic = ada.get(&f.topic_url(f.public_topic)).await;
    assert!(topic.body.contains(fragment), "{}", topic.body);
    // The same fixture's post footers: one per post, the item it was not
    // asked about dropped.
    assert!(
        topic
            .body
            .matches(
                "<div class=\"plugin plugin-hostile\"><span class=\"hostile-ok\">ok</span></div>"
            )
            .count()
            >= 1
    );
    assert!(!topic.body.contains("not asked"), "{}", topic.body);
    // Topic lists: a badge on each row, from one call for the page.
    let home = ada.get("/latest").await;
    let badge = "<span class=\"plugin plugin-hostile\"><span class=\"hostile-ok\">ok</span></span>";
    let rows = home.body.matches("class=\"title\"").count();
    assert!(rows > 0);
    assert_eq!(home.body.matches(badge).count(), rows, "{}", home.body);
    // Guests have no composer, so no help.
    let guest = send(&f.app, get(&f.topic_url(f.public_topic))).await;
    assert!(!guest.body.contains("composer-help"));
}

#[tokio::test]
async fn an_accepted_answer_shown_twice_gets_its_row_twice_from_one_answer() {
    // The fixture's public answer is the accepted one.
    let f = with_reactions();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get(&f.topic_url(f.public_topic)).await;
    assert_eq!(page.status, StatusCode::OK);
    // The answer on top and in the thread: two rows for it, one for the
    // question, each row once.
    let row = format!(
        "formaction=\"/plugins/reactions/a/react?post={}&amp;value=%F0%9F%91%8D\"",
        f.public_answer.0
    );
    assert_eq!(page.body.matches(&row).count(), 2, "{}", page.body);
    // One in each place: in the box on top, and once in the thread.
    let top = page
        .body
        .find("<section class=\"accepted-answer\">")
        .unwrap();
    let end = top + page.body[top..].find("</section>").unwrap();
    assert_eq!(
        page.body[top..end].matches(&row).count(),
        1,
        "{}",
        &page.body[top..end]
    );
    let question = format!(
        "formaction=\"/plugins/reactions/a/react?post={}&amp;value=%F0%9F%91%8D\"",
        f.first_post(f.public_topic).0
    );
    assert_eq!(page.body.matches(&question).count(), 1);
}

/// API fields through HTTP: a staff-only topic field reaches moderators
/// only, a member's own field only that member, and a field named like
/// one the answer already has never replaces it.
#[tokio::test]
async fn plugin_api_fields_follow_visibility_and_never_replace_a_core_field() {
    let f = with_hostile();
    let post = f.first_post(f.public_topic);
    let put = |key: String, value: &str| hearth::ExtOp::Put {
        key,
        value: value.as_bytes().to_vec(),
    };
    f.forum
        .ext_apply(
            "plugin:hostile",
            Some(f.community),
            &[
                put(format!("api/post/hostile_public/{}", post.0), "\"seen\""),
                put(format!("api/post/id/{}", post.0), "999"),
                put(
                    format!("api/topic/hostile_staff/{}", f.public_topic.0),
                    "true",
                ),
                put(format!("api/user/hostile_own/{}", f.ada.0), "\"ada's\""),
            ],
        )
        .expect("values");
    let topic_json = format!("/t/{}.json", f.public_topic.0);
    // A guest: the public post field, not the staff one; the post's id is
    // the post's.
    let t = send(&f.app, get(&topic_json)).await.json();
    let first = &t["post_stream"]["posts"][0];
    assert_eq!(first["hostile_public"], "seen");
    assert_eq!(first["id"], post.0, "a core field is never replaced");
    assert!(t.get("hostile_staff").is_none(), "{t}");
    // An administrator: the staff field too.
    let t = send(&f.app, get(&topic_json).acting(&f, "ann"))
        .await
        .json();
    assert_eq!(t["hostile_staff"], true);
    // Topic lists carry topic fields the same way: the staff field for the
    // administrator only, never on topics the list does not hold.
    let in_list = |list: &serde_json::Value| -> Vec<(i64, serde_json::Value)> {
        list["topic_list"]["topics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| Some((t["id"].as_i64()?, t.get("hostile_staff")?.clone())))
            .collect()
    };
    for path in ["/latest.json", "/top.json?period=all"] {
        let guest = send(&f.app, get(path)).await.json();
        assert!(in_list(&guest).is_empty(), "{path}: {guest}");
        let admin = send(&f.app, get(path).acting(&f, "ann")).await.json();
        assert_eq!(
            in_list(&admin),
            vec![(f.public_topic.0, json!(true))],
            "{path}: {admin}"
        );
    }
    // Ada sees her own field; a guest and the administrator do not.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let own = ada.get("/u/ada.json").await;
    assert_eq!(own.json()["user"]["hostile_own"], "ada's", "{}", own.body);
    let guest = send(&f.app, get("/u/ada.json")).await.json();
    assert!(guest["user"].get("hostile_own").is_none());
    let admin = send(&f.app, get("/u/ada.json").acting(&f, "ann"))
        .await
        .json();
    assert!(admin["user"].get("hostile_own").is_none());
}

#[tokio::test]
async fn the_author_hears_of_a_reaction_once_and_chooses_how() {
    let f = fixture_with_plugins(|host, community| {
        host.install_dir(plugin_dir("reactions")).expect("install");
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
        .expect("enable");
    });
    // ada wrote the topic's first post; bob reacts to it.
    let topic = f.topic_url(f.public_topic);
    let post = f.first_post(f.public_topic).0.to_string();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let token = Browser::token_in(&bob.get(&topic).await.body);
    let mut react = async |emoji: &str| {
        let r = bob
            .send(req(Method::POST, "/plugins/reactions/a/react").form(&[
                ("authenticity_token", token.as_str()),
                ("post", &post),
                ("value", emoji),
                ("return_to", &topic),
            ]))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    };
    // Given, taken back and given again: ada is told once.
    for _ in 0..3 {
        react("🎉").await;
    }
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let customs = async |ada: &mut Browser| -> Vec<serde_json::Value> {
        let r = ada.get("/notifications.json").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["notification_type"] == 14 && n["data"]["hearth_source"] == "reactions")
            .cloned()
            .collect()
    };
    let told = customs(&mut ada).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0]["data"]["message"],
        "bob reacted 🎉 to your post in “How do I rotate my API key?”"
    );
    assert_eq!(told[0]["data"]["hearth_kind"], "reacted");
    assert_eq!(told[0]["topic_id"], f.public_topic.0);
    assert_eq!(told[0]["post_number"], 1);
    // The notifications page says it and links to the post.
    let page = ada.get("/notifications").await;
    assert!(
        page.body.contains("bob reacted 🎉 to your post"),
        "{}",
        page.body
    );
    assert!(page.body.contains("#post-1\""), "{}", page.body);
    // The preferences page lists the plugin's kind; ada turns it off.
    let prefs = ada.get("/u/ada/preferences").await;
    assert!(
        prefs
            .body
            .contains("Someone reacts to your post (reactions)"),
        "{}",
        prefs.body
    );
    assert!(
        prefs
            .body
            .contains("name=\"delivery[ext:reactions:reacted]\""),
        "{}",
        prefs.body
    );
    let token = Browser::token_in(&prefs.body);
    let r = ada
        .send(req(Method::POST, "/u/ada/preferences").form(&[
            ("authenticity_token", token.as_str()),
            ("delivery[ext:reactions:reacted]", "off"),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    react("👍").await;
    assert_eq!(customs(&mut ada).await.len(), 1, "off: not told");
    let prefs = ada.get("/u/ada/preferences").await;
    assert!(
        prefs.body.contains("<option value=\"off\" selected>"),
        "{}",
        prefs.body
    );
    // A bad choice is a clear error and changes nothing.
    let r = ada
        .send(req(Method::POST, "/u/ada/preferences").form(&[
            ("authenticity_token", token.as_str()),
            ("delivery[ext:reactions:reacted]", "loudly"),
        ]))
        .await;
    assert!(
        r.body.contains("must be email, in_app or off"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_plugin_secret_is_write_only_on_the_admin_screen() {
    let f = with_hostile();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get("/admin").await;
    assert!(
        page.body
            .contains("type=\"password\" name=\"setting[api-key]\" value=\"\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("api-key <span class=\"badge\">not set</span>")
    );
    // The form's other fields, as a browser sends them.
    let save = async |ann: &mut Browser, fields: &[(&str, &str)]| {
        let mut all = vec![
            ("setting[poison]", "0"),
            ("setting[target]", "0"),
            ("setting[iterations]", "2000000"),
        ];
        all.extend_from_slice(fields);
        let r = ann
            .submit("/admin", "/admin/plugins/hostile/configure", &all)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    };
    save(
        &mut ann,
        &[
            ("setting[mode]", "secret"),
            ("setting[api-key]", "sk-live-5678"),
        ],
    )
    .await;
    let page = ann.get("/admin").await;
    assert!(!page.body.contains("sk-live-5678"), "never shown again");
    assert!(
        page.body
            .contains("api-key <span class=\"badge\">set</span>")
    );
    // The plugin reads it (its footer says how long it is).
    let home = send(&f.app, get("/")).await;
    assert!(home.body.contains("secret of 12 bytes"), "{}", home.body);
    // Saving the form with the field empty keeps it; "clear" removes it.
    save(
        &mut ann,
        &[("setting[mode]", "secret"), ("setting[api-key]", "")],
    )
    .await;
    assert!(
        send(&f.app, get("/"))
            .await
            .body
            .contains("secret of 12 bytes")
    );
    save(
        &mut ann,
        &[
            ("setting[mode]", "secret"),
            ("setting[api-key]", ""),
            ("clear[api-key]", "true"),
        ],
    )
    .await;
    assert!(
        send(&f.app, get("/"))
            .await
            .body
            .contains("secret of 0 bytes")
    );
}

#[tokio::test]
async fn the_operator_narrows_the_hosts_a_plugin_may_call() {
    let f = with_hostile();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get("/admin").await;
    // Every host the manifest names, allowed until the operator says not.
    for h in [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "10.0.0.1",
        "169.254.169.254",
    ] {
        assert!(
            page.body
                .contains(&format!("name=\"host[{h}]\" value=\"true\" checked> {h}")),
            "{h}: {}",
            page.body
        );
    }
    let r = ann
        .submit(
            "/admin",
            "/admin/plugins/hostile/hosts",
            &[("host[localhost]", "true"), ("host[[::1]]", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ann.get("/admin").await;
    assert!(
        page.body
            .contains("name=\"host[localhost]\" value=\"true\" checked>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("name=\"host[[::1]]\" value=\"true\" checked>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("name=\"host[10.0.0.1]\" value=\"true\"> 10.0.0.1"),
        "{}",
        page.body
    );
    // Ticking every host again lifts the narrowing.
    let all: Vec<(String, &str)> = [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "10.0.0.1",
        "169.254.169.254",
    ]
    .iter()
    .map(|h| (format!("host[{h}]"), "true"))
    .collect();
    let fields: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let r = ann
        .submit("/admin", "/admin/plugins/hostile/hosts", &fields)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ann.get("/admin").await;
    assert!(
        page.body
            .contains("name=\"host[10.0.0.1]\" value=\"true\" checked>"),
        "{}",
        page.body
    );
    // Members may not.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let token = ada.csrf().await;
    let r = ada
        .send(req(Method::POST, "/admin/plugins/hostile/hosts").form(&[
            ("authenticity_token", token.as_str()),
            ("host[localhost]", "true"),
        ]))
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
}
