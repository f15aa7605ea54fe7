//! The one rule for HTML in API answers.
//!
//! Discourse's clients insert some JSON fields into their pages as HTML
//! (`cooked`, `fancy_title`, `topic_title_headline`, `blurb`, `excerpt`,
//! `bio_cooked`, a category's or badge's `description`…) and show the rest
//! as text. In Hearth's shapes every field a client renders as HTML has the
//! type [`SafeHtml`], and a `SafeHtml` can only be made two ways:
//!
//! - by escaping text ([`SafeHtml::escape`]), for everything members typed
//!   as plain text (titles, names, descriptions);
//! - from what the engine's sanitizer or escaper produced
//!   ([`SafeHtml::post`], [`SafeHtml::snippet`]).
//!
//! There is no `From<String>`, no `Deserialize` and no public field, so a
//! title can't reach an HTML field raw without the compiler noticing. Text
//! fields (`title`, `name`, `raw`, `username`…) stay plain strings: clients
//! escape those themselves.

use hearth::{Post, SearchHit};
use serde::Serialize;

/// HTML that is safe to insert into a page: escaped text or sanitizer output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct SafeHtml(String);

impl SafeHtml {
    /// Plain text as HTML: `& < > " '` escaped.
    pub(crate) fn escape(text: &str) -> SafeHtml {
        SafeHtml(crate::templates::escape(text))
    }

    /// Plain text as one HTML paragraph (Discourse's `bio_cooked` for a
    /// plain-text bio).
    pub(crate) fn paragraph(text: &str) -> SafeHtml {
        SafeHtml(format!("<p>{}</p>", crate::templates::escape(text)))
    }

    /// A post's HTML: the engine renders every post through its allowlist
    /// sanitizer before storing it (`hearth::sanitize_html`'s rules).
    pub(crate) fn post(p: &Post) -> SafeHtml {
        SafeHtml(p.html.clone())
    }

    /// A bio the engine rendered ([`hearth::Forum::render_bio`]: the
    /// post renderer and its sanitizer).
    pub(crate) fn bio(rendered: &str) -> SafeHtml {
        SafeHtml(rendered.to_owned())
    }

    /// A search hit's excerpt: escaped by the engine, with the matches in
    /// `<mark>`.
    pub(crate) fn snippet(h: &SearchHit) -> SafeHtml {
        SafeHtml(h.snippet.clone())
    }

    /// The HTML as a string.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_every_html_metacharacter() {
        let h = SafeHtml::escape("<img src=x onerror=alert(1)> & \"q\" 'a'");
        assert_eq!(
            h.as_str(),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#39;a&#39;"
        );
        assert_eq!(
            serde_json::to_string(&SafeHtml::paragraph("<b>"))
                .ok()
                .as_deref(),
            Some("\"<p>&lt;b&gt;</p>\"")
        );
    }
}
