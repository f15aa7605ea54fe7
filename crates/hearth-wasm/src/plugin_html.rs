//! Plugin HTML: each plugin's own allowlist ([`hearth::Sanitizer::for_plugin`]),
//! and the host's action element turned into a real form after sanitizing.
//!
//! A plugin writes `<hearth-action name="vote" post="12" value="2">Vote
//! </hearth-action>`; the host makes it a button that posts to
//! `/plugins/<plugin>/a/vote?post=12&value=2` (`formaction`), inside one
//! form a fragment that carries the page's form token (which the plugin
//! never sees) and the return path once for all its buttons — a footer
//! with a dozen reactions is one form, not twelve. Where the page has no
//! token (guests' pages are shared by every guest) each becomes a link to
//! the action's confirmation page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::manifest::Manifest;

/// How the action elements of a page become forms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionForms {
    /// Where the site is mounted (`""` at the root, or `/forum`).
    pub base: String,
    /// The viewer's form token; `None` renders links to the confirmation
    /// page instead of forms (pages cached for every guest).
    pub token: Option<String>,
}

/// Sanitizes a plugin's HTML with its allowlist. Sanitizing is a pure
/// function of its input and most fragments repeat from page to page, so
/// recent results are remembered per plugin and content.
pub(crate) fn sanitize(plugin: &str, html: &str) -> String {
    static RECENT: Remembered<String> = Remembered::new();
    RECENT.get_or_make(plugin, html, |html| clean(plugin, html))
}

/// Sanitizes and expands a plugin's fragment for a page at `path`.
pub(crate) fn finish(manifest: &Manifest, html: &str, forms: &ActionForms, path: &str) -> String {
    prepared(&manifest.name, html).render(manifest, forms, path)
}

/// The fragment sanitized and parsed into a [`Template`], remembered per
/// plugin and content (a page's fragments repeat from page to page and
/// from member to member: only the form token and the return path differ,
/// and they are filled in by [`Template::render`]).
fn prepared(plugin: &str, html: &str) -> Arc<Template> {
    static PREPARED: Remembered<Arc<Template>> = Remembered::new();
    PREPARED.get_or_make(plugin, html, |html| {
        Arc::new(Template::parse(&clean(plugin, html)))
    })
}

/// `html` through `plugin`'s allowlist (nothing if the plugin's name makes
/// no allowlist), the sanitizer built once per plugin.
fn clean(plugin: &str, html: &str) -> String {
    type Sanitizers = Mutex<HashMap<String, Arc<hearth::Sanitizer>>>;
    static SANITIZERS: OnceLock<Sanitizers> = OnceLock::new();
    let sanitizer = {
        let mut map = SANITIZERS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match map.get(plugin) {
            Some(s) => Some(s.clone()),
            None => {
                let s =
                    hearth::Sanitizer::for_plugin(&hearth::CommunitySettings::default(), plugin)
                        .ok()
                        .map(Arc::new);
                if let Some(s) = &s {
                    map.insert(plugin.to_string(), s.clone());
                }
                s
            }
        }
    };
    sanitizer.map(|s| s.clean(html)).unwrap_or_default()
}

/// Results of a pure function of a plugin's fragment, remembered per plugin
/// and content: a bounded map per plugin (so one plugin's churn does not
/// evict another's), emptied when full; fragments larger than
/// [`Remembered::LARGEST`] are not remembered.
struct Remembered<V>(Mutex<Option<HashMap<String, Fragments<V>>>>);

/// One plugin's remembered fragments. Equal keys are compared whole, so
/// a collision costs time, never a wrong fragment; the seed is drawn per
/// process and each map is capped.
type Fragments<V> = HashMap<String, V, foldhash::fast::RandomState>;

impl<V: Clone> Remembered<V> {
    /// Most fragments remembered per plugin.
    const PER_PLUGIN: usize = 1024;
    /// Largest fragment remembered, in bytes.
    const LARGEST: usize = 16 << 10;

    const fn new() -> Self {
        Remembered(Mutex::new(None))
    }

    /// What `make` gives for `html`, from memory when it was made before;
    /// `make` runs outside the lock. A hit is looked up without copying
    /// the key.
    fn get_or_make(&self, plugin: &str, html: &str, make: impl FnOnce(&str) -> V) -> V {
        if html.len() > Self::LARGEST {
            return make(html);
        }
        if let Some(hit) = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|m| m.get(plugin))
            .and_then(|m| m.get(html))
        {
            return hit.clone();
        }
        let made = make(html);
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mine = map
            .get_or_insert_with(HashMap::new)
            .entry(plugin.to_string())
            .or_default();
        if mine.len() >= Self::PER_PLUGIN {
            mine.clear();
        }
        mine.insert(html.to_string(), made.clone());
        made
    }
}

