//! Markdown to safe HTML: pulldown-cmark, then an ammonia allowlist.
//!
//! The pipeline is: parse (tables, strikethrough, task lists, footnotes) →
//! reject documents the HTML parser would build too deep or too large
//! (sanitizing time grows with both; see [`check_budget`]) → replace the
//! renderer's own markup (task checkboxes, footnotes, `@mention` links of
//! real members) with placeholders → HTML → ammonia with the *author*
//! allowlist (no `input`, `id` or `class` but a code block's language) →
//! the placeholders become the renderer's markup → `rel="nofollow ugc
//! noopener"` on links that leave the site.
//!
//! So an author can't write a form control, an `id` (DOM clobbering) or a
//! class the site's styles or scripts give meaning to: only the renderer
//! makes those ([`ALLOWED_TAGS`] and [`ALLOWED_ATTRIBUTES`] describe the
//! output; [`sanitize_html`] and [`Sanitizer`] apply the author allowlist).
//!
//! Fenced blocks a hook claims (```` ```poll ````, see
//! [`Hooks::markup_syntaxes`](crate::Hooks::markup_syntaxes)) are rendered
//! by their owner — one call per post and owner — and its HTML, sanitized
//! with the owner's allowlist ([`Sanitizer::for_markup`]), is the
//! renderer's markup too, in a `<div class="hearth-markup-<owner>">`. A
//! block no hook renders stays a code block.
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
use crate::hooks::{MarkupBlock, MarkupOutput, MarkupSyntax, markup_fence_ok};

/// The version of the rendering rules. Posts rendered by an older version
/// are re-rendered by [`Forum::rerender_posts`](crate::Forum::rerender_posts).
pub const RENDER_VERSION: i64 = 2;

/// The `rel` value of links that leave the site.
pub const EXTERNAL_REL: &str = "nofollow ugc noopener";

/// Elements that may appear in rendered posts. Nothing else survives,
/// `input` only as the renderer's own disabled task-list checkbox, and
/// `span` only in a Markdown extension's block.
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
    "span",
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

/// Attributes that may appear per element in rendered posts (plus `rel` on
/// external links, and on any element a Markdown extension's classes under
/// `<owner>-`). `id`, `class` and `input` come only from the renderer:
/// authors' HTML keeps just a code block's `language-*` class.
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
    /// The fenced blocks' syntaxes and who rendered them, sorted:
    /// `|poll=polls@1.2.0|rust=|` (`rust` blocks shown as code). Stored with
    /// the post, so the posts a new version of an extension must render
    /// again can be found. Empty when the post has no fenced block with an
    /// info string.
    pub markup: String,
    /// Names (SHA-256) of uploads the source refers to, wherever they
    /// appear (an image, a link, even a code block: kept rather than
    /// swept).
    pub uploads: Vec<String>,
}

impl Rendered {
    /// Whether the post shows nothing: outside its tags, the HTML holds
    /// only whitespace (`&nbsp;` too) and invisible format characters
    /// (zero-width spaces and joiners, soft hyphens, direction marks,
    /// variation selectors), and it has no image, rule or checkbox.
    pub(crate) fn is_blank(&self) -> bool {
        if ["<img", "<hr", "<input"]
            .iter()
            .any(|t| self.html.contains(t))
        {
            return false;
        }
        let mut in_tag = false;
        let mut rest = self.html.as_str();
        while let Some(c) = rest.chars().next() {
            if !in_tag && rest.starts_with("&nbsp;") {
                rest = &rest[6..];
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                _ if in_tag || c.is_whitespace() || is_invisible(c) => {}
                _ => return false,
            }
        }
        true
    }
}

/// Format and filler characters that render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{E0000}'..='\u{E0FFF}')
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

    /// A sanitizer for one plugin's HTML: what posts allow, plus `span`,
    /// `class` values under the plugin's own prefix (`<plugin>-…`, other
    /// classes are dropped) on any element, and the plugin host's
    /// [`PLUGIN_ACTION_TAG`] element with its attributes `name`, `post`,
    /// `topic`, `value` (and `class`, for the button), which the host turns
    /// into a form after sanitizing.
    ///
    /// ```
    /// let s = hearth::Sanitizer::for_plugin(&hearth::CommunitySettings::default(), "polls")?;
    /// assert_eq!(
    ///     s.clean(r#"<span class="polls-bar hot">7</span><button onclick="x()">no</button>"#),
    ///     r#"<span class="polls-bar">7</span>no"#
    /// );
    /// # Ok::<(), hearth::Error>(())
    /// ```
    pub fn for_plugin(settings: &CommunitySettings, plugin: &str) -> Result<Sanitizer> {
        let mut r = Renderer::new(settings)?;
        r.author = plugin_builder(plugin, r.base_url.clone(), true);
        Ok(Sanitizer(r))
    }

    /// A sanitizer for the HTML a Markdown extension renders into posts:
    /// [`Sanitizer::for_plugin`] without the action element (a post's
    /// stored HTML holds no forms; buttons go beside the post).
    ///
    /// ```
    /// let s = hearth::Sanitizer::for_markup(&hearth::CommunitySettings::default(), "polls")?;
    /// assert_eq!(
    ///     s.clean(r#"<ul class="polls-options"><li>Tea <hearth-action name="vote">vote</hearth-action></li></ul>"#),
    ///     r#"<ul class="polls-options"><li>Tea vote</li></ul>"#
    /// );
    /// # Ok::<(), hearth::Error>(())
    /// ```
    pub fn for_markup(settings: &CommunitySettings, plugin: &str) -> Result<Sanitizer> {
        let mut r = Renderer::new(settings)?;
        r.author = plugin_builder(plugin, r.base_url.clone(), false);
        Ok(Sanitizer(r))
    }

    /// Sanitizes `html`. Idempotent on its own output.
    pub fn clean(&self, html: &str) -> String {
        self.0.sanitize(html)
    }
}

/// The element a plugin writes for a button that takes one of its actions
/// (`<hearth-action name="vote" post="12" value="2">Vote</hearth-action>`);
/// only [`Sanitizer::for_plugin`] keeps it.
pub const PLUGIN_ACTION_TAG: &str = "hearth-action";

