//! Relevance ranking of a bounded window of full-text matches.
//!
//! FTS5's built-in `bm25()` counts, for every query, how many documents
//! contain each term by walking that term's whole posting list: fine for
//! rare words, tens of milliseconds for common ones on a million posts. So
//! search fetches a bounded window of matches and scores it here with
//! BM25, taking document frequencies from a cache that is refreshed every
//! few minutes.
//!
//! A match's term counts come from the index where it can give them
//! (SQLite: FTS5's own match positions, through `hearth_tf`, so no text is
//! read or tokenized again) and otherwise from its text ([`count_texts`]:
//! PostgreSQL, the small suggestion index). Either way the same formula
//! ranks them.

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

/// A match's term frequencies (a title occurrence counting
/// `TITLE_WEIGHT` times) and its length in tokens, title and body.
#[derive(Debug, Clone)]
pub(crate) struct Counted {
    pub post: PostId,
    pub tf: Vec<f64>,
    pub len: u64,
}

impl Counted {
    /// From (title, body) counts per term, in the terms' order.
    pub(crate) fn new(post: PostId, counts: impl Iterator<Item = (u32, u32)>, len: u64) -> Self {
        Counted {
            post,
            tf: counts
                .map(|(title, body)| TITLE_WEIGHT * f64::from(title) + f64::from(body))
                .collect(),
            len,
        }
    }
}

/// Counts `terms` in each candidate's title and body.
pub(crate) fn count_texts(terms: &[String], candidates: Vec<Candidate>) -> Vec<Counted> {
    let mut counter = TermCounter::new(terms);
    let mut title = vec![0.0; terms.len()];
    let mut body = vec![0.0; terms.len()];
    candidates
        .into_iter()
        .map(|c| {
            title.fill(0.0);
            body.fill(0.0);
            let len = counter.count(&c.title, &mut title) + counter.count(&c.body, &mut body);
            Counted {
                post: c.post,
                tf: title
                    .iter()
                    .zip(&body)
                    .map(|(t, b)| TITLE_WEIGHT * t + b)
                    .collect(),
                len: len as u64,
            }
        })
        .collect()
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

/// A word as both indexes' tokenizers compare it: lowercase, without
/// diacritics ("Résumé" → "resume": FTS5's `remove_diacritics`,
/// PostgreSQL's `unaccent`), so that what the index matched is also what
/// is counted and marked.
pub(crate) fn fold(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    use unicode_normalization::UnicodeNormalization;
    word.to_lowercase()
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect()
}

/// The stem a folded word is compared by: Snowball's English stemmer,
/// the algorithm of PostgreSQL's `english` dictionary ("keys" → "key",
/// "rotating" → "rotat"). SQLite's index stems with the original Porter
/// algorithm, which agrees on nearly every word.
pub(crate) fn stem(word: &str) -> std::borrow::Cow<'_, str> {
    rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English).stem(word)
}

/// Query terms, ready to be matched against (folded) words of a text: a
/// word matches a term when they are equal or share a stem ("keys" /
/// "key", "failing" / "fails"). Each term is stemmed once; a word is
/// stemmed only when it shares a term's first byte (a stem keeps its
/// word's first letter), and then once for all terms.
pub(crate) struct Terms<'a> {
    terms: &'a [String],
    stems: Vec<String>,
    firsts: Vec<u8>,
}

impl<'a> Terms<'a> {
    pub(crate) fn new(terms: &'a [String]) -> Self {
        Terms {
            terms,
            stems: terms.iter().map(|t| stem(t).into_owned()).collect(),
            firsts: terms
                .iter()
                .map(|t| t.as_bytes().first().copied().unwrap_or(0))
                .collect(),
        }
    }

    /// Calls `hit(i)` for each term `i` the folded `word` matches.
    fn each_match(&self, word: &str, mut hit: impl FnMut(usize)) {
        let Some(&first) = word.as_bytes().first() else {
            return;
        };
        if !self.firsts.contains(&first) {
            return;
        }
        let mut stemmed: Option<std::borrow::Cow<'_, str>> = None;
        for (i, ((term, f), term_stem)) in self
            .terms
            .iter()
            .zip(&self.firsts)
            .zip(&self.stems)
            .enumerate()
        {
            if *f == first
                && (word == term || stemmed.get_or_insert_with(|| stem(word)).as_ref() == term_stem)
            {
                hit(i);
            }
        }
    }

    /// Whether the folded `word` matches any term.
    pub(crate) fn matches(&self, word: &str) -> bool {
        let mut any = false;
        self.each_match(word, |_| any = true);
        any
    }

    /// Whether a word as written (any case, diacritics) matches any term:
    /// folded only when its first letter could match, so most words of a
    /// text are skipped without a copy.
    pub(crate) fn matches_unfolded(&self, word: &str) -> bool {
        let Some(&first) = word.as_bytes().first() else {
            return false;
        };
        if first.is_ascii() && !self.firsts.contains(&first.to_ascii_lowercase()) {
            return false;
        }
        if word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return self.matches(word);
        }
        self.matches(&fold(word))
    }
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
    terms: Terms<'a>,
    token: String,
    /// Which terms each token seen so far matched (a bit per term, for up
    /// to 64 terms; a query has at most 32): the texts of one window share most of their
    /// words, and stemming is the costly part.
    seen: HashMap<String, u64>,
}

/// Most distinct tokens [`TermCounter`] remembers per search.
const SEEN_CAP: usize = 20_000;

impl<'a> TermCounter<'a> {
    fn new(terms: &'a [String]) -> Self {
        TermCounter {
            terms: Terms::new(terms),
            token: String::new(),
            seen: HashMap::new(),
        }
    }

