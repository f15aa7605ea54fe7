//! Validation and normalisation of short texts: titles, slugs, tags, usernames.

use crate::error::{Error, Problem, Result};

/// Names no one may register: they collide with routes or impersonate staff.
pub const RESERVED_USERNAMES: &[&str] = &[
    "about",
    "admin",
    "administrator",
    "all",
    "anonymous",
    "api",
    "everyone",
    "faq",
    "guidelines",
    "here",
    "hearth",
    "login",
    "logout",
    "me",
    "moderator",
    "mod",
    "new",
    "null",
    "owner",
    "privacy",
    "root",
    "search",
    "signup",
    "staff",
    "support",
    "system",
    "terms",
    "u",
    "user",
    "users",
    "webmaster",
];

/// Checks a username: 3 to 20 characters of `A-Z a-z 0-9 _ . -`, starting
/// with a letter, digit or underscore, not ending in `.` or `-`, no two
/// special characters in a row, not a reserved name, not all digits.
///
/// ```
/// assert!(hearth::validate_username("jane_doe").is_ok());
/// assert!(hearth::validate_username("admin").is_err());
/// assert!(hearth::validate_username("a..b").is_err());
/// ```
pub fn validate_username(name: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::invalid("username", reason.to_string()));
    let len = name.chars().count();
    if !(3..=20).contains(&len) {
        let problem = if len < 3 {
            Problem::TooShort { min: 3 }
        } else {
            Problem::TooLong { max: 20 }
        };
        return Err(Error::invalid_as(
            "username",
            problem,
            "must be 3 to 20 characters long",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return bad("may only contain letters, digits, '_', '.' and '-'");
    }
    let first = name.as_bytes()[0];
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return bad("must start with a letter, digit or '_'");
    }
    if name.ends_with(['.', '-']) {
        return bad("must not end with '.' or '-'");
    }
    if name
        .as_bytes()
        .windows(2)
        .any(|w| b"_.-".contains(&w[0]) && b"_.-".contains(&w[1]))
    {
        return bad("must not have two special characters in a row");
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return bad("must not be all digits");
    }
    if RESERVED_USERNAMES.contains(&name.to_ascii_lowercase().as_str()) {
        return bad("is reserved");
    }
    Ok(())
}

/// Bytes as lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Trims a title (runs of whitespace, line breaks included, become one
/// space) and checks its characters and length.
pub(crate) fn clean_title(title: &str, min: u32, max: u32) -> Result<String> {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    check_chars("title", &t, Lines::One)?;
    let n = t.chars().count();
    if n < min as usize || n > max as usize {
        return Err(Error::invalid_as(
            "title",
            length_problem(n, min as usize, max as usize),
            format!("must be {min} to {max} characters after trimming (got {n})"),
        ));
    }
    Ok(t)
}

/// Checks a Markdown body: size, characters (tab, newline and carriage
/// return are the only controls a body keeps; no NUL, no noncharacters).
pub(crate) fn check_body(body: &str, min_chars: u32, max_bytes: u32) -> Result<()> {
    if body.len() > max_bytes as usize {
        return Err(Error::invalid_as(
            "body",
            Problem::TooLong {
                max: u64::from(max_bytes),
            },
            format!("must be at most {max_bytes} bytes (got {})", body.len()),
        ));
    }
    check_chars("body", body, Lines::Many)?;
    let trimmed = body.trim();
    // A character takes at most four bytes: a long enough body needs no
    // count.
    if trimmed.len() / 4 >= min_chars as usize {
        return Ok(());
    }
    let n = trimmed.chars().count();
    if n < min_chars as usize {
        return Err(Error::invalid_as(
            "body",
            Problem::TooShort {
                min: u64::from(min_chars),
            },
            format!("must be at least {min_chars} characters (got {n})"),
        ));
    }
    Ok(())
}

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    /// Names, titles, settings: no control character at all.
    One,
    /// Bodies, bios, descriptions, notes: tab, newline and carriage
    /// return allowed.
    Many,
}

/// Whether byte `b` is an ASCII character [`forbidden`] allows.
fn plain_ascii(b: u8, lines: Lines) -> bool {
    (0x20..0x7f).contains(&b) || (lines == Lines::Many && matches!(b, b'\t' | b'\n' | b'\r'))
}

