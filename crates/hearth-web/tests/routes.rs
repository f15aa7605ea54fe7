//! Routes not exercised by the feature tests: invitations, Discourse's
//! JSON sign-in and its sign-up honeypot, and paging of the member
//! directory (page and API).

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, NewInvite, NewUser, Role};
use serde_json::json;

#[tokio::test]
async fn invite_links_show_a_form_and_accepting_joins() {
    let f = fixture();
    let invite = f
        .forum
        .create_invite(
            &Actor::User(f.admin),
            f.community,
            NewInvite {
                max_uses: Some(1),
                ..Default::default()
            },
        )
        .expect("invite");
    let url = format!("/invites/{}", invite.code);
    // A guest is asked to sign up or sign in, with the way back kept.
    let guest = send(&f.app, get(&url)).await;
    assert_eq!(guest.status, StatusCode::OK);
    assert!(
        guest
            .body
            .contains(&format!("/signup?invite={}", invite.code))
    );
    assert!(
        guest.body.contains(&format!("/login?next={url}")),
        "{}",
        guest.body
    );
    assert_eq!(guest.header("x-robots-tag"), "noindex");
    // Someone signed in gets a one-button form; accepting makes them a member.
    let mut outsider = Browser::new(&f);
    let r = outsider
        .submit(
            &format!("/login?next={url}"),
            "/login",
            &[
                ("login", "outsider"),
                ("password", PASSWORD),
                ("next", &url),
            ],
        )
        .await;
    assert_eq!(
        r.header("location"),
        url,
        "signing in leads back to the invite"
    );
    let page = outsider.get(&url).await;
    assert!(page.body.contains("Join as outsider"));
    assert_eq!(role_of(&f, f.outsider), None);
    // Without the form's token: refused.
    let r = outsider.send(req(Method::POST, &url).form(&[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(role_of(&f, f.outsider), None);
    let r = outsider.submit(&url, &url, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(role_of(&f, f.outsider), Some(Role::Member));
    // The single use is spent; a bogus code is a clear error, not a 500.
    let cleo = hearth_web::create_account(&f.forum, "cleo", "", "cleo@example.com", PASSWORD)
        .expect("cleo");
    let mut c = Browser::new(&f);
    c.sign_in("cleo").await;
    let r = c.submit(&url, &url, &[]).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.body.contains("invite"), "{}", r.body);
    let r = c.submit("/invites/nope", "/invites/nope", &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(role_of(&f, cleo.id), None);
}

#[tokio::test]
async fn session_json_signs_in_with_csrf_and_sets_the_cookie() {
    let f = fixture();
    let mut client = Browser::new(&f);
    // Discourse's clients fetch the token first.
    let csrf = client.csrf().await;
    // Without it: refused.
    let r = client
        .send(
            req(Method::POST, "/session.json").json(json!({"login": "ada", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error_type"], "invalid_access");
    // Wrong password: an error in Discourse's shape, no cookie.
    let r = client
        .send(
            req(Method::POST, "/session.json")
                .header("X-CSRF-Token", &csrf)
                .json(json!({"login": "ada", "password": "not the password"})),
        )
        .await;
    assert!(r.status.is_client_error());
    assert!(r.json()["errors"].is_array(), "{}", r.body);
    assert!(r.cookie("hearth_session").is_none());
    // Right password, by e-mail address as login: the user and a session cookie.
    let r = client
        .send(
            req(Method::POST, "/session.json")
                .header("X-CSRF-Token", &csrf)
                .form(&[("login", "ada@example.com"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["user"]["username"], "ada");
    assert_eq!(v["user"]["id"], json!(f.ada.0));
    assert!(
        v["user"]["avatar_template"]
            .as_str()
            .expect("avatar")
            .contains("{size}")
    );
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("hearth_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    // The cookie now carries ada: her private lounge is readable.
    let r = client.get(&format!("/t/{}.json", f.member_topic.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn discourse_signup_honeypot_stops_bots_quietly() {
    let f = fixture();
    let mut client = Browser::new(&f);
    let csrf = client.csrf().await;
    let hp = client.get("/session/hp.json").await.json();
    let value = hp["value"].as_str().expect("value").to_string();
    let challenge = hp["challenge"].as_str().expect("challenge").to_string();
    assert_eq!(value.len(), 32);
    assert_ne!(value, challenge);
    // The same visitor gets the same pair; another visitor another one.
    assert_eq!(client.get("/session/hp.json").await.json(), hp);
    let other = send(&f.app, get("/session/hp.json")).await.json();
    assert_ne!(other["value"], hp["value"]);
    let signup = |name: &str, confirmation: &str, challenge: &str| {
        req(Method::POST, "/users.json")
            .header("X-CSRF-Token", &csrf)
            .json(json!({
                "name": name, "username": name, "email": format!("{name}@example.com"),
                "password": "a long enough password",
                "password_confirmation": confirmation, "challenge": challenge,
            }))
    };
    // A bot that skips the honeypot sees a plausible answer; nothing is made.
    let r = client.send(signup("botty", "", "")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["success"], true);
    assert!(f.forum.user_by_username("botty").is_err());
    let r = client.send(signup("botto", &value, &challenge)).await;
    assert_eq!(r.json()["success"], true);
    assert!(
        f.forum.user_by_username("botto").is_err(),
        "the challenge must come back reversed"
    );
    // A browser that answers it signs up and joins.
    let reversed: String = challenge.chars().rev().collect();
    let r = client.send(signup("dana", &value, &reversed)).await;
    let v = r.json();
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["active"], true, "{v}");
    let dana = f.forum.user_by_username("dana").expect("dana");
    assert_eq!(role_of(&f, dana.id), Some(Role::Member));
}

#[tokio::test]
async fn the_directory_pages_through_every_member() {
    let f = fixture();
    // 60 more members: more than one page of 50.
    for i in 0..60 {
        let u = f
            .forum
            .create_user(NewUser::new(&format!("member{i:02}")))
            .expect("user");
        f.forum.join(&Actor::User(u.id), f.community).expect("join");
    }
    let total = 63; // ann, ada, bob and the 60
    // The API: Discourse's `page` parameter and `load_more_directory_items`.
    let mut seen = std::collections::BTreeSet::new();
    let mut next = Some("/directory_items.json?order=post_count".to_string());
    let mut pages = 0;
    while let Some(url) = next {
        let v = send(&f.app, get(&url).acting(&f, "bob")).await.json();
        let items = v["directory_items"].as_array().expect("items");
        for item in items {
            let name = item["user"]["username"].as_str().expect("name").to_string();
            assert!(seen.insert(name), "no member twice");
        }
        pages += 1;
        next = v["meta"]["load_more_directory_items"]
            .as_str()
            .filter(|_| !items.is_empty())
            .map(|u| u.replacen("/directory_items?", "/directory_items.json?", 1));
        assert!(pages < 5, "paging ends");
    }
    assert_eq!(seen.len(), total, "{seen:?}");
    assert!(!seen.contains("outsider"), "only members are listed");
    // The page: 50 rows, then a "More members" link to the rest.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let first = bob.get("/u?order=post_count").await;
    assert_eq!(first.status, StatusCode::OK);
    let rows = first.body.matches("<tr><td>").count();
    assert_eq!(rows, 50);
    let marker = "href=\"";
    let more_at = first.body.find("rel=\"next\"").expect("more link");
    let href_at = first.body[..more_at].rfind(marker).expect("href") + marker.len();
    let href = &first.body[href_at..first.body[href_at..].find('"').expect("end") + href_at];
    let href = href.replace("&amp;", "&");
    assert!(href.ends_with("/u?order=post_count&page=1"), "{href}");
    let second = bob.get(&href).await;
    assert_eq!(second.body.matches("<tr><td>").count(), total - 50);
    assert!(!second.body.contains("rel=\"next\""));
    // Past the end: an empty page, not an error.
    let third = bob.get("/u?order=post_count&page=7").await;
    assert_eq!(third.status, StatusCode::OK);
    assert_eq!(third.body.matches("<tr><td>").count(), 0);
}

#[tokio::test]
async fn community_changes_made_through_the_engine_show_at_once() {
    let f = fixture();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    assert!(ann.get("/").await.body.contains("<title>Acme Community"));
    // An embedder renames the community and closes it to guests, directly.
    let c = f
        .forum
        .community(&Actor::System, f.community)
        .expect("community");
    let mut settings = c.settings.clone();
    settings.public_access = false;
    f.forum
        .update_community(&Actor::User(f.admin), f.community, "Acme Members", settings)
        .expect("update");
    assert!(ann.get("/").await.body.contains("<title>Acme Members"));
    let guest = send(&f.app, get("/robots.txt")).await;
    assert_eq!(guest.body, "User-agent: *\nDisallow: /\n");
}

#[tokio::test]
async fn topic_paths_answer_the_topic_or_404_never_another_document() {
    let f = fixture();
    let id = f.public_topic.0;
    let slug = f
        .forum
        .topic_only(&Actor::Guest, f.community, f.public_topic)
        .expect("topic")
        .slug;
    for ok in [
        format!("/t/{id}"),
        format!("/t/{id}.json"),
        format!("/t/{id}/1"),
        format!("/t/{id}/1.json"),
        format!("/t/{slug}/{id}"),
        format!("/t/{slug}/{id}.json"),
        format!("/t/{slug}/{id}/2"),
        format!("/t/{slug}/{id}/2.json"),
        format!("/t/{id}/posts.json"),
    ] {
        let r = send(&f.app, get(&ok)).await;
        // The page at its canonical address, or a redirect there.
        assert!(
            r.status == StatusCode::OK || r.status == StatusCode::PERMANENT_REDIRECT,
            "{ok}: {} {}",
            r.status,
            r.body
        );
    }
    // Documents Discourse has and this server does not, and nonsense:
    // never the topic under another name.
    for missing in [
        format!("/t/{id}/post_ids.json"),
        format!("/t/{id}/views.json"),
        format!("/t/{id}/summary"),
        format!("/t/{id}/{slug}"),
        format!("/t/{slug}/not-a-number"),
        format!("/t/{slug}/{id}/post_ids.json"),
        format!("/t/{slug}/{id}/x"),
        format!("/t/{slug}/x/1"),
        format!("/t/{id}/.json"),
        format!("/t/{slug}"),
    ] {
        let r = send(&f.app, get(&missing)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}: {}", r.body);
        let r = send(&f.app, get(&missing).header("accept", "application/json")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing} as JSON");
        assert!(r.body.contains("\"errors\""), "{missing}: {}", r.body);
    }
}
