//! Remembered renders: a plugin's answer to a page slot or an item slot,
//! reused while every read it made would answer the same.
//!
//! A plugin runs in a fresh instance each call and can learn about the
//! world only through the host's imports, so its answer is a function of
//! what it was given (the hook's context) and what the host told it. While
//! a `render` or `render-items` call runs, the host notes each read — the
//! call and a fingerprint of its answer. The next call with the same
//! plugin build, hook, reader and context replays those reads, as the same
//! reader with the plugin's current grants and settings, in the same
//! order; only if every one answers the same is the remembered answer
//! used, without instantiating the plugin. So nothing stale and nothing
//! another member could read is ever served: a changed key, a post the
//! reader may no longer see, a setting changed by the operator, a week
//! that ended under a weekly points query — each makes a read answer
//! differently, and the plugin runs again.
//!
//! A call that used anything a replay cannot repeat — the clock, outbound
//! HTTP, a log line, any write — is not remembered. Fingerprints are
//! 64-bit SipHash with keys drawn per process, so an answer cannot be
//! crafted to collide with another.
//!
//! Replaying costs the reads. Where the store can say cheaply that nothing
//! was committed since (`Forum::data_version`, SQLite), an entry whose
//! reads were last found unchanged at that version is reused without
//! making its database reads again: only its clock reads are replayed,
//! and entries with reads whose answer moves with time alone (points this
//! week or month) always replay. The version an entry is marked with is
//! the one asked *before* the snapshot its reads were made on began
//! (`Forum::snapshot_data_version`), so a write that raced them makes the
//! next view replay rather than trust a stale answer.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::bindings::v0_2::hearth::plugin::host::Host as _;
use crate::bindings::{ItemFragment, Period};
use crate::call::{CallState, Loaded};
use crate::manifest::Hook;
use hearth::Actor;

/// At most this many remembered answers; when full, memory starts over.
const MAX_ENTRIES: usize = 4096;
/// Larger answers are not remembered.
const MAX_ANSWER: usize = 64 * 1024;

/// A host read a remembered call made, with what it needs to be made again.
#[derive(Debug, Clone)]
pub(crate) enum Read {
    Setting(String),
    KvGet(String),
    KvList(String, String, u32),
    Member(i64),
    Topic(i64),
    Post(i64),
    Points(i64, Period),
    MemberBadges(i64),
    KvGetMany(Vec<String>),
    LatestTopics(Option<i64>, Option<String>, u32),
    TopicPosts(i64, Option<String>, u32),
    PostsByIds(Vec<i64>),
    MembersByIds(Vec<i64>),
    /// The clock rounded to a step of that many milliseconds.
    Clock(u32),
}

/// A read and its answer's fingerprint.
#[derive(Debug, Clone)]
pub(crate) struct Noted {
    read: Read,
    answer: u64,
}

impl Noted {
    pub(crate) fn new<T: Hash>(read: Read, answer: &T) -> Noted {
        Noted {
            read,
            answer: fingerprint(answer),
        }
    }
}

impl Read {
    /// Whether the read's answer can change with no write to the database
    /// (the clock itself, and points of the current week or month).
    fn moves_with_time(&self) -> bool {
        matches!(
            self,
            Read::Clock(_) | Read::Points(_, Period::Week | Period::Month)
        )
    }
}

/// The fingerprint of an answer (keys drawn once per process).
fn fingerprint<T: Hash>(v: &T) -> u64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    KEYS.get_or_init(RandomState::new).hash_one(v)
}

/// Makes `read` again on `state`; its answer's fingerprint, or `None` if
/// the call trapped (a capability the manifest no longer asks for).
fn replay(state: &mut CallState, read: &Read) -> Option<u64> {
    fn fp<T: Hash>(r: wasmtime::Result<T>) -> Option<u64> {
        r.ok().map(|v| fingerprint(&v))
    }
    match read.clone() {
        Read::Setting(key) => fp(state.setting(key)),
        Read::KvGet(key) => fp(state.kv_get(key)),
        Read::KvList(prefix, after, limit) => fp(state.kv_list(prefix, after, limit)),
        Read::Member(id) => fp(state.member(id)),
        Read::Topic(id) => fp(state.topic(id)),
        Read::Post(id) => fp(state.post(id)),
        Read::Points(member, period) => fp(state.points(member, period)),
        Read::MemberBadges(member) => fp(state.member_badges(member)),
        Read::KvGetMany(keys) => fp(state.kv_get_many(keys)),
        Read::LatestTopics(category, after, limit) => {
            fp(state.latest_topics(category, after, limit))
        }
        Read::TopicPosts(topic, after, limit) => fp(state.topic_posts(topic, after, limit)),
        Read::PostsByIds(ids) => fp(state.posts_by_ids(ids)),
        Read::MembersByIds(ids) => fp(state.members_by_ids(ids)),
        Read::Clock(step) => fp(state.now_rounded(step)),
    }
}

