//! The end of a membership: deactivate, anonymize, delete.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, AuditAction, Error, ExternalAccount, MemberFilter, MemberQuery, NewLogin, NewReply,
    NewTopic, NewUser, PageRequest, Role, Target, UserId,
};

fn uid(a: &Actor) -> UserId {
    match a {
        Actor::User(u) => *u,
        _ => unreachable!(),
    }
}

/// A member with a login, an external link, a topic, a reply and a
/// bookmark.
fn member_with_history(w: &World, name: &str) -> (Actor, hearth::TopicId) {
    let f = w.forum();
    let user = f
        .create_account(
            NewUser::new(name),
            NewLogin {
                email: format!("{name}@example.com"),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
                    .into(),
                confirmed: true,
            },
        )
        .unwrap()
        .id;
    f.sign_in_external(&ExternalAccount {
        provider: "discourse_connect".into(),
        external_id: format!("ext-{name}"),
        email: format!("{name}@example.com"),
        email_verified: true,
        ..ExternalAccount::default()
    })
    .unwrap();
    f.add_member(&w.owner, w.c, user, Role::Member).unwrap();
    let who = Actor::User(user);
    let (topic, _) = f
        .create_topic(
            &who,
            w.c,
            NewTopic {
                category: w.public.id,
                title: format!("A question from {name}"),
                body: "Does the export include attachments?".into(),
                tags: vec![],
            },
        )
        .unwrap();
    f.reply(
        &w.member,
        w.c,
        topic.id,
        NewReply {
            body: "It does, since last spring.".into(),
            reply_to: None,
        },
    )
    .unwrap();
    let reply = f
        .reply(
            &who,
            w.c,
            w.topics[0].0,
            NewReply {
                body: "Same question here, any news?".into(),
                reply_to: None,
            },
        )
        .unwrap();
    f.bookmark(&who, w.c, reply.id).unwrap();
    (who, topic.id)
}

#[test]
fn a_deactivated_member_is_a_guest_until_activated() {
    let w = World::new();
    let f = w.forum();
    let member = uid(&w.member);
    let private = w.topics[1].0;
    f.topic_only(&w.member, w.c, private).unwrap();
    for who in [&w.moderator, &w.member] {
        assert!(matches!(
            f.set_member_active(who, w.c, member, false),
            Err(Error::Forbidden { .. })
        ));
    }
    for staff in [&w.moderator, &w.owner] {
        assert!(matches!(
            f.set_member_active(&w.admin, w.c, uid(staff), false),
            Err(Error::Forbidden { .. })
        ));
    }
    let m = f.set_member_active(&w.admin, w.c, member, false).unwrap();
    assert!(m.deactivated_at.is_some());
    assert!(matches!(
        f.topic_only(&w.member, w.c, private),
        Err(Error::NotFound { .. })
    ));
    let list = |filter| {
        f.member_list(
            &w.admin,
            w.c,
            &MemberQuery {
                filter,
                limit: 100,
                ..MemberQuery::default()
            },
        )
        .unwrap()
        .iter()
        .map(|m| m.user.id)
        .collect::<Vec<_>>()
    };
    assert_eq!(list(MemberFilter::Deactivated), [member]);
    assert!(!list(MemberFilter::Active).contains(&member));
    f.set_member_active(&w.admin, w.c, member, true).unwrap();
    f.topic_only(&w.member, w.c, private).unwrap();
    assert_eq!(
        w.audited(Target::Member(member)),
        [AuditAction::MemberActivation, AuditAction::MemberActivation]
    );
}

