//! Accounts of other systems: single sign-on from an embedding product.
//!
//! A product that signs its users in (for example through DiscourseConnect,
//! which `hearth-web` speaks) names each by its own id. The engine keeps
//! one mapping per (provider, external id) to a Hearth user, each way at
//! most once per provider, and makes the account on first sign-in: the
//! product's accounts are the community's accounts. Such accounts have no
//! password ([`NO_PASSWORD`]); password sign-in never matches them.

use crate::db::{Conn, OptionalExtension, params};

use crate::clock::to_millis;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::UserId;
use crate::member::{NewUser, User, insert_user, load_user};
use crate::text::{Lines, check_chars, check_name, check_url, validate_username};

/// The password hash of an account made by single sign-on: not a PHC
/// string, so no password ever verifies against it.
pub const NO_PASSWORD: &str = "$none";

/// What a provider says about one of its users at sign-in.
#[derive(Debug, Clone, Default)]
pub struct ExternalAccount {
    /// Which system: 1 to 50 of `a-z 0-9 _ -` (e.g. `"discourse_connect"`).
    pub provider: String,
    /// Its id for the user: 1 to 200 characters on one line.
    pub external_id: String,
    /// Their e-mail address.
    pub email: String,
    /// Whether the provider checked the address: only then is an existing
    /// account with that address linked rather than a new one made.
    pub email_verified: bool,
    /// The username they would like; made valid and unique (from the
    /// address when empty).
    pub username: String,
    /// Their name, kept in step at each sign-in when given.
    pub display_name: Option<String>,
    /// Their avatar (`http(s)`), kept in step at each sign-in when given.
    pub avatar_url: Option<String>,
}

/// Who a sign-in through a provider is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSignIn {
    /// The Hearth account.
    pub user: User,
    /// Whether the account was made by this sign-in.
    pub created: bool,
}

fn check_provider(provider: &str) -> Result<()> {
    let ok = (1..=50).contains(&provider.len())
        && provider
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "provider",
            "1 to 50 of a-z, 0-9, '_' and '-'",
        ))
    }
}

fn check_external_id(id: &str) -> Result<()> {
    check_chars("external_id", id, Lines::One)?;
    if id.is_empty() || id.chars().count() > 200 {
        return Err(Error::invalid("external_id", "1 to 200 characters"));
    }
    Ok(())
}

impl Forum {
    /// Signs in a provider's user: the account linked to their external
    /// id; else the account with their (verified) e-mail address, now
    /// linked; else a new account, linked. Name and avatar follow the
    /// provider's at every sign-in. One transaction: a failure links and
    /// makes nothing. For the application (no actor: the provider is
    /// trusted as the application is).
    pub fn sign_in_external(&self, account: &ExternalAccount) -> Result<ExternalSignIn> {
        check_provider(&account.provider)?;
        check_external_id(&account.external_id)?;
        let email = account.email.trim();
        crate::login::check_email(email)?;
        if let Some(name) = &account.display_name {
            check_name("display_name", name, 0, 60)?;
        }
        if let Some(url) = account.avatar_url.as_deref().filter(|u| !u.is_empty()) {
            check_url("avatar_url", url)?;
        }
        self.store.write(|tx| {
            let now = to_millis(self.now());
            let mut created = false;
            let user = match linked(tx, &account.provider, &account.external_id)? {
                Some(u) => u,
                None => {
                    let by_email: Option<UserId> = if account.email_verified {
                        tx.prepare_cached("SELECT user_id FROM logins WHERE email_lower = ?1")?
                            .query_row([email.to_lowercase()], |r| r.get(0))
                            .optional()?
                    } else {
                        None
                    };
                    let user = match by_email {
                        Some(u) => {
                            let other: bool = tx
                                .prepare_cached(
                                    "SELECT EXISTS(SELECT 1 FROM external_accounts
                                     WHERE provider = ?1 AND user_id = ?2)",
                                )?
                                .query_row(params![account.provider, u], |r| r.get(0))?;
                            if other {
                                return Err(Error::conflict(format!(
                                    "the account with {email} is linked to another {} user",
                                    account.provider
                                )));
                            }
                            u
                        }
                        None => {
                            let taken: bool = tx
                                .prepare_cached(
                                    "SELECT EXISTS(SELECT 1 FROM logins WHERE email_lower = ?1)",
                                )?
                                .query_row([email.to_lowercase()], |r| r.get(0))?;
                            if taken {
                                return Err(Error::conflict(format!(
                                    "an account already has {email}, and {} has not verified it",
                                    account.provider
                                )));
                            }
                            let username = free_username(tx, &account.username, email)?;
                            let new = NewUser {
                                username,
                                display_name: account.display_name.clone().unwrap_or_default(),
                            };
                            let user = insert_user(tx, &new, now)?;
                            tx.prepare_cached(
                                "INSERT INTO logins (user_id, email, email_lower, password_hash, updated_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5)",
                            )?
                            .execute(params![user.id, email, email.to_lowercase(), NO_PASSWORD, now])?;
                            created = true;
                            user.id
                        }
                    };
                    tx.prepare_cached(
                        "INSERT INTO external_accounts (provider, external_id, user_id, created_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![account.provider, account.external_id, user, now])?;
                    user
                }
            };
            if let Some(name) = &account.display_name {
                tx.prepare_cached("UPDATE users SET display_name = ?2 WHERE id = ?1 AND display_name <> ?2")?
                    .execute(params![user, name.trim()])?;
            }
            if let Some(url) = &account.avatar_url {
                let url = Some(url.trim()).filter(|u| !u.is_empty());
                tx.prepare_cached(
                    "UPDATE users SET avatar_url = ?2 WHERE id = ?1 AND avatar_url IS DISTINCT FROM ?2",
                )?
                .execute(params![user, url])?;
            }
            Ok(ExternalSignIn {
                user: load_user(tx, user)?,
                created,
            })
        })
    }

