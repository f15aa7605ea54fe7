//! Storage for extensions: opaque key-value data per namespace and
//! community, in the forum's own database.
//!
//! The plugin host keeps each plugin's store, install records and delivery
//! state here, so one file (and one backup, one export) holds everything.
//! These are application-level calls with no [`Actor`](crate::Actor): never
//! hand them to end users directly.

use std::collections::HashMap;

use crate::db::{self, Conn, params};

use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::CommunityId;

/// Longest namespace, in bytes.
pub const MAX_EXT_NAMESPACE: usize = 100;
/// Longest key, in bytes.
pub const MAX_EXT_KEY: usize = 512;
/// Largest value, in bytes.
pub const MAX_EXT_VALUE: usize = 1 << 20;
/// The most keys [`Forum::ext_get_many`] reads at once.
pub const MAX_EXT_KEYS_READ: usize = 500;

/// Keys [`Forum::ext_get_many`] reads with one statement.
const KEYS_PER_READ: usize = 16;

/// [`Forum::ext_get_many`]'s statement: the namespace `?1`, the scope `?2`,
/// the keys `?3`…
static KEYS_READ: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT key, value FROM extension_data
         WHERE namespace = ?1 AND community_id = ?2 AND key IN ({})",
        db::placeholders(3, KEYS_PER_READ)
    )
});
/// Namespaces starting with this hold secrets (plugins' API keys): the
/// community export leaves them out; a copy of the whole database keeps
/// them.
pub const SECRET_NAMESPACE_PREFIX: &str = "secret:";

/// One change in [`Forum::ext_apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtOp {
    /// Store `value` under `key`, replacing what was there.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove `key` (nothing happens if it is absent).
    Delete {
        /// The key.
        key: String,
    },
}

fn check_namespace(namespace: &str) -> Result<()> {
    if namespace.is_empty() || namespace.len() > MAX_EXT_NAMESPACE {
        return Err(Error::invalid("namespace", "1 to 100 bytes"));
    }
    Ok(())
}

fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_EXT_KEY {
        return Err(Error::invalid("key", "at most 512 bytes"));
    }
    Ok(())
}

/// The least string above every string that starts with `prefix` (`None`
/// for the empty prefix: no string is above all of them). UTF-8 orders
/// byte by byte as code points do, so this is `prefix` with its last
/// character made the next one, dropping characters that have no next.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `None` (process-wide records) is stored as community 0.
fn scope(community: Option<CommunityId>) -> i64 {
    community.map_or(0, |c| c.0)
}

impl Forum {
    /// The value under `key`, if any.
    pub fn ext_get(
        &self,
        namespace: &str,
        community: Option<CommunityId>,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        check_namespace(namespace)?;
        check_key(key)?;
        self.read(|conn, _| {
            crate::store::optional(
                conn.prepare_cached(
                    "SELECT value FROM extension_data
                     WHERE namespace = ?1 AND community_id = ?2 AND key = ?3",
                )?
                .query_row(params![namespace, scope(community), key], |r| r.get(0)),
            )
        })
    }

