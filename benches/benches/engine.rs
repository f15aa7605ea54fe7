//! Criterion benchmarks of the engine's hot paths on a generated database.
//!
//! ```sh
//! cargo bench -p hearth-benches --bench engine                 # 100,000 posts
//! HEARTH_BENCH_POSTS=20000 cargo bench -p hearth-benches --bench engine
//! ```
//!
//! The database is generated once under `target/hearth-bench/` and reused.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use hearth::{Actor, CommunitySettings, Forum, NewReply, PageRequest, SearchQuery, TopicFilter};
use hearth_benches::{Rng, body, data_dir, fixture, sentence};

fn posts() -> u64 {
    std::env::var("HEARTH_BENCH_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn engine(c: &mut Criterion) {
    let posts = posts();
    let fx = fixture(&data_dir(), posts, (posts / 16) as usize);
    let forum = Forum::open(&fx.path).unwrap();
    let community = fx.community;
    let (member, topics) = fx.reader(&forum);
    let mut rng = Rng::new(11);
    let queries: Vec<String> = (0..100).map(|_| sentence(&mut rng, 2)).collect();
    let bodies: Vec<String> = (0..100).map(|_| body(&mut rng)).collect();

    let mut g = c.benchmark_group(format!("{posts}_posts"));
    let mut i = 0usize;
    g.bench_function("read_topic_20_posts", |b| {
        b.iter(|| {
            i += 1;
            forum
                .topic(
                    &member,
                    community,
                    topics[i % topics.len()],
                    &PageRequest::first(20),
                )
                .unwrap()
        })
    });
    g.bench_function("latest_30", |b| {
        b.iter(|| {
            forum
                .latest(
                    &member,
                    community,
                    &TopicFilter::default(),
                    &PageRequest::first(30),
                )
                .unwrap()
        })
    });
    g.bench_function("search", |b| {
        b.iter(|| {
            i += 1;
            forum
                .search(
                    &member,
                    community,
                    &SearchQuery::new(&queries[i % queries.len()]),
                )
                .unwrap()
        })
    });
    g.bench_function("similar_topics", |b| {
        b.iter(|| {
            i += 1;
            forum
                .similar_topics(&member, community, &queries[i % queries.len()], 5)
                .unwrap()
        })
    });
    g.bench_function("create_reply", |b| {
        b.iter(|| {
            i += 1;
            forum
                .reply(
                    &fx.members[1 + i % 49],
                    community,
                    topics[i % topics.len()],
                    NewReply {
                        body: bodies[i % bodies.len()].clone(),
                        reply_to: None,
                    },
                )
                .unwrap()
        })
    });
    g.finish();
}

fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    c.bench_function("open_and_migrate_new_file", |b| {
        b.iter(|| {
            n += 1;
            Forum::open(dir.path().join(format!("{n}.db"))).unwrap()
        })
    });
}

/// Worst-case bodies at the default length limit, through the full preview
/// pipeline (parse, budget check, sanitize).
/// A new database in a temporary directory with one community owned by
/// `owner`, acting as them.
fn small_forum(owner: &str) -> (tempfile::TempDir, Forum, hearth::Community, Actor) {
    let dir = tempfile::tempdir().unwrap();
    let forum = Forum::open(dir.path().join(format!("{owner}.db"))).unwrap();
    let user = forum.create_user(hearth::NewUser::new(owner)).unwrap();
    let community = forum
        .create_community(
            &Actor::System,
            hearth::NewCommunity {
                slug: owner[..1].into(),
                name: owner.into(),
                owner: Some(user.id),
                settings: CommunitySettings::default(),
            },
        )
        .unwrap();
    (dir, forum, community, Actor::User(user.id))
}

fn render(c: &mut Criterion) {
    let (_dir, forum, community, actor) = small_forum("renderer");
    let limit = CommunitySettings::default().limits.body_max_bytes as usize;
    let fill = |unit: &str| unit.repeat(limit / unit.len());
    let cases = [
        ("nested_15_quotes", {
            let unit = format!("{}x\n\n", "> ".repeat(15));
            fill(&unit)
        }),
        ("nested_16_html", {
            let unit = format!("{}x{}", "<div>".repeat(15), "</div>".repeat(15));
            fill(&unit)
        }),
        ("inline_emphasis", fill("*a* **b** ~~c~~ `d` ")),
        ("links", fill("[x](https://e.example/a?b=c) ")),
        ("mentions", fill("@renderer ")),
        ("raw_tags", fill("<b><i>x</i></b>")),
        ("table", {
            let mut t = String::from("| a | b | c |\n|---|---|---|\n");
            t.push_str(&"| 1 | 2 | 3 |\n".repeat(4000));
            t.truncate(limit);
            t
        }),
    ];
    let mut g = c.benchmark_group("render_at_limit");
    for (name, doc) in &cases {
        assert!(doc.len() <= limit, "{name}");
        g.bench_function(*name, |b| {
            b.iter(|| forum.preview(&actor, community.id, doc).unwrap())
        });
    }
    g.finish();
}