#[test]
fn an_anonymized_account_keeps_its_posts_and_loses_everything_that_names_it() {
    let w = World::new();
    let f = w.forum();
    let (who, topic) = member_with_history(&w, "carla_c");
    let user = uid(&who);
    assert!(matches!(
        f.anonymize_user(&w.moderator, w.c, user),
        Err(Error::Forbidden { .. })
    ));
    let anon = f.anonymize_user(&w.admin, w.c, user).unwrap();
    assert!(anon.username.starts_with("anon"), "{}", anon.username);
    assert_eq!(
        (anon.display_name.as_str(), anon.avatar_url.as_deref()),
        ("", None)
    );
    assert!(
        f.login("carla_c@example.com").unwrap().is_none(),
        "no sign-in left"
    );
    assert!(
        f.external_user("discourse_connect", "ext-carla_c")
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        f.user_by_username("carla_c"),
        Err(Error::NotFound { .. })
    ));
    let first = f
        .topic(&w.admin, w.c, topic, &PageRequest::first(5))
        .unwrap();
    assert_eq!(first.posts.items[0].author.username, anon.username);
    // The audit log keeps the new name only.
    let entry = w.audit_of(Target::Member(user)).remove(0);
    assert_eq!(entry.action, AuditAction::MemberAnonymized);
    assert!(!format!("{entry:?}").contains("carla"), "{entry:?}");
}

#[test]
fn an_account_of_several_communities_is_the_operator_s_to_anonymize() {
    let w = World::new();
    let f = w.forum();
    let (who, _) = member_with_history(&w, "dev_dana");
    let user = uid(&who);
    let other = f
        .create_community(
            &Actor::System,
            hearth::NewCommunity {
                slug: "other".into(),
                name: "Other".into(),
                owner: Some(uid(&w.owner)),
                settings: hearth::CommunitySettings::default(),
            },
        )
        .unwrap()
        .id;
    f.add_member(&w.owner, other, user, Role::Member).unwrap();
    for e in [
        f.anonymize_user(&w.admin, w.c, user).map(|_| ()),
        f.delete_user(&w.admin, w.c, user, true).map(|_| ()),
    ] {
        assert!(matches!(e, Err(Error::Conflict { .. })), "{e:?}");
    }
    assert_eq!(
        f.user(user).unwrap().username,
        "dev_dana",
        "nothing changed"
    );
    // Deactivating here is this community's own business.
    f.set_member_active(&w.admin, w.c, user, false).unwrap();
    f.anonymize_user(&Actor::System, w.c, user).unwrap();
}

