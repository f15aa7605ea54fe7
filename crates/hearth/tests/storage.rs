//! Storage: migrations, durability across a killed process.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::TestForum;
use hearth::{Actor, Error, Forum, NewTopic, NewUser, PostId};

#[test]
fn create_reopen_and_refuse_newer_schema() {
    // The file's own version stamp; PostgreSQL's is tested in the store.
    let t = TestForum::sqlite();
    let path = t.path();
    t.forum.create_user(NewUser::new("keeper")).unwrap();
    drop(t.forum);
    // Reopening keeps the data and does not migrate again.
    let f = Forum::open(&path).unwrap();
    assert_eq!(f.user_by_username("KEEPER").unwrap().username, "keeper");
    drop(f);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(v >= 1);
    conn.pragma_update(None, "user_version", v + 1).unwrap();
    drop(conn);
    match Forum::open(&path) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (v + 1, v));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn opening_an_unrelated_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db.db");
    std::fs::write(
        &path,
        b"this is not sqlite, just text that is long enough to look like a header....",
    )
    .unwrap();
    match Forum::open(&path) {
        Err(Error::Storage(msg)) => assert!(
            msg.contains("not-a-db.db") || msg.contains("not a database"),
            "{msg}"
        ),
        other => panic!("expected a storage error, got {other:?}"),
    }
}

const CHILD_ENV: &str = "HEARTH_CRASH_CHILD_DB";

/// Runs in a child process: writes posts forever from four threads (so
/// writes queue for the writer and share commits), printing each id after
/// its create call returned.
#[test]
#[ignore = "run by crash_safety as a child process"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let f = Forum::open(&path).unwrap();
    let owner = f.create_user(NewUser::new("writer")).unwrap().id;
    let (community, category) = common::one_category(&f, owner, "crash");
    std::thread::scope(|s| {
        for t in 0..4 {
            let f = &f;
            s.spawn(move || {
                let mut i = 0u64;
                loop {
                    let (_, post) = f
                        .create_topic(
                            &Actor::User(owner),
                            community,
                            NewTopic {
                                category,
                                title: format!("Topic {t}-{i}"),
                                body: format!("body {t} {i}"),
                                tags: vec![],
                            },
                        )
                        .unwrap();
                    println!("{}", post.id.0);
                    i += 1;
                }
            });
        }
    });
}

