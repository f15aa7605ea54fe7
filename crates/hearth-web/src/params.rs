//! Request parameters the way Discourse's clients send them: a JSON body,
//! a form-encoded body (with Rails-style nested keys such as `post[raw]`),
//! a multipart form (its text fields, and one attached file), or the query
//! string — merged, the body winning.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::error::{Error, Fail};
use crate::state::State;
use crate::visitor::{Visitor, wants_json};

/// Parsed parameters of one request.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pub map: Map<String, Value>,
    /// The file a multipart form attached (field `file` or `files[]`),
    /// if any and not empty.
    pub file: Option<hearth::NewUpload>,
}

impl Params {
    /// A value by key; `a.b` reaches into `{"a": {"b": …}}` (what
    /// `a[b]=…` in a form becomes).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let mut parts = key.split('.');
        let mut v = self.map.get(parts.next()?)?;
        for p in parts {
            v = v.get(p)?;
        }
        Some(v)
    }

    /// A value of a bracketed group (`group[key]=…`), `key` taken whole:
    /// it may hold dots (a host name, a plugin's setting key), which
    /// [`Params::get`] would read as nesting.
    pub fn in_group(&self, group: &str, key: &str) -> Option<&Value> {
        self.map.get(group)?.get(key)
    }

    /// [`Params::str`] of a bracketed group's member (see [`Params::in_group`]).
    pub fn str_in(&self, group: &str, key: &str) -> Option<String> {
        text(self.in_group(group, key)?)
    }

    /// [`Params::bool`] of a bracketed group's member (see [`Params::in_group`]).
    pub fn bool_in(&self, group: &str, key: &str) -> Option<bool> {
        flag(self.in_group(group, key)?)
    }

    /// A string parameter (numbers and booleans are given as text).
    pub fn str(&self, key: &str) -> Option<String> {
        text(self.get(key)?)
    }

    /// A string parameter that must be present.
    pub fn need(&self, key: &str) -> Result<String, Error> {
        self.str(key).ok_or_else(|| {
            Error::BadRequest(format!("param is missing or the value is empty: {key}"))
        })
    }

    /// An integer parameter; `BadRequest` if present but not a number.
    pub fn int(&self, key: &str) -> Result<Option<i64>, Error> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| Error::BadRequest(format!("{key} must be an integer"))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::BadRequest(format!("{key} must be an integer"))),
            Some(_) => Err(Error::BadRequest(format!("{key} must be an integer"))),
        }
    }

    /// A boolean parameter (`true`/`false`, `1`/`0`, `on`).
    pub fn bool(&self, key: &str) -> Option<bool> {
        flag(self.get(key)?)
    }

    /// Passes CSRF protection or fails with [`Error::Csrf`].
    pub fn check_csrf(&self, visitor: &Visitor) -> Result<(), Error> {
        if visitor.csrf_ok(self.str("authenticity_token").as_deref()) {
            Ok(())
        } else {
            Err(Error::Csrf)
        }
    }

    /// The actor of a write: passes CSRF protection and is signed in.
    pub fn writer(&self, visitor: &Visitor) -> Result<hearth::Actor, Error> {
        self.check_csrf(visitor)?;
        visitor.require_user()
    }

    /// Parses a form-encoded string into nested parameters. Invalid UTF-8
    /// after percent-decoding is refused ([`Error::InvalidUtf8`]), never
    /// replaced.
    pub fn from_form(body: &str, part: &'static str) -> Result<Params, Error> {
        let mut map = Map::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| -> Result<String, Error> {
                let plus = s.replace('+', " ");
                percent_encoding::percent_decode_str(&plus)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| Error::InvalidUtf8 { part })
            };
            insert_nested(&mut map, &decode(k)?, decode(v)?);
        }
        Ok(Params { map, file: None })
    }
}

impl Params {
    /// A multipart form's text fields (nested as a form's are) and its
    /// file (`file` or `files[]`; an empty file field counts as none).
    pub async fn from_multipart(mut form: axum::extract::Multipart) -> Result<Params, Error> {
        let mut params = Params::default();
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| Error::BadRequest(format!("multipart: {e}")))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" || name == "files[]" {
                let filename = field.file_name().unwrap_or("upload").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| Error::BadRequest(format!("file: {e}")))?;
                if !bytes.is_empty() {
                    params.file = Some(hearth::NewUpload {
                        filename,
                        bytes: bytes.to_vec(),
                    });
                }
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|e| Error::BadRequest(format!("{name}: {e}")))?;
                insert_nested(&mut params.map, &name, text);
            }
        }
        Ok(params)
    }
}

/// `post[raw]` → `{"post": {"raw": …}}`; `tags[]` → `{"tags": [...]}`.
/// A value as text (numbers and booleans too).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as a flag (`true`/`false`, `1`/`0`, `on`, `yes`).
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1" | "on" | "yes")),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        _ => None,
    }
}

