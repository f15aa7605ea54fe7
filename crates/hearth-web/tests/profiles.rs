//! Members edit their own profile on the site: name, bio, website,
//! location and picture; refused changes come back in the form.

mod common;

use axum::http::{Method, StatusCode};
use common::*;

#[tokio::test]
async fn a_member_edits_their_profile_and_others_see_it() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let form = ada.get("/u/ada/preferences/profile").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("enctype=\"multipart/form-data\""));
    let saved = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &[
                ("name", "Ada L."),
                ("bio", "Accountant.\n\nLoves ledgers."),
                ("website", "https://ada.example.org/"),
                ("location", "Oslo"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = send(&f.app, get("/u/ada")).await;
    assert!(shown.body.contains("Oslo"), "{}", shown.body);
    assert!(shown.body.contains("<p>Loves ledgers.</p>"));
    assert!(
        shown
            .body
            .contains("href=\"https://ada.example.org/\" rel=\"nofollow ugc noopener\"")
    );
    let json = send(&f.app, get("/u/ada.json")).await.json();
    assert_eq!(json["user"]["location"], "Oslo");
    assert_eq!(json["user"]["website_name"], "ada.example.org");
    // A script URL is refused; what ada typed comes back.
    let refused = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &[
                ("name", "Ada L."),
                ("bio", "Keep this text"),
                ("website", "javascript:alert(1)"),
                ("location", "Oslo"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Keep this text"));
    assert!(
        send(&f.app, get("/u/ada"))
            .await
            .body
            .contains("Accountant."),
        "nothing changed"
    );
    // A location over 100 characters is refused at the boundary.
    let long = "x".repeat(101);
    let over = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &[("name", "Ada"), ("location", &long)],
        )
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    let at = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &[("name", "Ada"), ("location", &"x".repeat(100))],
        )
        .await;
    assert_eq!(at.status, StatusCode::SEE_OTHER);
    // Someone else's form is not there; a guest must sign in.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(
        bob.get("/u/ada/preferences/profile").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, get("/u/ada/preferences/profile")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_picture_uploads_from_the_form_and_the_letter_comes_back() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get("/u/ada/preferences/profile").await;
    let token = Browser::token_in(&page.body);
    let (ct, body) = multipart(
        ("me.png", &png(600)),
        &[("authenticity_token", &token), ("name", "Ada"), ("bio", "")],
    );
    let r = ada
        .send(req(Method::POST, "/u/ada/preferences/profile").raw(&ct, body))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let user = f.forum.user(f.ada).expect("ada");
    let avatar = user.avatar_url.expect("a picture");
    assert!(avatar.starts_with("/uploads/"), "{avatar}");
    assert_eq!(send(&f.app, get(&avatar)).await.status, StatusCode::OK);
    // Not an image: refused in the form, the profile unchanged.
    let page = ada.get("/u/ada/preferences/profile").await;
    let token = Browser::token_in(&page.body);
    let (ct, body) = multipart(
        ("me.png", b"<html><script>alert(1)</script></html>"),
        &[("authenticity_token", &token), ("name", "Ada")],
    );
    let r = ada
        .send(req(Method::POST, "/u/ada/preferences/profile").raw(&ct, body))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(f.forum.user(f.ada).expect("ada").avatar_url, Some(avatar));
    // Back to the letter.
    let page = ada.get("/u/ada/preferences/profile").await;
    let token = Browser::token_in(&page.body);
    let (ct, body) = multipart(
        ("", b""),
        &[
            ("authenticity_token", &token),
            ("name", "Ada"),
            ("letter_avatar", "1"),
        ],
    );
    let r = ada
        .send(req(Method::POST, "/u/ada/preferences/profile").raw(&ct, body))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(f.forum.user(f.ada).expect("ada").avatar_url, None);
    // Without the token, nothing.
    let (ct, body) = multipart(("me.png", &png(600)), &[("name", "Mallory")]);
    let r = ada
        .send(req(Method::POST, "/u/ada/preferences/profile").raw(&ct, body))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(f.forum.user(f.ada).expect("ada").display_name, "Ada");
}

#[tokio::test]
async fn a_member_downloads_their_data_then_deletes_their_account() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let page = bob.get("/u/bob/security").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Download my data"));
    assert!(page.body.contains("Delete my account"));

    // The download: bob's own records, as an attachment never cached.
    let data = bob.submit("/u/bob/security", "/u/bob/export", &[]).await;
    assert_eq!(data.status, StatusCode::OK, "{}", data.body);
    assert!(
        data.header("content-disposition")
            .contains("bob-data.jsonl")
    );
    assert_eq!(data.header("cache-control"), "no-store");
    let first = data.body.lines().next().expect("a header");
    assert!(first.contains("hearth-member-data"), "{first}");
    assert!(data.body.contains("\"username\":\"bob\""));
    assert!(data.body.contains("bob@example.com"));
    // Nobody else downloads it, staff included.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let theirs = ada.submit("/u/ada/security", "/u/bob/export", &[]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // Deleting asks for the username and the password; a slip deletes
    // nothing.
    let slip = bob
        .submit(
            "/u/bob/security",
            "/u/bob/delete-account",
            &[("confirm", "bobb"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(slip.status, StatusCode::SEE_OTHER);
    assert!(slip.header("location").contains("error="));
    let wrong = bob
        .submit(
            "/u/bob/security",
            "/u/bob/delete-account",
            &[("confirm", "bob"), ("password", "not my password")],
        )
        .await;
    assert!(wrong.header("location").contains("error="));
    assert!(f.forum.user_by_username("bob").is_ok());
    let gone = bob
        .submit(
            "/u/bob/security",
            "/u/bob/delete-account",
            &[("confirm", "Bob"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    assert!(gone.body.contains("Your account is deleted"));
    assert!(gone.header("set-cookie").contains("hearth_session=;"));
    assert!(f.forum.user_by_username("bob").is_err(), "the name is gone");
    let anon = f.forum.user(f.bob).expect("the account stays, nameless");
    assert!(anon.username.starts_with("anon"));
    // Its old session is over, and the password opens nothing.
    let after = bob.get("/u/bob/security").await;
    assert_ne!(after.status, StatusCode::OK);
    let mut again = Browser::new(&f);
    assert_eq!(again.sign_in("bob").await.status, StatusCode::UNAUTHORIZED);
}

/// Acme asks which products members use (public), their region
/// (members) and a phone number for support (staff).
fn acme_fields(f: &Fixture) {
    let option = |v: &str, l: &str| hearth::FieldOption {
        value: v.into(),
        label: l.into(),
    };
    let mut s = f
        .forum
        .community(&hearth::Actor::System, f.community)
        .expect("community")
        .settings;
    s.profile_fields = vec![
        hearth::ProfileField {
            key: "products".into(),
            label: "Products I use".into(),
            kind: hearth::FieldKind::MultiChoice {
                options: vec![
                    option("ledger-cloud", "Ledger Cloud"),
                    option("payroll", "Payroll"),
                ],
            },
            visibility: hearth::FieldVisibility::Public,
        },
        hearth::ProfileField {
            key: "region".into(),
            label: "Region".into(),
            kind: hearth::FieldKind::Choice {
                options: vec![option("nordics", "Nordics"), option("dach", "DACH")],
            },
            visibility: hearth::FieldVisibility::Members,
        },
        hearth::ProfileField {
            key: "phone".into(),
            label: "Phone for support".into(),
            kind: hearth::FieldKind::Text { max_chars: 20 },
            visibility: hearth::FieldVisibility::Staff,
        },
    ];
    f.forum
        .update_community(&hearth::Actor::System, f.community, "Acme Community", s)
        .expect("settings");
}

#[tokio::test]
async fn members_fill_in_profile_fields_and_find_each_other_by_them() {
    let f = fixture();
    acme_fields(&f);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let form = ada.get("/u/ada/preferences/profile").await;
    assert!(
        form.body
            .contains("name=\"f_products[]\" value=\"ledger-cloud\"")
    );
    assert!(form.body.contains("Shown only to staff"));
    let fields = [
        ("name", "Ada L."),
        ("bio", "I keep **ledgers** balanced."),
        ("website", ""),
        ("location", ""),
        ("fields_present", "1"),
        ("f_products[]", "ledger-cloud"),
        ("f_products[]", "payroll"),
        ("f_region", "nordics"),
        ("f_phone", "+47 555 0100"),
    ];
    let saved = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &fields,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    // A refused answer comes back in the form; nothing changes.
    let mut bad = fields;
    bad[7] = ("f_region", "atlantis");
    let refused = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &bad,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("not one of the options"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"+47 555 0100\""));

    // The profile: the bio is Markdown; each answer to whom it is shown.
    let guest = send(&f.app, get("/u/ada")).await.body;
    assert!(guest.contains("<strong>ledgers</strong>"), "{guest}");
    assert!(guest.contains("Ledger Cloud, Payroll"));
    assert!(!guest.contains("Nordics") && !guest.contains("+47"));
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let member = bob.get("/u/ada").await.body;
    assert!(member.contains("Nordics") && !member.contains("+47"));
    let staff = send(&f.app, get("/u/ada.json").acting(&f, "ann"))
        .await
        .json();
    assert_eq!(staff["user"]["user_fields"]["phone"], "+47 555 0100");
    assert_eq!(staff["user"]["user_fields"]["region"], "Nordics");
    assert!(
        staff["user"]["bio_cooked"]
            .as_str()
            .is_some_and(|b| b.contains("<strong>ledgers</strong>"))
    );
    let public = send(&f.app, get("/u/ada.json")).await.json();
    assert_eq!(
        public["user"]["user_fields"]["region"],
        serde_json::Value::Null
    );

    // The directory finds ada by her choices, and not bob.
    let page = bob.get("/u?f_products=ledger-cloud&f_region=nordics").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let table = page
        .body
        .split("<table class=\"directory\">")
        .nth(1)
        .expect("a table");
    assert!(
        table.contains("/u/ada\"") && !table.contains("/u/bob\""),
        "{table}"
    );
    assert!(page.body.contains("<option value=\"nordics\" selected>"));
    assert!(
        !page.body.contains("f_phone"),
        "no filter on a staff field for members"
    );
    let json = send(
        &f.app,
        get("/directory_items.json?f_region=nordics").acting(&f, "bob"),
    )
    .await
    .json();
    let names: Vec<&str> = json["directory_items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["user"]["username"].as_str())
        .collect();
    assert_eq!(names, ["ada"], "{json}");
    let wrong = bob.get("/u?f_phone=%2B47").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
}
