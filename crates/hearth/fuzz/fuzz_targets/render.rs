//! Fuzzes the render pipeline: Markdown and HTML in, sanitized HTML out.
//!
//! Checks: no panic; the output re-sanitizes to itself; every tag is on the
//! allowlist with allowed attributes only, and URLs use allowed schemes.
//! Run with `cargo +nightly fuzz run render` from `crates/hearth`.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The tags of serialized HTML (text `<` is always escaped as `&lt;`).
fn tags(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let mut in_quote = false;
        let mut end = None;
        for (i, b) in rest[start..].bytes().enumerate() {
            match b {
                b'"' => in_quote = !in_quote,
                b'>' if !in_quote => {
                    end = Some(start + i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.expect("unterminated tag");
        out.push(&rest[start + 1..end]);
        rest = &rest[end + 1..];
    }
    out
}

fn check(html: &str) {
    for tag in tags(html) {
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let name_len = tag.bytes().take_while(|b| b.is_ascii_alphanumeric()).count();
        let name = &tag[..name_len];
        assert!(hearth::ALLOWED_TAGS.contains(&name), "element {name:?} in {html:?}");
        let allowed = hearth::ALLOWED_ATTRIBUTES
            .iter()
            .find(|(t, _)| *t == name)
            .map(|(_, a)| *a)
            .unwrap_or(&[]);
        let mut rest = tag[name_len..].trim_start();
        while !rest.is_empty() {
            let eq = rest.find(['=', ' ']).unwrap_or(rest.len());
            let attr = rest[..eq].to_ascii_lowercase();
            let mut value = String::new();
            if rest[eq..].starts_with("=\"") {
                let v = &rest[eq + 2..];
                let len = v.find('"').expect("unquoted attribute");
                value = v[..len].replace("&amp;", "&");
                rest = v[len + 1..].trim_start();
            } else {
                rest = rest[eq..].trim_start_matches(['=', ' ']);
            }
            assert!(
                allowed.contains(&attr.as_str()) || (name == "a" && attr == "rel"),
                "attribute {attr:?} on {name} in {html:?}"
            );
            if attr == "href" || attr == "src" {
                if let Some(colon) = value.find(':') {
                    let before = &value[..colon];
                    if !before.contains(['/', '?', '#']) {
                        let scheme = before.to_ascii_lowercase();
                        assert!(hearth::ALLOWED_SCHEMES.contains(&scheme.as_str()), "scheme {scheme:?} in {html:?}");
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let settings = hearth::CommunitySettings {
        base_url: Some("https://forum.example.com/".into()),
        ..Default::default()
    };
    // Author HTML alone: inside the allowlist, no id, class or control
    // (those are the renderer's), and a fixed point.
    let clean = hearth::sanitize_html(&settings, text).expect("settings are valid");
    check(&clean);
    for tag in tags(&clean) {
        assert!(!tag.starts_with("input") && !tag.contains(" id=\"") && !(tag.contains(" class=\"") && !tag.starts_with("code")),
            "author markup kept a renderer-only element or attribute: {tag:?} for {text:?}");
    }
    let again = hearth::sanitize_html(&settings, &clean).expect("settings are valid");
    assert_eq!(again, clean, "sanitizing is not idempotent for {text:?}");
    let Ok(html) = hearth::render_markdown(&settings, text) else { return };
    check(&html);
    for tag in tags(&html) {
        if tag.starts_with("input") {
            assert!(tag.starts_with("input type=\"checkbox\" disabled=\"\""), "control {tag:?} for {text:?}");
        }
        if let Some(at) = tag.find(" id=\"") {
            assert!(tag[at + 5..].starts_with("hearth-fn-"), "id in {tag:?} for {text:?}");
        }
    }
});