const OPEN: &str = "<hearth-action";
const CLOSE: &str = "</hearth-action>";

/// Sanitized HTML with its action elements parsed: text to copy, and the
/// actions to write as forms (or links) for the page.
#[derive(Debug, Default)]
struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug)]
enum Piece {
    Text(String),
    Action(Action),
}

/// One `<hearth-action>`, with everything that does not depend on the page
/// already escaped.
#[derive(Debug)]
struct Action {
    /// The action's name (unescaped; declared or not is checked when
    /// rendering, so a manifest upgrade needs no new template).
    name: String,
    /// The name escaped for an attribute (the end of the form's target).
    name_attr: String,
    /// The label: escaped HTML text.
    label: String,
    /// The plugin's classes, escaped for an attribute.
    class: Option<String>,
    /// `post=…&topic=…&value=…&` percent-encoded, then escaped for an
    /// attribute.
    query: String,
}

impl Template {
    fn parse(html: &str) -> Template {
        let mut pieces = Vec::new();
        let mut text = String::with_capacity(html.len());
        let mut rest = html;
        while let Some(at) = rest.find(OPEN) {
            text.push_str(&rest[..at]);
            rest = &rest[at + OPEN.len()..];
            let (attrs, after) = attributes(rest);
            let (inner, after) = match after.find(CLOSE) {
                Some(end) => (&after[..end], &after[end + CLOSE.len()..]),
                None => (after, ""),
            };
            rest = after;
            let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            let name = get("name").unwrap_or("").to_string();
            let label = {
                let l = text_of(inner);
                let l = l.trim();
                if l.is_empty() {
                    name.clone()
                } else {
                    l.to_string()
                }
            };
            let mut query = String::new();
            for k in ["post", "topic", "value"] {
                if let Some(v) = get(k) {
                    push_attr(&mut query, &format!("{k}={}&", query_escape(v)));
                }
            }
            pieces.push(Piece::Text(strip_close(std::mem::take(&mut text))));
            pieces.push(Piece::Action(Action {
                name_attr: attr(&name),
                name,
                label,
                class: get("class").map(attr),
                query,
            }));
        }
        text.push_str(rest);
        pieces.push(Piece::Text(strip_close(text)));
        pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
        Template { pieces }
    }

    /// The fragment for a page at `path`: actions the manifest does not
    /// declare keep only their label.
    fn render(&self, manifest: &Manifest, forms: &ActionForms, path: &str) -> String {
        let declared = |a: &Action| manifest.action(&a.name).is_some();
        let first = self.pieces.iter().find_map(|p| match p {
            Piece::Action(a) if declared(a) => Some(a),
            _ => None,
        });
        let len: usize = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Action(a) => a.label.len() + a.query.len() + 120,
            })
            .sum();
        let mut out = String::with_capacity(len + 256);
        let mut target = String::new();
        push_attr(&mut target, &forms.base);
        target.push_str("/plugins/");
        push_attr(&mut target, &manifest.name);
        target.push_str("/a/");
        // Escaped once per fragment, not once per action.
        let mut return_to = String::new();
        let form = match (&forms.token, first) {
            (Some(token), Some(first)) => {
                // One form for the fragment (its buttons say where they
                // post); shown as if it were not there.
                out.push_str("<form method=\"post\" action=\"");
                push_target(&mut out, &target, first);
                out.push_str(
                    "\" class=\"hearth-actions\"><input type=\"hidden\" \
                     name=\"authenticity_token\" value=\"",
                );
                push_attr(&mut out, token);
                out.push_str("\"><input type=\"hidden\" name=\"return_to\" value=\"");
                push_attr(&mut out, path);
                out.push_str("\">");
                true
            }
            _ => {
                push_attr(&mut return_to, &query_escape(path));
                false
            }
        };
        for piece in &self.pieces {
            let a = match piece {
                Piece::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Piece::Action(a) => a,
            };
            if !declared(a) {
                out.push_str(&a.label);
                continue;
            }
            if form {
                out.push_str("<button type=\"submit\" formaction=\"");
                push_target(&mut out, &target, a);
                out.push_str("\" class=\"hearth-action");
            } else {
                out.push_str("<a href=\"");
                out.push_str(&target);
                out.push_str(&a.name_attr);
                out.push('?');
                out.push_str(&a.query);
                out.push_str("return_to=");
                out.push_str(&return_to);
                out.push_str("\" class=\"hearth-action");
            }
            if let Some(c) = &a.class {
                out.push(' ');
                out.push_str(c);
            }
            out.push_str(if form { "\">" } else { "\" rel=\"nofollow\">" });
            out.push_str(&a.label);
            out.push_str(if form { "</button>" } else { "</a>" });
        }
        if form {
            out.push_str("</form>");
        }
        out
    }
}

