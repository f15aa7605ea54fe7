//! Relevance ranking of a bounded window of full-text matches.
//!
//! FTS5's built-in `bm25()` counts, for every query, how many documents
//! contain each term by walking that term's whole posting list: fine for
//! rare words, tens of milliseconds for common ones on a million posts. So
//! search fetches a bounded window of matches (with their text) and scores
//! it here with BM25, taking document frequencies from a cache that is
//! refreshed every few minutes.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::db::{Conn, params};

use crate::error::Result;
use crate::ids::PostId;

/// A match with the text it is scored on.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub post: PostId,
    pub title: String,
    pub body: String,
}

/// How long a cached document frequency is trusted.
const DF_TTL_MS: i64 = 10 * 60 * 1000;
/// Most cached (index, term) pairs; the cache is cleared when full.
const DF_CAP: usize = 50_000;

const K1: f64 = 1.2;
const B: f64 = 0.75;
const TITLE_WEIGHT: f64 = 4.0;

/// (index table, term).
type DfKey = (&'static str, String);
/// (document frequency, when it was counted in ms).
type DfEntry = (u64, i64);

/// Document frequencies per (index table, term), with their age.
#[derive(Debug, Default)]
pub(crate) struct DfCache(RwLock<HashMap<DfKey, DfEntry>>);

impl DfCache {
    /// How many documents of `table` contain `term` (cached).
    fn df(&self, conn: &Conn, table: &'static str, term: &str, now_ms: i64) -> Result<u64> {
        let key = (table, term.to_string());
        if let Some((df, at)) = self.0.read().unwrap_or_else(|e| e.into_inner()).get(&key)
            && now_ms - at < DF_TTL_MS
        {
            return Ok(*df);
        }
        let Some(m) = crate::search::Match::new(conn, table, "x", 1, &[term.to_string()], false)
        else {
            return Ok(0);
        };
        let df: i64 = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM {table} x WHERE {}",
                m.condition
            ))?
            .query_row(params![m.query], |r| r.get(0))?;
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= DF_CAP {
            map.clear();
        }
        map.insert(key, (df as u64, now_ms));
        Ok(df as u64)
    }
}

/// Whether a word of the text matches a query term: equal, or sharing a
/// long enough prefix to be the same stem ("keys" / "key", "failing" / "fails").
pub(crate) fn term_matches(word: &str, term: &str) -> bool {
    if word == term {
        return true;
    }
    if term.is_ascii() {
        // The common case, without counting characters.
        let stem = term.len().saturating_sub(3).max(3);
        return term.len() >= 3
            && word.len() >= stem
            && word.as_bytes()[..stem] == term.as_bytes()[..stem];
    }
    let len = term.chars().count();
    let stem = len.saturating_sub(3).max(3);
    len >= 3
        && word.chars().count() >= stem
        && word
            .chars()
            .zip(term.chars())
            .take(stem)
            .all(|(a, b)| a == b)
}

/// Counts per term, and the number of tokens, of a text.
///
/// Tokens are the runs of alphanumeric characters of the lowercased text.
/// Ranking reads the text of every match in the window, so this is the
/// hottest loop of a search: ASCII text (nearly all of it) is tokenized on
/// bytes without a lowercased copy, and a token is compared with a term
/// only when their first bytes agree (both a match and a shared stem need
/// that). Other text takes the general path; both count the same.
///
/// What every text of one search shares — the terms' first bytes, the
/// token buffer — is made once per search, not once per text.
struct TermCounter<'a> {
    terms: &'a [String],
    firsts: Vec<u8>,
    token: String,
}

impl<'a> TermCounter<'a> {
    fn new(terms: &'a [String]) -> Self {
        TermCounter {
            terms,
            firsts: terms
                .iter()
                .map(|t| t.as_bytes().first().copied().unwrap_or(0))
                .collect(),
            token: String::new(),
        }
    }

    /// Adds the count of each term in `text` to `counts`; the number of
    /// tokens.
    fn count(&mut self, text: &str, counts: &mut [f64]) -> usize {
        let (terms, firsts, token) = (self.terms, &self.firsts, &mut self.token);
        if !text.is_ascii() {
            return term_counts_unicode(text, terms, counts);
        }
        let mut len = 0;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            len += 1;
            let first = bytes[start].to_ascii_lowercase();
            if !firsts.contains(&first) {
                continue;
            }
            token.clear();
            // ASCII alphanumerics only, so always valid UTF-8.
            token.extend(
                bytes[start..i]
                    .iter()
                    .map(|b| char::from(b.to_ascii_lowercase())),
            );
            for (t, (term, f)) in terms.iter().zip(firsts).enumerate() {
                if *f == first && term_matches(token, term) {
                    counts[t] += 1.0;
                }
            }
        }
        len
    }
}