fn insert_nested(map: &mut Map<String, Value>, key: &str, value: String) {
    let (head, rest) = match key.find('[') {
        Some(i) if key.ends_with(']') => (&key[..i], Some(&key[i + 1..key.len() - 1])),
        _ => (key, None),
    };
    match rest {
        None => {
            map.insert(head.to_string(), Value::String(value));
        }
        Some("") => {
            let entry = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = entry {
                a.push(Value::String(value));
            }
        }
        Some(inner) => {
            let entry = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(o) = entry {
                // One level of nesting is all Discourse's endpoints use;
                // deeper keys are kept whole.
                o.insert(inner.replace("][", "."), Value::String(value));
            }
        }
    }
}

impl FromRequest<State> for Params {
    type Rejection = Fail;

    async fn from_request(req: Request, state: &State) -> Result<Self, Self::Rejection> {
        let json = wants_json(req.method(), req.uri(), req.headers());
        let fail = |error| Fail { error, json };
        let query = req.uri().query().unwrap_or("").to_string();
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let multipart = content_type.starts_with("multipart/form-data");
        // A form with a file may be as large as an upload (the router's
        // body limit has already applied the path's own limit).
        let limit = match multipart {
            true => crate::routes::upload_body_limit(state),
            false => state.config.limits.body_bytes,
        };
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| fail(Error::TooLarge { limit }))?;
        let mut params = Params::from_form(&query, "query").map_err(fail)?;
        let body = if multipart {
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            let form = axum::extract::Multipart::from_request(req, &())
                .await
                .map_err(|e| fail(Error::BadRequest(format!("multipart: {e}"))))?;
            Params::from_multipart(form).await.map_err(fail)?
        } else if bytes.is_empty() {
            Params::default()
        } else if content_type.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Params { map, file: None },
                Ok(_) => {
                    return Err(fail(Error::BadRequest(
                        "the JSON body must be an object".into(),
                    )));
                }
                Err(e) => return Err(fail(Error::BadRequest(format!("malformed JSON: {e}")))),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.is_empty()
        {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| fail(Error::InvalidUtf8 { part: "form body" }))?;
            Params::from_form(text, "form body").map_err(fail)?
        } else {
            return Err(fail(Error::BadRequest(format!(
                "unsupported content type {content_type:?}; send JSON or a form"
            ))));
        };
        params.map.extend(body.map);
        params.file = body.file;
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_members_with_dots_are_taken_whole() {
        let p = Params::from_form(
            "host%5Brest.akismet.com%5D=true&host[%5B::1%5D]=on&setting[a.b]=x&clear[k]=1",
            "form body",
        )
        .expect("parse");
        assert_eq!(p.bool_in("host", "rest.akismet.com"), Some(true));
        assert_eq!(p.bool_in("host", "[::1]"), Some(true));
        assert_eq!(p.bool_in("host", "10.0.0.1"), None);
        assert_eq!(p.str_in("setting", "a.b").as_deref(), Some("x"));
        assert_eq!(p.bool_in("clear", "k"), Some(true));
        // The dotted path reads nesting, so it misses such keys.
        assert_eq!(p.bool("host.rest.akismet.com"), None);
    }

    #[test]
    fn rails_style_form_keys_nest() {
        let p = Params::from_form(
            "post%5Braw%5D=hello+world&post[edit_reason]=typo&tags[]=a&tags[]=b&x=1",
            "form body",
        )
        .expect("parse");
        assert_eq!(p.str("post.raw").as_deref(), Some("hello world"));
        assert_eq!(p.str("post.edit_reason").as_deref(), Some("typo"));
        assert_eq!(p.get("tags"), Some(&serde_json::json!(["a", "b"])));
        assert_eq!(p.int("x").expect("int"), Some(1));
    }

    #[test]
    fn invalid_utf8_is_refused_not_replaced() {
        for bad in ["a=%FF", "%C3=x", "a=%ED%A0%80", "a=ok&b=%E2%82"] {
            assert!(
                matches!(
                    Params::from_form(bad, "query"),
                    Err(Error::InvalidUtf8 { part: "query" })
                ),
                "{bad}"
            );
        }
        let p = Params::from_form("a=%C3%A9%E2%82%AC", "query").expect("valid");
        assert_eq!(p.str("a").as_deref(), Some("é€"));
    }

    #[test]
    fn integers_from_text_or_numbers() {
        let p = Params {
            map: serde_json::from_str(r#"{"a": 5, "b": "7", "c": "x", "d": ""}"#).expect("json"),
            file: None,
        };
        assert_eq!(p.int("a").expect("a"), Some(5));
        assert_eq!(p.int("b").expect("b"), Some(7));
        assert!(p.int("c").is_err());
        assert_eq!(p.int("d").expect("d"), None);
        assert_eq!(p.int("missing").expect("missing"), None);
    }
}