/// Where an action posts: the plugin's `target`, the action's name and its
/// fields as a query (already escaped for an attribute).
fn push_target(out: &mut String, target: &str, a: &Action) {
    out.push_str(target);
    out.push_str(&a.name_attr);
    if let Some(query) = a.query.strip_suffix("&amp;") {
        out.push('?');
        out.push_str(query);
    }
}

/// Nested elements leave closing tags behind.
fn strip_close(text: String) -> String {
    if text.contains(CLOSE) {
        text.replace(CLOSE, "")
    } else {
        text
    }
}

/// Parses the attributes of a serialized start tag (after its name): the
/// name/value pairs (values unescaped) and what follows the `>`.
fn attributes(s: &str) -> (Vec<(String, String)>, &str) {
    let mut attrs = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('>') {
            return (attrs, after);
        }
        let Some(eq) = rest.find(|c: char| c == '=' || c == '>' || c.is_whitespace()) else {
            return (attrs, "");
        };
        let name = rest[..eq].to_string();
        rest = &rest[eq..];
        let Some(after_eq) = rest.strip_prefix("=\"") else {
            // A bare attribute (none is allowed, but be safe): no value.
            attrs.push((name, String::new()));
            if rest.starts_with('>') {
                continue;
            }
            rest = &rest[1.min(rest.len())..];
            continue;
        };
        let Some(end) = after_eq.find('"') else {
            return (attrs, "");
        };
        attrs.push((name, unescape(&after_eq[..end])));
        rest = &after_eq[end + 1..];
    }
}

/// The text of serialized HTML: tags removed (quotes inside tags respected),
/// entities kept as they are (the result is still escaped HTML text).
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut quote = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (false, c) => out.push(c),
            (true, '"') => quote = !quote,
            (true, '>') if !quote => in_tag = false,
            (true, _) => {}
        }
    }
    out
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Escapes an attribute value.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_attr(&mut out, s);
    out
}

