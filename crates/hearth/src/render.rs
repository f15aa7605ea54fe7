//! Markdown to safe HTML: pulldown-cmark, then an ammonia allowlist.
//!
//! The pipeline is: parse (tables, strikethrough, task lists, footnotes) →
//! reject documents nested deeper than the community allows (sanitizing time
//! grows with nesting) → turn `@mentions` of real members into profile links
//! → HTML → ammonia, built from an empty builder with an explicit allowlist →
//! `rel="nofollow ugc noopener"` on links that leave the site.
//!
//! Rendered HTML is stored with [`RENDER_VERSION`]; when the rules here
//! change, bump it and re-render with
//! [`Forum::rerender_posts`](crate::Forum::rerender_posts).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, Url, UrlRelative};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::community::CommunitySettings;
use crate::error::{Error, Result};

/// The version of the rendering rules. Posts rendered by an older version
/// are re-rendered by [`Forum::rerender_posts`](crate::Forum::rerender_posts).
pub const RENDER_VERSION: i64 = 1;

/// The `rel` value of links that leave the site.
pub const EXTERNAL_REL: &str = "nofollow ugc noopener";

/// Elements that may appear in rendered posts. Nothing else survives.
pub const ALLOWED_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "input",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Attributes allowed per element (plus `rel` on external links, added by
/// the renderer itself).
pub const ALLOWED_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "title", "class"]),
    ("abbr", &["title"]),
    ("code", &["class"]),
    ("div", &["class", "id"]),
    ("img", &["src", "alt", "title", "width", "height"]),
    ("input", &["type", "checked", "disabled"]),
    ("li", &["class"]),
    ("ol", &["start"]),
    ("sup", &["class"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan"]),
];

/// URL schemes that survive in `href` and `src`.
pub const ALLOWED_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// The output of rendering one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Sanitized HTML.
    pub html: String,
    /// Plain text for the search index.
    pub text: String,
    /// Lower-cased usernames mentioned (only ones that exist).
    pub mentions: Vec<String>,
    /// Link targets with whether they stay on the site.
    pub links: Vec<(String, bool)>,
}

/// Renders Markdown to sanitized HTML with a community's settings, without
/// a database: `@mentions` stay plain text. For previews, emails and tools;
/// posts are rendered by the [`Forum`](crate::Forum) itself.
///
/// ```
/// let html = hearth::render_markdown(&hearth::CommunitySettings::default(), "**hi** <script>x</script>")?;
/// assert_eq!(html, "<p><strong>hi</strong> </p>\n");
/// # Ok::<(), hearth::Error>(())
/// ```
pub fn render_markdown(settings: &CommunitySettings, markdown: &str) -> Result<String> {
    Ok(Renderer::new(settings)?
        .render(markdown, &mut |_| Ok(HashSet::new()))?
        .html)
}

/// Sanitizes HTML with the same allowlist as posts. Idempotent on its own
/// output.
pub fn sanitize_html(settings: &CommunitySettings, html: &str) -> Result<String> {
    Ok(Renderer::new(settings)?.sanitize(html))
}

/// A reusable HTML sanitizer with the same allowlist as posts: build it
/// once (tens of microseconds) and [`clean`](Sanitizer::clean) many
/// fragments with it, e.g. every plugin's rendered output.
///
/// ```
/// let s = hearth::Sanitizer::new(&hearth::CommunitySettings::default())?;
/// assert_eq!(s.clean("<p onclick=\"x()\">hi</p><script>x()</script>"), "<p>hi</p>");
/// # Ok::<(), hearth::Error>(())
/// ```
pub struct Sanitizer(Renderer);

impl std::fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Sanitizer").field(&self.0).finish()
    }
}

impl Sanitizer {
    /// A sanitizer for a community's settings (its base URL decides which
    /// links are external).
    pub fn new(settings: &CommunitySettings) -> Result<Sanitizer> {
        Ok(Sanitizer(Renderer::new(settings)?))
    }

    /// Sanitizes `html`. Idempotent on its own output.
    pub fn clean(&self, html: &str) -> String {
        self.0.sanitize(html)
    }
}

