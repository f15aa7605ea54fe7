//! Request keys: creating a topic or reply at most once per key, so a
//! client that lost the answer (a timeout, a crashed server) can retry.
//!
//! The key is remembered in the same transaction as the post it created,
//! so there is no moment when the post exists and the key does not — the
//! property a response cache written after the commit cannot give. A retry
//! with the same key and the same request returns what the first call
//! returned (the post, or the same [`Error::PendingReview`]); the same key
//! on a different request is refused. Keys are per author and community,
//! and forgotten after [`REQUEST_KEY_TTL_HOURS`].

use crate::db::{Conn, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::error::{Error, Problem, Result};
use crate::forum::Write;
use crate::ids::{CommunityId, PostId, ReviewId, UserId};

/// Longest accepted request key, in bytes.
pub const MAX_REQUEST_KEY: usize = 255;

/// How long a request key is remembered.
pub const REQUEST_KEY_TTL_HOURS: i64 = 24;

const TTL_MS: i64 = REQUEST_KEY_TTL_HOURS * 3_600_000;

/// A checked key with the fingerprint of the request it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Once {
    key: String,
    fingerprint: String,
}

/// What a key's first use produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Remembered {
    Post(PostId),
    Queued(ReviewId, String),
}

impl Once {
    /// Checks `key` and fingerprints the request's `parts` (each part is
    /// length-prefixed, so no two requests share a fingerprint by
    /// concatenation).
    pub(crate) fn new(key: &str, parts: &[&[u8]]) -> Result<Once> {
        if key.is_empty() || key.len() > MAX_REQUEST_KEY {
            let problem = if key.is_empty() {
                Problem::TooShort { min: 1 }
            } else {
                Problem::TooLong {
                    max: MAX_REQUEST_KEY as u64,
                }
            };
            return Err(Error::invalid_as(
                "request_key",
                problem,
                format!("must be 1 to {MAX_REQUEST_KEY} bytes"),
            ));
        }
        crate::text::check_chars("request_key", key, crate::text::Lines::One)?;
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        let fingerprint = crate::text::hex(&h.finalize());
        Ok(Once {
            key: key.to_string(),
            fingerprint,
        })
    }

    /// What the key produced before, if it was used within the TTL.
    /// A key used for a different request is refused.
    pub(crate) fn recall(
        &self,
        conn: &Conn,
        now_ms: i64,
        community: CommunityId,
        author: UserId,
    ) -> Result<Option<Remembered>> {
        let row = conn
            .prepare_cached(
                "SELECT fingerprint, post_id, review_id, reason FROM request_keys
                 WHERE community_id = ?1 AND user_id = ?2 AND key = ?3 AND created_at > ?4",
            )?
            .query_row(
                params![community.0, author.0, self.key, now_ms - TTL_MS],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((fingerprint, post, review, reason)) = row else {
            return Ok(None);
        };
        if fingerprint != self.fingerprint {
            return Err(Error::invalid(
                "request_key",
                "was already used for a different request; use a new key for a new post",
            ));
        }
        Ok(match (post, review) {
            (Some(p), _) => Some(Remembered::Post(PostId(p))),
            (None, Some(r)) => Some(Remembered::Queued(ReviewId(r), reason.unwrap_or_default())),
            (None, None) => None,
        })
    }

    /// Remembers what this key produced, in the write that produced it,
    /// and forgets the author's expired keys.
    fn remember(
        &self,
        w: &Write<'_>,
        community: CommunityId,
        author: UserId,
        what: &Remembered,
    ) -> Result<()> {
        let now = w.now_ms();
        w.tx.prepare_cached(
            "DELETE FROM request_keys
             WHERE community_id = ?1 AND user_id = ?2 AND created_at <= ?3",
        )?
        .execute(params![community.0, author.0, now - TTL_MS])?;
        let (post, review, reason) = match what {
            Remembered::Post(p) => (Some(p.0), None, None),
            Remembered::Queued(r, reason) => (None, Some(r.0), Some(reason.as_str())),
        };
        w.tx.prepare_cached(
            "INSERT INTO request_keys
               (community_id, user_id, key, fingerprint, post_id, review_id, reason, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            community.0,
            author.0,
            self.key,
            self.fingerprint,
            post,
            review,
            reason,
            now
        ])?;
        Ok(())
    }
}

/// Remembers what a create produced, if it carries a request key.
pub(crate) fn remember(
    once: Option<&Once>,
    w: &Write<'_>,
    community: CommunityId,
    author: UserId,
    what: Remembered,
) -> Result<()> {
    match once {
        Some(once) => once.remember(w, community, author, &what),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_at_the_boundary() {
        let max = "k".repeat(MAX_REQUEST_KEY);
        assert!(Once::new(&max, &[]).is_ok());
        let over = "k".repeat(MAX_REQUEST_KEY + 1);
        for bad in ["", over.as_str(), "a\u{0}b", "a\u{202e}b"] {
            assert!(
                matches!(
                    Once::new(bad, &[]),
                    Err(Error::Invalid {
                        field: "request_key",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fingerprints_do_not_collide_by_concatenation() {
        let a = Once::new("k", &[b"ab", b"c"]).expect("key");
        let b = Once::new("k", &[b"a", b"bc"]).expect("key");
        let c = Once::new("k", &[b"ab", b"c"]).expect("key");
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint, c.fingerprint);
    }
}