/// Appends `s` escaped for an attribute value, in one pass.
fn push_attr(out: &mut String, s: &str) {
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(esc);
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

/// Percent-encodes a query value.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn polls() -> Manifest {
        Manifest::parse(
            "name = \"polls\"\nversion = \"1\"\napi-version = \"0.2.0\"\nhooks = [\"action\"]\n\
             [[actions]]\nname = \"vote\"\n",
        )
        .unwrap()
    }

    #[test]
    fn fragments_are_remembered_per_plugin_within_bounds() {
        let memory: Remembered<usize> = Remembered::new();
        let made = std::cell::Cell::new(0);
        let make = |h: &str| {
            made.set(made.get() + 1);
            h.len()
        };
        assert_eq!(memory.get_or_make("a", "<p>x</p>", make), 8);
        assert_eq!(memory.get_or_make("a", "<p>x</p>", make), 8);
        assert_eq!(made.get(), 1, "the second ask is remembered");
        memory.get_or_make("b", "<p>x</p>", make);
        assert_eq!(made.get(), 2, "each plugin its own");
        let large = "x".repeat(Remembered::<usize>::LARGEST + 1);
        memory.get_or_make("a", &large, make);
        memory.get_or_make("a", &large, make);
        assert_eq!(
            made.get(),
            4,
            "a fragment past the largest is made each time"
        );
        for i in 0..Remembered::<usize>::PER_PLUGIN {
            memory.get_or_make("a", &format!("<p>{i}</p>"), make);
        }
        let before = made.get();
        memory.get_or_make("b", "<p>x</p>", make);
        assert_eq!(made.get(), before, "one plugin's churn leaves another's");
        memory.get_or_make("a", "<p>x</p>", make);
        assert_eq!(made.get(), before + 1, "emptied when full");
    }

    fn member() -> ActionForms {
        ActionForms {
            base: "/forum".into(),
            token: Some("t0k\"en".into()),
        }
    }

    #[test]
    fn a_fragment_s_actions_are_buttons_of_one_form_with_the_token() {
        let html = finish(
            &polls(),
            r#"<p class="polls-q">Pick <hearth-action name="vote" post="12" value="a&quot;b" onclick="x()">Yes <b>please</b></hearth-action> or <hearth-action name="vote" post="12" value="c">No</hearth-action></p>"#,
            &member(),
            "/t/x/3",
        );
        assert_eq!(
            html,
            "<form method=\"post\" action=\"/forum/plugins/polls/a/vote?post=12&amp;value=a%22b\" \
             class=\"hearth-actions\"><input type=\"hidden\" name=\"authenticity_token\" \
             value=\"t0k&quot;en\"><input type=\"hidden\" name=\"return_to\" value=\"/t/x/3\">\
             <p class=\"polls-q\">Pick <button type=\"submit\" \
             formaction=\"/forum/plugins/polls/a/vote?post=12&amp;value=a%22b\" \
             class=\"hearth-action\">Yes please</button> or <button type=\"submit\" \
             formaction=\"/forum/plugins/polls/a/vote?post=12&amp;value=c\" \
             class=\"hearth-action\">No</button></p></form>"
        );
        // No declared action, no form.
        assert_eq!(
            finish(&polls(), "<p>Closed</p>", &member(), "/"),
            "<p>Closed</p>"
        );
    }

    #[test]
    fn without_a_token_it_links_to_the_confirmation_page() {
        let html = finish(
            &polls(),
            r#"<hearth-action name="vote" post="12" value="x y">Vote</hearth-action>"#,
            &ActionForms::default(),
            "/t/x/3",
        );
        assert_eq!(
            html,
            "<a href=\"/plugins/polls/a/vote?post=12&amp;value=x%20y&amp;return_to=/t/x/3\" \
             class=\"hearth-action\" rel=\"nofollow\">Vote</a>"
        );
    }

    #[test]
    fn what_a_plugin_cannot_forge() {
        let m = polls();
        for (input, expected) in [
            // Undeclared actions keep their label only.
            (
                r#"<hearth-action name="delete-all">Go</hearth-action>"#,
                "Go",
            ),
            // A plugin's own forms, buttons and inputs are not allowed.
            (
                r#"<form action="/logout" method="post"><input name="authenticity_token"><button>Out</button></form>"#,
                "Out",
            ),
            // Other classes, ids, styles and handlers go.
            (
                r#"<span class="polls-x admin" id="a" style="x" onclick="y">s</span>"#,
                "<span class=\"polls-x\">s</span>",
            ),
            // Another plugin's prefix is not this one's.
            (r#"<span class="reactions-x">s</span>"#, "<span>s</span>"),
            // Attribute values cannot break out of the element.
            (
                r#"<hearth-action name="vote" post="1&quot;><script>">x</hearth-action>"#,
                "<form method=\"post\" action=\"/forum/plugins/polls/a/vote\" class=\"hearth-actions\"><input type=\"hidden\" name=\"authenticity_token\" value=\"t0k&quot;en\"><input type=\"hidden\" name=\"return_to\" value=\"/\"><button type=\"submit\" formaction=\"/forum/plugins/polls/a/vote\" class=\"hearth-action\">x</button></form>",
            ),
            // Nesting does not nest forms (or buttons).
            (
                r#"<hearth-action name="vote"><hearth-action name="vote">in</hearth-action>out</hearth-action>"#,
                "<form method=\"post\" action=\"/forum/plugins/polls/a/vote\" class=\"hearth-actions\"><input type=\"hidden\" name=\"authenticity_token\" value=\"t0k&quot;en\"><input type=\"hidden\" name=\"return_to\" value=\"/\"><button type=\"submit\" formaction=\"/forum/plugins/polls/a/vote\" class=\"hearth-action\">in</button>out</form>",
            ),
            // Script is gone whatever it hides in.
            (
                r#"<hearth-action name="vote"><script>alert(1)</script><img src=x onerror=alert(1)></hearth-action>"#,
                "<form method=\"post\" action=\"/forum/plugins/polls/a/vote\" class=\"hearth-actions\"><input type=\"hidden\" name=\"authenticity_token\" value=\"t0k&quot;en\"><input type=\"hidden\" name=\"return_to\" value=\"/\"><button type=\"submit\" formaction=\"/forum/plugins/polls/a/vote\" class=\"hearth-action\">vote</button></form>",
            ),
        ] {
            assert_eq!(finish(&m, input, &member(), "/"), expected, "{input}");
        }
    }

    #[test]
    fn the_plugins_own_classes_reach_the_button() {
        let m = polls();
        let html = finish(
            &m,
            r#"<hearth-action name="vote" class="polls-on admin">Yes</hearth-action>"#,
            &member(),
            "/",
        );
        assert!(
            html.contains("class=\"hearth-action polls-on\">Yes</button>"),
            "{html}"
        );
        let html = finish(
            &m,
            r#"<hearth-action name="vote" class="polls-on">Yes</hearth-action>"#,
            &ActionForms::default(),
            "/",
        );
        assert!(html.contains("class=\"hearth-action polls-on\""), "{html}");
    }

    #[test]
    fn labels_stay_escaped_text() {
        let html = finish(
            &polls(),
            r#"<hearth-action name="vote">&lt;b&gt; <img alt="a>b" src="/x.png"> &amp;</hearth-action>"#,
            &member(),
            "/",
        );
        assert!(
            html.contains("class=\"hearth-action\">&lt;b&gt;  &amp;</button>"),
            "{html}"
        );
    }
}