/// A renderer configured for one community.
pub(crate) struct Renderer {
    base_url: Option<Url>,
    max_nesting: u32,
    sanitizer: Builder<'static>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("base_url", &self.base_url)
            .field("max_nesting", &self.max_nesting)
            .finish_non_exhaustive()
    }
}

fn attribute_filter<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let ok = match (element, attribute) {
        ("a", "class") => value == "mention",
        ("code", "class") => value.strip_prefix("language-").is_some_and(|l| {
            !l.is_empty()
                && l.len() <= 32
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+#-_.".contains(&b))
        }),
        ("div", "class") => value == "footnote-definition",
        ("div", "id") => value.strip_prefix("fn-").is_some_and(is_safe_label),
        ("li", "class") => value == "task-list-item",
        ("sup", "class") => value == "footnote-reference" || value == "footnote-definition-label",
        ("input", "type") => value == "checkbox",
        ("ol", "start")
        | ("td", "colspan")
        | ("td", "rowspan")
        | ("th", "colspan")
        | ("th", "rowspan")
        | ("img", "width")
        | ("img", "height") => value.len() <= 6 && value.bytes().all(|b| b.is_ascii_digit()),
        _ => true,
    };
    ok.then_some(Cow::Borrowed(value))
}

/// Keeps in-page anchors; resolves other relative URLs against the
/// community's base URL when it has one.
struct ResolveRelative(Option<Url>);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for ResolveRelative {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        if url.starts_with('#') {
            return Some(Cow::Borrowed(url));
        }
        match &self.0 {
            None => Some(Cow::Borrowed(url)),
            Some(base) => base.join(url).ok().map(|u| Cow::Owned(u.into())),
        }
    }
}

