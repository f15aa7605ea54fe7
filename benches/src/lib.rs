//! Shared set-up for Hearth's benchmarks: a generator for large, realistic
//! communities, cached on disk so benchmark runs do not regenerate them.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use hearth::Clock as _;
use hearth::{
    Actor, CategoryId, CategoryKind, CommunityId, Forum, NewCategory, NewCommunity, NewReply,
    NewTopic, NewUser, PostId, Role, TopicId, Visibility,
};

/// A small, fast, deterministic PRNG (xorshift64*), so generated data is the
/// same on every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub const WORDS: &[&str] = &[
    "account",
    "api",
    "key",
    "billing",
    "invoice",
    "export",
    "csv",
    "webhook",
    "error",
    "timeout",
    "login",
    "password",
    "reset",
    "sso",
    "saml",
    "team",
    "permission",
    "role",
    "dashboard",
    "report",
    "chart",
    "integration",
    "slack",
    "email",
    "notification",
    "mobile",
    "app",
    "android",
    "ios",
    "sync",
    "offline",
    "upload",
    "file",
    "limit",
    "quota",
    "plan",
    "upgrade",
    "downgrade",
    "refund",
    "tax",
    "vat",
    "region",
    "latency",
    "outage",
    "status",
    "deploy",
    "release",
    "feature",
    "request",
    "bug",
    "workaround",
    "docs",
    "tutorial",
    "example",
    "sdk",
    "python",
    "rust",
    "javascript",
    "token",
    "scope",
    "oauth",
    "redirect",
    "callback",
    "header",
    "json",
    "schema",
    "migration",
    "database",
    "backup",
    "restore",
    "audit",
    "log",
    "search",
    "filter",
    "tag",
    "label",
    "project",
    "workspace",
    "member",
    "invite",
    "guest",
    "admin",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ser", "ta", "vo", "ri", "dex", "pan", "tor", "el", "qu", "on", "ba", "ne",
    "sy", "fa", "gri", "hu", "zen", "mo", "li", "tra", "cu", "per", "no", "vi", "ax", "ul", "be",
];

/// A vocabulary of about 3,000 words: the product words first, then made-up
/// ones, so sampling by rank follows a Zipf-like distribution as real text does.
pub fn vocabulary() -> Vec<String> {
    let mut v: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
    'outer: for a in SYLLABLES {
        for b in SYLLABLES {
            for c in ["", "n", "s", "ter", "ion"] {
                v.push(format!("{a}{b}{c}"));
                if v.len() >= 3_000 {
                    break 'outer;
                }
            }
        }
    }
    v
}

/// A word drawn with probability roughly proportional to 1 / rank.
pub fn word<'a>(rng: &mut Rng, vocab: &'a [String]) -> &'a str {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let rank = ((u * ((vocab.len() + 1) as f64).ln()).exp() as usize).saturating_sub(1);
    &vocab[rank.min(vocab.len() - 1)]
}

thread_local! {
    static VOCAB: Vec<String> = vocabulary();
}

pub fn sentence(rng: &mut Rng, words: usize) -> String {
    VOCAB.with(|vocab| {
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(word(rng, vocab));
        }
        s
    })
}

/// A post body of a few paragraphs with some Markdown.
pub fn body(rng: &mut Rng) -> String {
    let mut b = format!(
        "I tried **{}** but {} keeps failing.\n\n",
        sentence(rng, 3),
        sentence(rng, 2)
    );
    for _ in 0..1 + rng.below(3) {
        let n = 12 + rng.below(20);
        b.push_str(&sentence(rng, n));
        b.push_str(".\n\n");
    }
    if rng.below(4) == 0 {
        b.push_str("```\nerror: ");
        b.push_str(&sentence(rng, 5));
        b.push_str("\n```\n\n");
    }
    if rng.below(5) == 0 {
        b.push_str("See [the docs](https://docs.example.com/guide) for details.\n");
    }
    b
}

/// Bumped whenever the schema or the generator changes, so stale cached
/// databases are not reused.
pub const FIXTURE_VERSION: u32 = 8;

/// What a generated database holds.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub path: PathBuf,
    pub community: CommunityId,
    pub members: Vec<Actor>,
    pub moderator: Actor,
    pub categories: Vec<CategoryId>,
    pub topics: Vec<TopicId>,
    pub posts: u64,
}