#[test]
fn crash_safety_no_acknowledged_write_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Ok(id) = line.trim().parse::<i64>() {
            acknowledged.push(PostId(id));
            if acknowledged.len() == 300 {
                // SIGKILL in the middle of the write loop.
                child.kill().unwrap();
                break;
            }
        }
    }
    let _ = child.wait();
    assert_eq!(
        acknowledged.len(),
        300,
        "the child wrote too little before dying"
    );
    let f = Forum::open(&path).unwrap();
    let c = f.community_by_slug(&Actor::System, "crash").unwrap();
    for id in &acknowledged {
        f.post(&Actor::System, c.id, *id)
            .unwrap_or_else(|e| panic!("acknowledged post {id} lost: {e}"));
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// A database written by the schema-1 build gains trust levels and the
/// moderation tables; members who were there keep posting at level 1.
#[test]
fn schema_1_databases_migrate_to_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(include_str!("../src/store/schema_v1.sql"))
        .unwrap();
    conn.execute_batch(
        "INSERT INTO communities (id, slug, name, settings, created_at) VALUES (1, 'old', 'Old', '{}', 0);
         INSERT INTO users (id, username, username_lower, created_at) VALUES (1, 'veteran', 'veteran', 0);
         INSERT INTO memberships (community_id, user_id, role, joined_at) VALUES (1, 1, 'member', 0);
         INSERT INTO categories (id, community_id, slug, name, kind, visibility, position, created_at)
             VALUES (1, 1, 'talk', 'Talk', 'discussion', 'public', 1, 0);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let f = Forum::open(&path).unwrap();
    let c = hearth::CommunityId(1);
    let vet = Actor::User(hearth::UserId(1));
    let trust = f.trust(&vet, c, hearth::UserId(1)).unwrap();
    assert_eq!(trust.level, hearth::TrustLevel::Basic);
    // Three links are fine at level 1.
    f.create_topic(
        &vet,
        c,
        NewTopic {
            category: hearth::CategoryId(1),
            title: "Still here".into(),
            body: "[a](https://a.example) [b](https://b.example) [c](https://c.example)".into(),
            tags: vec![],
        },
    )
    .unwrap();
    let cat = f.category(&vet, c, hearth::CategoryId(1)).unwrap();
    assert_eq!(cat.rules, hearth::CategoryRules::default());
}

/// Timestamps in milliseconds go through arithmetic with a parameter
/// (`?2 - 60000`): PostgreSQL would type that parameter as a 32-bit
/// integer unless told otherwise, and every call would fail.
#[test]
fn last_seen_is_written_at_most_once_a_minute() {
    use hearth::Clock;
    let t = TestForum::new();
    let ann = t.user("ann");
    let seen = |t: &TestForum| t.forum.user(ann).unwrap().last_seen_at;
    assert_eq!(seen(&t), None);
    t.forum.touch_last_seen(ann).unwrap();
    let first = t.clock.now();
    assert_eq!(seen(&t), Some(first));
    t.clock.advance(time::Duration::seconds(59));
    t.forum.touch_last_seen(ann).unwrap();
    assert_eq!(seen(&t), Some(first), "within the minute: not written");
    t.clock.advance(time::Duration::seconds(2));
    t.forum.touch_last_seen(ann).unwrap();
    assert_eq!(seen(&t), Some(t.clock.now()));
}

/// A database written by the schema-13 build: its accounts count as
/// confirmed, and the uploads its posts show are known to be in use (the
/// sweep keeps them and removes only the unused one).
#[test]
fn schema_13_databases_migrate_to_14() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v13.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    schemas_up_to(&conn, 13);
    let used = "ab".repeat(32);
    let unused = "cd".repeat(32);
    conn.execute_batch(&format!(
        "INSERT INTO communities (id, slug, name, settings, created_at) VALUES (1, 'old', 'Old', '{{}}', 0);
         INSERT INTO users (id, username, username_lower, created_at) VALUES (1, 'veteran', 'veteran', 0);
         INSERT INTO logins (user_id, email, email_lower, password_hash, updated_at)
             VALUES (1, 'vet@example.com', 'vet@example.com', '$argon2id$x', 5);
         INSERT INTO memberships (community_id, user_id, role, joined_at) VALUES (1, 1, 'member', 0);
         INSERT INTO categories (id, community_id, slug, name, kind, visibility, position, created_at)
             VALUES (1, 1, 'talk', 'Talk', 'discussion', 'public', 1, 0);
         INSERT INTO topics (id, community_id, category_id, user_id, title, slug, bumped_at,
                             last_poster_id, created_at)
             VALUES (1, 1, 1, 1, 'A screenshot', 'a-screenshot', 0, 1, 0);
         INSERT INTO posts (id, community_id, topic_id, user_id, post_number, source, html,
                            render_version, created_at, updated_at)
             VALUES (1, 1, 1, 1, 1, '![shot](/uploads/{used}.png)', '', 0, 0, 0);
         INSERT INTO uploads (community_id, user_id, sha256, filename, content_type, width, height,
                              size, data, created_at)
             VALUES (1, 1, '{used}', 'a.png', 'image/png', 1, 1, 1, x'00', 0),
                    (1, 1, '{unused}', 'b.png', 'image/png', 1, 1, 1, x'00', 0);
         PRAGMA user_version = 13;"
    ))
    .unwrap();
    drop(conn);
    let f = Forum::open(&path).unwrap();
    assert!(f.login("veteran").unwrap().unwrap().confirmed);
    let c = hearth::CommunityId(1);
    assert_eq!(f.sweep_unused_uploads(c).unwrap(), 1);
    assert!(f.upload(&Actor::System, c, &used).is_ok());
    assert!(f.upload(&Actor::System, c, &unused).is_err());
}

