//! Start private, open later: invites, join requests, private → hybrid.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{
    Actor, CommunitySettings, Error, NewInvite, PageRequest, RegistrationMode, Role, TopicFilter,
};

fn private_invite_only(w: &World) {
    let s = CommunitySettings {
        registration: RegistrationMode::InviteOnly,
        public_access: false,
        ..CommunitySettings::default()
    };
    w.forum()
        .update_community(&w.admin, w.c, "Acme", s)
        .unwrap();
}

#[test]
fn invite_links_expire_run_out_and_can_be_revoked() {
    let w = World::new();
    let f = w.forum();
    private_invite_only(&w);
    let newcomer = |name: &str| Actor::User(w.t.user(name));
    let (a, b, c) = (
        newcomer("ann_new"),
        newcomer("ben_new"),
        newcomer("cat_new"),
    );
    assert!(
        matches!(f.join(&a, w.c), Err(Error::NotFound { .. })),
        "private and invite-only"
    );
    assert!(matches!(
        f.create_invite(&w.member, w.c, NewInvite::default()),
        Err(Error::Forbidden { .. })
    ));
    let invite = f
        .create_invite(
            &w.moderator,
            w.c,
            NewInvite {
                max_uses: Some(2),
                expires_in: Some(time::Duration::days(7)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(invite.code.len(), 22);
    let m = f.accept_invite(&a, &invite.code).unwrap();
    assert_eq!(m.role, Role::Member);
    assert!(matches!(
        f.accept_invite(&a, &invite.code),
        Err(Error::Conflict { .. })
    ));
    f.accept_invite(&b, &invite.code).unwrap();
    let used_up = f.accept_invite(&c, &invite.code);
    assert!(
        matches!(&used_up, Err(Error::Invalid { field: "invite", reason, .. }) if reason.contains("used up")),
        "{used_up:?}"
    );
    // The new members see member content.
    assert_eq!(
        f.latest(&a, w.c, &TopicFilter::default(), &PageRequest::first(10))
            .unwrap()
            .items
            .len(),
        2
    );

    let expiring = f
        .create_invite(
            &w.admin,
            w.c,
            NewInvite {
                expires_in: Some(time::Duration::hours(1)),
                ..Default::default()
            },
        )
        .unwrap();
    w.t.clock.advance(time::Duration::hours(2));
    assert!(
        matches!(f.accept_invite(&c, &expiring.code), Err(Error::Invalid { reason, .. }) if reason.contains("expired"))
    );

    let revoked = f
        .create_invite(&w.admin, w.c, NewInvite::default())
        .unwrap();
    f.revoke_invite(&w.admin, w.c, revoked.id).unwrap();
    assert!(
        matches!(f.accept_invite(&c, &revoked.code), Err(Error::Invalid { reason, .. }) if reason.contains("revoked"))
    );
    assert!(matches!(
        f.accept_invite(&c, "not-a-real-code"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        f.accept_invite(&Actor::Guest, &revoked.code),
        Err(Error::Forbidden { .. })
    ));

    // Roles above member: owners only.
    let staff = NewInvite {
        role: Some(Role::Staff),
        ..Default::default()
    };
    assert!(matches!(
        f.create_invite(&w.admin, w.c, staff.clone()),
        Err(Error::Forbidden { .. })
    ));
    let staff_invite = f.create_invite(&w.owner, w.c, staff).unwrap();
    assert_eq!(
        f.accept_invite(&c, &staff_invite.code).unwrap().role,
        Role::Staff
    );

    let listed = f.invites(&w.admin, w.c).unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed.iter().find(|i| i.id == invite.id).unwrap().uses, 2);
    assert!(listed.iter().find(|i| i.id == revoked.id).unwrap().revoked);
}

#[test]
fn approval_mode_takes_join_requests() {
    let w = World::new();
    let f = w.forum();
    let s = CommunitySettings {
        registration: RegistrationMode::Approval,
        ..CommunitySettings::default()
    };
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    let hopeful = Actor::User(w.t.user("hopeful_hal"));
    let declined = Actor::User(w.t.user("declined_dee"));
    assert!(matches!(
        f.join(&hopeful, w.c),
        Err(Error::Forbidden { .. })
    ));
    f.request_to_join(&hopeful, w.c, "I use the product daily")
        .unwrap();
    f.request_to_join(&declined, w.c, "").unwrap();
    assert!(matches!(
        f.request_to_join(&hopeful, w.c, "again"),
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        f.join_requests(&w.member, w.c, &PageRequest::first(10)),
        Err(Error::Forbidden { .. })
    ));
    let pending = f
        .join_requests(&w.admin, w.c, &PageRequest::first(10))
        .unwrap();
    assert_eq!(pending.items.len(), 2);
    assert_eq!(pending.items[0].message, "I use the product daily");
    let Actor::User(hal) = hopeful else {
        unreachable!()
    };
    let Actor::User(dee) = declined else {
        unreachable!()
    };
    let m = f
        .decide_join_request(&w.admin, w.c, hal, true, "welcome")
        .unwrap()
        .unwrap();
    assert_eq!(m.role, Role::Member);
    assert!(
        f.decide_join_request(&w.admin, w.c, dee, false, "not a customer")
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        f.decide_join_request(&w.admin, w.c, dee, true, ""),
        Err(Error::NotFound { .. })
    ));
    assert!(f.member(&Actor::System, w.c, dee).is_err());
    assert!(
        f.join_requests(&w.admin, w.c, &PageRequest::first(10))
            .unwrap()
            .items
            .is_empty()
    );
    // Communities that do not approve take no requests.
    let s = CommunitySettings::default();
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    assert!(matches!(
        f.request_to_join(&declined, w.c, ""),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn private_to_hybrid_without_moving_content() {
    let w = World::new();
    let f = w.forum();
    private_invite_only(&w);
    let latest = |a: &Actor| f.latest(a, w.c, &TopicFilter::default(), &PageRequest::first(10));
    assert!(matches!(latest(&Actor::Guest), Err(Error::NotFound { .. })));
    let member_view = latest(&w.member).unwrap().items.len();
    // Open the public categories to guests; member categories stay behind sign-in.
    let s = CommunitySettings {
        registration: RegistrationMode::InviteOnly,
        public_access: true,
        ..CommunitySettings::default()
    };
    f.update_community(&w.admin, w.c, "Acme", s).unwrap();
    let guest = latest(&Actor::Guest).unwrap();
    assert_eq!(guest.items.len(), 1);
    assert_eq!(guest.items[0].id, w.topics[0].0);
    assert_eq!(latest(&w.member).unwrap().items.len(), member_view);
}

#[test]
fn a_provider_s_users_sign_in_as_linked_accounts_made_once() {
    use hearth::{ExternalAccount, NO_PASSWORD, NewLogin, NewUser};
    let w = World::new();
    let f = w.forum();
    let ext = |id: &str, email: &str, username: &str| ExternalAccount {
        provider: "acme_app".into(),
        external_id: id.into(),
        email: email.into(),
        email_verified: true,
        username: username.into(),
        display_name: Some("Dana Doe".into()),
        avatar_url: Some("https://cdn.example.com/dana.png".into()),
    };
    // First sign-in makes the account, with no password.
    let first = f
        .sign_in_external(&ext("u-1", "dana@example.com", "dana"))
        .unwrap();
    assert!(first.created);
    assert_eq!(first.user.username, "dana");
    assert_eq!(first.user.display_name, "Dana Doe");
    let login = f.login_of(first.user.id).unwrap().unwrap();
    assert_eq!(login.password_hash, NO_PASSWORD);
    // Later sign-ins find it by id and follow the provider's name and avatar.
    let mut again = ext("u-1", "dana@example.com", "ignored_now");
    again.display_name = Some("Dana D.".into());
    again.avatar_url = Some(String::new());
    let second = f.sign_in_external(&again).unwrap();
    assert!(!second.created);
    assert_eq!(second.user.id, first.user.id);
    assert_eq!(second.user.display_name, "Dana D.");
    assert_eq!(second.user.avatar_url, None);
    assert_eq!(
        f.external_user("acme_app", "u-1").unwrap().map(|u| u.id),
        Some(first.user.id)
    );
    assert_eq!(
        f.external_id("acme_app", first.user.id).unwrap().as_deref(),
        Some("u-1")
    );
    assert_eq!(f.external_user("other_app", "u-1").unwrap(), None);

    // A taken username gets a number; an existing account with a verified
    // address is linked, not duplicated.
    let other = f
        .sign_in_external(&ext("u-2", "dana2@example.com", "Dana"))
        .unwrap();
    assert_eq!(other.user.username, "Dana1");
    let existing = f
        .create_account(
            NewUser::new("eli"),
            NewLogin {
                email: "eli@example.com".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                confirmed: true,
            },
        )
        .unwrap();
    let mut unverified = ext("u-3", "ELI@example.com", "eli_again");
    unverified.email_verified = false;
    let r = f.sign_in_external(&unverified);
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");
    assert_eq!(f.external_user("acme_app", "u-3").unwrap(), None);
    let linked = f
        .sign_in_external(&ext("u-3", "ELI@example.com", "eli_again"))
        .unwrap();
    assert!(!linked.created);
    assert_eq!(linked.user.id, existing.id);
    // …and only once per provider.
    let r = f.sign_in_external(&ext("u-4", "eli@example.com", "eli"));
    assert!(matches!(r, Err(Error::Conflict { .. })), "{r:?}");

    // Bad input is refused and makes nothing.
    for bad in [
        ExternalAccount {
            provider: "Acme App".into(),
            ..ext("u-5", "x5@example.com", "x5")
        },
        ext("", "x6@example.com", "x6"),
        ext("line\nbreak", "x7@example.com", "x7"),
        ext("u-8", "not-an-address", "x8"),
        ExternalAccount {
            avatar_url: Some("javascript:alert(1)".into()),
            ..ext("u-9", "x9@example.com", "x9")
        },
    ] {
        let r = f.sign_in_external(&bad);
        assert!(matches!(r, Err(Error::Invalid { .. })), "{bad:?}: {r:?}");
    }
    assert!(f.login("x5@example.com").unwrap().is_none());
}

#[test]
fn invites_can_add_to_groups_and_lead_to_a_topic() {
    let w = World::new();
    let f = w.forum();
    let (group_topic, _) = w.topics[2];
    let (public_topic, _) = w.topics[0];
    let with = |groups: Vec<hearth::GroupId>, topic| NewInvite {
        max_uses: Some(1),
        groups,
        topic,
        ..Default::default()
    };
    // Groups are the admins'; the topic must be one the inviter reads.
    let r = f.create_invite(&w.moderator, w.c, with(vec![w.group], None));
    assert!(matches!(r, Err(Error::Forbidden { .. })), "{r:?}");
    let r = f.create_invite(&w.admin, w.c, with(vec![hearth::GroupId(999_999)], None));
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    let r = f.create_invite(&w.admin, w.c, with(vec![], Some(hearth::TopicId(999_999))));
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    // An exact end must be later than now; it is kept to the millisecond.
    let past = NewInvite {
        expires_at: Some(f.now()),
        ..Default::default()
    };
    let r = f.create_invite(&w.admin, w.c, past);
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    assert!(f.invites(&w.admin, w.c).unwrap().is_empty());
    let end = f.now() + time::Duration::days(3);
    let exact = NewInvite {
        expires_at: Some(end),
        ..Default::default()
    };
    assert_eq!(
        f.create_invite(&w.admin, w.c, exact).unwrap().expires_at,
        Some(end)
    );

    let invite = f
        .create_invite(&w.admin, w.c, with(vec![w.group], Some(group_topic)))
        .unwrap();
    assert_eq!(invite.groups, [w.group]);
    assert_eq!(invite.topic, Some(group_topic));
    assert_eq!(f.invite_topic(&invite.code).unwrap(), Some(group_topic));
    assert!(matches!(
        f.invite_topic("not-a-code"),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(f.invites(&w.admin, w.c).unwrap()[0].groups, [w.group]);
    let newcomer = Actor::User(w.t.user("newcomer_nia"));
    f.accept_invite(&newcomer, &invite.code).unwrap();
    assert_eq!(f.own_groups(&newcomer, w.c).unwrap(), [w.group]);
    assert!(
        f.topic(&newcomer, w.c, group_topic, &PageRequest::default())
            .is_ok()
    );

    // A group deleted meanwhile is simply not joined.
    let temp = f.create_group(&w.admin, w.c, "temp", "").unwrap();
    let second = f
        .create_invite(&w.admin, w.c, with(vec![temp.id], Some(public_topic)))
        .unwrap();
    f.delete_group(&w.admin, w.c, temp.id).unwrap();
    let other = Actor::User(w.t.user("newcomer_ned"));
    f.accept_invite(&other, &second.code).unwrap();
    assert!(f.own_groups(&other, w.c).unwrap().is_empty());
}

/// A private conversation between the member and a moderator.
fn conversation(w: &World) -> (hearth::Topic, hearth::Post) {
    w.forum()
        .send_message(
            &w.member,
            w.c,
            hearth::NewMessage {
                title: "Between the two of us".into(),
                body: "Only we read this conversation.".into(),
                users: vec!["mod_max".into()],
                groups: vec![],
            },
        )
        .unwrap()
}

#[test]
fn posts_by_ids_and_post_sources_answer_as_post_does_for_every_reader() {
    let w = World::new();
    let f = w.forum();
    // More posts than one read takes, a deleted one, a hidden one, posts
    // of every category, one that does not exist, one asked for twice.
    let mut ids: Vec<hearth::PostId> = (0..20)
        .map(|i| {
            f.reply(
                &w.member,
                w.c,
                w.topics[0].0,
                hearth::NewReply {
                    body: format!("Reply number {i}, long enough to post."),
                    reply_to: None,
                },
            )
            .unwrap()
            .id
        })
        .collect();
    f.delete_post(&w.member, w.c, ids[3]).unwrap();
    f.hide_post(&Actor::System, w.c, ids[17], "tone-bot", "rude")
        .unwrap();
    ids.extend(w.topics.iter().map(|(_, answer)| *answer));
    ids.push(hearth::PostId(999_999));
    ids.push(ids[17]);
    ids.insert(0, w.topics[2].1);
    let (_, said) = conversation(&w);
    ids.push(said.id);
    for who in [
        &Actor::Guest,
        &w.outsider,
        &w.member,
        &w.group_member,
        &w.moderator,
        &w.admin,
        &Actor::System,
    ] {
        let got = f.posts_by_ids(who, w.c, &ids).unwrap();
        let sources = f.post_sources(who, w.c, &ids).unwrap();
        assert_eq!(got.len(), ids.len());
        assert_eq!(sources.len(), ids.len());
        for ((id, p), s) in ids.iter().zip(&got).zip(&sources) {
            let one = f.post(who, w.c, *id).ok();
            assert_eq!(p, &one, "{who:?} reading {id:?}");
            // The sources answer exactly where `post` does, with its facts.
            let facts = |p: &hearth::Post| {
                (
                    p.id,
                    p.topic,
                    p.author.id,
                    p.post_number,
                    p.created_at,
                    p.like_count,
                    p.source.clone(),
                    p.deleted,
                    p.hidden,
                )
            };
            let source = |s: &hearth::PostSource| {
                (
                    s.id,
                    s.topic,
                    s.author,
                    s.post_number,
                    s.created_at,
                    s.like_count,
                    s.source.clone(),
                    s.deleted,
                    s.hidden,
                )
            };
            assert_eq!(
                s.as_ref().map(source),
                one.as_ref().map(facts),
                "{who:?} reading the source of {id:?}"
            );
        }
    }
    let too_many = vec![w.topics[0].1; hearth::MAX_POSTS_BY_IDS + 1];
    assert!(matches!(
        f.post_sources(&w.member, w.c, &too_many),
        Err(hearth::Error::Invalid { .. })
    ));
    assert_eq!(
        f.post_sources(&w.member, w.c, &too_many[1..])
            .unwrap()
            .len(),
        hearth::MAX_POSTS_BY_IDS
    );
}

#[test]
fn posts_by_ids_reads_each_post_as_the_reader_may() {
    let w = World::new();
    let f = w.forum();
    // The answers in the public, members-only and group-only categories,
    // a post that is not there, and one repeated.
    let ids = [
        w.topics[0].1,
        w.topics[1].1,
        w.topics[2].1,
        hearth::PostId(999_999),
        w.topics[0].1,
    ];
    for (who, sees) in [
        (&Actor::Guest, [true, false, false]),
        (&w.outsider, [true, false, false]),
        (&w.member, [true, true, false]),
        (&w.group_member, [true, true, true]),
        (&w.moderator, [true, true, true]),
        (&w.admin, [true, true, true]),
    ] {
        let got = f.posts_by_ids(who, w.c, &ids).unwrap();
        let seen: Vec<bool> = got.iter().map(Option::is_some).collect();
        assert_eq!(seen, [sees[0], sees[1], sees[2], false, sees[0]], "{who:?}");
        // Each as `post` gives it.
        for (id, p) in ids.iter().zip(&got) {
            if let Some(p) = p {
                assert_eq!(p, &f.post(who, w.c, *id).unwrap());
            }
        }
    }
    let too_many = vec![w.topics[0].1; hearth::MAX_POSTS_BY_IDS + 1];
    assert!(matches!(
        f.posts_by_ids(&w.member, w.c, &too_many),
        Err(hearth::Error::Invalid { .. })
    ));
    assert_eq!(
        f.posts_by_ids(&w.member, w.c, &too_many[1..])
            .unwrap()
            .len(),
        hearth::MAX_POSTS_BY_IDS
    );
}

#[test]
fn topic_with_kind_answers_as_topic_and_category_do_for_every_reader() {
    let w = World::new();
    let f = w.forum();
    let (conversation, _) = conversation(&w);
    let mut topics: Vec<hearth::TopicId> = w.topics.iter().map(|(t, _)| *t).collect();
    topics.push(conversation.id);
    topics.push(hearth::TopicId(999_999));
    for who in [
        &Actor::Guest,
        &w.outsider,
        &w.member,
        &w.group_member,
        &w.moderator,
        &w.admin,
    ] {
        for t in &topics {
            let both = f.topic_with_kind(who, w.c, *t).ok();
            // As the plugin host read it before: the topic, then its
            // category (which no one reads for a conversation).
            let apart = f.topic_only(who, w.c, *t).ok().and_then(|topic| {
                let kind = f.category(who, w.c, topic.category).ok()?.kind;
                Some((topic, kind))
            });
            assert_eq!(both, apart, "{who:?} reading {t:?}");
        }
    }
    // The conversation is there for its participants as a topic, and
    // never with a category.
    assert!(f.topic_only(&w.member, w.c, conversation.id).is_ok());
    assert!(f.topic_with_kind(&w.member, w.c, conversation.id).is_err());
}

#[test]
fn members_by_ids_answers_as_member_does_for_every_reader() {
    let w = World::new();
    let f = w.forum();
    let ids_of = |actors: &[&Actor]| -> Vec<hearth::UserId> {
        actors
            .iter()
            .filter_map(|a| match a {
                Actor::User(u) => Some(*u),
                _ => None,
            })
            .collect()
    };
    // Members, a non-member, a user who does not exist, one asked for
    // twice, and more than one statement's worth (40 new members).
    let mut ids = ids_of(&[&w.owner, &w.admin, &w.member, &w.outsider, &w.moderator]);
    for i in 0..40 {
        let u = w.t.user(&format!("crowd_{i}"));
        f.add_member(&w.owner, w.c, u, hearth::Role::Member)
            .unwrap();
        ids.push(u);
    }
    ids.push(hearth::UserId(999_999));
    ids.push(ids[2]);
    for who in [
        &Actor::Guest,
        &w.outsider,
        &w.member,
        &w.group_member,
        &w.moderator,
        &w.admin,
    ] {
        let got = f.members_by_ids(who, w.c, &ids);
        let one_by_one: Result<Vec<Option<hearth::Member>>, _> = ids
            .iter()
            .map(|u| match f.member(who, w.c, *u) {
                Ok(m) => Ok(Some(m)),
                Err(hearth::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            })
            .collect();
        match (got, one_by_one) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{who:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{who:?}"),
            (a, b) => panic!("{who:?}: {a:?} against {b:?}"),
        }
    }
    let got = f.members_by_ids(&w.member, w.c, &ids).unwrap();
    assert!(got[3].is_none(), "the outsider is no member");
    assert_eq!(got[2], got[ids.len() - 1]);
    let too_many = vec![ids[0]; hearth::MAX_MEMBERS_BY_IDS + 1];
    assert!(matches!(
        f.members_by_ids(&w.member, w.c, &too_many),
        Err(hearth::Error::Invalid { .. })
    ));
}