/// Generates (or reuses) a database with about `posts` posts and `members`
/// members under `dir`. Prints progress to stderr.
pub fn fixture(dir: &Path, posts: u64, members: usize) -> Fixture {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("bench-v{FIXTURE_VERSION}-{posts}-{members}.db"));
    let done = path.with_extension("done");
    if !done.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        generate(&path, posts, members);
        std::fs::write(&done, b"ok").unwrap();
    }
    describe(&path)
}

/// Re-reads what a generated database holds.
pub fn describe(path: &Path) -> Fixture {
    let forum = Forum::open(path).unwrap();
    let c = forum.community_by_slug(&Actor::System, "bench").unwrap();
    let mut members = Vec::new();
    let mut page = hearth::PageRequest::first(100);
    let mut moderator = Actor::System;
    loop {
        let p = forum.members(&Actor::System, c.id, &page).unwrap();
        for m in &p.items {
            if m.role == Role::Moderator {
                moderator = Actor::User(m.user.id);
            } else if m.role == Role::Member {
                members.push(Actor::User(m.user.id));
            }
        }
        match p.next {
            Some(n) => page = hearth::PageRequest::after(n, 100),
            None => break,
        }
    }
    let categories: Vec<CategoryId> = forum
        .categories(&Actor::System, c.id)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    let conn_topics = {
        let mut all = Vec::new();
        let mut page = hearth::PageRequest::first(100);
        loop {
            let p = forum
                .latest(&Actor::System, c.id, &hearth::TopicFilter::default(), &page)
                .unwrap();
            all.extend(p.items.iter().map(|t| t.id));
            match p.next {
                Some(n) if all.len() < 2000 => page = hearth::PageRequest::after(n, 100),
                _ => break,
            }
        }
        all
    };
    let posts = forum
        .search(&Actor::System, c.id, &hearth::SearchQuery::new("the OR a"))
        .map(|r| r.total)
        .unwrap_or(0);
    Fixture {
        path: path.to_path_buf(),
        community: c.id,
        members,
        moderator,
        categories,
        topics: conn_topics,
        posts,
    }
}

/// The generated history spans this many days, ending when generation
/// started: analytics, digests and "we miss you" see a community that grew
/// over two years, not one written in a minute.
pub const HISTORY_DAYS: i64 = 730;

