//! Members meeting members, on a community of 60,000 members: the
//! directory filtered by profile fields, a member's inbox and a
//! 50-message conversation.
//!
//! ```sh
//! cargo bench -p hearth-benches --bench members
//! HEARTH_BENCH_MEMBERS=5000 cargo bench -p hearth-benches --bench members
//! ```
//!
//! The database is generated once under `target/hearth-bench/` and reused.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use hearth::{
    Actor, CommunityId, CommunitySettings, DirectoryOrder, FieldKind, FieldOption, FieldVisibility,
    Forum, Mailbox, MessageSettings, NewCommunity, NewMessage, NewReply, NewUser, PageRequest,
    ProfileField, TopicId, TrustLevel,
};
use hearth_benches::data_dir;

const REGIONS: usize = 8;
const PRODUCTS: usize = 10;
const CONVERSATIONS: usize = 200;

fn members() -> usize {
    std::env::var("HEARTH_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000)
}

fn options(prefix: &str, n: usize) -> Vec<FieldOption> {
    (0..n)
        .map(|i| FieldOption {
            value: format!("{prefix}-{i}"),
            label: format!("{prefix} {i}"),
        })
        .collect()
}

/// The generated community: its id, the member whose inbox is read, and
/// the 50-message conversation.
struct Fixture {
    forum: Forum,
    community: CommunityId,
    reader: Actor,
    conversation: TopicId,
}

fn fixture(dir: &Path, n: usize) -> Fixture {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("members-v1-{n}.db"));
    let fresh = !path.exists();
    let tmp = dir.join(format!("members-v1-{n}.db.partial"));
    if fresh {
        let _ = std::fs::remove_file(&tmp);
        generate(&tmp, n);
        std::fs::rename(&tmp, &path).unwrap();
    }
    let forum = Forum::open(&path).unwrap();
    let community = forum.community_by_slug(&Actor::System, "meet").unwrap().id;
    let reader = Actor::User(forum.user_by_username("member00001").unwrap().id);
    // The oldest conversation of the inbox: page to it.
    let mut page = PageRequest::first(100);
    let conversation = loop {
        let got = forum
            .messages(&reader, community, Mailbox::Inbox, &page)
            .unwrap();
        if let Some(m) = got
            .items
            .iter()
            .find(|m| m.topic.title.starts_with("The long one"))
        {
            break m.topic.id;
        }
        page = PageRequest::after(got.next.expect("the long conversation"), 100);
    };
    Fixture {
        forum,
        community,
        reader,
        conversation,
    }
}

fn generate(path: &Path, n: usize) {
    let started = std::time::Instant::now();
    let forum = Forum::open(path).unwrap();
    let owner = forum.create_user(NewUser::new("meet_host")).unwrap();
    let mut settings = CommunitySettings::for_bulk_writes();
    settings.messages = MessageSettings {
        min_trust: TrustLevel::New,
        per_day: 10_000,
        ..MessageSettings::default()
    };
    settings.profile_fields = vec![
        ProfileField {
            key: "products".into(),
            label: "Products".into(),
            kind: FieldKind::MultiChoice {
                options: options("product", PRODUCTS),
            },
            visibility: FieldVisibility::Public,
        },
        ProfileField {
            key: "region".into(),
            label: "Region".into(),
            kind: FieldKind::Choice {
                options: options("region", REGIONS),
            },
            visibility: FieldVisibility::Members,
        },
    ];
    let c = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "meet".into(),
                name: "Meet".into(),
                owner: Some(owner.id),
                settings,
            },
        )
        .unwrap()
        .id;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let u = forum
            .create_user(NewUser::new(&format!("member{i:05}")))
            .unwrap();
        let me = Actor::User(u.id);
        forum.join(&me, c).unwrap();
        let answers = vec![
            (
                "region".to_string(),
                vec![format!("region-{}", i % REGIONS)],
            ),
            (
                "products".to_string(),
                vec![
                    format!("product-{}", i % PRODUCTS),
                    format!("product-{}", (i / PRODUCTS + 3) % PRODUCTS),
                ],
            ),
        ];
        forum.set_member_fields(&me, c, u.id, &answers).unwrap();
        ids.push(u.id);
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "members bench fixture: {} of {n} members ({:.0} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    // member00001 takes part in 200 conversations; one is 50 messages long.
    let reader = Actor::User(ids[1]);
    for k in 0..CONVERSATIONS {
        let from = Actor::User(ids[2 + k % (n - 2)]);
        let title = if k == 0 {
            "The long one: our rollout plan".to_string()
        } else {
            format!("Question number {k} about the rollout")
        };
        let (t, _) = forum
            .send_message(
                &from,
                c,
                NewMessage {
                    title,
                    body: format!("Hello member00001, a question ({k}) about the rollout."),
                    users: vec!["member00001".into()],
                    groups: vec![],
                },
            )
            .unwrap();
        if k == 0 {
            for m in 1..50 {
                let who = if m % 2 == 0 { &from } else { &reader };
                forum
                    .reply(
                        who,
                        c,
                        t.id,
                        NewReply {
                            body: format!("Message {m}: details of step {m} of the rollout."),
                            reply_to: None,
                        },
                    )
                    .unwrap();
            }
        }
    }
    eprintln!(
        "members bench fixture: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let n = members();
    let fx = fixture(&data_dir(), n);
    let (f, community, reader) = (&fx.forum, fx.community, &fx.reader);
    let mut g = c.benchmark_group(format!("{n}_members"));
    let filters = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let cases = [
        ("directory_unfiltered", filters(&[])),
        ("directory_one_region", filters(&[("region", "region-3")])),
        (
            "directory_product_and_region",
            filters(&[("products", "product-5"), ("region", "region-3")]),
        ),
    ];
    for (name, chosen) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| {
                f.directory_where(
                    reader,
                    community,
                    DirectoryOrder::PostCount,
                    chosen,
                    &PageRequest::first(50),
                )
                .unwrap()
            })
        });
    }
    g.bench_function("inbox_first_30", |b| {
        b.iter(|| {
            f.messages(reader, community, Mailbox::Inbox, &PageRequest::first(30))
                .unwrap()
        })
    });
    g.bench_function("conversation_50_messages", |b| {
        b.iter(|| {
            f.topic(reader, community, fx.conversation, &PageRequest::first(50))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