    /// Adds the count of each term in `text` to `counts`; the number of
    /// tokens.
    fn count(&mut self, text: &str, counts: &mut [f64]) -> usize {
        let (terms, token) = (&self.terms, &mut self.token);
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
            if !terms.firsts.contains(&bytes[start].to_ascii_lowercase()) {
                continue;
            }
            token.clear();
            // ASCII alphanumerics only, so always valid UTF-8.
            token.extend(
                bytes[start..i]
                    .iter()
                    .map(|b| char::from(b.to_ascii_lowercase())),
            );
            if terms.terms.len() > 64 {
                terms.each_match(token, |t| counts[t] += 1.0);
                continue;
            }
            let mask = match self.seen.get(token.as_str()) {
                Some(mask) => *mask,
                None => {
                    let mut mask = 0u64;
                    terms.each_match(token, |t| mask |= 1 << t);
                    if self.seen.len() < SEEN_CAP {
                        self.seen.insert(token.clone(), mask);
                    }
                    mask
                }
            };
            if mask != 0 {
                for (t, count) in counts.iter_mut().enumerate() {
                    if mask & (1 << t) != 0 {
                        *count += 1.0;
                    }
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

/// [`term_counts`] for any text: [`fold`] it, split on what is not
/// alphanumeric.
fn term_counts_unicode(text: &str, terms: &Terms<'_>, counts: &mut [f64]) -> usize {
    let lower = fold(text);
    let mut len = 0;
    for token in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
    {
        len += 1;
        terms.each_match(token, |i| counts[i] += 1.0);
    }
    len
}

/// Scores counted matches with BM25, best first; ties go to the newer
/// post. A term missing from a match's counts counts zero. `newest` is the
/// SQL that reads the newest post id of `table` (the caller knows how the
/// table keys posts), which stands for the number of documents; it is read
/// only when something matched.
pub(crate) fn rank(
    conn: &Conn,
    cache: &DfCache,
    table: &'static str,
    newest: &str,
    terms: &[String],
    matches: Vec<Counted>,
    now_ms: i64,
) -> Result<Vec<(PostId, f64)>> {
    if matches.is_empty() || terms.is_empty() {
        return Ok(matches.into_iter().map(|c| (c.post, 0.0)).collect());
    }
    let n: i64 = conn
        .prepare_cached(newest)?
        .query_row(params![], |r| r.get(0))?;
    let n = n.max(1) as f64;
    let mut idf = Vec::with_capacity(terms.len());
    for t in terms {
        let df = cache.df(conn, table, t, now_ms)? as f64;
        idf.push((1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.01));
    }
    let total_len: u64 = matches.iter().map(|m| m.len).sum();
    let avg = (total_len as f64 / matches.len() as f64).max(1.0);
    let mut scored: Vec<(PostId, f64)> = matches
        .into_iter()
        .map(|m| {
            let norm = K1 * (1.0 - B + B * m.len as f64 / avg);
            let score =
                m.tf.iter()
                    .zip(&idf)
                    .map(|(tf, idf)| idf * tf * (K1 + 1.0) / (tf + norm))
                    .sum();
            (m.post, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_and_diacritics() {
        assert_eq!(fold("Résumé"), "resume");
        assert_eq!(fold("CAFÉ ümlaut Ñandú"), "cafe umlaut nandu");
        assert_eq!(fold("plain ASCII"), "plain ascii");
        let mut c = vec![0.0; 1];
        term_counts("A résumé, a RESUME, a resumé", &["resume".into()], &mut c);
        assert_eq!(c, vec![3.0]);
    }

    #[test]
    fn stems() {
        let matches = |word: &str, term: &str| Terms::new(&[term.to_string()]).matches(word);
        assert!(matches("keys", "key"));
        assert!(matches("rotate", "rotating"));
        assert!(matches("failing", "fails"));
        assert!(!matches("kit", "key"));
        assert!(!matches("a", "api"));
        assert!(!matches("rest", "resume"), "no longer a shared prefix");
        assert!(!matches("", "key"));
        let terms = ["resume".to_string(), "key".to_string()];
        let terms = Terms::new(&terms);
        for (word, expected) in [
            ("Résumé", true),
            ("RESUMES", true),
            ("keys", true),
            ("Keyboard", false),
            ("rest", false),
            ("", false),
            ("ünlaut", false),
        ] {
            assert_eq!(terms.matches_unfolded(word), expected, "{word}");
            assert_eq!(terms.matches(&fold(word)), expected, "{word} folded");
        }
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
        let owned: Vec<Vec<String>> = term_sets
            .iter()
            .map(|set| set.iter().map(|t| t.to_string()).collect())
            .collect();
        // One counter per term set for all texts, as in a search: what it
        // remembers of earlier texts changes no count.
        let mut shared: Vec<TermCounter<'_>> = owned.iter().map(|t| TermCounter::new(t)).collect();
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
            for (terms, counter) in owned.iter().zip(&mut shared) {
                let mut fast = vec![0.0; terms.len()];
                let mut general = vec![0.0; terms.len()];
                let mut remembered = vec![0.0; terms.len()];
                let n = term_counts(&text, terms, &mut fast);
                let m = term_counts_unicode(&text, &Terms::new(terms), &mut general);
                let r = counter.count(&text, &mut remembered);
                assert_eq!((n, &fast), (m, &general), "text {text:?}, terms {terms:?}");
                assert_eq!(
                    (r, &remembered),
                    (m, &general),
                    "text {text:?}, terms {terms:?}"
                );
            }
        }
    }
}