/// What a remembered call answered, shared: a recall hands out the same
/// answer without copying its HTML.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Render(Arc<Option<String>>),
    Items(Arc<Vec<ItemFragment>>),
}

/// A hook's answer that can be remembered.
pub(crate) trait Remembered: Sized {
    fn into_answer(this: Arc<Self>) -> Answer;
    fn from_answer(answer: Answer) -> Option<Arc<Self>>;
}

/// `render`'s answer.
impl Remembered for Option<String> {
    fn into_answer(this: Arc<Self>) -> Answer {
        Answer::Render(this)
    }

    fn from_answer(answer: Answer) -> Option<Arc<Self>> {
        match answer {
            Answer::Render(html) => Some(html),
            Answer::Items(_) => None,
        }
    }
}

/// `render-items`' answer.
impl Remembered for Vec<ItemFragment> {
    fn into_answer(this: Arc<Self>) -> Answer {
        Answer::Items(this)
    }

    fn from_answer(answer: Answer) -> Option<Arc<Self>> {
        match answer {
            Answer::Items(items) => Some(items),
            Answer::Render(_) => None,
        }
    }
}

impl Answer {
    fn size(&self) -> usize {
        match self {
            Answer::Render(html) => html.as_deref().map_or(0, str::len),
            Answer::Items(items) => items.iter().map(|f| f.html.len() + 16).sum(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// The build that answered (an upgrade is another `Arc`); weak, so a
    /// replaced build's compiled code is not kept alive by its answers.
    loaded: Weak<Loaded>,
    reads: Vec<Noted>,
    answer: Answer,
    /// Whether a read other than the clock moves with time: then every
    /// recall replays all reads.
    timed: bool,
    /// The data version (plus one; 0 for none) at which the reads last
    /// answered as remembered.
    verified: AtomicU64,
}

impl Entry {
    fn new(loaded: &Arc<Loaded>, reads: Vec<Noted>, answer: Answer, at: Option<u64>) -> Entry {
        Entry {
            loaded: Arc::downgrade(loaded),
            timed: reads
                .iter()
                .any(|n| n.read.moves_with_time() && !matches!(n.read, Read::Clock(_))),
            reads,
            answer,
            verified: AtomicU64::new(mark(at)),
        }
    }
}

/// A data version as an entry keeps it (0: none).
fn mark(version: Option<u64>) -> u64 {
    version.map_or(0, |v| v.wrapping_add(1).max(1))
}

/// The key a call is remembered under: the plugin, the hook, the reader
/// and everything in the hook's context. Each part is written with its
/// length (numbers as 8 bytes), so two different calls never write the
/// same key; written directly rather than through `Debug`, which was
/// ≈ 1 % of a page's plugin work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    /// A key for `hook` of `plugin` as read by `reader`, followed by
    /// `context` (a [`Key`] of the context's fields alone).
    pub(crate) fn call(plugin: &str, hook: Hook, reader: &Actor, context: &Key) -> Key {
        let mut k = Key(Vec::with_capacity(plugin.len() + context.0.len() + 48));
        k.text(plugin).text(hook.as_str());
        match reader {
            Actor::Guest => k.0.push(0),
            Actor::System => k.0.push(1),
            Actor::User(u) => {
                k.0.push(2);
                k.int(u.0);
            }
        }
        k.0.extend_from_slice(&context.0);
        k
    }

    /// Appends a number.
    pub(crate) fn int(&mut self, v: i64) -> &mut Key {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a number or its absence.
    pub(crate) fn opt(&mut self, v: Option<i64>) -> &mut Key {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                self.int(v);
            }
        }
        self
    }

    /// Appends a text.
    pub(crate) fn text(&mut self, s: &str) -> &mut Key {
        self.int(s.len() as i64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    /// Appends a list of numbers.
    pub(crate) fn ints(&mut self, v: &[i64]) -> &mut Key {
        self.int(v.len() as i64);
        for i in v {
            self.int(*i);
        }
        self
    }
}

/// Remembered answers, by everything a call is given (see the module's
/// documentation).
#[derive(Debug, Default)]
pub(crate) struct Memo {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
}

impl Memo {
    /// The answer remembered under `key` for this build, if replaying its
    /// reads on `state` (a call state for the same plugin, reader and
    /// community, made now) answers the same.
    pub(crate) fn recall(
        &self,
        key: &Key,
        loaded: &Arc<Loaded>,
        forum: &hearth::Forum,
        state: impl FnOnce() -> CallState,
    ) -> Option<Answer> {
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()?;
        if !Weak::ptr_eq(&entry.loaded, &Arc::downgrade(loaded)) {
            return None;
        }
        // Nothing committed since the reads last answered the same: only
        // the clock can have moved.
        let unchanged = !entry.timed && {
            let at = entry.verified.load(Ordering::Relaxed);
            at != 0 && at == mark(forum.data_version())
        };
        let mut state = state();
        for noted in &entry.reads {
            if unchanged && !matches!(noted.read, Read::Clock(_)) {
                continue;
            }
            if replay(&mut state, &noted.read) != Some(noted.answer) {
                return None;
            }
        }
        if !unchanged {
            entry
                .verified
                .store(mark(forum.snapshot_data_version()), Ordering::Relaxed);
        }
        Some(entry.answer.clone())
    }

    /// Forgets every remembered answer.
    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Remembers a call's answer and the reads it made.
    pub(crate) fn remember(
        &self,
        key: Key,
        loaded: &Arc<Loaded>,
        reads: Vec<Noted>,
        answer: Answer,
        verified_at: Option<u64>,
    ) {
        if answer.size() > MAX_ANSWER {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            Arc::new(Entry::new(loaded, reads, answer, verified_at)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_different_calls_differ() {
        let ctx = |f: &dyn Fn(&mut Key)| {
            let mut k = Key::default();
            f(&mut k);
            k
        };
        let base = ctx(&|k| {
            k.text("/t/a/1").opt(Some(5)).ints(&[1, 2]);
        });
        let member = Actor::User(hearth::UserId(5));
        let key =
            |plugin: &str, hook: Hook, reader: &Actor, c: &Key| Key::call(plugin, hook, reader, c);
        let one = key("polls", Hook::RenderItems, &member, &base);
        assert_eq!(one, key("polls", Hook::RenderItems, &member, &base));
        let others = [
            key("reactions", Hook::RenderItems, &member, &base),
            key("polls", Hook::Render, &member, &base),
            key("polls", Hook::RenderItems, &Actor::Guest, &base),
            key("polls", Hook::RenderItems, &Actor::System, &base),
            key(
                "polls",
                Hook::RenderItems,
                &Actor::User(hearth::UserId(6)),
                &base,
            ),
            // The system is not the member with id -1, nor a guest a
            // member with id 0.
            key(
                "polls",
                Hook::RenderItems,
                &Actor::User(hearth::UserId(-1)),
                &base,
            ),
            key(
                "polls",
                Hook::RenderItems,
                &Actor::User(hearth::UserId(0)),
                &base,
            ),
            // Parts carry their lengths: moving a boundary changes the key.
            key(
                "polls",
                Hook::RenderItems,
                &member,
                &ctx(&|k| {
                    k.text("/t/a/").text("1").opt(Some(5)).ints(&[1, 2]);
                }),
            ),
            key(
                "polls",
                Hook::RenderItems,
                &member,
                &ctx(&|k| {
                    k.text("/t/a/1").opt(None).ints(&[1, 2]);
                }),
            ),
            key(
                "polls",
                Hook::RenderItems,
                &member,
                &ctx(&|k| {
                    k.text("/t/a/1").opt(Some(5)).ints(&[1, 2, 3]);
                }),
            ),
            key(
                "polls",
                Hook::RenderItems,
                &member,
                &ctx(&|k| {
                    k.text("/t/a/1").opt(Some(5)).ints(&[2, 1]);
                }),
            ),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&one, other, "key {i}");
            for later in &others[i + 1..] {
                assert_ne!(other, later);
            }
        }
    }

    #[test]
    fn reads_that_move_with_time_alone_are_known() {
        // A week or month turns with no write: such reads are replayed on
        // every recall; all time, members and keys only after a commit.
        for (read, moves) in [
            (Read::Clock(60_000), true),
            (Read::Points(1, Period::Week), true),
            (Read::Points(1, Period::Month), true),
            (Read::Points(1, Period::AllTime), false),
            (Read::Member(1), false),
            (Read::KvGet("k".into()), false),
            (Read::MembersByIds(vec![1, 2]), false),
        ] {
            assert_eq!(read.moves_with_time(), moves, "{read:?}");
        }
        assert_eq!(mark(None), 0);
        assert_ne!(mark(Some(0)), 0);
        assert_ne!(mark(Some(u64::MAX)), 0, "a version never reads as none");
    }
}