/// A database written by the schema-17 build: its extension data (large
/// values among small ones, process-wide and per community) survives the
/// move out of the WITHOUT ROWID table, and reads, lists and writes work
/// as before.
#[test]
fn schema_17_extension_data_moves_to_a_rowid_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v17.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    schemas_up_to(&conn, 17);
    let big = vec![7u8; 300 << 10];
    conn.execute_batch(
        "INSERT INTO communities (id, slug, name, settings, created_at) VALUES (1, 'old', 'Old', '{}', 0);
         PRAGMA user_version = 17;",
    )
    .unwrap();
    let mut put = conn
        .prepare(
            "INSERT INTO extension_data (namespace, community_id, key, value, updated_at)
             VALUES (?1, ?2, ?3, ?4, 0)",
        )
        .unwrap();
    put.execute(rusqlite::params!["host", 0, "binary/a", big])
        .unwrap();
    for i in 0..50 {
        put.execute(rusqlite::params![
            "plugin:x",
            1,
            format!("k/{i:02}"),
            vec![i as u8]
        ])
        .unwrap();
    }
    drop(put);
    drop(conn);
    let f = Forum::open(&path).unwrap();
    let c = Some(hearth::CommunityId(1));
    assert_eq!(f.ext_get("host", None, "binary/a").unwrap(), Some(big));
    assert_eq!(f.ext_get("plugin:x", c, "k/07").unwrap(), Some(vec![7]));
    let keys = ["k/03".to_string(), "none".into(), "k/49".into()];
    assert_eq!(
        f.ext_get_many("plugin:x", c, &keys).unwrap(),
        vec![Some(vec![3]), None, Some(vec![49])]
    );
    // A write to an existing key replaces it (the unique key still holds).
    f.ext_apply(
        "plugin:x",
        c,
        &[hearth::ExtOp::Put {
            key: "k/07".into(),
            value: b"new".to_vec(),
        }],
    )
    .unwrap();
    assert_eq!(
        f.ext_get("plugin:x", c, "k/07").unwrap(),
        Some(b"new".to_vec())
    );
    drop(f);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (rows, sql): (i64, String) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM extension_data),
                    (SELECT sql FROM sqlite_schema WHERE name = 'extension_data')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, 51);
    assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
}

/// Applies the schema files of versions 1 to `version`, as the build of
/// that version left a database.
fn schemas_up_to(conn: &rusqlite::Connection, version: usize) {
    const SCHEMAS: [&str; 20] = [
        include_str!("../src/store/schema_v1.sql"),
        include_str!("../src/store/schema_v2.sql"),
        include_str!("../src/store/schema_v3.sql"),
        include_str!("../src/store/schema_v4.sql"),
        include_str!("../src/store/schema_v5.sql"),
        include_str!("../src/store/schema_v6.sql"),
        include_str!("../src/store/schema_v7.sql"),
        include_str!("../src/store/schema_v8.sql"),
        include_str!("../src/store/schema_v9.sql"),
        include_str!("../src/store/schema_v10.sql"),
        include_str!("../src/store/schema_v11.sql"),
        include_str!("../src/store/schema_v12.sql"),
        include_str!("../src/store/schema_v13.sql"),
        include_str!("../src/store/schema_v14.sql"),
        include_str!("../src/store/schema_v15.sql"),
        include_str!("../src/store/schema_v16.sql"),
        include_str!("../src/store/schema_v17.sql"),
        include_str!("../src/store/schema_v18.sql"),
        include_str!("../src/store/schema_v19.sql"),
        include_str!("../src/store/schema_v20.sql"),
    ];
    for sql in &SCHEMAS[..version] {
        conn.execute_batch(sql).unwrap();
    }
}