    /// The account linked to a provider's external id, if any.
    pub fn external_user(&self, provider: &str, external_id: &str) -> Result<Option<User>> {
        self.read(|conn, _| match linked(conn, provider, external_id)? {
            Some(u) => Ok(Some(load_user(conn, u)?)),
            None => Ok(None),
        })
    }

    /// A user's external id at a provider, if linked.
    pub fn external_id(&self, provider: &str, user: UserId) -> Result<Option<String>> {
        self.read(|conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT external_id FROM external_accounts WHERE provider = ?1 AND user_id = ?2",
                )?
                .query_row(params![provider, user], |r| r.get(0))
                .optional()?)
        })
    }
}

fn linked(conn: &Conn, provider: &str, external_id: &str) -> Result<Option<UserId>> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id FROM external_accounts WHERE provider = ?1 AND external_id = ?2",
        )?
        .query_row(params![provider, external_id], |r| r.get(0))
        .optional()?)
}

/// `wanted` (or the address's local part) made a valid username: other
/// characters become `_`, runs of `_ . -` one, at most 20 characters.
fn username_from(wanted: &str, email: &str) -> String {
    let source = if wanted.trim().is_empty() {
        email.split('@').next().unwrap_or_default()
    } else {
        wanted.trim()
    };
    let mut out = String::new();
    for c in source.chars() {
        let c = if c.is_ascii_alphanumeric() || "_.-".contains(c) {
            c
        } else {
            '_'
        };
        let special = "_.-".contains(c);
        if special && (out.is_empty() || out.ends_with(['_', '.', '-'])) {
            if out.is_empty() && c == '_' {
                out.push(c);
            }
            continue;
        }
        out.push(c);
    }
    let mut out: String = out.chars().take(20).collect();
    while out.ends_with(['.', '-', '_']) && out.len() > 1 {
        out.pop();
    }
    if out.bytes().all(|b| b.is_ascii_digit()) {
        out.insert(0, 'u');
    }
    while out.chars().count() < 3 {
        out.push('1');
    }
    out.chars().take(20).collect()
}

/// The first free valid username from `wanted`: itself, then with 1, 2, …
/// (shortened to fit 20 characters).
fn free_username(tx: &Conn, wanted: &str, email: &str) -> Result<String> {
    let base = username_from(wanted, email);
    for n in 0..1000u32 {
        let candidate = if n == 0 {
            base.clone()
        } else {
            let suffix = n.to_string();
            let keep = 20 - suffix.len();
            let stem: String = base.chars().take(keep).collect();
            format!("{}{suffix}", stem.trim_end_matches(['.', '-', '_']))
        };
        if validate_username(&candidate).is_err() {
            continue;
        }
        let taken: bool = tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE username_lower = ?1)")?
            .query_row([candidate.to_ascii_lowercase()], |r| r.get(0))?;
        if !taken {
            return Ok(candidate);
        }
    }
    Err(Error::conflict(format!(
        "no free username like {base:?}: send another username"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_made_valid_from_what_the_provider_sends() {
        for (wanted, email, made) in [
            ("Jane Doe", "j@x.io", "Jane_Doe"),
            ("", "jane.doe+forum@x.io", "jane.doe_forum"),
            ("__a..b--", "x@x.io", "_a.b"),
            ("12345", "x@x.io", "u12345"),
            ("é", "x@x.io", "_11"),
            ("a", "x@x.io", "a11"),
            (
                "averyveryverylongusername",
                "x@x.io",
                "averyveryverylonguse",
            ),
        ] {
            assert_eq!(username_from(wanted, email), made, "{wanted:?}");
        }
        // Whatever comes in, the result is valid or fixed by a suffix.
        for wanted in ["admin", "-x-", "....", "ÄÖÜ", "a_b_c_d_e_f_g_h_i_j_k"] {
            let name = username_from(wanted, "x@x.io");
            assert!(
                name.chars().count() <= 20 && name.len() >= 3,
                "{wanted:?} → {name:?}"
            );
        }
    }
}
