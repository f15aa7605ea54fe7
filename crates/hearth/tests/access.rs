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
                role: None,
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