fn is_safe_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 64
        && l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Renderer {
    pub(crate) fn new(settings: &CommunitySettings) -> Result<Renderer> {
        let base_url = match settings.base_url.as_deref() {
            None => None,
            Some(s) => Some(
                Url::parse(s)
                    .map_err(|e| Error::invalid("base_url", format!("{s:?} is not a URL: {e}")))?,
            ),
        };
        let mut b = Builder::empty();
        b.tags(ALLOWED_TAGS.iter().copied().collect())
            .clean_content_tags(["script", "style"].into_iter().collect())
            .generic_attributes(HashSet::new())
            .generic_attribute_prefixes(HashSet::new())
            .tag_attributes(
                ALLOWED_ATTRIBUTES
                    .iter()
                    .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect()))
                    .collect(),
            )
            .tag_attribute_values(HashMap::new())
            .allowed_classes(HashMap::new())
            .url_schemes(ALLOWED_SCHEMES.iter().copied().collect())
            .link_rel(None)
            .strip_comments(true)
            .id_prefix(None)
            .attribute_filter(attribute_filter);
        b.url_relative(UrlRelative::Custom(Box::new(ResolveRelative(
            base_url.clone(),
        ))));
        Ok(Renderer {
            base_url,
            max_nesting: settings.limits.max_nesting,
            sanitizer: b,
        })
    }

    /// Renders Markdown. `known` receives the lower-cased candidate
    /// usernames and returns those that are members (to become links).
    pub(crate) fn render(
        &self,
        source: &str,
        known: &mut dyn FnMut(&[String]) -> Result<HashSet<String>>,
    ) -> Result<Rendered> {
        let mut opts = Options::empty();
        opts.insert(Options::ENABLE_TABLES);
        opts.insert(Options::ENABLE_STRIKETHROUGH);
        opts.insert(Options::ENABLE_TASKLISTS);
        opts.insert(Options::ENABLE_FOOTNOTES);
        let events: Vec<Event<'_>> = Parser::new_ext(source, opts).collect();
        check_nesting(&events, self.max_nesting)?;

        // Mentions: collect candidates outside code and links, ask once.
        let mut candidates = Vec::new();
        walk_text(&events, |t| {
            for (_, _, name) in find_mentions(t) {
                candidates.push(name.to_ascii_lowercase());
            }
        });
        candidates.sort();
        candidates.dedup();
        let members = if candidates.is_empty() {
            HashSet::new()
        } else {
            known(&candidates)?
        };

        let mut text = String::new();
        let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len());
        let mut footnotes: HashMap<String, usize> = HashMap::new();
        let mut depth_code_or_link = 0usize;
        for ev in events {
            match ev {
                Event::Start(Tag::CodeBlock(_) | Tag::Link { .. } | Tag::Image { .. }) => {
                    depth_code_or_link += 1;
                    out.push(ev);
                }
                Event::End(TagEnd::CodeBlock | TagEnd::Link | TagEnd::Image) => {
                    depth_code_or_link = depth_code_or_link.saturating_sub(1);
                    out.push(ev);
                    text.push(' ');
                }
                Event::Text(t) => {
                    text.push_str(&t);
                    if depth_code_or_link == 0 && !members.is_empty() {
                        split_mentions(t, &members, &mut out);
                    } else {
                        out.push(Event::Text(t));
                    }
                }
                Event::Code(c) => {
                    text.push_str(&c);
                    out.push(Event::Code(c));
                }
                Event::FootnoteReference(label) => {
                    let next = footnotes.len() + 1;
                    let n = *footnotes.entry(label.to_string()).or_insert(next);
                    let id = footnote_id(&label);
                    out.push(Event::InlineHtml(CowStr::from(format!(
                        "<sup class=\"footnote-reference\"><a href=\"#fn-{id}\">{n}</a></sup>"
                    ))));
                }
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    let next = footnotes.len() + 1;
                    let n = *footnotes.entry(label.to_string()).or_insert(next);
                    let id = footnote_id(&label);
                    out.push(Event::Html(CowStr::from(format!(
                        "<div class=\"footnote-definition\" id=\"fn-{id}\">\
                         <sup class=\"footnote-definition-label\">{n}</sup>"
                    ))));
                }
                Event::End(TagEnd::FootnoteDefinition) => {
                    out.push(Event::Html(CowStr::Borrowed("</div>\n")));
                }
                Event::End(
                    TagEnd::Paragraph
                    | TagEnd::Heading(_)
                    | TagEnd::Item
                    | TagEnd::TableCell
                    | TagEnd::BlockQuote(_),
                )
                | Event::SoftBreak
                | Event::HardBreak => {
                    text.push(' ');
                    out.push(ev);
                }
                other => out.push(other),
            }
        }
        let has_raw_html = out
            .iter()
            .any(|e| matches!(e, Event::Html(_) | Event::InlineHtml(_)));
        let mut html = String::with_capacity(source.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, out.into_iter());
        let (html, links) = self.sanitize_with_links(&html, has_raw_html);
        let mentions = candidates
            .into_iter()
            .filter(|c| members.contains(c))
            .collect();
        Ok(Rendered {
            html,
            text: collapse_whitespace(&text),
            mentions,
            links,
        })
    }

    /// Sanitizes HTML with the post allowlist. Idempotent: cleaning the
    /// output again gives the same output.
    pub(crate) fn sanitize(&self, html: &str) -> String {
        self.sanitize_with_links(html, true).0
    }

    /// Sanitizes; with `untrusted_markup`, repeats until the output is
    /// stable. Mis-nested markup (`<h3>a<h3>b`) can serialize to a tree
    /// that parses differently (found by fuzzing); a second pass settles
    /// it. Markdown-only documents are well-formed and need one pass.
    fn sanitize_with_links(
        &self,
        html: &str,
        untrusted_markup: bool,
    ) -> (String, Vec<(String, bool)>) {
        let mut clean = self.sanitizer.clean(html).to_string();
        if untrusted_markup {
            for _ in 0..3 {
                let again = self.sanitizer.clean(&clean).to_string();
                if again == clean {
                    break;
                }
                clean = again;
            }
        }
        self.add_rel(&clean)
    }

    /// Adds `rel` to links that leave the site and collects link targets.
    fn add_rel(&self, html: &str) -> (String, Vec<(String, bool)>) {
        let mut links = Vec::new();
        let out = add_rel_where(html, |tag| {
            let Some(href) = attr_value(tag, "href") else {
                return false;
            };
            let href = href.replace("&amp;", "&");
            let internal = self.is_internal(&href);
            links.push((href, internal));
            !internal
        });
        (out, links)
    }

    fn is_internal(&self, href: &str) -> bool {
        if href.starts_with("//") {
            return self.same_host(&format!("https:{href}"));
        }
        match Url::parse(href) {
            Err(_) => true, // relative: stays on the site
            Ok(u) if u.scheme() == "mailto" => true,
            Ok(_) => self.same_host(href),
        }
    }

    fn same_host(&self, href: &str) -> bool {
        match (&self.base_url, Url::parse(href)) {
            (Some(base), Ok(u)) => u.host_str().is_some() && u.host_str() == base.host_str(),
            _ => false,
        }
    }
}