/// Why `c` may not appear in text, if it may not.
fn forbidden(c: char, lines: Lines) -> Option<&'static str> {
    match c {
        '\0' => Some("NUL characters"),
        '\t' | '\n' | '\r' if lines == Lines::Many => None,
        c if c.is_control() => Some("control characters (C0, DEL, C1)"),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' if lines == Lines::One => {
            Some("bidirectional overrides or isolates")
        }
        c if crate::render::is_noncharacter(c) => Some("Unicode noncharacters"),
        _ => None,
    }
}

/// Refuses control characters (all of them in one-line texts; all but tab
/// and line breaks in others), bidirectional overrides in one-line texts,
/// and Unicode noncharacters; the error names the first offender.
pub(crate) fn check_chars(field: &'static str, value: &str, lines: Lines) -> Result<()> {
    // Printable ASCII, and tab and line breaks where lines are allowed,
    // needs no closer look: one pass over the bytes, without decoding
    // characters (most posts are ASCII; this was 4 % of a reply).
    if value.bytes().all(|b| plain_ascii(b, lines)) {
        return Ok(());
    }
    for (i, c) in value.char_indices() {
        if let Some(what) = forbidden(c, lines) {
            return Err(Error::invalid_as(
                field,
                Problem::Characters,
                format!(
                    "must not contain {what} (found U+{:04X} at byte {i}); remove it",
                    c as u32
                ),
            ));
        }
    }
    Ok(())
}

/// A URL-friendly form of a title: lower-case ASCII words joined by `-`,
/// at most 80 characters; `"topic"` if nothing is left.
///
/// ```
/// assert_eq!(hearth::slugify("How do I reset my password?"), "how-do-i-reset-my-password");
/// assert_eq!(hearth::slugify("???"), "topic");
/// ```
pub fn slugify(title: &str) -> String {
    let slug = slug_words(title, 80);
    if slug.is_empty() {
        "topic".into()
    } else {
        slug
    }
}

