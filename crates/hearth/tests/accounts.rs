//! What a member changes about their own account: username, address.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestForum, account};
use hearth::{Actor, Error};

#[test]
fn a_member_renames_their_own_account_to_a_free_valid_name() {
    let t = TestForum::new();
    let f = &t.forum;
    let (ada, bob) = (account(&t.forum, "ada"), account(&t.forum, "bob"));
    assert!(matches!(
        f.change_username(&Actor::User(bob), ada, "ada_two"),
        Err(Error::Forbidden { .. })
    ));
    for bad in ["a", "ada two", "system", "12345", &"x".repeat(21)] {
        assert!(
            matches!(
                f.change_username(&Actor::User(ada), ada, bad),
                Err(Error::Invalid {
                    field: "username",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        f.change_username(&Actor::User(ada), ada, "BOB"),
        Err(Error::Conflict { .. })
    ));
    // The longest name, and a change of letter case of one's own.
    let longest = "a".repeat(20);
    assert_eq!(
        f.change_username(&Actor::User(ada), ada, &longest)
            .unwrap()
            .username,
        longest
    );
    assert_eq!(
        f.change_username(&Actor::User(ada), ada, "Ada")
            .unwrap()
            .username,
        "Ada"
    );
    assert_eq!(f.user_by_username("ada").unwrap().id, ada);
    assert_eq!(f.login("Ada").unwrap().unwrap().user, ada);
    // The application may rename anyone.
    f.change_username(&Actor::System, bob, "robert").unwrap();
    assert!(matches!(
        f.user_by_username("bob"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_sign_in_address_changes_to_a_free_valid_one() {
    let t = TestForum::new();
    let f = &t.forum;
    let (ada, _bob) = (account(&t.forum, "ada"), account(&t.forum, "bob"));
    for bad in [
        "",
        "ada",
        "ada@",
        "a b@example.com",
        "ada@example.com\nBcc: x@y.z",
    ] {
        assert!(
            matches!(
                f.set_login_email(ada, bad),
                Err(Error::Invalid { field: "email", .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        f.set_login_email(ada, "BOB@example.com"),
        Err(Error::Conflict { .. })
    ));
    f.set_login_email(ada, "ada@new.example.org").unwrap();
    assert_eq!(f.login("ADA@new.example.org").unwrap().unwrap().user, ada);
    assert!(f.login("ada@example.com").unwrap().is_none());
    let nologin = t.user("carl");
    assert!(matches!(
        f.set_login_email(nologin, "carl@example.com"),
        Err(Error::NotFound { .. })
    ));
}
