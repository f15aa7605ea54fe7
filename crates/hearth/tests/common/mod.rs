//! Shared fixtures for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use hearth::{
    Actor, Category, CategoryKind, CommunityId, CommunitySettings, Config, Forum, GroupId,
    ManualClock, NewCategory, NewCommunity, NewReply, NewTopic, NewUser, PostId, Role, TopicId,
    UserId, Visibility,
};
use tempfile::TempDir;

#[path = "backend.rs"]
mod backend;
pub use backend::*;
use time::macros::datetime;

/// A forum on a temporary SQLite file with a manual clock.
pub struct TestForum {
    pub dir: TempDir,
    pub forum: Forum,
    pub clock: Arc<ManualClock>,
    /// What `Forum::open` was given: the SQLite file's path or a
    /// `postgres://` URL.
    location: String,
}

impl TestForum {
    /// On SQLite; on PostgreSQL (a fresh database on `HEARTH_TEST_PG`)
    /// when `HEARTH_TEST_BACKEND=postgres` and the feature is on.
    pub fn new() -> Self {
        Self::on(postgres_wanted())
    }

    /// Always on a SQLite file (for tests of the file itself).
    pub fn sqlite() -> Self {
        Self::on(false)
    }

    /// On the backend [`TestForum::new`] picks, with uploads in an object
    /// store: `LocalFileSystem` on [`TestForum::objects`].
    #[cfg(feature = "object-store")]
    pub fn with_object_store() -> Self {
        Self::build(postgres_wanted(), true)
    }

    /// Where [`TestForum::with_object_store`] keeps uploads.
    pub fn objects(&self) -> std::path::PathBuf {
        self.dir.path().join("objects")
    }

    fn on(postgres: bool) -> Self {
        Self::build(postgres, false)
    }

    fn build(postgres: bool, object_store: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-05 09:00 UTC)));
        let location = if postgres {
            postgres_url("t")
        } else {
            dir.path().join("forum.db").to_string_lossy().into_owned()
        };
        #[allow(unused_mut)]
        let mut config = Config {
            clock: clock.clone(),
            ..Config::default()
        };
        #[cfg(feature = "object-store")]
        if object_store {
            config.uploads = object_store_in(&dir.path().join("objects"));
        }
        #[cfg(not(feature = "object-store"))]
        let _ = object_store;
        let forum = Forum::open_with(&location, config).unwrap();
        TestForum {
            dir,
            forum,
            clock,
            location,
        }
    }

    /// The SQLite file (only for forums made with [`TestForum::sqlite`]
    /// or on the SQLite backend).
    pub fn path(&self) -> std::path::PathBuf {
        assert!(
            !self.is_postgres(),
            "this test reads the SQLite file; make it with TestForum::sqlite()"
        );
        self.dir.path().join("forum.db")
    }

    /// What to give `Forum::open` for a second handle on the same data.
    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn is_postgres(&self) -> bool {
        self.location.starts_with("postgres")
    }

    /// Runs one statement behind the engine's back (text parameters
    /// `?1`, `?2`…), on whichever backend this forum uses.
    pub fn execute(&self, sql: &str, params: &[&str]) -> u64 {
        if self.is_postgres() {
            #[cfg(feature = "postgres")]
            {
                let mut c = postgres::Client::connect(&self.location, postgres::NoTls).unwrap();
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    params.iter().map(|s| s as _).collect();
                return c.execute(&dollar_placeholders(sql), &p).unwrap();
            }
        }
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        conn.execute(sql, rusqlite::params_from_iter(params))
            .unwrap() as u64
    }

    /// The one value a query answers, on whichever backend.
    pub fn query_one<T: Column>(&self, sql: &str) -> T {
        if self.is_postgres() {
            #[cfg(feature = "postgres")]
            {
                let mut c = postgres::Client::connect(&self.location, postgres::NoTls).unwrap();
                return c.query_one(sql, &[]).unwrap().get(0);
            }
        }
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn user(&self, name: &str) -> UserId {
        self.forum.create_user(NewUser::new(name)).unwrap().id
    }

    /// Every row of every table, for "nothing changed" assertions.
    pub fn dump(&self) -> String {
        if self.is_postgres() {
            #[cfg(feature = "postgres")]
            return self.dump_postgres();
        }
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_index_%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut out = String::new();
        for t in tables {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY 1"))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut s = String::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        s.push_str(&format!("{v:?}|"));
                    }
                    Ok(s)
                })
                .unwrap();
            out.push_str(&format!("== {t}\n"));
            for row in rows {
                out.push_str(&row.unwrap());
                out.push('\n');
            }
        }
        out
    }
}

