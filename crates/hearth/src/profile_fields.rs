//! Profile fields a community defines ("products I use", "role",
//! "region"): free text, one choice or several, each shown to everyone
//! who may read the community, to its members, or only to staff (and the
//! member). Members fill them in on their profile; the member directory
//! filters by the choice fields ("who uses Ledger Cloud in the Nordics").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::db::params;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::text::{Lines, check_chars};

/// Most fields a community defines.
pub const MAX_PROFILE_FIELDS: usize = 20;
/// Most options a choice field offers.
pub const MAX_FIELD_OPTIONS: usize = 50;

/// What a field holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text, at most `max_chars` characters (1 to 500).
    Text {
        /// The longest answer.
        max_chars: u32,
    },
    /// One of the options.
    Choice {
        /// What a member picks from.
        options: Vec<FieldOption>,
    },
    /// Any number of the options.
    MultiChoice {
        /// What a member picks from.
        options: Vec<FieldOption>,
    },
}

/// An option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    /// What is stored and filtered by (`ledger-cloud`): lower-case
    /// letters, digits, `-` and `_`, 1 to 50.
    pub value: String,
    /// What members see (`Ledger Cloud`).
    pub label: String,
}

/// Who sees a field's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldVisibility {
    /// Everyone who may read the community (guests too where it is public).
    #[default]
    Public,
    /// The community's members.
    Members,
    /// Staff (moderators and admins) and the member themselves.
    Staff,
}

/// A profile field, as [`CommunitySettings::profile_fields`](crate::CommunitySettings::profile_fields)
/// defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    /// Its key (`products`): lower-case letters, digits, `-` and `_`, 1
    /// to 30, unique in the community.
    pub key: String,
    /// Its label on profiles and forms, 1 to 60 characters.
    pub label: String,
    /// What it holds.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Who sees the answers.
    #[serde(default)]
    pub visibility: FieldVisibility,
}

impl ProfileField {
    /// The options of a choice field (none for text).
    pub fn options(&self) -> &[FieldOption] {
        match &self.kind {
            FieldKind::Text { .. } => &[],
            FieldKind::Choice { options } | FieldKind::MultiChoice { options } => options,
        }
    }

    /// Whether `viewer` sees answers to this field of `user`'s profile.
    fn visible_to(&self, viewer: &Viewer, user: UserId) -> bool {
        match self.visibility {
            FieldVisibility::Public => true,
            FieldVisibility::Members => viewer.is_member() || viewer.user == Some(user),
            FieldVisibility::Staff => viewer.is_moderator() || viewer.user == Some(user),
        }
    }

    /// The stored form of an answer, or what is wrong with it.
    fn check(&self, values: &[String]) -> Result<Vec<String>> {
        let field = "profile_fields";
        let wrong = |why: String| Error::invalid(field, format!("{}: {why}", self.key));
        match &self.kind {
            FieldKind::Text { max_chars } => {
                if values.len() > 1 {
                    return Err(wrong("one answer only".into()));
                }
                let text = values.concat();
                let text = text.trim();
                check_chars(field, text, Lines::One)?;
                if text.chars().count() > *max_chars as usize {
                    return Err(wrong(format!("at most {max_chars} characters")));
                }
                Ok(if text.is_empty() {
                    Vec::new()
                } else {
                    vec![text.to_string()]
                })
            }
            FieldKind::Choice { options } | FieldKind::MultiChoice { options } => {
                let mut out: Vec<String> = Vec::new();
                for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
                    if !options.iter().any(|o| o.value == v) {
                        return Err(wrong(format!("{v:?} is not one of the options")));
                    }
                    if !out.iter().any(|o| o == v) {
                        out.push(v.to_string());
                    }
                }
                if matches!(self.kind, FieldKind::Choice { .. }) && out.len() > 1 {
                    return Err(wrong("one option only".into()));
                }
                Ok(out)
            }
        }
    }
}

fn check_slug(what: &str, s: &str, max: usize) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "profile_fields",
            format!("{what} {s:?}: lower-case letters, digits, - and _, 1 to {max}"),
        ))
    }
}