fn generate(path: &Path, posts: u64, members: usize) {
    let started = Instant::now();
    let end = time::OffsetDateTime::now_utc();
    let clock = std::sync::Arc::new(hearth::ManualClock::new(
        end - time::Duration::days(HISTORY_DAYS),
    ));
    let forum = Forum::open_with(
        path,
        hearth::Config {
            clock: clock.clone(),
            ..hearth::Config::default()
        },
    )
    .unwrap();
    // Topics average 10.5 posts (1 + 1..=18 replies): spread them evenly
    // over the history. (Fixture v8 databases made before this line said
    // 10.5 used 10: their history ends about five weeks early; the report
    // measures relative to the last activity, so either works.)
    let topics_expected = (posts as f64 / 10.5).max(1.0);
    let step =
        time::Duration::milliseconds((HISTORY_DAYS as f64 * 86_400_000.0 / topics_expected) as i64);
    let mut rng = Rng::new(42);
    let owner = forum.create_user(NewUser::new("bench_owner")).unwrap();
    let c = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "bench".into(),
                name: "Bench Community".into(),
                owner: Some(owner.id),
                settings: hearth::CommunitySettings::for_bulk_writes(),
            },
        )
        .unwrap();
    let admin = Actor::User(owner.id);
    let moderator = forum.create_user(NewUser::new("bench_mod")).unwrap();
    forum
        .add_member(&admin, c.id, moderator.id, Role::Moderator)
        .unwrap();
    let moderator = Actor::User(moderator.id);
    let group = forum.create_group(&admin, c.id, "vendors", "").unwrap();
    let cats = [
        NewCategory::new("questions", "Questions", CategoryKind::QuestionAndAnswer),
        NewCategory::new("discussion", "Discussion", CategoryKind::Discussion),
        NewCategory::new("ideas", "Ideas", CategoryKind::Ideas),
        NewCategory::new("members", "Members", CategoryKind::Discussion)
            .visibility(Visibility::Members),
        NewCategory::new("vendors", "Vendors", CategoryKind::QuestionAndAnswer).groups(&[group.id]),
    ];
    let cats: Vec<(CategoryId, CategoryKind)> = cats
        .into_iter()
        .map(|n| {
            let kind = n.kind;
            (forum.create_category(&admin, c.id, n).unwrap().id, kind)
        })
        .collect();
    let mut people = Vec::with_capacity(members);
    let mut vendors = Vec::new();
    for i in 0..members {
        // With an address, as members have: digests and "we miss you" go
        // to every one of them.
        let u = forum
            .create_account(
                NewUser::new(&format!("member{i}")),
                hearth::NewLogin {
                    email: format!("member{i}@example.com"),
                    password_hash: "$argon2id$bench".into(),
                    confirmed: true,
                },
            )
            .unwrap();
        let a = Actor::User(u.id);
        forum.join(&a, c.id).unwrap();
        if i % 50 == 0 {
            forum.add_to_group(&admin, c.id, group.id, u.id).unwrap();
            vendors.push(a);
        }
        people.push(a);
        if i % 10_000 == 9_999 {
            eprintln!("  members: {}/{members}", i + 1);
        }
    }
    eprintln!(
        "generating {posts} posts into {} ({} members ready after {:.1?})",
        path.display(),
        members,
        started.elapsed()
    );
    let mut written = 0u64;
    let mut next_report = posts / 20;
    while written < posts {
        let topic_at = clock.now() + step;
        clock.set(topic_at.min(end));
        let at = rng.below(cats.len());
        let (cat, kind) = cats[at];
        let pool = if at == cats.len() - 1 {
            &vendors
        } else {
            &people
        };
        let author = *rng.pick(pool);
        let (topic, _) = forum
            .create_topic(
                &author,
                c.id,
                NewTopic {
                    category: cat,
                    title: format!("{} {}?", sentence(&mut rng, 5), written),
                    body: body(&mut rng),
                    tags: vec![(*rng.pick(WORDS)).to_string()],
                },
            )
            .unwrap();
        written += 1;
        let replies = (1 + rng.below(18)) as u64;
        let mut last: Option<PostId> = None;
        for _ in 0..replies.min(posts - written) {
            // Replies come minutes to hours apart.
            clock.advance(time::Duration::minutes(1 + rng.below(240) as i64));
            let who = *rng.pick(pool);
            let p = forum
                .reply(
                    &who,
                    c.id,
                    topic.id,
                    NewReply {
                        body: body(&mut rng),
                        reply_to: last.filter(|_| rng.below(3) == 0),
                    },
                )
                .unwrap();
            written += 1;
            if rng.below(3) == 0 && who != author {
                let _ = forum.like(&author, c.id, p.id);
            }
            last = Some(p.id);
        }
        if kind == CategoryKind::QuestionAndAnswer
            && rng.below(3) != 0
            && let Some(answer) = last
        {
            let _ = forum.accept_answer(&moderator, c.id, answer);
        }
        // The next topic starts from the topic's own time, not its last reply.
        clock.set(topic_at.min(end));
        if written >= next_report {
            eprintln!(
                "  posts: {written}/{posts} ({:.0}%), {:.0?} elapsed",
                written as f64 * 100.0 / posts as f64,
                started.elapsed()
            );
            next_report += posts / 20;
        }
    }
    eprintln!("generated in {:.1?}", started.elapsed());
}

impl Fixture {
    /// A member who is not in the vendors group (member0, member50, … are),
    /// and the 100 latest topics that member may read.
    pub fn reader(&self, forum: &Forum) -> (Actor, Vec<TopicId>) {
        let member = self.members[1];
        let topics = forum
            .latest(
                &member,
                self.community,
                &hearth::TopicFilter::default(),
                &hearth::PageRequest::first(100),
            )
            .unwrap()
            .items
            .iter()
            .map(|t| t.id)
            .collect();
        (member, topics)
    }
}

/// The directory generated databases are kept in.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("hearth-bench")
}