    /// The values under several keys of one namespace, in the order asked,
    /// read in one read transaction (a page asking for one key per post
    /// pays for one transaction, not twenty). At most
    /// [`MAX_EXT_KEYS_READ`] keys.
    pub fn ext_get_many(
        &self,
        namespace: &str,
        community: Option<CommunityId>,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>> {
        check_namespace(namespace)?;
        if keys.len() > MAX_EXT_KEYS_READ {
            return Err(Error::invalid(
                "keys",
                format!(
                    "at most {MAX_EXT_KEYS_READ} keys per read, not {}",
                    keys.len()
                ),
            ));
        }
        for key in keys {
            check_key(key)?;
        }
        self.read(|conn, _| {
            let scope = scope(community);
            if conn.dialect() == db::Dialect::Sqlite {
                // In-process lookups cost less one by one than an `IN`
                // list (which SQLite sorts first).
                let mut stmt = conn.prepare_cached(
                    "SELECT value FROM extension_data
                     WHERE namespace = ?1 AND community_id = ?2 AND key = ?3",
                )?;
                return keys
                    .iter()
                    .map(|key| {
                        crate::store::optional(
                            stmt.query_row(params![namespace, scope, key], |r| r.get(0)),
                        )
                    })
                    .collect();
            }
            // A server is a round trip a statement away: read in chunks of
            // one statement's shape (a short chunk repeats its last key).
            let mut stmt = conn.prepare_cached(&KEYS_READ)?;
            let mut found: HashMap<String, Vec<u8>> = HashMap::with_capacity(keys.len());
            for chunk in keys.chunks(KEYS_PER_READ) {
                let Some(last) = chunk.last() else { continue };
                let mut args: Vec<&dyn db::ToSql> = Vec::with_capacity(KEYS_PER_READ + 2);
                args.push(&namespace);
                args.push(&scope);
                for i in 0..KEYS_PER_READ {
                    args.push(chunk.get(i).unwrap_or(last));
                }
                for row in stmt.query_map(args, |r| Ok((r.get(0)?, r.get(1)?)))? {
                    let (key, value): (String, Vec<u8>) = row?;
                    found.insert(key, value);
                }
            }
            Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
        })
    }

    /// Removes `key` and returns what it held, in one write: of several
    /// callers taking the same key at once, one gets the value (single-use
    /// tokens).
    pub fn ext_take(
        &self,
        namespace: &str,
        community: Option<CommunityId>,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        check_namespace(namespace)?;
        check_key(key)?;
        self.store.write(|tx| {
            crate::store::optional(
                tx.prepare_cached(
                    "DELETE FROM extension_data
                     WHERE namespace = ?1 AND community_id = ?2 AND key = ?3 RETURNING value",
                )?
                .query_row(params![namespace, scope(community), key], |r| r.get(0)),
            )
        })
    }

    /// Up to `limit` (at most 1,000) entries whose key starts with `prefix`
    /// and sorts after `after` (byte order), in key order.
    pub fn ext_list(
        &self,
        namespace: &str,
        community: Option<CommunityId>,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        check_namespace(namespace)?;
        check_key(prefix)?;
        check_key(after)?;
        let start = if after > prefix { after } else { prefix };
        let limit = limit.clamp(1, 1000) as i64;
        // The keys starting with `prefix` are the range [prefix, end):
        // keys compare byte by byte on both backends (schema v20), so the
        // index reads only them — not every key after them as well.
        let end = prefix_end(prefix);
        self.read(|conn, _| {
            let rows = match &end {
                Some(end) => conn
                    .prepare_cached(
                        "SELECT key, value FROM extension_data
                         WHERE namespace = ?1 AND community_id = ?2
                           AND key >= ?3 AND key <> ?4 AND key < ?5
                         ORDER BY key LIMIT ?6",
                    )?
                    .query_map(
                        params![namespace, scope(community), start, after, end, limit],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .collect::<db::Result<_>>()?,
                None => conn
                    .prepare_cached(
                        "SELECT key, value FROM extension_data
                         WHERE namespace = ?1 AND community_id = ?2
                           AND key >= ?3 AND key <> ?4
                         ORDER BY key LIMIT ?5",
                    )?
                    .query_map(
                        params![namespace, scope(community), start, after, limit],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .collect::<db::Result<_>>()?,
            };
            Ok(rows)
        })
    }

    /// Applies `ops` in order, all or nothing, in one transaction.
    pub fn ext_apply(
        &self,
        namespace: &str,
        community: Option<CommunityId>,
        ops: &[ExtOp],
    ) -> Result<()> {
        self.ext_apply_all(community, &[(namespace, ops)])
    }

    /// Applies the ops of several namespaces in one transaction, all or
    /// nothing (e.g. a plugin's writes together with the host's record of
    /// how far it got).
    pub fn ext_apply_all(
        &self,
        community: Option<CommunityId>,
        batches: &[(&str, &[ExtOp])],
    ) -> Result<()> {
        check_batches(batches)?;
        if batches.iter().all(|(_, ops)| ops.is_empty()) {
            return Ok(());
        }
        self.store
            .write(|tx| apply_batches(tx, community, batches, crate::clock::to_millis(self.now())))
    }
}

/// Checks every op of `batches` against the bounds, before a transaction.
pub(crate) fn check_batches(batches: &[(&str, &[ExtOp])]) -> Result<()> {
    for (namespace, ops) in batches {
        check_namespace(namespace)?;
        for op in *ops {
            match op {
                ExtOp::Put { key, value } => {
                    check_key(key)?;
                    if value.len() > MAX_EXT_VALUE {
                        return Err(Error::invalid("value", "at most 1 MiB"));
                    }
                }
                ExtOp::Delete { key } => check_key(key)?,
            }
        }
    }
    Ok(())
}

/// Applies [`check_batches`]-checked ops in the caller's transaction.
pub(crate) fn apply_batches(
    tx: &Conn,
    community: Option<CommunityId>,
    batches: &[(&str, &[ExtOp])],
    now: i64,
) -> Result<()> {
    let community = scope(community);
    for (namespace, ops) in batches {
        for op in *ops {
            match op {
                ExtOp::Put { key, value } => {
                    tx.prepare_cached(
                        "INSERT INTO extension_data (namespace, community_id, key, value, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (namespace, community_id, key)
                         DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    )?
                    .execute(params![namespace, community, key, value, now])?;
                }
                ExtOp::Delete { key } => {
                    tx.prepare_cached(
                        "DELETE FROM extension_data
                         WHERE namespace = ?1 AND community_id = ?2 AND key = ?3",
                    )?
                    .execute(params![namespace, community, key])?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_list_delete_round_trip() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Storage(e.to_string()))?;
        let forum = Forum::open(dir.path().join("x.db"))?;
        let c = Some(CommunityId(7));
        let put = |k: &str, v: &[u8]| ExtOp::Put {
            key: k.into(),
            value: v.to_vec(),
        };
        forum.ext_apply(
            "p",
            c,
            &[put("a/1", b"x"), put("a/2", b"y"), put("b/1", b"z")],
        )?;
        forum.ext_apply("q", c, &[put("a/1", b"other namespace")])?;
        assert_eq!(forum.ext_get("p", c, "a/1")?, Some(b"x".to_vec()));
        assert_eq!(forum.ext_get("p", None, "a/1")?, None);
        let keys: Vec<String> = forum
            .ext_list("p", c, "a/", "", 10)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["a/1", "a/2"]);
        let after: Vec<String> = forum
            .ext_list("p", c, "a/", "a/1", 10)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(after, ["a/2"]);
        // A bad op anywhere leaves everything as it was.
        let big = ExtOp::Put {
            key: "c".into(),
            value: vec![0; MAX_EXT_VALUE + 1],
        };
        assert!(
            forum
                .ext_apply("p", c, &[ExtOp::Delete { key: "a/1".into() }, big])
                .is_err()
        );
        assert!(forum.ext_get("p", c, "a/1")?.is_some());
        forum.ext_apply("p", c, &[ExtOp::Delete { key: "a/1".into() }])?;
        assert_eq!(forum.ext_get("p", c, "a/1")?, None);
        Ok(())
    }

    #[test]
    fn a_taken_key_is_taken_once_by_one_of_many() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Storage(e.to_string()))?;
        let forum = std::sync::Arc::new(Forum::open(dir.path().join("x.db"))?);
        let c = Some(CommunityId(7));
        let put = ExtOp::Put {
            key: "nonce/1".into(),
            value: b"once".to_vec(),
        };
        forum.ext_apply("p", c, std::slice::from_ref(&put))?;
        assert_eq!(forum.ext_take("p", None, "nonce/1")?, None);
        assert_eq!(forum.ext_take("p", c, "nonce/1")?, Some(b"once".to_vec()));
        assert_eq!(forum.ext_take("p", c, "nonce/1")?, None);
        // Eight takers at once: exactly one value.
        forum.ext_apply("p", c, &[put])?;
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let f = forum.clone();
                std::thread::spawn(move || f.ext_take("p", c, "nonce/1"))
            })
            .collect();
        let mut got = 0;
        for t in takers {
            let taken = t
                .join()
                .map_err(|_| Error::Storage("a taker panicked".into()))??;
            got += usize::from(taken.is_some());
        }
        assert_eq!(got, 1);
        Ok(())
    }
}