/// A column type both backends' clients read.
#[cfg(feature = "postgres")]
pub trait Column: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}
#[cfg(feature = "postgres")]
impl<T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>> Column for T {}
/// A column type both backends' clients read.
#[cfg(not(feature = "postgres"))]
pub trait Column: rusqlite::types::FromSql {}
#[cfg(not(feature = "postgres"))]
impl<T: rusqlite::types::FromSql> Column for T {}

#[cfg(feature = "postgres")]
impl TestForum {
    /// Every row of every table, each as PostgreSQL's row text.
    fn dump_postgres(&self) -> String {
        let mut c = postgres::Client::connect(&self.location, postgres::NoTls).unwrap();
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = 'public' ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = String::new();
        for t in tables {
            out.push_str(&format!("== {t}\n"));
            for row in c
                .query(&format!("SELECT x::text FROM \"{t}\" x ORDER BY 1"), &[])
                .unwrap()
            {
                out.push_str(row.get(0));
                out.push('\n');
            }
        }
        out
    }
}

/// A community with one category of each visibility, a topic (solved) in
/// each, and one actor of every kind.
pub struct World {
    pub t: TestForum,
    pub c: CommunityId,
    pub owner: Actor,
    pub admin: Actor,
    pub moderator: Actor,
    pub member: Actor,
    pub group_member: Actor,
    pub outsider: Actor,
    pub group: GroupId,
    pub public: Category,
    pub members_only: Category,
    pub group_only: Category,
    /// (topic, answer) per category, in the order public, members, group.
    pub topics: Vec<(TopicId, PostId)>,
}

pub const WORDS: [&str; 3] = ["zebrapublic", "zebramembers", "zebragroups"];

/// Uploads in `LocalFileSystem` on `dir` (made if missing), under the
/// prefix `uploads`.
#[cfg(feature = "object-store")]
pub fn object_store_in(dir: &std::path::Path) -> hearth::UploadStorage {
    std::fs::create_dir_all(dir).unwrap();
    let files = object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap();
    hearth::UploadStorage::ObjectStore(
        hearth::ObjectStoreUploads::new(Arc::new(files), "uploads").unwrap(),
    )
}

impl World {
    pub fn new() -> Self {
        Self::on(TestForum::new())
    }

    /// The same world in `t`.
    pub fn on(t: TestForum) -> Self {
        let f = &t.forum;
        let owner = t.user("olivia_owner");
        let c = f
            .create_community(
                &Actor::System,
                NewCommunity {
                    slug: "acme".into(),
                    name: "Acme".into(),
                    owner: Some(owner),
                    // Tests about something else post fast from a frozen clock.
                    settings: CommunitySettings::for_bulk_writes(),
                },
            )
            .unwrap()
            .id;
        let owner = Actor::User(owner);
        let add = |name: &str, role: Role| {
            let id = t.user(name);
            f.add_member(&owner, c, id, role).unwrap();
            Actor::User(id)
        };
        let admin = add("admin_ann", Role::Admin);
        let moderator = add("mod_max", Role::Moderator);
        let member = add("member_mia", Role::Member);
        let group_member = add("vendor_vic", Role::Member);
        let outsider = Actor::User(t.user("outsider_oz"));
        let group = f
            .create_group(&admin, c, "vendors", "Partner vendors")
            .unwrap()
            .id;
        let Actor::User(gm) = group_member else {
            unreachable!()
        };
        f.add_to_group(&admin, c, group, gm).unwrap();
        let qa = |slug: &str| NewCategory::new(slug, slug, CategoryKind::QuestionAndAnswer);
        let public = f.create_category(&admin, c, qa("public")).unwrap();
        let members_only = f
            .create_category(&admin, c, qa("members").visibility(Visibility::Members))
            .unwrap();
        let group_only = f
            .create_category(&admin, c, qa("vendors").groups(&[group]))
            .unwrap();
        let mut topics = Vec::new();
        for (cat, word) in [&public, &members_only, &group_only].iter().zip(WORDS) {
            let (topic, _) = f
                .create_topic(
                    &group_member,
                    c,
                    NewTopic {
                        category: cat.id,
                        title: format!("Question about {word} setup"),
                        body: format!("How do I configure {word}?"),
                        tags: vec!["setup".into()],
                    },
                )
                .unwrap();
            let answer = f
                .reply(
                    &moderator,
                    c,
                    topic.id,
                    NewReply {
                        body: format!("Configure {word} in the settings."),
                        reply_to: None,
                    },
                )
                .unwrap();
            f.like(&group_member, c, answer.id).unwrap();
            f.accept_answer(&group_member, c, answer.id).unwrap();
            topics.push((topic.id, answer.id));
        }
        World {
            t,
            c,
            owner,
            admin,
            moderator,
            member,
            group_member,
            outsider,
            group,
            public,
            members_only,
            group_only,
            topics,
        }
    }