/// One text's counts, for the tests.
#[cfg(test)]
fn term_counts(text: &str, terms: &[String], counts: &mut [f64]) -> usize {
    TermCounter::new(terms).count(text, counts)
}

/// [`term_counts`] for any text: lowercase it, split on what is not
/// alphanumeric.
fn term_counts_unicode(text: &str, terms: &[String], counts: &mut [f64]) -> usize {
    let lower = text.to_lowercase();
    let mut len = 0;
    for token in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        len += 1;
        for (i, t) in terms.iter().enumerate() {
            if term_matches(token, t) {
                counts[i] += 1.0;
            }
        }
    }
    len
}

/// Scores candidates with BM25 (title counted `TITLE_WEIGHT` times), best
/// first; ties go to the newer post.
pub(crate) fn rank(
    conn: &Conn,
    cache: &DfCache,
    table: &'static str,
    terms: &[String],
    candidates: Vec<Candidate>,
    now_ms: i64,
) -> Result<Vec<(Candidate, f64)>> {
    if candidates.is_empty() || terms.is_empty() {
        return Ok(candidates.into_iter().map(|c| (c, 0.0)).collect());
    }
    let n: i64 = conn
        .prepare_cached(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"))?
        .query_row(params![], |r| r.get(0))?;
    let n = n.max(1) as f64;
    let mut idf = Vec::with_capacity(terms.len());
    for t in terms {
        let df = cache.df(conn, table, t, now_ms)? as f64;
        idf.push((1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.01));
    }
    let mut stats = Vec::with_capacity(candidates.len());
    let mut total_len = 0usize;
    let mut counter = TermCounter::new(terms);
    for c in &candidates {
        let mut title = vec![0.0; terms.len()];
        let mut body = vec![0.0; terms.len()];
        let len = counter.count(&c.title, &mut title) + counter.count(&c.body, &mut body);
        total_len += len;
        let tf: Vec<f64> = title
            .iter()
            .zip(&body)
            .map(|(t, b)| TITLE_WEIGHT * t + b)
            .collect();
        stats.push((tf, len));
    }
    let avg = (total_len as f64 / candidates.len() as f64).max(1.0);
    let mut scored: Vec<(Candidate, f64)> = candidates
        .into_iter()
        .zip(stats)
        .map(|(c, (tf, len))| {
            let norm = K1 * (1.0 - B + B * len as f64 / avg);
            let score = tf
                .iter()
                .zip(&idf)
                .map(|(tf, idf)| idf * tf * (K1 + 1.0) / (tf + norm))
                .sum();
            (c, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.post.cmp(&a.0.post)));
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert!(term_matches("keys", "key"));
        assert!(term_matches("rotate", "rotating"));
        assert!(!term_matches("kit", "key"));
        assert!(!term_matches("a", "api"));
    }

    #[test]
    fn counts() {
        let mut c = vec![0.0; 2];
        let n = term_counts(
            "Rotate the KEY, then rotate keys again",
            &["key".into(), "rotate".into()],
            &mut c,
        );
        assert_eq!(n, 7);
        assert_eq!(c, vec![2.0, 2.0]);
    }

    /// The byte path for ASCII text counts exactly what the general path
    /// counts, over texts built from a small alphabet of tricky pieces
    /// (case, digits, punctuation, stems, short words).
    #[test]
    fn ascii_path_counts_like_the_general_one() {
        let pieces = [
            "Key", "keys", "KEYBOARD", "ke", "k", "rotating", "Rotate", "rot", "a", "api", "API2",
            "2fa", "x-y", "don't", " ", "  ", ",", ".", "\n", "_", "café", "ümlaut", "r0tate",
        ];
        let term_sets: [&[&str]; 5] = [
            &["key", "rotate"],
            &["api", "2fa"],
            &["caf\u{e9}x", "don"],
            &["k", "x"],
            &["keyboard", "keys", "key"],
        ];
        let mut seed = 7u64;
        for round in 0..2_000 {
            let mut text = String::new();
            for _ in 0..(round % 17) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
                if seed & 1 == 0 {
                    text.push(' ');
                }
            }
            for terms in term_sets {
                let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
                let mut fast = vec![0.0; terms.len()];
                let mut general = vec![0.0; terms.len()];
                let n = term_counts(&text, &terms, &mut fast);
                let m = term_counts_unicode(&text, &terms, &mut general);
                assert_eq!((n, &fast), (m, &general), "text {text:?}, terms {terms:?}");
            }
        }
    }
}