/// Index of the `>` closing the tag that starts `s`, skipping quoted values.
/// Marks every link in sanitized HTML `rel="nofollow ugc noopener"`,
/// internal ones too (a watched word's `Nofollow` action). Links that
/// already carry `rel` (external ones) are left as they are.
pub(crate) fn nofollow_all(html: &str) -> String {
    add_rel_where(html, |tag| attr_value(tag, "rel").is_none())
}

/// Adds `rel="nofollow ugc noopener"` to each anchor tag for which `pick`
/// (given the tag without its closing `>`) says so.
///
/// Works on ammonia's serialisation, where every literal `<a ` starts an
/// anchor tag (text `<` is escaped) and attribute values are double-quoted
/// with `"` escaped.
fn add_rel_where(html: &str, mut pick: impl FnMut(&str) -> bool) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(start) = rest.find("<a ") {
        out.push_str(&rest[..start]);
        let tag_and_after = &rest[start..];
        let Some(end) = tag_end(tag_and_after) else {
            out.push_str(tag_and_after);
            return out;
        };
        let tag = &tag_and_after[..end];
        out.push_str(tag);
        if pick(tag) {
            out.push_str(" rel=\"");
            out.push_str(EXTERNAL_REL);
            out.push('"');
        }
        out.push('>');
        rest = &tag_and_after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn tag_end(s: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'"' => in_quote = !in_quote,
            b'>' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

fn attr_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn footnote_id(label: &str) -> String {
    let id: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() { "x".into() } else { id }
}

/// Rejects documents nested deeper than `max` (block quotes, lists, raw
/// HTML elements).
fn check_nesting(events: &[Event<'_>], max: u32) -> Result<()> {
    let mut depth: i64 = 0;
    let mut html_depth: i64 = 0;
    let mut deepest: i64 = 0;
    for ev in events {
        match ev {
            Event::Start(Tag::BlockQuote(_) | Tag::List(_)) => depth += 1,
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_)) => depth -= 1,
            Event::Html(h) | Event::InlineHtml(h) => {
                html_depth = (html_depth + html_depth_delta(h)).max(0);
            }
            _ => {}
        }
        deepest = deepest.max(depth + html_depth);
        if deepest > i64::from(max) {
            return Err(Error::invalid(
                "body",
                format!("nested more than {max} levels deep (quotes, lists or HTML elements)"),
            ));
        }
    }
    Ok(())
}

/// Opening minus closing tags in a raw HTML fragment, ignoring void and
/// self-closing elements and the ones browsers close implicitly.
fn html_depth_delta(h: &str) -> i64 {
    const NOT_NESTING: &[&str] = &[
        "br", "hr", "img", "input", "wbr", "meta", "link", "area", "base", "col", "embed",
        "source", "track", "param", "p", "li", "td", "th", "tr", "dt", "dd", "option",
    ];
    let bytes = h.as_bytes();
    let mut delta = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let closing = bytes.get(i + 1) == Some(&b'/');
            let name_start = i + 1 + usize::from(closing);
            let name_len = bytes[name_start..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if name_len > 0 {
                let name = h[name_start..name_start + name_len].to_ascii_lowercase();
                let self_closing = bytes[name_start + name_len..]
                    .iter()
                    .position(|&b| b == b'>')
                    .is_some_and(|p| p > 0 && bytes[name_start + name_len + p - 1] == b'/');
                if !NOT_NESTING.contains(&name.as_str()) && !self_closing {
                    delta += if closing { -1 } else { 1 };
                }
            }
            i = name_start + name_len;
        } else {
            i += 1;
        }
    }
    delta
}