/// The first column of the first row `sql` answers.
fn first_value<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A file as the schema-20 build left it: community 1 ("old"), member 1
/// ("veteran"), then `rows` (SQL statements).
fn schema_20_file(dir: &std::path::Path, rows: &str) -> std::path::PathBuf {
    let path = dir.join("v20.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    schemas_up_to(&conn, 20);
    conn.execute_batch(&format!(
        "INSERT INTO communities (id, slug, name, settings, created_at) VALUES (1, 'old', 'Old', '{{}}', 0);
         INSERT INTO users (id, username, username_lower, created_at) VALUES (1, 'veteran', 'veteran', 0);
         {rows}
         PRAGMA user_version = 20;"
    ))
    .unwrap();
    path
}

/// A database written by the schema-20 build: search's scope and lengths
/// move beside the text index on opening, so what was found before (and
/// only that: a deleted post stays out) is found after, ranked by how often
/// the words occur.
#[test]
fn schema_20_search_scope_moves_beside_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_20_file(
        dir.path(),
        "INSERT INTO categories (id, community_id, slug, name, kind, visibility, position, created_at)
             VALUES (1, 1, 'talk', 'Talk', 'discussion', 'public', 1, 0);
         INSERT INTO topics (id, community_id, category_id, user_id, title, slug, bumped_at,
                             last_poster_id, created_at)
             VALUES (1, 1, 1, 1, 'Wombat burrows', 'wombat-burrows', 0, 1, 0);
         INSERT INTO posts (id, community_id, topic_id, user_id, post_number, source, html,
                            render_version, created_at, updated_at)
             VALUES (1, 1, 1, 1, 1, 'How deep do they dig?', '', 0, 0, 0),
                    (2, 1, 1, 1, 2, 'A wombat digs, and a wombat digs deep.', '', 0, 0, 0),
                    (3, 1, 1, 1, 3, 'Deleted wombat talk.', '', 0, 0, 0);
         INSERT INTO search_index (rowid, title, body, category, flags) VALUES
             (1, 'Wombat burrows', 'How deep do they dig?', 1, 1),
             (2, '', 'A wombat digs, and a wombat digs deep.', 1, 0),
             (3, '', 'Deleted wombat talk.', 1, 8);",
    );
    let f = Forum::open(&path).unwrap();
    let found = f
        .search(
            &Actor::Guest,
            hearth::CommunityId(1),
            &hearth::SearchQuery::new("wombat"),
        )
        .unwrap();
    let posts: Vec<PostId> = found.hits.iter().map(|h| h.post).collect();
    // The title counts four times: the first post ranks first.
    assert_eq!(posts, vec![PostId(1), PostId(2)]);
    assert_eq!(found.total, 2);
    drop(f);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let scope: Vec<(i64, i64, i64, i64)> = conn
        .prepare("SELECT id, category, flags, len FROM search_index_scope ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(scope, vec![(1, 1, 1, 7), (2, 1, 0, 8), (3, 1, 8, 3)]);
    // Schema 27: the index keys each post by its id negated (newest first is
    // FTS5's forward order); nothing else about a row changes.
    let rows: Vec<(i64, String, i64)> = conn
        .prepare("SELECT rowid, body, flags FROM search_index ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (-3, "Deleted wombat talk.".into(), 8),
            (-2, "A wombat digs, and a wombat digs deep.".into(), 0),
            (-1, "How deep do they dig?".into(), 1),
        ]
    );
}

/// A database written before schema 26: the event log's rows keep their
/// ids and data when its table is copied without `AUTOINCREMENT`, the next
/// event follows the largest id, nothing is left in `sqlite_sequence`,
/// and the log's indexes are the three its queries read.
#[test]
fn schema_26_event_log_keeps_its_ids_without_a_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = schema_20_file(
        dir.path(),
        "INSERT INTO events (id, community_id, kind, audience, actor_id, data, created_at) VALUES
             (1, 1, 'member.joined', 'members', 1, '{\"n\":1}', 1000),
             (2, 1, 'member.joined', 'members', 1, '{\"n\":2}', 2000),
             (7, 1, 'member.joined', 'members', 1, '{\"n\":7}', 7000);",
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let seq: i64 = first_value(
        &conn,
        "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
    );
    assert_eq!(seq, 7);
    drop(conn);

    let f = Forum::open(&path).unwrap();
    let c = hearth::CommunityId(1);
    let before = f
        .events_after(&Actor::System, c, hearth::EventId(0), 100)
        .unwrap();
    let kept: Vec<(i64, serde_json::Value, i64)> = before
        .iter()
        .map(|e| (e.id.0, e.data.clone(), e.created_at.unix_timestamp()))
        .collect();
    assert_eq!(
        kept,
        vec![
            (1, serde_json::json!({"n": 1}), 1),
            (2, serde_json::json!({"n": 2}), 2),
            (7, serde_json::json!({"n": 7}), 7),
        ]
    );
    let newcomer = f.create_user(NewUser::new("newcomer")).unwrap().id;
    f.join(&Actor::User(newcomer), c).unwrap();
    let after = f
        .events_after(&Actor::System, c, hearth::EventId(7), 100)
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id.0, 8, "the next event follows the largest id");
    assert_eq!(after[0].actor, Some(newcomer));
    drop(f);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let sequences: i64 = first_value(
        &conn,
        "SELECT count(*) FROM sqlite_sequence WHERE name LIKE 'events%'",
    );
    assert_eq!(sequences, 0);
    let table: String = first_value(
        &conn,
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'",
    );
    assert!(!table.contains("AUTOINCREMENT"), "{table}");
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "events_by_kind_time",
            "events_community",
            "events_like_toggles"
        ]
    );
}