/// Checks a community's field definitions.
pub(crate) fn validate(fields: &[ProfileField]) -> Result<()> {
    if fields.len() > MAX_PROFILE_FIELDS {
        return Err(Error::invalid(
            "profile_fields",
            format!("at most {MAX_PROFILE_FIELDS} fields"),
        ));
    }
    for (i, f) in fields.iter().enumerate() {
        check_slug("key", &f.key, 30)?;
        if fields[..i].iter().any(|g| g.key == f.key) {
            return Err(Error::invalid(
                "profile_fields",
                format!("key {:?} is used twice", f.key),
            ));
        }
        let n = f.label.trim().chars().count();
        if n == 0 || n > 60 {
            return Err(Error::invalid(
                "profile_fields",
                format!("{}: a label of 1 to 60 characters", f.key),
            ));
        }
        match &f.kind {
            FieldKind::Text { max_chars } if !(1..=500).contains(max_chars) => {
                return Err(Error::invalid(
                    "profile_fields",
                    format!("{}: max_chars 1 to 500", f.key),
                ));
            }
            FieldKind::Text { .. } => {}
            FieldKind::Choice { options } | FieldKind::MultiChoice { options } => {
                if options.is_empty() || options.len() > MAX_FIELD_OPTIONS {
                    return Err(Error::invalid(
                        "profile_fields",
                        format!("{}: 1 to {MAX_FIELD_OPTIONS} options", f.key),
                    ));
                }
                for (j, o) in options.iter().enumerate() {
                    check_slug("option", &o.value, 50)?;
                    let n = o.label.trim().chars().count();
                    if n == 0 || n > 60 || options[..j].iter().any(|p| p.value == o.value) {
                        return Err(Error::invalid(
                            "profile_fields",
                            format!(
                                "{}: option {:?} needs a unique value and a label of 1 to 60 characters",
                                f.key, o.value
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// A field of a member's profile with its answer, as the viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberField {
    /// The field.
    pub field: ProfileField,
    /// The answer: the text, or the chosen options' values (none when the
    /// member left it empty).
    pub values: Vec<String>,
}

impl MemberField {
    /// The answer as members read it: the text, or the options' labels
    /// joined with commas.
    pub fn display(&self) -> String {
        match &self.field.kind {
            FieldKind::Text { .. } => self.values.concat(),
            _ => self
                .values
                .iter()
                .filter_map(|v| self.field.options().iter().find(|o| &o.value == v))
                .map(|o| o.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The community's field with this key.
fn field_of<'a>(viewer: &'a Viewer, key: &str) -> Option<&'a ProfileField> {
    viewer
        .config
        .settings
        .profile_fields
        .iter()
        .find(|f| f.key == key)
}

/// The SQL condition "member `m` answered `field` with `value`" for each
/// filter (parameters from `?{first}` on; `?1` is the community), checked
/// against what `viewer` may filter by: choice fields they may see.
/// Appends the parameters. Each is an uncorrelated `IN` list, built once
/// per query (correlated on `m`, SQLite rebuilt it per member: 7.7 s
/// instead of milliseconds at 60,000 members).
pub(crate) fn directory_filter(
    viewer: &Viewer,
    filters: &[(String, String)],
    first: usize,
    args: &mut Vec<crate::db::Value>,
) -> Result<String> {
    let mut sql = String::new();
    for (i, (key, value)) in filters.iter().enumerate() {
        let field = field_of(viewer, key)
            .filter(|f| !matches!(f.kind, FieldKind::Text { .. }))
            .filter(|f| f.visibility != FieldVisibility::Staff || viewer.is_moderator())
            .ok_or_else(|| {
                Error::invalid(
                    "profile_fields",
                    format!("{key:?} is not a choice field you may filter by"),
                )
            })?;
        if !field.options().iter().any(|o| &o.value == value) {
            return Err(Error::invalid(
                "profile_fields",
                format!("{value:?} is not an option of {key}"),
            ));
        }
        let (k, v) = (first + 2 * i, first + 2 * i + 1);
        sql.push_str(&format!(
            " AND m.user_id IN (SELECT f.user_id FROM member_field_values f
                                WHERE f.community_id = ?1 AND f.field = ?{k}
                                  AND f.value = ?{v})"
        ));
        args.push(crate::db::Value::Text(key.clone()));
        args.push(crate::db::Value::Text(value.clone()));
    }
    Ok(sql)
}

impl Forum {
    /// The community's profile fields on `user`'s profile, with their
    /// answers, as the actor may see them (public ones to anyone who may
    /// read the community, members-only ones to members, staff-only ones
    /// to staff and the member), in the order the community defines them.
    pub fn member_fields(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<Vec<MemberField>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let fields: Vec<&ProfileField> = viewer
                .config
                .settings
                .profile_fields
                .iter()
                .filter(|f| f.visible_to(&viewer, user))
                .collect();
            if fields.is_empty() {
                return Ok(Vec::new());
            }
            let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut stmt = conn.prepare_cached(
                "SELECT field, value FROM member_field_values
                 WHERE community_id = ?1 AND user_id = ?2 ORDER BY field, value",
            )?;
            let mut rows = stmt.query(params![community, user])?;
            while let Some(r) = rows.next()? {
                answers
                    .entry(r.get::<_, String>(0)?)
                    .or_default()
                    .push(r.get(1)?);
            }
            Ok(fields
                .into_iter()
                .map(|f| {
                    let mut values = answers.remove(&f.key).unwrap_or_default();
                    // Choices in the order the field lists them.
                    let order = |v: &String| f.options().iter().position(|o| &o.value == v);
                    values.sort_by_key(order);
                    MemberField {
                        field: f.clone(),
                        values,
                    }
                })
                .collect())
        })
    }

    /// Sets answers on a member's profile: for each field key given, its
    /// answer (empty: cleared); fields not given keep theirs. The member
    /// themselves, or an admin. `Invalid` (field `profile_fields`, naming
    /// the key) for an unknown field, an option not offered, a second
    /// option of a single choice or text over the field's length; nothing
    /// is written then.
    pub fn set_member_fields(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        answers: &[(String, Vec<String>)],
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            if viewer.user != Some(user) && !viewer.is_admin() {
                return Err(Error::forbidden(
                    "only the member (or an admin) edits their profile",
                ));
            }
            if crate::member::membership(w.tx, community, user)?.is_none() {
                return Err(Error::not_found("member"));
            }
            let mut checked = Vec::with_capacity(answers.len());
            for (key, values) in answers {
                let field = field_of(&viewer, key).ok_or_else(|| {
                    Error::invalid("profile_fields", format!("{key:?}: no such field"))
                })?;
                checked.push((key, field.check(values)?));
            }
            for (key, values) in checked {
                w.tx.prepare_cached(
                    "DELETE FROM member_field_values
                     WHERE community_id = ?1 AND user_id = ?2 AND field = ?3",
                )?
                .execute(params![community, user, key])?;
                for v in values {
                    w.tx.prepare_cached(
                        "INSERT INTO member_field_values (community_id, user_id, field, value)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![community, user, key, v])?;
                }
            }
            Ok(())
        })
    }
}