#[test]
fn deleting_a_member_takes_their_posts_only_when_asked() {
    let w = World::new();
    let f = w.forum();
    let (who, topic) = member_with_history(&w, "erin_e");
    let user = uid(&who);
    let before = w.t.dump();
    let e = f.delete_user(&w.admin, w.c, user, false);
    assert!(matches!(e, Err(Error::Conflict { .. })), "{e:?}");
    assert_eq!(w.t.dump(), before, "a refused delete changes nothing");
    for who in [&w.moderator, &w.member] {
        assert!(matches!(
            f.delete_user(who, w.c, user, true),
            Err(Error::Forbidden { .. })
        ));
    }
    let system = f.system_user(w.c).unwrap().id;
    assert!(matches!(
        f.delete_user(&w.admin, w.c, system, true),
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(f.delete_user(&w.admin, w.c, user, true).unwrap(), 2);
    assert!(matches!(
        f.member(&w.admin, w.c, user),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.topic_only(&w.member, w.c, topic),
        Err(Error::NotFound { .. })
    ));
    let replies = f
        .topic(&w.member, w.c, w.topics[0].0, &PageRequest::first(20))
        .unwrap();
    assert!(replies.posts.items.iter().all(|p| p.author.id != user));
    assert!(f.login("erin_e@example.com").unwrap().is_none());
    assert_eq!(
        w.t.query_one::<i64>(&format!(
            "SELECT count(*) FROM bookmarks WHERE user_id = {}",
            user.0
        )),
        0
    );
    assert!(
        w.audited(Target::Member(user))
            .contains(&AuditAction::MemberDeleted)
    );
    // Someone without posts goes without asking.
    let quiet = w.t.user("quiet_quinn");
    f.add_member(&w.owner, w.c, quiet, Role::Member).unwrap();
    assert_eq!(f.delete_user(&w.admin, w.c, quiet, false).unwrap(), 0);
}

/// The export's records of one `type`.
fn records(export: &[u8], kind: &str) -> Vec<serde_json::Value> {
    String::from_utf8(export.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == kind)
        .collect()
}

/// `who` follows the member, sends them a message and gets an answer,
/// likes a post and sets a website.
fn social_history(w: &World, who: &Actor) -> hearth::TopicId {
    let f = w.forum();
    let mut s = f.community(&Actor::System, w.c).unwrap().settings;
    s.messages.min_trust = hearth::TrustLevel::New;
    f.update_community(&w.owner, w.c, "Acme", s).unwrap();
    f.update_profile(
        who,
        uid(who),
        hearth::ProfileUpdate {
            website: Some("https://dora.example.org".into()),
            location: Some("Tromsø".into()),
            ..Default::default()
        },
    )
    .unwrap();
    f.follow(who, uid(&w.member), true).unwrap();
    f.follow(&w.member, uid(who), false).unwrap();
    f.like(who, w.c, w.topics[0].1).unwrap();
    let (dm, _) = f
        .send_message(
            who,
            w.c,
            hearth::NewMessage {
                title: "About my refund, privately".into(),
                body: "My order number is 4711, can you check it?".into(),
                users: vec!["member_mia".into()],
                groups: vec![],
            },
        )
        .unwrap();
    f.reply(
        &w.member,
        w.c,
        dm.id,
        NewReply {
            body: "Mia's own words stay Mia's.".into(),
            reply_to: None,
        },
    )
    .unwrap();
    dm.id
}

#[test]
fn members_download_their_own_data_and_nobody_else_does() {
    let w = World::new();
    let f = w.forum();
    let (dora, topic) = member_with_history(&w, "dora_d");
    let dm = social_history(&w, &dora);
    let me = uid(&dora);
    for other in [&w.member, &w.moderator, &w.admin, &w.owner, &Actor::Guest] {
        assert!(
            matches!(
                f.export_own_data(other, me, &mut Vec::new()),
                Err(Error::Forbidden { .. })
            ),
            "{other:?}"
        );
    }
    let mut export = Vec::new();
    let n = f.export_own_data(&dora, me, &mut export).unwrap();
    let text = String::from_utf8(export.clone()).unwrap();
    assert_eq!(n as usize, text.lines().count());
    assert_eq!(
        records(&export, "header")[0]["format"],
        "hearth-member-data"
    );
    let account = &records(&export, "account")[0];
    assert_eq!(account["username"], "dora_d");
    assert_eq!(account["email"], "dora_d@example.com");
    assert_eq!(account["location"], "Tromsø");
    assert_eq!(records(&export, "membership")[0]["community"], "acme");
    let posts = records(&export, "post");
    let raws: Vec<&str> = posts.iter().map(|p| p["raw"].as_str().unwrap()).collect();
    assert!(raws.contains(&"Does the export include attachments?"));
    assert!(raws.contains(&"Same question here, any news?"));
    assert!(raws.contains(&"My order number is 4711, can you check it?"));
    let own_topic = posts.iter().find(|p| p["topic_id"] == topic.0).unwrap();
    assert_eq!(own_topic["topic_title"], "A question from dora_d");
    let message = posts.iter().find(|p| p["topic_id"] == dm.0).unwrap();
    assert_eq!(message["private_message"], 1);
    // Nobody else's words, nor the title of a topic someone else started.
    for theirs in ["It does, since last spring.", "Mia's own words stay Mia's."] {
        assert!(!text.contains(theirs), "{theirs} leaked");
    }
    let started_by_other = posts
        .iter()
        .find(|p| p["topic_id"] == w.topics[0].0.0)
        .unwrap();
    assert_eq!(started_by_other["topic_title"], serde_json::Value::Null);
    assert_eq!(records(&export, "like").len(), 1);
    assert_eq!(records(&export, "bookmark").len(), 1);
    let follows = records(&export, "follow");
    assert_eq!(follows.len(), 1, "whom they follow, not who follows them");
    assert_eq!(follows[0]["following"], "member_mia");
    // The application may export for them.
    f.export_own_data(&Actor::System, me, &mut Vec::new())
        .unwrap();
}

#[test]
fn members_anonymize_their_own_account_and_their_posts_stay() {
    let w = World::new();
    let f = w.forum();
    let (dora, topic) = member_with_history(&w, "dora_d");
    social_history(&w, &dora);
    let me = uid(&dora);
    // Staff hand their role over first; guests and the system are no one.
    for staff in [&w.moderator, &w.admin, &w.owner] {
        assert!(matches!(
            f.anonymize_own_account(staff, w.c),
            Err(Error::Forbidden { .. })
        ));
    }
    assert!(matches!(
        f.anonymize_own_account(&Actor::Guest, w.c),
        Err(Error::Forbidden { .. })
    ));
    let anon = f.anonymize_own_account(&dora, w.c).unwrap();
    assert!(anon.username.starts_with("anon"), "{}", anon.username);
    let mut export = Vec::new();
    f.export_own_data(&Actor::System, me, &mut export).unwrap();
    let account = &records(&export, "account")[0];
    for field in ["display_name", "bio", "website", "location"] {
        assert_eq!(account[field], "", "{field}");
    }
    assert_eq!(account["email"], serde_json::Value::Null, "no sign-in left");
    assert!(records(&export, "follow").is_empty());
    assert!(
        f.followers(&w.member, w.c, uid(&w.member))
            .unwrap()
            .is_empty(),
        "nobody is followed by the anonymous account"
    );
    assert!(f.login("dora_d").unwrap().is_none());
    let first = f
        .topic(&w.admin, w.c, topic, &PageRequest::first(5))
        .unwrap();
    assert_eq!(first.posts.items[0].author.username, anon.username);
    assert_eq!(
        first.posts.items[0].source, "Does the export include attachments?",
        "the post stays"
    );
    let entry = w.audit_of(Target::Member(me)).remove(0);
    assert_eq!(entry.action, AuditAction::MemberAnonymized);
    assert!(!format!("{entry:?}").contains("dora"), "{entry:?}");
}

#[test]
fn sign_ups_never_confirmed_are_forgotten_after_a_week() {
    let w = World::new();
    let f = w.forum();
    let login = |email: &str, confirmed| NewLogin {
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        confirmed,
    };
    let waiting = f
        .create_account(NewUser::new("waiting_wes"), login("wes@example.com", false))
        .unwrap();
    f.create_account(NewUser::new("sure_sue"), login("sue@example.com", true))
        .unwrap();
    // Unconfirmed but already a member (a staff-made or older account): kept.
    let joined = f
        .create_account(NewUser::new("joined_jo"), login("jo@example.com", false))
        .unwrap();
    f.add_member(&w.owner, w.c, joined.id, Role::Member)
        .unwrap();
    w.t.clock
        .advance(time::Duration::days(hearth::UNCONFIRMED_ACCOUNT_DAYS - 1));
    assert_eq!(
        f.forget_unconfirmed_accounts().unwrap(),
        0,
        "within the week"
    );
    w.t.clock.advance(time::Duration::days(2));
    assert_eq!(f.forget_unconfirmed_accounts().unwrap(), 1);
    assert!(f.login("wes@example.com").unwrap().is_none());
    assert!(f.user_by_username("waiting_wes").is_err());
    assert!(f.user(waiting.id).unwrap().username.starts_with("anon"));
    assert!(f.login("sue@example.com").unwrap().is_some());
    assert!(f.login("jo@example.com").unwrap().is_some());
    // The name and the address are free again.
    f.create_account(NewUser::new("waiting_wes"), login("wes@example.com", false))
        .unwrap();
}
