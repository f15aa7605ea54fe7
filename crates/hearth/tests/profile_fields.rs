//! Profile fields a community defines: members answer them, each answer
//! is shown only to whom its field allows, and the directory finds
//! members by their choices.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, DirectoryOrder, Error, FieldKind, FieldOption, FieldVisibility, PageRequest,
    ProfileField, UserId,
};

fn id(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

fn options(values: &[&str]) -> Vec<FieldOption> {
    values
        .iter()
        .map(|v| FieldOption {
            value: v.to_string(),
            label: v.replace('-', " "),
        })
        .collect()
}

fn fields() -> Vec<ProfileField> {
    vec![
        ProfileField {
            key: "products".into(),
            label: "Products I use".into(),
            kind: FieldKind::MultiChoice {
                options: options(&["ledger-cloud", "payroll", "invoicing"]),
            },
            visibility: FieldVisibility::Public,
        },
        ProfileField {
            key: "region".into(),
            label: "Region".into(),
            kind: FieldKind::Choice {
                options: options(&["nordics", "dach", "benelux"]),
            },
            visibility: FieldVisibility::Members,
        },
        ProfileField {
            key: "phone".into(),
            label: "Phone for support".into(),
            kind: FieldKind::Text { max_chars: 20 },
            visibility: FieldVisibility::Staff,
        },
    ]
}

fn with_fields() -> World {
    let w = World::new();
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.profile_fields = fields();
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    w
}

fn answer(w: &World, who: &Actor, answers: &[(&str, &[&str])]) -> Result<(), Error> {
    let answers: Vec<(String, Vec<String>)> = answers
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
    w.forum().set_member_fields(who, w.c, id(who), &answers)
}

/// The keys of the fields `viewer` sees answered on `whose` profile.
fn seen(w: &World, viewer: &Actor, whose: &Actor) -> Vec<String> {
    w.forum()
        .member_fields(viewer, w.c, id(whose))
        .unwrap()
        .into_iter()
        .filter(|m| !m.values.is_empty())
        .map(|m| m.field.key)
        .collect()
}

#[test]
fn members_answer_within_what_each_field_allows() {
    let w = with_fields();
    let f = w.forum();
    answer(
        &w,
        &w.member,
        &[
            ("products", &["payroll", "ledger-cloud"]),
            ("region", &["nordics"]),
            ("phone", &["+47 555 0100"]),
        ],
    )
    .unwrap();
    let mine = f.member_fields(&w.member, w.c, id(&w.member)).unwrap();
    assert_eq!(
        mine[0].values,
        ["ledger-cloud", "payroll"],
        "in the field's order"
    );
    assert_eq!(mine[0].display(), "ledger cloud, payroll");
    // Each refusal names the field and writes nothing.
    for (bad, why) in [
        (("region", &["nordics", "dach"][..]), "one option only"),
        (("products", &["abacus"][..]), "not one of the options"),
        (("phone", &["+47 555 0100 ext. 12345678"][..]), "at most 20"),
        (("shoe-size", &["44"][..]), "no such field"),
    ] {
        let e = answer(&w, &w.member, &[("products", &["invoicing"]), bad]).unwrap_err();
        assert!(
            matches!(
                &e,
                Error::Invalid {
                    field: "profile_fields",
                    ..
                }
            ) && e.to_string().contains(why),
            "{e}"
        );
    }
    assert_eq!(
        f.member_fields(&w.member, w.c, id(&w.member)).unwrap()[0].values,
        ["ledger-cloud", "payroll"],
        "a refused change changes nothing"
    );
    // Clearing an answer; other fields keep theirs.
    answer(&w, &w.member, &[("phone", &[])]).unwrap();
    assert_eq!(seen(&w, &w.member, &w.member), ["products", "region"]);
    // Someone else's profile: only admins.
    let answers = vec![("region".to_string(), vec!["dach".to_string()])];
    assert!(matches!(
        f.set_member_fields(&w.moderator, w.c, id(&w.member), &answers),
        Err(Error::Forbidden { .. })
    ));
    f.set_member_fields(&w.admin, w.c, id(&w.member), &answers)
        .unwrap();
}

#[test]
fn each_answer_is_shown_only_to_whom_its_field_allows() {
    let w = with_fields();
    answer(
        &w,
        &w.member,
        &[
            ("products", &["payroll"]),
            ("region", &["nordics"]),
            ("phone", &["+47 555 0100"]),
        ],
    )
    .unwrap();
    let everything = ["products", "region", "phone"];
    for (viewer, expected) in [
        (&Actor::Guest, &["products"][..]),
        (&w.outsider, &["products"][..]),
        (&w.group_member, &["products", "region"][..]),
        (&w.member, &everything[..]),
        (&w.moderator, &everything[..]),
        (&w.admin, &everything[..]),
    ] {
        assert_eq!(seen(&w, viewer, &w.member), expected, "{viewer:?}");
    }
}

#[test]
fn the_directory_finds_members_by_their_choices() {
    let w = with_fields();
    let f = w.forum();
    answer(
        &w,
        &w.member,
        &[("products", &["ledger-cloud"]), ("region", &["nordics"])],
    )
    .unwrap();
    answer(
        &w,
        &w.group_member,
        &[("products", &["ledger-cloud"]), ("region", &["dach"])],
    )
    .unwrap();
    answer(
        &w,
        &w.moderator,
        &[("products", &["payroll"]), ("region", &["nordics"])],
    )
    .unwrap();
    let find = |viewer: &Actor, filters: &[(&str, &str)]| {
        let filters: Vec<(String, String)> = filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        f.directory_where(
            viewer,
            w.c,
            DirectoryOrder::PostCount,
            &filters,
            &PageRequest::first(50),
        )
        .map(|p| {
            let mut names: Vec<String> = p.items.into_iter().map(|e| e.user.username).collect();
            names.sort();
            names
        })
    };
    assert_eq!(
        find(
            &w.group_member,
            &[("products", "ledger-cloud"), ("region", "nordics")]
        )
        .unwrap(),
        ["member_mia"]
    );
    assert_eq!(
        find(&w.group_member, &[("products", "ledger-cloud")]).unwrap(),
        ["member_mia", "vendor_vic"]
    );
    assert_eq!(
        find(&w.group_member, &[("region", "nordics")]).unwrap(),
        ["member_mia", "mod_max"]
    );
    for bad in [
        &[("phone", "+47")][..],
        &[("region", "atlantis")][..],
        &[("shoe-size", "44")][..],
    ] {
        assert!(
            matches!(find(&w.group_member, bad), Err(Error::Invalid { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        find(&Actor::Guest, &[("region", "nordics")]),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn field_definitions_are_checked_at_their_limits() {
    let w = World::new();
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    let text = |key: &str, max_chars| ProfileField {
        key: key.into(),
        label: "A field".into(),
        kind: FieldKind::Text { max_chars },
        visibility: FieldVisibility::Public,
    };
    let choice = |n: usize| ProfileField {
        key: "choice".into(),
        label: "Pick".into(),
        kind: FieldKind::Choice {
            options: (0..n)
                .map(|i| FieldOption {
                    value: format!("o{i}"),
                    label: format!("Option {i}"),
                })
                .collect(),
        },
        visibility: FieldVisibility::Public,
    };
    let ok: Vec<Vec<ProfileField>> = vec![
        (0..20).map(|i| text(&format!("f{i}"), 500)).collect(),
        vec![text("a", 1), choice(50)],
        vec![text(&"k".repeat(30), 10)],
    ];
    for fields in ok {
        s.profile_fields = fields;
        f.update_community(&w.admin, w.c, "Acme", s.clone())
            .unwrap();
    }
    let bad: Vec<Vec<ProfileField>> = vec![
        (0..21).map(|i| text(&format!("f{i}"), 5)).collect(),
        vec![text("a", 0)],
        vec![text("a", 501)],
        vec![text("a", 5), text("a", 5)],
        vec![text("Has Caps", 5)],
        vec![text(&"k".repeat(31), 5)],
        vec![choice(0)],
        vec![choice(51)],
    ];
    for fields in bad {
        s.profile_fields = fields.clone();
        assert!(
            matches!(
                f.update_community(&w.admin, w.c, "Acme", s.clone()),
                Err(Error::Invalid { .. })
            ),
            "{fields:?}"
        );
    }
}
