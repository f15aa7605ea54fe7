//! The product catalogue: who may manage it, tagging posts, content per
//! product (permission-filtered), and click counting by period.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hearth::{Actor, Error, NewProduct, PageRequest};
use time::Duration;

fn lipstick() -> NewProduct {
    NewProduct {
        sku: "LIP-042".into(),
        name: "Velvet Lip Tint".into(),
        url: "https://shop.example.com/p/lip-042".into(),
        image_url: Some("https://cdn.example.com/lip-042.jpg".into()),
        description: "A soft matte tint.".into(),
    }
}

#[test]
fn admins_keep_the_catalogue() {
    let w = World::new();
    let f = w.forum();
    assert!(matches!(
        f.create_product(&w.member, w.c, lipstick()),
        Err(Error::Forbidden { .. })
    ));
    let p = f.create_product(&w.admin, w.c, lipstick()).unwrap();
    assert_eq!(p.sku, "LIP-042");
    assert!(matches!(
        f.create_product(&w.admin, w.c, lipstick()),
        Err(Error::Conflict { .. })
    ));
    for bad in [
        NewProduct {
            sku: "has space".into(),
            ..lipstick()
        },
        NewProduct {
            url: "javascript:alert(1)".into(),
            sku: "X1".into(),
            ..lipstick()
        },
        NewProduct {
            name: "  ".into(),
            sku: "X2".into(),
            ..lipstick()
        },
        NewProduct {
            image_url: Some("ftp://x".into()),
            sku: "X3".into(),
            ..lipstick()
        },
    ] {
        assert!(matches!(
            f.create_product(&w.admin, w.c, bad),
            Err(Error::Invalid { .. })
        ));
    }
    let renamed = f
        .update_product(
            &w.admin,
            w.c,
            NewProduct {
                name: "Velvet Lip Tint 2".into(),
                ..lipstick()
            },
        )
        .unwrap();
    assert_eq!(renamed.name, "Velvet Lip Tint 2");
    assert!(matches!(
        f.update_product(
            &w.admin,
            w.c,
            NewProduct {
                sku: "NOPE".into(),
                ..lipstick()
            }
        ),
        Err(Error::NotFound { .. })
    ));
    let all = f
        .products(&Actor::Guest, w.c, &PageRequest::first(10))
        .unwrap();
    assert_eq!(all.items.len(), 1);
}

#[test]
fn tagged_content_is_listed_only_where_readable() {
    let w = World::new();
    let f = w.forum();
    f.create_product(&w.admin, w.c, lipstick()).unwrap();
    let (public_topic, public_answer) = w.topics[0];
    let (group_topic, group_answer) = w.topics[2];
    // The moderator wrote both answers; a member cannot tag them.
    assert!(matches!(
        f.tag_products(&w.member, w.c, public_answer, &["LIP-042"]),
        Err(Error::Forbidden { .. })
    ));
    f.tag_products(&w.moderator, w.c, public_answer, &["LIP-042"])
        .unwrap();
    f.tag_products(&w.moderator, w.c, group_answer, &["LIP-042", "LIP-042"])
        .unwrap();
    let err = f
        .tag_products(&w.moderator, w.c, public_answer, &["LIP-042", "GHOST-1"])
        .unwrap_err();
    assert!(err.to_string().contains("GHOST-1"), "{err}");
    let eleven: Vec<&str> = std::iter::repeat_n("LIP-042", 11).collect();
    assert!(matches!(
        f.tag_products(&w.moderator, w.c, public_answer, &eleven),
        Err(Error::Invalid { .. })
    ));
    let ids = |who: &Actor| {
        f.product_topics(who, w.c, "LIP-042", &PageRequest::first(10))
            .unwrap()
            .items
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&Actor::Guest), vec![public_topic]);
    assert_eq!(ids(&w.member), vec![public_topic]);
    assert_eq!(ids(&w.group_member), vec![group_topic, public_topic]);
    assert_eq!(
        f.topic_products(&Actor::Guest, w.c, public_topic)
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        f.topic_products(&Actor::Guest, w.c, group_topic),
        Err(Error::NotFound { .. })
    ));
    // Untagging (an empty set) removes it; deleting a post removes its topic.
    f.tag_products(&w.moderator, w.c, group_answer, &[])
        .unwrap();
    assert_eq!(ids(&w.group_member), vec![public_topic]);
    f.delete_post(&w.moderator, w.c, public_answer).unwrap();
    assert!(ids(&Actor::Guest).is_empty());
}

#[test]
fn clicks_are_counted_by_period() {
    let w = World::new();
    let f = w.forum();
    f.create_product(&w.admin, w.c, lipstick()).unwrap();
    let start = f.now();
    let (public_topic, _) = w.topics[0];
    let (group_topic, _) = w.topics[2];
    assert_eq!(
        f.record_product_click(&Actor::Guest, w.c, "LIP-042", Some(public_topic))
            .unwrap(),
        "https://shop.example.com/p/lip-042"
    );
    f.record_product_click(&w.member, w.c, "LIP-042", Some(group_topic))
        .unwrap();
    f.record_product_click(&w.member, w.c, "LIP-042", None)
        .unwrap();
    w.t.clock.advance(Duration::days(2));
    f.record_product_click(&w.admin, w.c, "LIP-042", None)
        .unwrap();
    assert!(matches!(
        f.record_product_click(&w.member, w.c, "NOPE", None),
        Err(Error::NotFound { .. })
    ));
    let first_day = f
        .product_clicks(&w.moderator, w.c, start, start + Duration::days(1))
        .unwrap();
    assert_eq!(first_day.len(), 1);
    assert_eq!((first_day[0].clicks, first_day[0].members), (3, 1));
    let all = f
        .product_clicks(&w.admin, w.c, start, start + Duration::days(3))
        .unwrap();
    assert_eq!((all[0].clicks, all[0].members), (4, 2));
    assert!(matches!(
        f.product_clicks(&w.member, w.c, start, start + Duration::days(3)),
        Err(Error::Forbidden { .. })
    ));
}