/// The longest `value` a plugin's action element keeps.
const MAX_ACTION_VALUE: usize = 200;

/// The plugin allowlist (see [`Sanitizer::for_plugin`]; without the action
/// element, [`Sanitizer::for_markup`]).
fn plugin_builder(plugin: &str, base_url: Option<Url>, actions: bool) -> Builder<'static> {
    let mut tags: Vec<&'static str> = ALLOWED_TAGS
        .iter()
        .copied()
        .filter(|t| *t != "input")
        .collect();
    let mut attributes = AUTHOR_ATTRIBUTES.to_vec();
    if actions {
        tags.push(PLUGIN_ACTION_TAG);
        attributes.push((PLUGIN_ACTION_TAG, &["name", "post", "topic", "value"]));
    }
    let prefix = format!("{plugin}-");
    let mut b = builder(
        &tags,
        &attributes,
        attribute_filter(move |element, attribute, value| {
            plugin_attribute_filter(&prefix, element, attribute, value)
        }),
        base_url,
    );
    b.generic_attributes(["class"].into_iter().collect());
    b
}

/// Attribute values a plugin's HTML keeps.
fn plugin_attribute_filter<'u>(
    prefix: &str,
    element: &str,
    attribute: &str,
    value: &'u str,
) -> Option<Cow<'u, str>> {
    let digits = |v: &str| !v.is_empty() && v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit());
    let ok = match (element, attribute) {
        (_, "class") => {
            let own = |c: &&str| {
                c.len() > prefix.len()
                    && c.len() <= 64
                    && c.starts_with(prefix)
                    && c.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    })
            };
            let language = |c: &&str| {
                element == "code" && author_attribute_filter("code", "class", c).is_some()
            };
            let kept: Vec<&str> = value
                .split_ascii_whitespace()
                .filter(|c| own(c) || language(c))
                .collect();
            return (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")));
        }
        (PLUGIN_ACTION_TAG, "name") => {
            !value.is_empty()
                && value.len() <= 50
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
        (PLUGIN_ACTION_TAG, "post" | "topic") => digits(value),
        (PLUGIN_ACTION_TAG, "value") => value.len() <= MAX_ACTION_VALUE,
        _ => return author_attribute_filter(element, attribute, value),
    };
    ok.then_some(Cow::Borrowed(value))
}

/// Attributes an author's own HTML may keep: the output allowlist without
/// `id`, `class` (but a code block's language) and `input`, which only the
/// renderer writes.
const AUTHOR_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "title"]),
    ("abbr", &["title"]),
    ("code", &["class"]),
    ("img", &["src", "alt", "title", "width", "height"]),
    ("ol", &["start"]),
    ("td", &["colspan", "rowspan"]),
    ("th", &["colspan", "rowspan"]),
];

/// Starts a placeholder for the renderer's own markup in the text stream;
/// bodies can't contain it (noncharacters are refused).
const MARK_OPEN: char = '\u{FDD0}';
/// Ends a placeholder.
const MARK_CLOSE: char = '\u{FDD1}';

/// A renderer configured for one community.
pub(crate) struct Renderer {
    base_url: Option<Url>,
    budget: Budget,
    /// The author allowlist: what members' own HTML may keep.
    author: Builder<'static>,
    /// The output allowlist: author HTML plus the renderer's markup; used
    /// to settle mis-nested documents after the placeholders are filled.
    output: Builder<'static>,
    /// Each Markdown extension owner's allowlist, built on first use.
    markup: std::sync::Mutex<HashMap<String, std::sync::Arc<Builder<'static>>>>,
}

/// Renders the fenced blocks hooks claim, for [`Renderer::render`].
pub(crate) trait MarkupSource {
    /// The claimed syntaxes, each with the index of the hook that owns it
    /// (asked only when a document has a fenced block with an info string).
    fn syntaxes(&self) -> Vec<(usize, MarkupSyntax)>;
    /// Renders all of a post's blocks for the owner `syntax` names.
    fn render(
        &self,
        hook: usize,
        syntax: &MarkupSyntax,
        blocks: &[MarkupBlock],
    ) -> Vec<Option<MarkupOutput>>;
}

/// No Markdown extensions: every fenced block stays a code block.
pub(crate) struct NoMarkup;

impl MarkupSource for NoMarkup {
    fn syntaxes(&self) -> Vec<(usize, MarkupSyntax)> {
        Vec::new()
    }
    fn render(&self, _: usize, _: &MarkupSyntax, b: &[MarkupBlock]) -> Vec<Option<MarkupOutput>> {
        vec![None; b.len()]
    }
}

/// The most fence words a post's [`Rendered::markup`] records.
const MAX_MARKUP_RECORDED: usize = 16;

/// Whether `class` looks like an extension's own class (`<owner>-…`):
/// lowercase letters, digits, `-` and `_`, with a dash after the first
/// character, at most 64 bytes. Only the renderer's markup carries such
/// classes (authors' classes are gone before it is filled in).
fn extension_class(class: &str) -> bool {
    class.len() <= 64
        && class
            .find('-')
            .is_some_and(|i| i > 0 && i + 1 < class.len())
        && class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("base_url", &self.base_url)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// Attribute values the output allowlist keeps.
fn output_attribute_filter<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
) -> Option<Cow<'u, str>> {
    if attribute == "class" {
        let renderer_class = |c: &str| match element {
            "a" => c == "mention",
            "div" => c == "footnote-definition",
            "li" => c == "task-list-item",
            "sup" => c == "footnote-reference" || c == "footnote-definition-label",
            "code" => author_attribute_filter("code", "class", c).is_some(),
            _ => false,
        };
        let kept: Vec<&str> = value
            .split_ascii_whitespace()
            .filter(|c| renderer_class(c) || extension_class(c))
            .collect();
        if kept.len() == value.split_ascii_whitespace().count() && kept.join(" ") == value {
            return Some(Cow::Borrowed(value));
        }
        return (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")));
    }
    let ok = match (element, attribute) {
        ("div", "id") => value.strip_prefix(FOOTNOTE_ID_PREFIX).is_some_and(|n| {
            !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit())
        }),
        ("input", "type") => value == "checkbox",
        _ => return author_attribute_filter(element, attribute, value),
    };
    ok.then_some(Cow::Borrowed(value))
}