/// `text`'s lower-case ASCII words joined by `-`, whole words only, at most
/// `max` bytes; empty if it has none.
pub(crate) fn slug_words(text: &str, max: usize) -> String {
    let mut slug = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if slug.len() + word.len() + 1 > max {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    slug
}

/// Normalises tags (lower-case, `a-z 0-9 -`), removes duplicates, checks counts.
pub(crate) fn clean_tags(tags: &[String], max_tags: u32, max_len: u32) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.trim().to_lowercase().replace([' ', '_'], "-");
        if t.is_empty() {
            continue;
        }
        if !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(Error::invalid(
                "tags",
                format!("{tag:?}: tags may only contain letters, digits and '-'"),
            ));
        }
        if t.len() > max_len as usize {
            return Err(Error::invalid_as(
                "tags",
                Problem::TooLong {
                    max: u64::from(max_len),
                },
                format!("{tag:?} is longer than {max_len} characters"),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > max_tags as usize {
        return Err(Error::invalid_as(
            "tags",
            Problem::TooMany {
                max: u64::from(max_tags),
            },
            format!("at most {max_tags} tags (got {})", out.len()),
        ));
    }
    Ok(out)
}

/// Checks a free-text field that may span lines (descriptions, bios,
/// reasons, notes): its characters and length.
pub(crate) fn check_len(field: &'static str, value: &str, min: usize, max: usize) -> Result<()> {
    check_chars(field, value, Lines::Many)?;
    check_count(field, value, min, max)
}

/// Checks a one-line name (display names, category, group, badge and
/// community names, icons): no control character at all, no
/// bidirectional override, and its length.
pub(crate) fn check_name(field: &'static str, value: &str, min: usize, max: usize) -> Result<()> {
    check_chars(field, value, Lines::One)?;
    check_count(field, value, min, max)
}

fn check_count(field: &'static str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.trim().chars().count();
    if n < min || n > max {
        return Err(Error::invalid_as(
            field,
            length_problem(n, min, max),
            format!("must be {min} to {max} characters (got {n})"),
        ));
    }
    Ok(())
}

/// Which end of `min..=max` a length `n` outside it missed.
fn length_problem(n: usize, min: usize, max: usize) -> Problem {
    if n < min {
        Problem::TooShort { min: min as u64 }
    } else {
        Problem::TooLong { max: max as u64 }
    }
}

/// Checks a slug for communities and categories: 1 to 50 of `a-z 0-9 -`.
/// An absolute http(s) URL of at most 2,000 bytes, without spaces.
pub(crate) fn check_url(field: &'static str, url: &str) -> Result<()> {
    if url.len() > 2000
        || !(url.starts_with("https://") || url.starts_with("http://"))
        || url
            .chars()
            .any(|c| c.is_whitespace() || forbidden(c, Lines::One).is_some())
    {
        return Err(Error::invalid(
            field,
            "must be an http(s) URL of at most 2,000 bytes",
        ));
    }
    Ok(())
}

/// An image's address: an absolute http(s) URL as [`check_url`], or a
/// path on this site (`/uploads/…`, one leading slash: `//host` would be
/// another site).
pub(crate) fn check_image_url(field: &'static str, url: &str) -> Result<()> {
    if let Some(rest) = url.strip_prefix('/') {
        if rest.starts_with(['/', '\\'])
            || url.len() > 2000
            || url
                .chars()
                .any(|c| c.is_whitespace() || forbidden(c, Lines::One).is_some())
        {
            return Err(Error::invalid(
                field,
                "must be an http(s) URL or a path on this site",
            ));
        }
        return Ok(());
    }
    check_url(field, url)
}

pub(crate) fn check_slug(field: &'static str, slug: &str) -> Result<()> {
    if slug.is_empty()
        || slug.len() > 50
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || slug.starts_with('-')
        || slug.ends_with('-')
    {
        return Err(Error::invalid(
            field,
            "1 to 50 of a-z, 0-9 and '-', not starting or ending with '-'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_s_length_is_counted_in_characters_at_the_boundary() {
        for (c, width) in [('a', 1), ('é', 2), ('€', 3), ('😀', 4)] {
            for min in [1u32, 3, 10] {
                let exact: String = std::iter::repeat_n(c, min as usize).collect();
                assert!(
                    check_body(&exact, min, 1000).is_ok(),
                    "{width} bytes × {min}"
                );
                let short: String = std::iter::repeat_n(c, min as usize - 1).collect();
                let padded = format!("  {short}\n\n");
                assert!(
                    check_body(&padded, min, 1000).is_err(),
                    "{width} bytes × {min} - 1"
                );
            }
        }
    }

    #[test]
    fn the_ascii_shortcut_allows_only_what_the_full_check_allows() {
        for lines in [Lines::One, Lines::Many] {
            for b in 0..=0x7fu8 {
                let full = forbidden(char::from(b), lines).is_none();
                // The shortcut takes exactly the ASCII the full check allows.
                assert_eq!(plain_ascii(b, lines), full, "{b:#04x} {lines:?}");
                let text = format!("ok {} ok", char::from(b));
                assert_eq!(check_chars("t", &text, lines).is_ok(), full, "{b:#04x}");
            }
        }
        // Past the first non-ASCII character, the full check still runs.
        assert!(check_chars("t", "héllo \u{1}", Lines::Many).is_err());
        assert!(check_chars("t", "héllo \u{FFFE}", Lines::Many).is_err());
        assert!(check_chars("t", "héllo\n", Lines::Many).is_ok());
    }

    #[test]
    fn image_urls_are_this_site_s_paths_or_http() {
        for ok in [
            "/uploads/ab.png",
            "https://cdn.example.com/a.png",
            "http://x.test/a",
        ] {
            assert!(check_image_url("a", ok).is_ok(), "{ok}");
        }
        for bad in [
            "//evil.test/a.png",
            "/\\evil.test",
            "javascript:alert(1)",
            "/a b",
            "data:image/png;base64,AA",
            "",
        ] {
            assert!(check_image_url("a", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        for ok in ["abc", "jane_doe", "j.doe", "_x1", "A-b-c", "user123"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "a234567890123456789012",
            "jane doe",
            "-abc",
            "abc.",
            "a__b",
            "123",
            "Admin",
            "héllo",
            "",
        ] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn titles() {
        assert_eq!(
            clean_title("  Hello   world ", 3, 255).ok().as_deref(),
            Some("Hello world")
        );
        assert!(clean_title("  a ", 3, 255).is_err());
        assert!(clean_title(&"é".repeat(256), 3, 255).is_err());
        assert!(clean_title(&"é".repeat(255), 3, 255).is_ok());
    }

    #[test]
    fn tags() {
        let t = clean_tags(
            &["Billing".into(), "billing".into(), "api keys".into()],
            5,
            30,
        );
        assert_eq!(
            t.ok(),
            Some(vec!["billing".to_string(), "api-keys".to_string()])
        );
        assert!(clean_tags(&["<b>".into()], 5, 30).is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Ünïcode and C++ tips!"), "n-code-and-c-tips");
        assert!(check_slug("slug", "support").is_ok());
        assert!(check_slug("slug", "Sup port").is_err());
    }
}
