//! Server-rendered pages: flows through forms, SEO, permissions, security.

mod common;

use axum::http::{Method, StatusCode, header};
use common::*;

#[tokio::test]
async fn home_lists_public_content_with_security_headers() {
    let f = fixture();
    let r = send(&f.app, get("/")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("How do I rotate my API key?"));
    assert!(
        !r.body.contains("roadmap chatter"),
        "members-only topic leaked"
    );
    assert!(!r.body.contains("escalation rota"), "staff topic leaked");
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    // No inline script: every <script> has a src or is a JSON-LD data block.
    for (i, _) in r.body.match_indices("<script") {
        let tag = &r.body[i..i + r.body[i..].find('>').expect("tag end")];
        assert!(
            tag.contains("src=") || tag.contains("application/ld+json"),
            "{tag}"
        );
    }
    assert!(!r.body.contains("style=\""), "inline styles break the CSP");
}

#[tokio::test]
async fn public_topic_page_is_indexable_with_json_ld() {
    let f = fixture();
    let r = send(
        &f.app,
        get(&format!(
            "/t/how-do-i-rotate-my-api-key/{}",
            f.public_topic.0
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert!(
        b.contains("<title>How do I rotate my API key? - Acme Community</title>"),
        "{b}"
    );
    assert!(b.contains(&format!(
        "<link rel=\"canonical\" href=\"https://community.example.com/t/how-do-i-rotate-my-api-key/{}\">",
        f.public_topic.0
    )));
    assert!(b.contains("<meta name=\"description\" content=\"The **old** key still works"));
    assert!(!b.contains("noindex"));
    assert!(b.contains("\"@type\":\"QAPage\""), "solved Q&A is a QAPage");
    assert!(b.contains("acceptedAnswer"));
    // The accepted answer is shown under the question.
    let question = b.find("post-1").expect("question");
    let accepted = b
        .find("class=\"accepted-answer\"")
        .expect("accepted section");
    assert!(accepted > question);
    assert!(r.header("x-robots-tag").is_empty());
}

#[tokio::test]
async fn private_pages_are_404_with_noindex_and_no_internals() {
    let f = fixture();
    for path in [
        format!("/t/x/{}", f.member_topic.0),
        format!("/t/x/{}", f.staff_topic.0),
        format!("/c/lounge/{}", f.members_only.id.0),
        "/t/x/999999".to_string(),
        "/no/such/page".to_string(),
    ] {
        let r = send(&f.app, get(&path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.body.contains("Page not found"),
            "{path}: the error page, in the layout"
        );
        assert!(r.body.contains("Powered by Hearth"));
        assert_eq!(r.header("x-robots-tag"), "noindex");
        assert!(!r.body.contains("roadmap") && !r.body.contains("quokka"));
    }
    // A member sees the lounge topic, marked noindex (not public).
    let mut bob = Browser::new(&f);
    assert_eq!(bob.sign_in("bob").await.status, StatusCode::SEE_OTHER);
    let r = bob.get(&format!("/t/x/{}", f.member_topic.0)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains("<meta name=\"robots\" content=\"noindex\">")
    );
    assert!(!r.body.contains("rel=\"canonical\""));
    // Bad ids are 404, not 500.
    assert_eq!(
        send(&f.app, get("/t/x/abc")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, get("/t/x/99999999999999999999")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sign_up_create_topic_reply_accept_search() {
    let f = fixture();
    let mut cleo = Browser::new(&f);
    let r = cleo.sign_up("cleo").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hearth_session="))
        .expect("session cookie")
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "no TLS in tests");
    let home = cleo.get("/").await;
    assert!(home.body.contains(">cleo</a>"), "signed in");

    // The composer suggests the solved topic as the title is typed.
    let r = cleo
        .get("/similar.json?title=rotate%20my%20API%20key")
        .await;
    let similar = r.json();
    assert_eq!(similar["topics"][0]["id"], f.public_topic.0, "{similar}");
    assert_eq!(similar["topics"][0]["solved"], true);
    // ...and without JavaScript, on the composer page itself.
    let r = cleo.get("/new-topic?title=rotate+my+API+key").await;
    assert!(r.body.contains("Already answered?") && r.body.contains("How do I rotate my API key?"));

    let category = f.qa.id.0.to_string();
    let r = cleo
        .submit(
            "/new-topic",
            "/new-topic",
            &[
                ("title", "Exporting invoices as CSV files"),
                ("raw", "Where do I export my invoices as CSV?"),
                ("category", &category),
                ("tags", "billing"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let topic_url = r.header("location");
    assert!(
        topic_url.starts_with("/t/exporting-invoices-as-csv-files/"),
        "{topic_url}"
    );
    let topic_id = topic_url.rsplit('/').next().expect("id").to_string();

    // bob answers; cleo accepts.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let r = bob
        .submit(
            &topic_url,
            &format!("/t/{topic_id}/reply"),
            &[("raw", "Billing → Invoices → Export as CSV.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = cleo.get(&topic_url).await;
    assert!(page.body.contains("Accept answer"), "the asker may accept");
    let accept_at = page.body.find("/accept\"").expect("accept form");
    let post_id = page.body[..accept_at]
        .rsplit("/p/")
        .next()
        .expect("post id")
        .to_string();
    let r = cleo
        .submit(&topic_url, &format!("/p/{post_id}/accept"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = cleo.get(&topic_url).await;
    assert!(page.body.contains("class=\"accepted-answer\""));
    assert!(page.body.contains("Export as CSV"));

    // Search finds it, highlighted.
    let r = cleo.get("/search?q=invoices+csv&solved=1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("Exporting invoices as CSV files"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<mark>"));
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let category = f.qa.id.0.to_string();
    let fields = [
        ("title", "A topic from another site"),
        ("raw", "Cross-site request body."),
        ("category", category.as_str()),
    ];
    let r = bob
        .send(req(Method::POST, "/new-topic").form(&fields))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("reload the page"), "{}", r.body);
    let mut forged = vec![("authenticity_token", "0".repeat(64))];
    forged.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = bob
        .send(req(Method::POST, "/new-topic").form(&forged))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The session cookie alone cannot post to the JSON API either.
    let r = bob
        .send(
            req(Method::POST, "/posts.json").json(
                serde_json::json!({"topic_id": f.public_topic.0, "raw": "cookie only reply"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // With the token in the header it can.
    let token = bob.csrf().await;
    let r = bob
        .send(
            req(Method::POST, "/posts.json")
                .header("X-CSRF-Token", &token)
                .json(serde_json::json!({"topic_id": f.public_topic.0, "raw": "a reply with the csrf header"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Sign-in needs the token too (login CSRF).
    let r = send(
        &f.app,
        req(Method::POST, "/login").form(&[("login", "bob"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_address() {
    let f = fixture_with(|c| {
        c.limits.sign_in_per_account = 3;
        c.limits.sign_in_per_ip = 6;
    });
    let mut b = Browser::new(&f);
    for _ in 0..3 {
        let r = b
            .submit(
                "/login",
                "/login",
                &[("login", "bob"), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body.contains("incorrect username, email or password")
                || r.body.contains("Incorrect")
        );
    }
    // The right password no longer helps for this account...
    let r = b
        .submit(
            "/login",
            "/login",
            &[("login", "bob"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!r.header("retry-after").is_empty() || r.body.contains("seconds"));
    // ...but another account from this address still signs in (5th attempt).
    let r = b
        .submit(
            "/login",
            "/login",
            &[("login", "ada"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The address has a budget of 6 attempts in the window.
    let mut other = Browser::new(&f);
    let r = other
        .submit(
            "/login",
            "/login",
            &[("login", "ann"), ("password", "wrong password!")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = other
        .submit(
            "/login",
            "/login",
            &[("login", "ann"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "7th attempt from one address"
    );
}

#[tokio::test]
async fn requests_per_address_are_rate_limited() {
    let f = fixture_with(|c| {
        c.limits.per_ip = Some(hearth_web::RateLimit {
            per_second: 0.001,
            burst: 5,
        });
    });
    for _ in 0..5 {
        assert_eq!(
            send(&f.app, get("/latest.json")).await.status,
            StatusCode::OK
        );
    }
    let r = send(&f.app, get("/latest.json")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()["error_type"], "rate_limit");
    assert!(!r.header("retry-after").is_empty());
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let f = fixture_with(|c| c.secure_cookies = true);
    let mut bob = Browser::new(&f);
    let r = bob.sign_in("bob").await;
    assert!(
        r.header("set-cookie").contains("Secure")
            || r.headers
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|c| c.to_str().is_ok_and(|c| c.contains("Secure")))
    );
    let old = bob.cookies.clone();
    let r = bob.submit("/", "/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Replaying the old cookie does not sign in again.
    let cookie = old
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let r = send(&f.app, get("/").header("Cookie", &cookie)).await;
    assert!(!r.body.contains(">bob</a>"));
    assert!(r.body.contains("Sign in"));
}

#[tokio::test]
async fn sitemap_and_robots_list_only_public_content() {
    let f = fixture();
    let r = send(&f.app, get("/sitemap.xml")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("application/xml"));
    assert!(
        r.body.contains(&format!(
            "https://community.example.com/t/how-do-i-rotate-my-api-key/{}",
            f.public_topic.0
        )),
        "{}",
        r.body
    );
    assert!(r.body.contains("/c/questions/"));
    assert!(
        !r.body.contains("roadmap") && !r.body.contains("lounge") && !r.body.contains("staff"),
        "{}",
        r.body
    );
    let r = send(&f.app, get("/robots.txt")).await;
    assert!(
        r.body
            .contains("Sitemap: https://community.example.com/sitemap.xml")
    );
    assert!(r.body.contains("Disallow: /search"));
    // A private community disallows everything and lists nothing.
    let mut c = f
        .forum
        .community(&hearth::Actor::System, f.community)
        .expect("c");
    c.settings.public_access = false;
    f.forum
        .update_community(
            &hearth::Actor::User(f.admin),
            f.community,
            &c.name,
            c.settings,
        )
        .expect("update");
    let r = send(&f.app, get("/robots.txt")).await;
    assert!(r.body.contains("Disallow: /\n"));
    let r = send(&f.app, get("/sitemap.xml")).await;
    assert!(!r.body.contains("<loc>"), "{}", r.body);
    let r = send(&f.app, get(&format!("/t/x/{}", f.public_topic.0))).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "guests cannot read a private community"
    );
}

#[tokio::test]
async fn profiles_and_directory() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let r = bob.get("/u/ada").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("@ada") && r.body.contains("Trust level"));
    assert!(
        r.body.contains("How do I rotate my API key?"),
        "recent posts"
    );
    let r = bob.get("/u?order=post_count").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("href=\"/u/ada\""));
    // Guests cannot list members.
    let r = send(&f.app, get("/u")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&f.app, get("/letter_avatar/ada/48.svg")).await;
    assert_eq!(r.header("content-type"), "image/svg+xml");
}

#[tokio::test]
async fn page_views_are_counted_in_batches() {
    let f = fixture();
    let path = format!("/t/x/{}", f.public_topic.0);
    let before = f
        .forum
        .topic_only(&hearth::Actor::System, f.community, f.public_topic)
        .expect("topic")
        .view_count;
    for _ in 0..3 {
        assert_eq!(send(&f.app, get(&path)).await.status, StatusCode::OK);
    }
    // A private topic's "view" by a guest is not counted (nor an error).
    send(&f.app, get(&format!("/t/x/{}", f.staff_topic.0))).await;
    f.web.flush_views();
    let after = f
        .forum
        .topic_only(&hearth::Actor::System, f.community, f.public_topic)
        .expect("topic")
        .view_count;
    assert_eq!(after, before + 3);
}

#[tokio::test]
async fn guests_are_served_from_the_anonymous_cache_until_something_changes() {
    let f = fixture();
    let path = format!("/t/x/{}", f.public_topic.0);
    let first = send(&f.app, get(&path)).await;
    assert!(first.headers.get("x-hearth-cache").is_none());
    let second = send(&f.app, get(&path)).await;
    assert_eq!(second.header("x-hearth-cache"), "hit");
    assert_eq!(first.body, second.body);
    assert!(
        second.headers.get(header::SET_COOKIE).is_some(),
        "new guests still get their CSRF cookie"
    );
    // JSON and HTML are cached apart.
    let json = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0))).await;
    assert!(json.body.starts_with('{'));
    // A reply through the API (or any engine write) invalidates.
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "bob").json(serde_json::json!({"topic_id": f.public_topic.0, "raw": "A fresh reply guests must see."})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let third = send(&f.app, get(&path)).await;
    assert!(third.headers.get("x-hearth-cache").is_none());
    assert!(third.body.contains("A fresh reply guests must see."));
    // Writes through the engine directly invalidate too (the hook).
    f.forum
        .reply(
            &hearth::Actor::User(f.ada),
            f.community,
            f.public_topic,
            hearth::NewReply {
                body: "Written by the embedder directly.".into(),
                reply_to: None,
            },
        )
        .expect("reply");
    assert!(
        send(&f.app, get(&path))
            .await
            .body
            .contains("Written by the embedder directly.")
    );
    // Hits still count views.
    f.web.flush_views();
    let before = f
        .forum
        .topic_only(&hearth::Actor::System, f.community, f.public_topic)
        .expect("t")
        .view_count;
    send(&f.app, get(&path)).await;
    send(&f.app, get(&path)).await;
    f.web.flush_views();
    let after = f
        .forum
        .topic_only(&hearth::Actor::System, f.community, f.public_topic)
        .expect("t")
        .view_count;
    assert_eq!(after, before + 2);
    // Signed-in visitors never get the guests' copy (they have their own,
    // see tests/member_cache.rs), and failures are never cached.
    let guests = send(&f.app, get(&path)).await;
    assert_eq!(guests.header("x-hearth-cache"), "hit");
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let first = bob.get(&path).await;
    assert!(first.headers.get("x-hearth-cache").is_none());
    assert_ne!(first.body, guests.body);
    send(&f.app, get(&format!("/t/x/{}", f.staff_topic.0))).await;
    let again = send(&f.app, get(&format!("/t/x/{}", f.staff_topic.0))).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.headers.get("x-hearth-cache").is_none());
}

#[tokio::test]
async fn a_picture_goes_with_a_new_topic_or_a_reply_without_javascript() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get("/new-topic").await;
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(page.body.contains("data-upload=\"/uploads.json\""));
    let token = Browser::token_in(&page.body);
    let qa = f.qa.id.0.to_string();
    let shot = png(300);
    // Refused (the title is too short): the picture is kept in the draft.
    let (ct, body) = multipart(
        ("error screen.png", &shot),
        &[
            ("authenticity_token", &token),
            ("title", "Hm"),
            ("category", &qa),
            ("raw", "The export stops with this error:"),
        ],
    );
    let refused = ada
        .send(req(Method::POST, "/new-topic").raw(&ct, body))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("The export stops with this error:\n\n![error screen.png](/uploads/"),
        "{}",
        refused.body
    );
    // Accepted: the picture is in the first post.
    let (ct, body) = multipart(
        ("error screen.png", &shot),
        &[
            ("authenticity_token", &token),
            ("title", "The export stops with an error"),
            ("category", &qa),
            ("raw", "The export stops with this error:"),
        ],
    );
    let made = ada
        .send(req(Method::POST, "/new-topic").raw(&ct, body))
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let topic_url = made.header("location");
    let shown = ada.get(&topic_url).await;
    assert!(
        shown
            .body
            .contains("<img src=\"https://community.example.com/uploads/"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("alt=\"error screen.png\""));
    // A reply with a picture and no words.
    let id = topic_url.rsplit('/').next().expect("id").to_string();
    let token = Browser::token_in(&shown.body);
    let (ct, body) = multipart(
        ("second.png", &sized_png(4, 4)),
        &[("authenticity_token", &token), ("raw", "")],
    );
    let replied = ada
        .send(req(Method::POST, &format!("/t/{id}/reply")).raw(&ct, body))
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    let shown = ada.get(&topic_url).await;
    assert!(shown.body.contains("alt=\"second.png\""), "{}", shown.body);
    // A file that is neither a picture nor a kind the community takes:
    // the reply is refused, nothing posted.
    let (ct, body) = multipart(
        ("notes.bin", b"\x00\x01\x02notes"),
        &[("authenticity_token", &token), ("raw", "see attached")],
    );
    let bad = ada
        .send(req(Method::POST, &format!("/t/{id}/reply")).raw(&ct, body))
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.status);
    assert!(!ada.get(&topic_url).await.body.contains("see attached"));
    // Text named as a picture (an SVG with a script): a text attachment,
    // linked from the reply and served only as a download of text.
    assert!(
        shown.body.contains("or a file (PDF, text)"),
        "the field says so"
    );
    let (ct, body) = multipart(
        ("notes.png", b"<svg onload=alert(1)>"),
        &[("authenticity_token", &token), ("raw", "see attached")],
    );
    let replied = ada
        .send(req(Method::POST, &format!("/t/{id}/reply")).raw(&ct, body))
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.body);
    let shown = ada.get(&topic_url).await.body;
    let at = shown.find(">notes.png</a>").expect("a link to the file");
    let href_at = shown[..at].rfind("href=\"").expect("href") + 6;
    let href = &shown[href_at..at - 1];
    assert!(href.ends_with(".txt"), "{href}");
    let path = href.trim_start_matches("https://community.example.com");
    let file = ada.get(path).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"notes.png.txt\"; filename*=UTF-8''notes.png.txt"
    );
    assert_eq!(file.header("x-content-type-options"), "nosniff");
    assert!(file.header("content-security-policy").contains("sandbox"));
    assert_eq!(file.body, "<svg onload=alert(1)>");
    // A file is no avatar.
    let (ct, body) = multipart(("me.pdf", b"%PDF-1.4 me"), &[("upload_type", "avatar")]);
    let r = ada
        .send(
            req(Method::POST, "/uploads.json")
                .raw(&ct, body)
                .header("x-csrf-token", &token)
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("an avatar is a picture"), "{}", r.body);
}

/// The community's welcome heads the home page's first page, rendered
/// and sanitized as a post is; not on later pages or category pages. The
/// guest cache shows a changed welcome at once (a settings change is a
/// write). Counts read in the right number.
#[tokio::test]
async fn the_welcome_heads_the_home_page() {
    let f = fixture();
    let admin = hearth::Actor::User(f.admin);
    let mut settings = f
        .forum
        .community(&admin, f.community)
        .expect("community")
        .settings;
    let r = send(&f.app, get("/")).await;
    assert!(!r.body.contains("class=\"welcome"), "no welcome set");
    settings.welcome = Some(
        "**Start here**: search first, then [ask](/new-topic).<script>alert(1)</script>".into(),
    );
    f.forum
        .update_community(&admin, f.community, "Acme", settings)
        .expect("the welcome is saved");
    let home = send(&f.app, get("/")).await.body;
    assert!(home.contains("<strong>Start here</strong>"), "{home}");
    assert!(home.contains("/new-topic\">ask</a>"), "{home}");
    assert!(!home.contains("<script>alert"), "sanitized");
    assert!(
        !home.contains(" 1 topics") && !home.contains(">1 topics<"),
        "plurals agree"
    );
    let later = send(&f.app, get("/latest?page=1")).await.body;
    assert!(!later.contains("Start here"));
    let category = send(&f.app, get(&format!("/c/{}/{}", f.qa.slug, f.qa.id.0)))
        .await
        .body;
    assert!(!category.contains("Start here"));
}
