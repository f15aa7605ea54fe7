//! Products: the catalogue and product pages, tagging topics, counted
//! outbound links, the admin form.

mod common;

use axum::http::StatusCode;
use common::*;
use hearth::{Actor, NewProduct};

fn add_product(f: &Fixture) {
    f.forum
        .create_product(
            &Actor::User(f.admin),
            f.community,
            NewProduct {
                sku: "KEY-ROT".into(),
                name: "Key Rotation Kit".into(),
                url: "https://shop.example.com/kits/key-rotation".into(),
                image_url: Some("https://cdn.example.com/kit.png".into()),
                description: "Everything to rotate keys safely.".into(),
            },
        )
        .expect("product");
}

#[tokio::test]
async fn admins_add_products_through_the_form() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let fields = [
        ("sku", "MUG-1"),
        ("name", "Community Mug"),
        ("url", "https://shop.example.com/mug"),
    ];
    let r = bob.submit("/", "/admin/products", &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let r = ann.submit("/admin", "/admin/products", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(ann.get("/admin").await.body.contains("Community Mug"));
    let bad = [
        ("sku", "MUG-2"),
        ("name", "Bad"),
        ("url", "javascript:alert(1)"),
    ];
    let r = ann.submit("/admin", "/admin/products", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = send(&f.app, get("/products.json")).await.json();
    assert_eq!(list["products"].as_array().expect("list").len(), 1);
    assert_eq!(list["products"][0]["sku"], "MUG-1");
}

#[tokio::test]
async fn tagged_topics_show_on_the_product_page_as_far_as_readable() {
    let f = fixture();
    add_product(&f);
    let url = f.topic_url(f.public_topic);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let tag = format!("/t/{}/products", f.public_topic.0);
    let r = ada
        .submit(&url, &tag, &[("skus", "KEY-ROT, GHOST-9")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("GHOST-9"), "{}", r.body);
    let r = ada.submit(&url, &tag, &[("skus", "KEY-ROT")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // bob did not write the topic: no form, and a forged one fails.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert!(!bob.get(&url).await.body.contains("Tag products"));
    let r = bob.submit(&url, &tag, &[("skus", "")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The staff room's topic is tagged too, by its author.
    f.forum
        .tag_products(
            &Actor::User(f.admin),
            f.community,
            f.forum
                .topic(
                    &Actor::System,
                    f.community,
                    f.staff_topic,
                    &hearth::PageRequest::first(1),
                )
                .expect("view")
                .posts
                .items[0]
                .id,
            &["KEY-ROT"],
        )
        .expect("tag");
    let topic_page = send(&f.app, get(&url)).await;
    assert!(topic_page.body.contains("Products in this topic"));
    assert!(
        topic_page
            .body
            .contains(&format!("/products/KEY-ROT/go?topic={}", f.public_topic.0))
    );
    let guest = send(&f.app, get("/products/KEY-ROT")).await;
    assert_eq!(guest.status, StatusCode::OK);
    assert!(guest.body.contains("How do I rotate my API key?"));
    assert!(
        !guest.body.contains("escalation rota"),
        "private stays private"
    );
    assert!(guest.body.contains("\"@type\":\"Product\""));
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    assert!(
        ann.get("/products/KEY-ROT")
            .await
            .body
            .contains("escalation rota")
    );
    let v = send(&f.app, get("/products/KEY-ROT.json")).await.json();
    assert_eq!(v["topics"].as_array().expect("topics").len(), 1);
    assert_eq!(
        send(&f.app, get("/products/NOPE")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn outbound_links_are_counted_then_redirect() {
    let f = fixture();
    add_product(&f);
    let start = f.forum.now();
    let go = format!("/products/KEY-ROT/go?topic={}", f.public_topic.0);
    let r = send(&f.app, get(&go)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        "https://shop.example.com/kits/key-rotation"
    );
    assert_eq!(r.header("cache-control"), "no-store");
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    bob.get(&go).await;
    let clicks = f
        .forum
        .product_clicks(
            &Actor::User(f.admin),
            f.community,
            start,
            start + time::Duration::days(1),
        )
        .expect("clicks");
    assert_eq!((clicks[0].clicks, clicks[0].members), (2, 1));
    assert_eq!(
        send(&f.app, get("/products/NOPE/go")).await.status,
        StatusCode::NOT_FOUND
    );
}
