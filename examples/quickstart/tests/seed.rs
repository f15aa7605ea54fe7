//! The demo seeds a community a member and a guest see differently.
#![allow(clippy::unwrap_used)]

use hearth::{Actor, Forum, PageRequest, SearchQuery, TopicFilter};

#[test]
fn seeds_and_shows() {
    let dir = tempfile::tempdir().unwrap();
    let forum = Forum::open(dir.path().join("q.db")).unwrap();
    let community = quickstart::seed(&forum).unwrap();
    let member = Actor::User(forum.user_by_username("dev_dan").unwrap().id);
    let all = |a: &Actor| {
        forum
            .latest(
                a,
                community.id,
                &TopicFilter::default(),
                &PageRequest::first(30),
            )
            .unwrap()
            .items
            .len()
    };
    assert_eq!(all(&member), 5);
    assert_eq!(all(&Actor::Guest), 4, "the lounge is members-only");
    let found = forum
        .search(
            &Actor::Guest,
            community.id,
            &SearchQuery::new("webhook signing secret"),
        )
        .unwrap();
    assert_eq!(found.total, 1);
    quickstart::show(&forum, &community).unwrap();
}