    pub fn forum(&self) -> &Forum {
        &self.t.forum
    }

    /// The audit entries about `target`, newest first (as an admin reads them).
    pub fn audit_of(&self, target: hearth::Target) -> Vec<hearth::AuditEntry> {
        self.forum()
            .audit_log(
                &self.admin,
                self.c,
                &hearth::AuditFilter {
                    target: Some(target),
                    ..hearth::AuditFilter::default()
                },
                &hearth::PageRequest::first(50),
            )
            .unwrap()
            .items
    }

    /// What was done to `target`, newest first.
    pub fn audited(&self, target: hearth::Target) -> Vec<hearth::AuditAction> {
        self.audit_of(target).iter().map(|e| e.action).collect()
    }
}

/// An account with a sign-in address (`{name}@example.com`).
pub fn account(f: &Forum, name: &str) -> UserId {
    f.create_account(
        NewUser::new(name),
        hearth::NewLogin {
            email: format!("{name}@example.com"),
            password_hash: "$argon2id$test".into(),
            confirmed: true,
        },
    )
    .unwrap()
    .id
}

/// A community owned by `owner` with one public discussion category.
pub fn one_category(f: &Forum, owner: UserId, slug: &str) -> (CommunityId, hearth::CategoryId) {
    one_category_with(f, owner, slug, CommunitySettings::default())
}

/// [`one_category`] with the community's settings.
pub fn one_category_with(
    f: &Forum,
    owner: UserId,
    slug: &str,
    settings: CommunitySettings,
) -> (CommunityId, hearth::CategoryId) {
    let c = f
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: slug.into(),
                name: slug.into(),
                owner: Some(owner),
                settings,
            },
        )
        .unwrap();
    let cat = f
        .create_category(
            &Actor::User(owner),
            c.id,
            NewCategory::new("a", "A", CategoryKind::Discussion),
        )
        .unwrap();
    (c.id, cat.id)
}

/// Small helpers on the manual clock.
pub trait ClockExt {
    fn now_plus_days(&self, days: i64) -> time::OffsetDateTime;
}

impl ClockExt for ManualClock {
    fn now_plus_days(&self, days: i64) -> time::OffsetDateTime {
        use hearth::Clock;
        self.now() + time::Duration::days(days)
    }
}

/// A real `w`×`h` PNG of noise drawn from `seed` (different seeds give
/// different pictures; noise does not compress, so its size is about
/// `3 × w × h` bytes, and the same after Hearth re-encodes it).
pub fn noise_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        let mut px = [0u8; 3];
        for c in &mut px {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *c = x as u8;
        }
        image::Rgb(px)
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A real 256×200 PNG (about 1.3 KB) padded after its end to `size`
/// bytes when that is more (the padding is dropped when Hearth re-encodes
/// it).
pub fn png(size: usize) -> Vec<u8> {
    let mut b = flat_png(256, 200);
    b.resize(size.max(b.len()), 7);
    b
}

/// A real `w`×`h` PNG of one colour (a few hundred bytes).
pub fn flat_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([30, 120, 200]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