/// Attribute values an author's HTML keeps.
fn author_attribute_filter<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
) -> Option<Cow<'u, str>> {
    let ok = match (element, attribute) {
        ("code", "class") => value.strip_prefix("language-").is_some_and(|l| {
            !l.is_empty()
                && l.len() <= 32
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+#-_.".contains(&b))
        }),
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

/// Pins a closure to the signature of an attribute filter (decides an
/// attribute's value, or drops it).
fn attribute_filter<F>(f: F) -> F
where
    F: for<'u> Fn(&str, &str, &'u str) -> Option<Cow<'u, str>> + Send + Sync + 'static,
{
    f
}

/// An ammonia builder from an empty one: exactly these tags and attributes.
fn builder<F>(
    tags: &[&'static str],
    attributes: &[(&'static str, &[&'static str])],
    filter: F,
    base_url: Option<Url>,
) -> Builder<'static>
where
    F: for<'u> Fn(&str, &str, &'u str) -> Option<Cow<'u, str>> + Send + Sync + 'static,
{
    let mut b = Builder::empty();
    b.tags(tags.iter().copied().collect())
        .clean_content_tags(["script", "style"].into_iter().collect())
        .generic_attributes(HashSet::new())
        .generic_attribute_prefixes(HashSet::new())
        .tag_attributes(
            attributes
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
        .attribute_filter(filter);
    b.url_relative(UrlRelative::Custom(Box::new(ResolveRelative(base_url))));
    b
}

/// The prefix of footnote ids: numbered, so an author's label never
/// becomes an id, and prefixed, so no id can shadow a page's own names.
const FOOTNOTE_ID_PREFIX: &str = "hearth-fn-";

impl Renderer {
    pub(crate) fn new(settings: &CommunitySettings) -> Result<Renderer> {
        let base_url = match settings.base_url.as_deref() {
            None => None,
            Some(s) => Some(
                Url::parse(s)
                    .map_err(|e| Error::invalid("base_url", format!("{s:?} is not a URL: {e}")))?,
            ),
        };
        let author_tags: Vec<&'static str> = ALLOWED_TAGS
            .iter()
            .copied()
            .filter(|t| *t != "input" && *t != "span")
            .collect();
        let mut output = builder(
            ALLOWED_TAGS,
            ALLOWED_ATTRIBUTES,
            output_attribute_filter,
            base_url.clone(),
        );
        output.generic_attributes(["class"].into_iter().collect());
        Ok(Renderer {
            author: builder(
                &author_tags,
                AUTHOR_ATTRIBUTES,
                author_attribute_filter,
                base_url.clone(),
            ),
            output,
            markup: Default::default(),
            base_url,
            budget: Budget {
                max_depth: settings.limits.max_nesting,
                max_elements: settings.limits.max_elements,
            },
        })
    }

    /// Renders Markdown without extensions: [`Renderer::render_with`]
    /// [`NoMarkup`].
    pub(crate) fn render(
        &self,
        source: &str,
        known: &mut dyn FnMut(&[String]) -> Result<HashSet<String>>,
    ) -> Result<Rendered> {
        self.render_with(source, known, &NoMarkup)
    }

    /// Renders Markdown. `known` receives the lower-cased candidate
    /// usernames and returns those that are members (to become links);
    /// `markup` renders the fenced blocks hooks claim.
    pub(crate) fn render_with(
        &self,
        source: &str,
        known: &mut dyn FnMut(&[String]) -> Result<HashSet<String>>,
        markup: &dyn MarkupSource,
    ) -> Result<Rendered> {
        if source.contains(is_noncharacter) {
            return Err(Error::invalid_as(
                "body",
                crate::error::Problem::Characters,
                "contains Unicode noncharacters (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF); remove them",
            ));
        }
        let mut opts = Options::empty();
        opts.insert(Options::ENABLE_TABLES);
        opts.insert(Options::ENABLE_STRIKETHROUGH);
        opts.insert(Options::ENABLE_TASKLISTS);
        opts.insert(Options::ENABLE_FOOTNOTES);
        check_line_nesting(source, &self.budget)?;
        check_references(source, &self.budget)?;
        let events: Vec<Event<'_>> = Parser::new_ext(source, opts).collect();
        check_budget(&events, &self.budget)?;

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
        let (mut blocks, markup_record) = self.extension_blocks(&events, markup);

        let mut own = Own::default();
        let mut text = String::new();
        let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len());
        let mut footnotes: HashMap<String, usize> = HashMap::new();
        let mut depth_code_or_link = 0usize;
        // Inside a block an extension rendered: its source events are
        // dropped.
        let mut in_extension_block = false;
        for (i, ev) in events.into_iter().enumerate() {
            if in_extension_block {
                if matches!(ev, Event::End(TagEnd::CodeBlock)) {
                    in_extension_block = false;
                }
                continue;
            }
            if let Some(done) = blocks.remove(&i) {
                text.push_str(&done.text);
                text.push(' ');
                out.push(own.mark(done.html));
                in_extension_block = true;
                continue;
            }
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
                        self.split_mentions(t, &members, &mut own, &mut out);
                    } else {
                        out.push(Event::Text(t));
                    }
                }
                Event::Code(c) => {
                    text.push_str(&c);
                    out.push(Event::Code(c));
                }
                Event::TaskListMarker(checked) => {
                    let checked = if checked { " checked=\"\"" } else { "" };
                    out.push(own.mark(format!("<input type=\"checkbox\" disabled=\"\"{checked}>")));
                }
                Event::FootnoteReference(label) => {
                    let next = footnotes.len() + 1;
                    let n = *footnotes.entry(label.to_string()).or_insert(next);
                    out.push(own.mark(format!(
                        "<sup class=\"footnote-reference\"><a href=\"#{FOOTNOTE_ID_PREFIX}{n}\">{n}</a></sup>"
                    )));
                }
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    let next = footnotes.len() + 1;
                    let n = *footnotes.entry(label.to_string()).or_insert(next);
                    out.push(own.mark(format!(
                        "<div class=\"footnote-definition\" id=\"{FOOTNOTE_ID_PREFIX}{n}\">\
                         <sup class=\"footnote-definition-label\">{n}</sup>"
                    )));
                }
                Event::End(TagEnd::FootnoteDefinition) => {
                    out.push(own.mark("</div>".into()));
                    out.push(Event::Text(CowStr::Borrowed("\n")));
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
        // The author allowlist first, then the renderer's own markup.
        let clean = self.author.clean(&html).to_string();
        let mut filled = own.fill(&clean);
        if has_raw_html {
            // Mis-nested author markup can serialize to a tree that parses
            // differently (found by fuzzing); settle it with the output
            // allowlist, which keeps the renderer's markup.
            filled = settle(&self.output, filled);
        }
        let (html, links) = self.add_rel(&filled);
        let mentions = candidates
            .into_iter()
            .filter(|c| members.contains(c))
            .collect();
        Ok(Rendered {
            html,
            text: collapse_whitespace(&text),
            mentions,
            links,
            uploads: crate::uploads::names_in(source),
            markup: markup_record,
        })
    }

    /// Finds the fenced blocks with an info string; has those that hooks
    /// claim rendered (one call per owner) and sanitized with the owner's
    /// allowlist. Returns the rendered blocks by the index of their start
    /// event, and the [`Rendered::markup`] record.
    fn extension_blocks(
        &self,
        events: &[Event<'_>],
        markup: &dyn MarkupSource,
    ) -> (HashMap<usize, MarkupOutput>, String) {
        let mut found: Vec<(usize, MarkupBlock)> = Vec::new();
        let mut i = 0;
        while i < events.len() {
            if let Event::Start(Tag::CodeBlock(pulldown_cmark::CodeBlockKind::Fenced(info))) =
                &events[i]
            {
                let info = info.trim();
                let (fence, rest) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
                let start = i;
                let mut body = String::new();
                i += 1;
                while i < events.len() && !matches!(events[i], Event::End(TagEnd::CodeBlock)) {
                    if let Event::Text(t) = &events[i] {
                        body.push_str(t);
                    }
                    i += 1;
                }
                if markup_fence_ok(fence) {
                    found.push((
                        start,
                        MarkupBlock {
                            fence: fence.to_string(),
                            info: rest.trim().to_string(),
                            source: body,
                        },
                    ));
                }
            }
            i += 1;
        }
        let mut done: HashMap<usize, MarkupOutput> = HashMap::new();
        if found.is_empty() {
            return (done, String::new());
        }
        let syntaxes = markup.syntaxes();
        // fence → who rendered it ("" where no hook did).
        let mut record: std::collections::BTreeMap<&str, String> = found
            .iter()
            .map(|(_, b)| (b.fence.as_str(), String::new()))
            .collect();
        let mut failed: HashSet<&str> = HashSet::new();
        // One call per owner, with its blocks in document order.
        let mut owners: Vec<(usize, &MarkupSyntax)> = Vec::new();
        for (_, b) in &found {
            if let Some((hook, syntax)) = syntaxes.iter().find(|(_, s)| s.fence == b.fence)
                && !owners.iter().any(|(_, o)| o.owner == syntax.owner)
            {
                owners.push((*hook, syntax));
            }
        }
        for (hook, syntax) in owners {
            let mine: Vec<&(usize, MarkupBlock)> = found
                .iter()
                .filter(|(_, b)| {
                    syntaxes
                        .iter()
                        .any(|(_, s)| s.fence == b.fence && s.owner == syntax.owner)
                })
                .collect();
            let blocks: Vec<MarkupBlock> = mine.iter().map(|(_, b)| b.clone()).collect();
            let answers = markup.render(hook, syntax, &blocks);
            let clean = self.markup_builder(&syntax.owner);
            for ((start, block), answer) in mine.iter().zip(answers) {
                let Some(answer) = answer else {
                    // Shown as source, and recorded as such (the next
                    // re-render asks again).
                    failed.insert(block.fence.as_str());
                    continue;
                };
                let html = settle(&clean, clean.clean(&answer.html).to_string());
                done.insert(
                    *start,
                    MarkupOutput {
                        html: format!("<div class=\"hearth-markup-{}\">{html}</div>", syntax.owner),
                        text: collapse_whitespace(&answer.text),
                    },
                );
            }
        }
        for (fence, by) in record.iter_mut() {
            if !failed.contains(fence)
                && let Some((_, s)) = syntaxes.iter().find(|(_, s)| s.fence == *fence)
                && found
                    .iter()
                    .any(|(start, b)| b.fence == *fence && done.contains_key(start))
            {
                *by = format!("{}@{}", s.owner, s.version);
            }
        }
        let mut out = String::from("|");
        for (fence, by) in record.iter().take(MAX_MARKUP_RECORDED) {
            out.push_str(fence);
            out.push('=');
            out.push_str(by);
            out.push('|');
        }
        (done, out)
    }

    /// The allowlist of `owner`'s Markdown extension blocks.
    fn markup_builder(&self, owner: &str) -> std::sync::Arc<Builder<'static>> {
        let mut cache = self.markup.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(owner.to_string())
            .or_insert_with(|| {
                std::sync::Arc::new(plugin_builder(owner, self.base_url.clone(), false))
            })
            .clone()
    }

    /// Sanitizes HTML from outside the renderer (a plugin's, an import's)
    /// with the author allowlist. Idempotent: cleaning the output again
    /// gives the same output.
    pub(crate) fn sanitize(&self, html: &str) -> String {
        let once = self.author.clean(html).to_string();
        self.add_rel(&settle(&self.author, once)).0
    }

    /// Normalises rendered HTML with the output allowlist (for tests: a
    /// post's HTML must be a fixed point).
    #[cfg(test)]
    pub(crate) fn normalize(&self, html: &str) -> String {
        self.add_rel(&settle(&self.output, self.output.clean(html).to_string()))
            .0
    }

    /// The URL of a path on the site: absolute when the community has a
    /// base URL (as the sanitizer makes every relative link).
    fn site_url(&self, path: &str) -> String {
        match &self.base_url {
            Some(base) => base
                .join(path)
                .map(String::from)
                .unwrap_or_else(|_| path.to_string()),
            None => path.to_string(),
        }
    }

    /// Splits text around mentions of members; each mention becomes a
    /// placeholder for a profile link.
    fn split_mentions<'a>(
        &self,
        t: CowStr<'a>,
        members: &HashSet<String>,
        own: &mut Own,
        out: &mut Vec<Event<'a>>,
    ) {
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
            let href = self.site_url(&format!("/u/{}", name.to_ascii_lowercase()));
            out.push(own.mark(format!("<a class=\"mention\" href=\"{href}\">@{name}</a>")));
            last = end;
        }
        if last < t.len() {
            out.push(Event::Text(CowStr::from(t[last..].to_string())));
        }
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