fn walk_text(events: &[Event<'_>], mut f: impl FnMut(&str)) {
    let mut skip = 0usize;
    for ev in events {
        match ev {
            Event::Start(Tag::CodeBlock(_) | Tag::Link { .. } | Tag::Image { .. }) => skip += 1,
            Event::End(TagEnd::CodeBlock | TagEnd::Link | TagEnd::Image) => {
                skip = skip.saturating_sub(1)
            }
            Event::Text(t) if skip == 0 => f(t),
            _ => {}
        }
    }
}

/// `(start, end, name)` of each `@name` in `text`.
pub(crate) fn find_mentions(text: &str) -> Vec<(usize, usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'@'
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || b"_.-".contains(&bytes[end]))
            {
                end += 1;
            }
            while end > start && b".-".contains(&bytes[end - 1]) {
                end -= 1;
            }
            if end > start && (bytes[start].is_ascii_alphanumeric() || bytes[start] == b'_') {
                out.push((i, end, &text[start..end]));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn split_mentions<'a>(t: CowStr<'a>, members: &HashSet<String>, out: &mut Vec<Event<'a>>) {
    let found: Vec<(usize, usize, String)> = find_mentions(&t)
        .into_iter()
        .map(|(s, e, n)| (s, e, n.to_string()))
        .filter(|(_, _, n)| members.contains(&n.to_ascii_lowercase()))
        .collect();
    if found.is_empty() {
        out.push(Event::Text(t));
        return;
    }
    let mut last = 0;
    for (start, end, name) in found {
        if start > last {
            out.push(Event::Text(CowStr::from(t[last..start].to_string())));
        }
        // Usernames are [A-Za-z0-9_.-]: nothing to escape.
        out.push(Event::InlineHtml(CowStr::from(format!(
            "<a class=\"mention\" href=\"/u/{lower}\">@{name}</a>",
            lower = name.to_ascii_lowercase()
        ))));
        last = end;
    }
    if last < t.len() {
        out.push(Event::Text(CowStr::from(t[last..].to_string())));
    }
}

fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renderer(base: Option<&str>) -> Renderer {
        let s = CommunitySettings {
            base_url: base.map(str::to_string),
            ..CommunitySettings::default()
        };
        Renderer::new(&s).expect("renderer")
    }

    fn render(md: &str) -> Rendered {
        renderer(Some("https://forum.example.com/"))
            .render(md, &mut |c| {
                Ok(c.iter().filter(|n| *n == "bob").cloned().collect())
            })
            .expect("render")
    }

    #[test]
    fn basic_markdown() {
        let r = render("# Hi\n\n*em* **strong** ~~gone~~\n\n- [x] done\n");
        assert!(r.html.contains("<h1>Hi</h1>"), "{}", r.html);
        assert!(r.html.contains("<em>em</em>"));
        assert!(r.html.contains("<del>gone</del>"));
        assert!(r.html.contains("type=\"checkbox\""), "{}", r.html);
        assert_eq!(r.text, "Hi em strong gone done");
    }

    #[test]
    fn scripts_and_handlers_are_removed() {
        let r = render(
            "<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">x</a><p style=\"color:red\">s</p>",
        );
        assert!(!r.html.contains("script"), "{}", r.html);
        assert!(!r.html.contains("onerror"));
        assert!(!r.html.contains("javascript"));
        assert!(!r.html.contains("style"));
    }

    #[test]
    fn external_links_get_rel_internal_do_not() {
        let r =
            render("[out](https://evil.example/) [in](/t/1) [same](https://forum.example.com/x)");
        assert!(
            r.html.contains(
                "<a href=\"https://evil.example/\" rel=\"nofollow ugc noopener\">out</a>"
            ),
            "{}",
            r.html
        );
        assert!(
            r.html
                .contains("<a href=\"https://forum.example.com/t/1\">in</a>"),
            "{}",
            r.html
        );
        assert!(
            r.html
                .contains("<a href=\"https://forum.example.com/x\">same</a>")
        );
        assert_eq!(r.links.len(), 3);
        assert!(!r.links[0].1 && r.links[1].1 && r.links[2].1);
    }

    #[test]
    fn relative_links_pass_through_without_base() {
        let r = renderer(None)
            .render(
                "[in](/t/1) [scheme-relative](//evil.example/x)",
                &mut |_| Ok(HashSet::new()),
            )
            .expect("render");
        assert!(r.html.contains("<a href=\"/t/1\">in</a>"), "{}", r.html);
        assert!(
            r.html
                .contains("href=\"//evil.example/x\" rel=\"nofollow ugc noopener\""),
            "{}",
            r.html
        );
    }

    #[test]
    fn mentions_link_only_members() {
        let r = render("hi @Bob and @carol, mail me@x.org `@bob`");
        assert!(
            r.html
                .contains("<a class=\"mention\" href=\"https://forum.example.com/u/bob\">@Bob</a>"),
            "{}",
            r.html
        );
        assert!(r.html.contains("@carol"));
        assert!(!r.html.contains("/u/carol"));
        assert_eq!(r.mentions, vec!["bob".to_string()]);
    }

    #[test]
    fn footnotes_have_prefixed_ids() {
        let r = render("text[^a]\n\n[^a]: note\n");
        assert!(r.html.contains("href=\"#fn-a\""), "{}", r.html);
        assert!(r.html.contains("id=\"fn-a\""), "{}", r.html);
    }

    #[test]
    fn user_ids_and_classes_are_dropped() {
        let r = render("<div id=\"login\" class=\"admin-panel\">x</div>");
        assert_eq!(r.html, "<div>x</div>");
    }

    #[test]
    fn nesting_is_capped() {
        let deep = ">".repeat(40) + " x";
        let err = render_err(&deep);
        assert!(matches!(err, Error::Invalid { field: "body", .. }));
        let deep_html = "<div>".repeat(40) + "x";
        assert!(matches!(render_err(&deep_html), Error::Invalid { .. }));
        let ok = "<p>a<p>b<p>c<br><br><br>".repeat(20);
        render(&ok);
    }

    fn render_err(md: &str) -> Error {
        renderer(None)
            .render(md, &mut |_| Ok(HashSet::new()))
            .expect_err("should fail")
    }

    #[test]
    fn misnested_headings_settle() {
        // Found by fuzzing (docs/reliability.md): h3 inside h3 re-parses flat.
        let r = renderer(None);
        let out = r
            .render("@=<h3>>@@3>>@@=<l3>>=<h3>>", &mut |_| Ok(HashSet::new()))
            .expect("render");
        assert_eq!(r.sanitize(&out.html), out.html);
    }

    #[test]
    fn sanitize_is_idempotent_on_output() {
        let r = render(
            "[out](https://evil.example/?a=1&b=2) @bob `x` | a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        let again = renderer(Some("https://forum.example.com/")).sanitize(&r.html);
        assert_eq!(again, r.html);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Checks sanitized output: every element and attribute on the
    /// allowlist, no handlers or styles, only allowed URL schemes.
    fn check_allowlist(html: &str) -> std::result::Result<(), String> {
        let bytes = html.as_bytes();
        let mut i = 0;
        while let Some(off) = html[i..].find('<') {
            let start = i + off;
            let end = start + tag_end(&html[start..]).ok_or("unterminated tag")?;
            let tag = &html[start + 1..end];
            i = end + 1;
            let tag = tag.strip_prefix('/').unwrap_or(tag);
            let name_len = tag
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let name = &tag[..name_len];
            if !ALLOWED_TAGS.contains(&name) {
                return Err(format!("element {name:?} in {html:?}"));
            }
            let allowed = ALLOWED_ATTRIBUTES
                .iter()
                .find(|(t, _)| *t == name)
                .map(|(_, a)| *a)
                .unwrap_or(&[]);
            let mut rest = tag[name_len..].trim_start();
            while !rest.is_empty() && rest != "/" {
                let eq = rest.find(['=', ' ']).unwrap_or(rest.len());
                let attr = &rest[..eq];
                let mut value = "";
                if rest[eq..].starts_with("=\"") {
                    let vstart = eq + 2;
                    let vlen = rest[vstart..].find('"').ok_or("unquoted value")?;
                    value = &rest[vstart..vstart + vlen];
                    rest = rest[vstart + vlen + 1..].trim_start();
                } else {
                    rest = rest[eq..].trim_start();
                }
                let lower = attr.to_ascii_lowercase();
                if lower.starts_with("on") || lower == "style" {
                    return Err(format!("attribute {attr:?} in {html:?}"));
                }
                let ok = allowed.contains(&lower.as_str()) || (name == "a" && lower == "rel");
                if !ok {
                    return Err(format!("attribute {attr:?} on {name} in {html:?}"));
                }
                if lower == "href" || lower == "src" {
                    let v = value.replace("&amp;", "&");
                    if let Some(colon) = v.find(':') {
                        let before = &v[..colon];
                        if !before.contains(['/', '?', '#']) {
                            let scheme = before.to_ascii_lowercase();
                            if !ALLOWED_SCHEMES.contains(&scheme.as_str()) {
                                return Err(format!("scheme {scheme:?} in {html:?}"));
                            }
                        }
                    }
                }
            }
        }
        let _ = bytes;
        Ok(())
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("<script>alert(1)</script>".to_string()),
            Just("<img src=x onerror=alert(1)>".to_string()),
            Just("[x](javascript:alert(1))".to_string()),
            Just("[x](JaVaScRiPt:alert(1))".to_string()),
            Just("<a href=\"data:text/html,<b>x\">d</a>".to_string()),
            Just("<a href=\"vbscript:x\" onclick=\"y\">v</a>".to_string()),
            Just("![i](data:image/png;base64,AAAA)".to_string()),
            Just("<svg><circle onload=alert(1)/></svg>".to_string()),
            Just("<math><mi xlink:href=\"javascript:1\">x</mi></math>".to_string()),
            Just("<style>body{}</style>".to_string()),
            Just("<p style=\"color:red\" class=\"admin\" id=\"x\">p</p>".to_string()),
            Just("<cite>c</cite><iframe src=\"https://x\"></iframe>".to_string()),
            Just("<div id=\"fn-ok\" class=\"footnote-definition\">f</div>".to_string()),
            Just("<input type=\"text\" value=\"x\">".to_string()),
            Just("<code class=\"language-rust\" data-x=1>c</code>".to_string()),
            Just("<!-- comment -->".to_string()),
            Just("[^n]\n\n[^n]: note".to_string()),
            Just("| a | b |\n|:--|--:|\n| 1 | 2 |".to_string()),
            Just("- [ ] task".to_string()),
            Just("> quote\n> > nested".to_string()),
            Just("@bob @carol".to_string()),
            Just("<a href=\"//evil.example\">s</a>".to_string()),
            Just("<a href=\"/relative?a=1&b=2\">r</a>".to_string()),
            Just("\n\n".to_string()),
            "[ -~]{0,24}",
            "\\PC{0,12}",
        ]
    }

    fn document() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn rendered_html_stays_inside_the_allowlist(doc in document(), base in prop::bool::ANY) {
            let mut s = CommunitySettings::default();
            if base {
                s.base_url = Some("https://forum.example.com/".into());
            }
            let r = Renderer::new(&s).expect("renderer");
            if let Ok(out) = r.render(&doc, &mut |c| Ok(c.iter().filter(|n| *n == "bob").cloned().collect())) {
                if let Err(e) = check_allowlist(&out.html) {
                    return Err(TestCaseError::fail(e));
                }
                prop_assert_eq!(r.sanitize(&out.html), out.html.clone(), "idempotent");
            }
        }

        #[test]
        fn raw_html_sanitizes_inside_the_allowlist(doc in document()) {
            let r = Renderer::new(&CommunitySettings::default()).expect("renderer");
            let once = r.sanitize(&doc);
            if let Err(e) = check_allowlist(&once) {
                return Err(TestCaseError::fail(e));
            }
            prop_assert_eq!(r.sanitize(&once), once.clone());
        }
    }

    #[test]
    fn checker_catches_violations() {
        assert!(check_allowlist("<script>").is_err());
        assert!(check_allowlist("<p onclick=\"x\">").is_err());
        assert!(check_allowlist("<a href=\"javascript:x\">").is_err());
        assert!(check_allowlist("<p style=\"x\">").is_err());
        assert!(
            check_allowlist("<a href=\"https://x\" rel=\"nofollow ugc noopener\">x</a>").is_ok()
        );
    }
}

/// HTML-escapes plain text (`& < > " '`).
pub(crate) fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