/// A draft against 500 watched words and patterns (the issue's target:
/// at most 50 µs), through the public composer check, which is the same
/// code the write path runs.
fn watched_words(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let forum = Forum::open(dir.path().join("words.db")).unwrap();
    let owner = forum.create_user(hearth::NewUser::new("warden")).unwrap();
    let community = forum
        .create_community(
            &Actor::System,
            hearth::NewCommunity {
                slug: "w".into(),
                name: "W".into(),
                owner: Some(owner.id),
                settings: CommunitySettings::default(),
            },
        )
        .unwrap()
        .id;
    let admin = Actor::User(owner.id);
    let cat = forum
        .create_category(
            &admin,
            community,
            hearth::NewCategory::new("t", "T", hearth::CategoryKind::Discussion),
        )
        .unwrap()
        .id;
    let member = forum.create_user(hearth::NewUser::new("member")).unwrap();
    let member = Actor::User(member.id);
    forum.join(&member, community).unwrap();
    use hearth::{NewWatchedWord, WordAction};
    for i in 0..500 {
        let action = match i % 5 {
            0 => WordAction::Block,
            1 => WordAction::RequireApproval,
            2 => WordAction::Flag,
            3 => WordAction::Censor,
            _ => WordAction::Tag {
                tag: "watched".into(),
            },
        };
        let w = match i % 10 {
            // Regular expressions, e.g. phone numbers and domains.
            0 => NewWatchedWord::regex(&format!(r"spam{i}\.(com|net|org)"), action),
            1 => NewWatchedWord::regex(&format!(r"\b{i}[- ]?\d{{3}}[- ]?\d{{4}}\b"), action),
            // Wildcard words.
            2 | 3 => NewWatchedWord::word(&format!("scam{i}*"), action),
            // Plain words and phrases.
            _ => NewWatchedWord::word(&format!("badword{i} phrase"), action),
        };
        forum.add_watched_word(&admin, community, w).unwrap();
    }
    let mut rng = Rng::new(5);
    let typical: Vec<String> = (0..100).map(|_| body(&mut rng)).collect();
    let long = {
        let mut s = String::new();
        while s.len() < 4096 {
            s.push_str(&body(&mut rng));
            s.push(' ');
        }
        s
    };
    let unicode = "Grüße aus Köln — the café’s printer prints ■ and 中文 fine. ".repeat(8);
    let censored = format!("{} scam33ers and scam33 everywhere", typical[0]);
    let mut g = c.benchmark_group("watched_words_500");
    let mut i = 0usize;
    g.bench_function("typical_post", |b| {
        b.iter(|| {
            i += 1;
            forum
                .screen_draft(
                    &member,
                    community,
                    cat,
                    Some("A question"),
                    &typical[i % typical.len()],
                )
                .unwrap()
        })
    });
    for (name, text) in [
        ("post_4KiB", &long),
        ("unicode_post", &unicode),
        ("two_matches_censored", &censored),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                forum
                    .screen_draft(&member, community, cat, Some("A question"), text)
                    .unwrap()
            })
        });
    }
    g.finish();
}

/// A picture of `w`×`h` encoded as `format`: photo-like with `grain`
/// (smooth gradients and a camera's noise), screenshot-like without (flat
/// bands that compress as a screen capture does).
fn picture(w: u32, h: u32, grain: bool, format: image::ImageFormat) -> Vec<u8> {
    let mut rng = Rng::new(u64::from(w) * 31 + u64::from(h));
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (grain, x, y) = if grain {
            ((rng.next_u64() % 24) as u32, x, y)
        } else {
            (0, x / 40 * 40, y / 24 * 24)
        };
        image::Rgb([
            ((x * 255 / w + grain) % 256) as u8,
            ((y * 255 / h + grain) % 256) as u8,
            (((x + y) * 128 / (w + h)) + grain) as u8,
        ])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), format)
        .unwrap();
    out
}

/// An upload end to end: sniff, decode, orient, re-encode, thumbnail,
/// hash and store; throughput in bytes uploaded.
fn uploads(c: &mut Criterion) {
    let (_dir, forum, community, actor) = small_forum("uploader");
    let cases = [
        (
            "jpeg_photo_1600x1200",
            picture(1600, 1200, true, image::ImageFormat::Jpeg),
        ),
        (
            "png_screenshot_1600x1200",
            picture(1600, 1200, false, image::ImageFormat::Png),
        ),
        (
            "png_screenshot_600x400_no_thumbnail",
            picture(600, 400, false, image::ImageFormat::Png),
        ),
    ];
    let mut g = c.benchmark_group("upload");
    for (name, bytes) in &cases {
        g.throughput(criterion::Throughput::Bytes(bytes.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| {
                forum
                    .create_upload(
                        &actor,
                        community.id,
                        hearth::NewUpload {
                            filename: "photo".into(),
                            bytes: bytes.clone(),
                        },
                    )
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = open, render, watched_words, uploads, engine
}
criterion_main!(benches);