/// Whether `c` is a Unicode noncharacter (never valid in interchange;
/// the renderer uses two for its placeholders).
pub(crate) fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xFDD0..=0xFDEF).contains(&c) || (c & 0xFFFE) == 0xFFFE
}

/// The renderer's own markup, kept out of the author's HTML: each piece
/// goes into the text as a placeholder, and comes back after sanitizing.
#[derive(Default)]
struct Own {
    pieces: Vec<String>,
}

impl Own {
    /// A placeholder for `html`.
    fn mark(&mut self, html: String) -> Event<'static> {
        let i = self.pieces.len();
        self.pieces.push(html);
        Event::Text(CowStr::from(format!("{MARK_OPEN}{i}{MARK_CLOSE}")))
    }

    /// Replaces placeholders in text with their markup. Works on ammonia's
    /// serialisation (text `<` escaped, attribute values double-quoted with
    /// `"` escaped): a placeholder that author markup pulled into an
    /// attribute value is dropped, never filled.
    fn fill(&self, html: &str) -> String {
        if self.pieces.is_empty() {
            return html.to_string();
        }
        let mut out = String::with_capacity(html.len() + self.pieces.len() * 48);
        let mut in_tag = false;
        let mut in_quote = false;
        let mut chars = html.char_indices();
        while let Some((_, c)) = chars.next() {
            match c {
                MARK_OPEN => {
                    let mut n = String::new();
                    for (_, d) in chars.by_ref() {
                        if d == MARK_CLOSE {
                            break;
                        }
                        n.push(d);
                    }
                    if !in_tag
                        && let Some(piece) =
                            n.parse::<usize>().ok().and_then(|i| self.pieces.get(i))
                    {
                        out.push_str(piece);
                    }
                }
                '<' if !in_tag => {
                    in_tag = true;
                    out.push(c);
                }
                '"' if in_tag => {
                    in_quote = !in_quote;
                    out.push(c);
                }
                '>' if in_tag && !in_quote => {
                    in_tag = false;
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out
    }
}

/// Cleans with `builder` until the output is stable (at most three more
/// passes; mis-nested markup settles in one).
fn settle(builder: &Builder<'static>, mut html: String) -> String {
    for _ in 0..3 {
        let again = builder.clean(&html).to_string();
        if again == html {
            break;
        }
        html = again;
    }
    html
}

/// How deep and how large a document may be, as the HTML parser will
/// build it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Deepest element nesting.
    pub max_depth: u32,
    /// Most elements in one document.
    pub max_elements: u32,
}

/// Elements without content: they never nest, even written `<div/>`-style
/// (the HTML parser ignores `/>` on every other element).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements a parser closes when another of the same name opens.
const SELF_CLOSING_SIBLINGS: &[&str] = &["p", "li", "dt", "dd", "option", "tr", "td", "th"];

/// Rejects documents the HTML parser would build deeper than
/// `max_depth` or with more than `max_elements` elements (Markdown's and
/// raw HTML's together): the sanitizer's time grows with both, so this
/// bounds rendering time for any body within the length limit.
///
/// Raw HTML is measured conservatively: every `<` followed by a letter
/// opens an element (also inside comments and attribute values), every
/// non-void element opens a level (`<div/>` too, as browsers parse it),
/// and an end tag closes only an element it names.
pub(crate) fn check_budget(events: &[Event<'_>], budget: &Budget) -> Result<()> {
    let mut markdown_depth: u32 = 0;
    let mut open: Vec<String> = Vec::new();
    let mut elements: u64 = 0;
    let too_deep = || too_deep(budget.max_depth);
    for ev in events {
        match ev {
            Event::Start(_) => {
                markdown_depth += 1;
                elements += 1;
            }
            Event::End(_) => markdown_depth = markdown_depth.saturating_sub(1),
            Event::Html(h) | Event::InlineHtml(h) => {
                for (closing, name) in html_tags(h) {
                    if closing {
                        if let Some(i) = open.iter().rposition(|o| *o == name) {
                            open.truncate(i);
                        }
                        continue;
                    }
                    elements += 1;
                    if VOID.contains(&name.as_str()) {
                        continue;
                    }
                    if SELF_CLOSING_SIBLINGS.contains(&name.as_str())
                        && open.last().is_some_and(|o| *o == name)
                    {
                        continue;
                    }
                    open.push(name);
                    if markdown_depth as usize + open.len() > budget.max_depth as usize {
                        return Err(too_deep());
                    }
                }
            }
            Event::TaskListMarker(_) | Event::FootnoteReference(_) | Event::Rule => elements += 1,
            _ => {}
        }
        if markdown_depth as usize + open.len() > budget.max_depth as usize {
            return Err(too_deep());
        }
        if elements > u64::from(budget.max_elements) {
            return Err(Error::invalid_as(
                "body",
                crate::error::Problem::TooMany {
                    max: u64::from(budget.max_elements),
                },
                format!(
                    "has more than {} elements (paragraphs, list items, table cells, HTML tags); \
                     split it into several posts",
                    budget.max_elements
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses, before parsing, a line that opens more containers than the
/// depth budget allows: block quote markers and list markers at its start
/// (`> > >`, `- - 1. *`). The Markdown parser's own time grows with that
/// depth times the lines that follow (found by fuzzing: 32,000 `>` then a
/// line of text took 0.1 s to parse before any later check ran). Counted
/// conservatively: a thematic break written `- - - …` counts too.
/// Rejects a body with more `&` than `max_elements`: every `&` reaches the
/// sanitizer's HTML parser as a character reference (`&amp;` at least),
/// which costs about what an element does (the 30-minute fuzz run's worst
/// body was raw HTML followed by 31,500 `&`: ≈ 38 ms of a 50 ms budget).
fn check_references(source: &str, budget: &Budget) -> Result<()> {
    let n = source.bytes().filter(|b| *b == b'&').count();
    if n > budget.max_elements as usize {
        return Err(Error::invalid_as(
            "body",
            crate::error::Problem::TooMany {
                max: u64::from(budget.max_elements),
            },
            format!(
                "has more than {} '&' characters ({n}); write \"and\", or split it into \
                 several posts",
                budget.max_elements
            ),
        ));
    }
    Ok(())
}

fn check_line_nesting(source: &str, budget: &Budget) -> Result<()> {
    for line in source.lines() {
        let b = line.as_bytes();
        let mut i = 0;
        let mut depth = 0u32;
        loop {
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let marker = match b[i] {
                b'>' => 1,
                b'-' | b'*' | b'+' if b.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t') => 1,
                b'0'..=b'9' => {
                    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                    match b.get(i + digits) {
                        Some(b'.' | b')')
                            if b.get(i + digits + 1)
                                .is_none_or(|c| *c == b' ' || *c == b'\t') =>
                        {
                            digits + 1
                        }
                        _ => 0,
                    }
                }
                _ => 0,
            };
            if marker == 0 {
                break;
            }
            i += marker;
            depth += 1;
            if depth > budget.max_depth {
                return Err(too_deep(budget.max_depth));
            }
        }
    }
    Ok(())
}

/// A body nested deeper than `max` levels.
fn too_deep(max: u32) -> Error {
    Error::invalid_as(
        "body",
        crate::error::Problem::TooDeep {
            max: u64::from(max),
        },
        format!("nested more than {max} levels deep (quotes, lists or HTML elements); flatten it"),
    )
}

/// The tags in a raw HTML fragment: `(closing, lower-case name)` for each
/// `<name` and `</name`.
fn html_tags(h: &str) -> impl Iterator<Item = (bool, String)> + '_ {
    let bytes = h.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] != b'<' {
                i += 1;
                continue;
            }
            let closing = bytes.get(i + 1) == Some(&b'/');
            let start = i + 1 + usize::from(closing);
            let len = bytes[start.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            i = start + len;
            if len > 0 && bytes[start].is_ascii_alphabetic() {
                return Some((closing, h[start..start + len].to_ascii_lowercase()));
            }
        }
        None
    })
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
            // The name must end at a boundary: the end, whitespace or ASCII
            // punctuation. A joiner, a combining mark or a letter outside
            // the username alphabet glued to it makes it another word.
            let bounded = text[end..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || (c.is_ascii_punctuation() && c != '@'));
            if bounded
                && end > start
                && (bytes[start].is_ascii_alphanumeric() || bytes[start] == b'_')
            {
                out.push((i, end, &text[start..end]));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
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
    fn mentions_end_at_a_boundary() {
        for linked in [
            "@bob",
            "@bob, hi",
            "(@bob)",
            "@bob.",
            "@bob!",
            "@bob\nx",
            "@bob\u{00A0}x",
        ] {
            assert_eq!(
                render(linked).mentions,
                vec!["bob".to_string()],
                "{linked:?}"
            );
        }
        for not in [
            "@bob\u{200D}",
            "@bob\u{200D}x",
            "@bob\u{0301}",
            "@bobé",
            "@bob\u{200B}",
            "@bob@x.org",
            "@bob\u{FE0F}",
        ] {
            let r = render(not);
            assert!(
                r.mentions.is_empty() && !r.html.contains("mention"),
                "{not:?} -> {}",
                r.html
            );
        }
    }

    #[test]
    fn footnotes_have_numbered_prefixed_ids() {
        let r = render("text[^login]\n\n[^login]: note\n");
        assert!(r.html.contains("href=\"#hearth-fn-1\""), "{}", r.html);
        assert!(r.html.contains("id=\"hearth-fn-1\""), "{}", r.html);
        assert!(!r.html.contains("login"), "{}", r.html);
    }

    #[test]
    fn authors_write_no_ids_classes_or_controls() {
        // Every id, class and control the renderer makes, forged by hand.
        for forged in [
            "<div id=\"login\" class=\"admin-panel\">x</div>",
            "<div id=\"hearth-fn-1\" class=\"footnote-definition\">x</div>",
            "<a class=\"mention\" href=\"/u/bob\">x</a>",
            "<sup class=\"footnote-reference\">x</sup>",
            "<li class=\"task-list-item\">x</li>",
            "<input type=\"checkbox\" disabled checked>x",
            "<input>x",
            "<input type=\"text\" name=\"password\">x",
        ] {
            let r = render(forged);
            for bad in [" id=", " class=", "<input"] {
                assert!(!r.html.contains(bad), "{forged} -> {}", r.html);
            }
        }
        // The renderer's own survive.
        let r = render("- [x] done\n- [ ] todo\n\nhi @bob[^n]\n\n[^n]: note\n");
        assert!(
            r.html
                .contains("<input disabled=\"\" type=\"checkbox\" checked=\"\">")
                || r.html
                    .contains("<input type=\"checkbox\" disabled=\"\" checked=\"\">"),
            "{}",
            r.html
        );
        assert!(r.html.contains("class=\"mention\""), "{}", r.html);
        assert!(
            r.html.contains("class=\"footnote-definition\""),
            "{}",
            r.html
        );
    }

    /// An extension that claims `poll` and answers every block with the
    /// same HTML.
    pub(super) struct Echo(pub String);

    impl MarkupSource for Echo {
        fn syntaxes(&self) -> Vec<(usize, MarkupSyntax)> {
            vec![(
                0,
                MarkupSyntax {
                    fence: "poll".into(),
                    owner: "polls".into(),
                    version: "1".into(),
                },
            )]
        }
        fn render(
            &self,
            _: usize,
            _: &MarkupSyntax,
            b: &[MarkupBlock],
        ) -> Vec<Option<MarkupOutput>> {
            b.iter()
                .map(|_| {
                    Some(MarkupOutput {
                        html: self.0.clone(),
                        text: "poll text".into(),
                    })
                })
                .collect()
        }
    }

    #[test]
    fn extension_html_is_cleaned_and_a_fixed_point() {
        let r = renderer(Some("https://forum.example.com/"));
        for (ext, want) in [
            (
                r#"<span class="polls-a other">x</span>"#,
                r#"<div class="hearth-markup-polls"><span class="polls-a">x</span></div>"#,
            ),
            // Closing the wrapper early does not escape it.
            (
                "</div></div><p>out</p><div>",
                r#"<div class="hearth-markup-polls"><p>out</p><div></div></div>"#,
            ),
            (
                r#"<a href="javascript:x()">j</a><img src="x" onerror="y()">"#,
                r#"<div class="hearth-markup-polls"><a>j</a><img src="https://forum.example.com/x"></div>"#,
            ),
            (
                r#"<input type="checkbox"><form><button>b</button></form>"#,
                r#"<div class="hearth-markup-polls">b</div>"#,
            ),
        ] {
            let out = r
                .render_with(
                    "```poll\n- a\n```",
                    &mut |_| Ok(HashSet::new()),
                    &Echo(ext.into()),
                )
                .expect("render");
            assert_eq!(out.html.trim_end(), want, "{ext}");
            assert_eq!(r.normalize(&out.html), out.html, "{ext}");
            assert_eq!(out.text, "poll text");
            assert_eq!(out.markup, "|poll=polls@1|");
        }
        // Authors cannot write what an extension may.
        let out = r
            .render_with(
                "<span class=\"polls-a\">x</span> <div class=\"hearth-markup-polls\">y</div>",
                &mut |_| Ok(HashSet::new()),
                &Echo(String::new()),
            )
            .expect("render");
        assert!(!out.html.contains("class"), "{}", out.html);
        assert!(!out.html.contains("<span"), "{}", out.html);
        assert_eq!(out.markup, "");
    }

    #[test]
    fn info_strings_and_unclaimed_fences() {
        let r = renderer(None);
        let out = r
            .render_with(
                "```poll  type=multiple close=2026-12-31 \nx\n```\n\n~~~Poll\ny\n~~~\n\n```c++\nz\n```",
                &mut |_| Ok(HashSet::new()),
                &Echo("<p>ok</p>".into()),
            )
            .expect("render");
        // `Poll` and `c++` are not syntax names: shown as code, not recorded.
        assert_eq!(out.markup, "|poll=polls@1|");
        assert!(
            out.html.contains("<code class=\"language-Poll\">y"),
            "{}",
            out.html
        );
        assert_eq!(out.html.matches("hearth-markup-polls").count(), 1);
    }

    #[test]
    fn placeholders_in_attributes_are_dropped_not_filled() {
        // An unclosed attribute quote in author HTML swallows a mention.
        let r = render("<div>\n<img alt=\"x\n\n@bob here\n\n\">\n</div>");
        assert!(!r.html.contains('\u{FDD0}'), "{}", r.html);
        assert!(!r.html.contains("class=\"mention\"\">"), "{}", r.html);
        let again = renderer(Some("https://forum.example.com/")).normalize(&r.html);
        assert_eq!(again, r.html);
    }

    #[test]
    fn blank_bodies_are_blank() {
        for blank in [
            "<script>alert(1)</script>",
            "\u{200B}\u{200D}\u{FEFF}",
            "<p></p>",
            "&nbsp; &nbsp;",
            "<div> </div>\n\n<b></b>",
            "\u{2800}\u{3164}",
            "<!-- hidden -->",
        ] {
            assert!(
                render(blank).is_blank(),
                "{blank:?} -> {}",
                render(blank).html
            );
        }
        for shown in [
            "x",
            "<div>hello</div>",
            "![cat](https://x.example/c.png)",
            "---",
            "- [ ] ",
            "&amp;",
            "`\u{200B}x`",
            "\u{05D0}",
        ] {
            assert!(
                !render(shown).is_blank(),
                "{shown:?} -> {}",
                render(shown).html
            );
        }
    }

    #[test]
    fn noncharacters_are_refused() {
        assert!(matches!(
            render_err("a \u{FDD0}0\u{FDD1} b"),
            Error::Invalid { field: "body", .. }
        ));
        assert!(matches!(render_err("a \u{FFFE}"), Error::Invalid { .. }));
    }

    #[test]
    fn nesting_is_capped() {
        let deep = ">".repeat(40) + " x";
        let err = render_err(&deep);
        assert!(matches!(err, Error::Invalid { field: "body", .. }));
        // Refused before parsing: the parser itself is slow on these.
        for line in [
            ">".repeat(17),
            "- ".repeat(17),
            "1. ".repeat(17),
            "> - ".repeat(9),
        ] {
            let err = render_err(&format!("{line}x\nmore"));
            assert!(err.to_string().contains("levels deep"), "{line}: {err}");
        }
        render(&(">".repeat(15) + " x\n- - - x\n***\n---\n1. 2. x\n"));
        let deep_html = "<div>".repeat(40) + "x";
        assert!(matches!(render_err(&deep_html), Error::Invalid { .. }));
        // Self-closing syntax does not close a div: browsers nest these.
        let self_closing = "<div/>".repeat(40) + "x";
        assert!(matches!(render_err(&self_closing), Error::Invalid { .. }));
        // Closing tags in the same fragment do not hide the depth reached.
        let up_down = "<div>".repeat(40) + &"</div>".repeat(40);
        assert!(matches!(render_err(&up_down), Error::Invalid { .. }));
        // Emphasis nests too.
        let emphasis = "*a **b ".repeat(20) + &"** a*".repeat(20);
        let _ = renderer(None).render(&emphasis, &mut |_| Ok(HashSet::new()));
        let ok = "<p>a<p>b<p>c<br><br><br>".repeat(20);
        render(&ok);
        let balanced = "<div>x</div>".repeat(500);
        render(&balanced);
    }

    #[test]
    fn element_count_is_capped_at_the_limit() {
        let s = CommunitySettings::default();
        let max = s.limits.max_elements as usize;
        let r = Renderer::new(&s).expect("renderer");
        let none = &mut |_: &[String]| Ok(HashSet::new());
        // One paragraph element plus n raw <br>s.
        assert!(
            r.render(&format!("x{}", "<br>".repeat(max - 1)), none)
                .is_ok()
        );
        let err = r
            .render(&format!("x{}", "<br>".repeat(max)), none)
            .expect_err("over the limit");
        assert!(err.to_string().contains("elements"), "{err}");
    }

    #[test]
    fn ampersands_are_capped_at_the_limit() {
        let s = CommunitySettings::default();
        let max = s.limits.max_elements as usize;
        let r = Renderer::new(&s).expect("renderer");
        let none = &mut |_: &[String]| Ok(HashSet::new());
        for prefix in ["", "<div></div>", "```\n"] {
            assert!(
                r.render(&format!("{prefix}{}", "&".repeat(max)), none)
                    .is_ok()
            );
            let err = r
                .render(&format!("{prefix}{}", "&".repeat(max + 1)), none)
                .expect_err("over the limit");
            assert!(
                matches!(
                    err,
                    Error::Invalid {
                        field: "body",
                        problem: crate::error::Problem::TooMany { max: 10_000 },
                        ..
                    }
                ),
                "{prefix:?}: {err}"
            );
        }
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
        assert_eq!(r.normalize(&out.html), out.html);
    }

    #[test]
    fn sanitize_is_idempotent_on_output() {
        let r = render(
            "[out](https://evil.example/?a=1&b=2) @bob `x` | a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        let again = renderer(Some("https://forum.example.com/")).normalize(&r.html);
        assert_eq!(again, r.html);
    }
}

#[cfg(test)]
mod proptests {
    use super::tests::Echo;
    use super::*;
    use proptest::prelude::*;

    /// Checks sanitized output: every element and attribute on the
    /// allowlist, no handlers or styles, only allowed URL schemes.
    fn check_allowlist(html: &str) -> std::result::Result<(), String> {
        check_against(html, ALLOWED_TAGS, ALLOWED_ATTRIBUTES)
    }

    /// Checks HTML from outside the renderer: the author allowlist.
    fn check_author(html: &str) -> std::result::Result<(), String> {
        let tags: Vec<&str> = ALLOWED_TAGS
            .iter()
            .copied()
            .filter(|t| *t != "input")
            .collect();
        check_against(html, &tags, AUTHOR_ATTRIBUTES)
    }

    fn check_against(
        html: &str,
        allowed_tags: &[&str],
        allowed_attributes: &[(&str, &[&str])],
    ) -> std::result::Result<(), String> {
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
            if !allowed_tags.contains(&name) {
                return Err(format!("element {name:?} in {html:?}"));
            }
            let allowed = allowed_attributes
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
            Just("<div id=\"hearth-fn-1\" class=\"footnote-definition\">f</div>".to_string()),
            Just("<a class=\"mention\" href=\"/u/x\">m</a>".to_string()),
            Just("<img alt=\"".to_string()),
            Just("<div/>".to_string()),
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
                prop_assert_eq!(r.normalize(&out.html), out.html.clone(), "idempotent");
                prop_assert!(!out.html.contains([MARK_OPEN, MARK_CLOSE]), "placeholder left");
            }
        }

        #[test]
        fn extension_blocks_stay_inside_the_allowlist(doc in document(), ext in document()) {
            let r = Renderer::new(&CommunitySettings::default()).expect("renderer");
            let source = format!("{doc}\n\n```poll\n- a\n```\n\n{doc}");
            if let Ok(out) = r.render_with(&source, &mut |_| Ok(HashSet::new()), &Echo(ext.clone())) {
                // Unless the author's own broken markup swallowed it into an
                // attribute value, the block is there.
                if !doc.contains('<') {
                    prop_assert!(out.html.contains("<div class=\"hearth-markup-polls\">"), "wrapper kept");
                }
                // The output allowlist, with extension classes on any element.
                let with_class: Vec<(&str, Vec<&str>)> = ALLOWED_TAGS
                    .iter()
                    .map(|t| {
                        let mut a: Vec<&str> = ALLOWED_ATTRIBUTES
                            .iter()
                            .find(|(n, _)| n == t)
                            .map(|(_, a)| a.to_vec())
                            .unwrap_or_default();
                        a.push("class");
                        (*t, a)
                    })
                    .collect();
                let attrs: Vec<(&str, &[&str])> =
                    with_class.iter().map(|(t, a)| (*t, a.as_slice())).collect();
                if let Err(e) = check_against(&out.html, ALLOWED_TAGS, &attrs) {
                    return Err(TestCaseError::fail(e));
                }
                prop_assert_eq!(r.normalize(&out.html), out.html.clone(), "idempotent");
                prop_assert!(!out.html.contains([MARK_OPEN, MARK_CLOSE]), "placeholder left");
            }
        }

        #[test]
        fn raw_html_sanitizes_inside_the_allowlist(doc in document()) {
            let r = Renderer::new(&CommunitySettings::default()).expect("renderer");
            let once = r.sanitize(&doc);
            if let Err(e) = check_author(&once) {
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
        assert!(check_author("<input type=\"checkbox\">").is_err());
        assert!(check_author("<div id=\"x\">").is_err());
        assert!(check_author("<img alt=\"&lt;div id=\">").is_ok());
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
