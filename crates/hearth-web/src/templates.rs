//! The page templates (minijinja, shipped in the crate, each replaceable
//! through [`Theme::templates`](crate::Theme::templates)) and the static
//! assets.

use minijinja::Environment;
use serde::Serialize;

use crate::config::Theme;
use crate::error::{Error, Result};

/// The built-in templates, by name, with their source.
const BUILT_IN: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("category.html", include_str!("../templates/category.html")),
    ("topic.html", include_str!("../templates/topic.html")),
    ("composer.html", include_str!("../templates/composer.html")),
    ("search.html", include_str!("../templates/search.html")),
    ("profile.html", include_str!("../templates/profile.html")),
    (
        "directory.html",
        include_str!("../templates/directory.html"),
    ),
    ("login.html", include_str!("../templates/login.html")),
    ("signup.html", include_str!("../templates/signup.html")),
    ("invite.html", include_str!("../templates/invite.html")),
    ("plugin.html", include_str!("../templates/plugin.html")),
    (
        "plugin_action.html",
        include_str!("../templates/plugin_action.html"),
    ),
    ("review.html", include_str!("../templates/review.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "notifications.html",
        include_str!("../templates/notifications.html"),
    ),
    (
        "preferences.html",
        include_str!("../templates/preferences.html"),
    ),
    ("products.html", include_str!("../templates/products.html")),
    ("product.html", include_str!("../templates/product.html")),
    ("kb.html", include_str!("../templates/kb.html")),
    ("kb_edit.html", include_str!("../templates/kb_edit.html")),
    (
        "unsubscribe.html",
        include_str!("../templates/unsubscribe.html"),
    ),
    (
        "analytics.html",
        include_str!("../templates/analytics.html"),
    ),
    ("security.html", include_str!("../templates/security.html")),
    ("messages.html", include_str!("../templates/messages.html")),
    (
        "profile_edit.html",
        include_str!("../templates/profile_edit.html"),
    ),
    (
        "message_new.html",
        include_str!("../templates/message_new.html"),
    ),
    (
        "mailed_link.html",
        include_str!("../templates/mailed_link.html"),
    ),
];

/// The names of the built-in templates an embedder can replace.
pub const TEMPLATE_NAMES: &[&str] = &[
    "layout.html",
    "macros.html",
    "home.html",
    "category.html",
    "topic.html",
    "composer.html",
    "search.html",
    "profile.html",
    "directory.html",
    "login.html",
    "signup.html",
    "invite.html",
    "plugin.html",
    "plugin_action.html",
    "review.html",
    "admin.html",
    "error.html",
    "notifications.html",
    "preferences.html",
    "products.html",
    "product.html",
    "kb.html",
    "kb_edit.html",
    "unsubscribe.html",
    "analytics.html",
    "security.html",
    "messages.html",
    "profile_edit.html",
    "message_new.html",
    "mailed_link.html",
];

/// The built-in stylesheet.
pub(crate) const CSS: &str = include_str!("../assets/hearth.css");
/// The site icon.
pub(crate) const ICON: &str = include_str!("../assets/icon.svg");
/// The progressive-enhancement script (pages work without it).
pub(crate) const JS: &str = include_str!("../assets/hearth.js");

/// The compiled templates.
pub(crate) struct Templates {
    env: Environment<'static>,
    pub css: String,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// Compiles the built-in templates with the theme's overrides; a broken
    /// override is reported here, at start-up, not on the first request.
    pub fn new(theme: &Theme) -> Result<Templates> {
        let mut env = Environment::new();
        crate::readable::register(&mut env);
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html
                && !value.is_safe()
                && let Some(s) = value.as_str()
            {
                return out.write_str(&escape(s)).map_err(minijinja::Error::from);
            }
            minijinja::escape_formatter(out, state, value)
        });
        for (name, source) in BUILT_IN {
            let source = theme
                .templates
                .get(*name)
                .cloned()
                .unwrap_or_else(|| (*source).to_string());
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| template_error(name, &e))?;
        }
        for (name, source) in &theme.templates {
            if !TEMPLATE_NAMES.contains(&name.as_str()) {
                env.add_template_owned(name.clone(), source.clone())
                    .map_err(|e| template_error(name, &e))?;
            }
        }
        let css = if theme.extra_css.is_empty() {
            CSS.to_string()
        } else {
            format!("{CSS}\n{}", theme.extra_css)
        };
        Ok(Templates { env, css })
    }

    /// Renders `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| template_error(name, &e))
    }
}

fn template_error(name: &str, e: &minijinja::Error) -> Error {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    Error::Template {
        name: name.to_string(),
        message,
    }
}

/// Escapes text for HTML and XML: `& < > " '` (and nothing else, so URLs
/// in attributes stay readable). The templates' auto-escaping uses it too.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_template_compiles_and_is_listed() {
        Templates::new(&Theme::default()).expect("compile");
        let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, TEMPLATE_NAMES);
    }

    #[test]
    fn a_broken_override_fails_at_start_up() {
        let mut theme = Theme::default();
        theme
            .templates
            .insert("home.html".into(), "{% if %}".into());
        let err = Templates::new(&theme).expect_err("broken");
        assert!(
            matches!(err, Error::Template { ref name, .. } if name == "home.html"),
            "{err}"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
