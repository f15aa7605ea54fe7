//! E-mail: what the engine sends ([`Email`]), the [`Mailer`] trait that
//! delivers it (a [`FileMailer`] writing `.eml` files is the default; the
//! application plugs in SMTP or a provider), members' e-mail choices
//! (digest frequency, unsubscribe, bounces) and signed one-click
//! unsubscribe tokens.

use std::path::{Path, PathBuf};

use crate::db::{Conn, OptionalExtension, params};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::permissions::Actor;

/// What an e-mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// A batch of notifications.
    Notifications,
    /// The best new topics of a day or week.
    Digest,
    /// "We miss you": the best since the member's last visit.
    WeMissYou,
    /// Mail someone asked for: a password reset link, an address to
    /// confirm ([`Forum::queue_account_email`]).
    Account,
}

impl EmailKind {
    /// `notifications`, `digest`, `we_miss_you`, `account`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Notifications => "notifications",
            EmailKind::Digest => "digest",
            EmailKind::WeMissYou => "we_miss_you",
            EmailKind::Account => "account",
        }
    }

    /// Parses [`EmailKind::as_str`].
    pub fn parse(s: &str) -> Option<EmailKind> {
        Some(match s {
            "notifications" => EmailKind::Notifications,
            "digest" => EmailKind::Digest,
            "we_miss_you" => EmailKind::WeMissYou,
            "account" => EmailKind::Account,
            _ => return None,
        })
    }
}

/// How often a member gets the digest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestFrequency {
    /// Every day, for the day before.
    Daily,
    /// Every Monday, for the week before.
    #[default]
    Weekly,
    /// Never.
    Never,
}

impl DigestFrequency {
    /// `daily`, `weekly`, `never`.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestFrequency::Daily => "daily",
            DigestFrequency::Weekly => "weekly",
            DigestFrequency::Never => "never",
        }
    }

    /// Parses [`DigestFrequency::as_str`].
    pub fn parse(s: &str) -> Option<DigestFrequency> {
        Some(match s {
            "daily" => DigestFrequency::Daily,
            "weekly" => DigestFrequency::Weekly,
            "never" => DigestFrequency::Never,
            _ => return None,
        })
    }
}

/// A community's e-mail settings (part of
/// [`CommunitySettings`](crate::CommunitySettings)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// Whether jobs write e-mail at all.
    pub enabled: bool,
    /// The sender, e.g. `Acme Community <community@acme.example>`.
    pub from: String,
    /// The digest for members who have not chosen.
    pub default_digest: DigestFrequency,
    /// Days without a visit before "we miss you" (0 turns it off).
    pub we_miss_you_days: u32,
    /// Most topics in a digest or "we miss you".
    pub max_topics: u32,
    /// Whether people who sign up on the site confirm their address
    /// (follow a mailed link) before they can sign in and join. Only where
    /// mail is delivered: a server that sends none cannot ask for it.
    pub confirm_signups: bool,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            enabled: true,
            from: "Community <community@localhost>".into(),
            default_digest: DigestFrequency::Weekly,
            we_miss_you_days: 90,
            max_topics: 5,
            confirm_signups: true,
        }
    }
}

/// One e-mail, ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Its outbox id (stable across retries: a `Message-ID` can use it).
    pub id: i64,
    /// The community it is from.
    pub community: CommunityId,
    /// The recipient.
    pub user: UserId,
    /// The recipient's address.
    pub to: String,
    /// The sender.
    pub from: String,
    /// What it is for.
    pub kind: EmailKind,
    /// The subject line.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML (every value escaped).
    pub html: String,
    /// The one-click unsubscribe URL (for `List-Unsubscribe`).
    pub unsubscribe_url: String,
}

impl Email {
    /// The `Message-ID` (with its angle brackets), the same on every
    /// delivery attempt of this outbox entry: if a process dies after the
    /// mail server accepted the message but before the outbox recorded it,
    /// the message goes out again with this id, and mail servers and
    /// clients treat the two as one.
    pub fn message_id(&self) -> String {
        format!("<outbox-{}-{}@hearth>", self.id, self.community.0)
    }

    /// The message as RFC 5322 text (multipart/alternative, UTF-8, with
    /// `List-Unsubscribe` and `List-Unsubscribe-Post` for one-click
    /// unsubscribe).
    pub fn to_rfc5322(&self, date: OffsetDateTime) -> String {
        let boundary = format!("hearth-{}", self.id);
        let date = date
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
             Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n\
             List-Unsubscribe: <{unsub}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
             Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
             --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n\
             --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n\
             --{boundary}--\r\n",
            from = header_safe(&self.from),
            to = header_safe(&self.to),
            subject = encode_subject(&self.subject),
            message_id = self.message_id(),
            unsub = header_safe(&self.unsubscribe_url),
            text = self.text.replace('\n', "\r\n"),
            html = self.html,
        )
    }
}

/// No header injection: line breaks never reach a header.
fn header_safe(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// RFC 2047 for non-ASCII subjects.
fn encode_subject(s: &str) -> String {
    let s = header_safe(s);
    if s.is_ascii() {
        return s;
    }
    let hex: String = s
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            }
        })
        .collect();
    format!("=?UTF-8?Q?{hex}?=")
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Try again later (the outbox keeps it, counting attempts).
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// The address does not take mail: the member gets no more e-mail
    /// until the address changes.
    #[error("bounced: {0}")]
    Bounced(String),
}

/// Delivers e-mail. Implementations must be safe to call from the job
/// runner's thread; a failure leaves the message in the outbox.
pub trait Mailer: Send + Sync {
    /// Delivers one message.
    fn send(&self, email: &Email) -> std::result::Result<(), MailError>;
}

/// Writes each message as an `.eml` file into a folder (the default: see
/// what would be sent, open it in any mail program).
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    /// A mailer writing into `dir` (created if missing).
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<FileMailer> {
        std::fs::create_dir_all(dir.as_ref())?;
        Ok(FileMailer {
            dir: dir.as_ref().to_path_buf(),
        })
    }

    /// The folder written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Mailer for FileMailer {
    fn send(&self, email: &Email) -> std::result::Result<(), MailError> {
        let name = format!(
            "{:08}-{}-{}.eml",
            email.id,
            email.kind.as_str(),
            email.user.0
        );
        // Written whole then renamed: a reader never sees half a message.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, email.to_rfc5322(OffsetDateTime::now_utc()))
            .and_then(|_| std::fs::rename(&tmp, self.dir.join(&name)))
            .map_err(|e| MailError::Transient(format!("writing {name}: {e}")))
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The database's signing key, made on first use.
pub(crate) fn secret(conn: &Conn) -> Result<Vec<u8>> {
    if let Some(v) = conn
        .prepare_cached("SELECT value FROM secrets WHERE name = 'unsubscribe'")?
        .query_row(params![], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
    {
        return Ok(v);
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| Error::Storage(format!("randomness: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO secrets (name, value) VALUES ('unsubscribe', ?1) ON CONFLICT DO NOTHING",
    )?
    .execute([&key])?;
    Ok(conn
        .prepare_cached("SELECT value FROM secrets WHERE name = 'unsubscribe'")?
        .query_row(params![], |r| r.get(0))?)
}

fn mac(key: &[u8], community: CommunityId, user: UserId, scope: &str) -> Result<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(key)
        .map_err(|e| Error::Storage(format!("unsubscribe key: {e}")))?;
    m.update(format!("unsubscribe:{}:{}:{scope}", community.0, user.0).as_bytes());
    Ok(m)
}

/// `{user}.{scope}.{hex}`: scope `all` stops every e-mail, `digest` only
/// digests.
pub(crate) fn sign(
    key: &[u8],
    community: CommunityId,
    user: UserId,
    scope: &str,
) -> Result<String> {
    let tag = mac(key, community, user, scope)?.finalize().into_bytes();
    Ok(format!("{}.{scope}.{}", user.0, crate::text::hex(&tag)))
}

fn verify(key: &[u8], community: CommunityId, token: &str) -> Result<(UserId, String)> {
    let bad = || Error::invalid("token", "this unsubscribe link is not valid");
    let mut parts = token.splitn(3, '.');
    let user = UserId(parts.next().and_then(|u| u.parse().ok()).ok_or_else(bad)?);
    let scope = parts
        .next()
        .filter(|s| matches!(*s, "all" | "digest"))
        .ok_or_else(bad)?;
    let hex = parts.next().ok_or_else(bad)?;
    if hex.len() != 64 {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad())?;
    mac(key, community, user, scope)?
        .verify_slice(&bytes)
        .map_err(|_| bad())?;
    Ok((user, scope.to_string()))
}

/// A member's e-mail choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPreferences {
    /// Digest frequency (the community default until chosen).
    pub digest: DigestFrequency,
    /// Unsubscribed from everything.
    pub unsubscribed: bool,
    /// Their address bounced.
    pub bounced: bool,
}

pub(crate) fn preferences_of(
    conn: &Conn,
    community: CommunityId,
    user: UserId,
    default: DigestFrequency,
) -> Result<EmailPreferences> {
    let row: Option<(Option<String>, bool, bool)> = conn
        .prepare_cached(
            "SELECT digest, unsubscribed_at IS NOT NULL, bounced_at IS NOT NULL
             FROM email_prefs WHERE user_id = ?1 AND community_id = ?2",
        )?
        .query_row(params![user, community], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (digest, unsubscribed, bounced) = row.unwrap_or((None, false, false));
    Ok(EmailPreferences {
        digest: digest
            .as_deref()
            .and_then(DigestFrequency::parse)
            .unwrap_or(default),
        unsubscribed,
        bounced,
    })
}

impl Forum {
    /// The signed-in member's e-mail choices.
    pub fn email_preferences(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<EmailPreferences> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let user = viewer.require_poster()?;
            preferences_of(
                conn,
                community,
                user,
                viewer.config.settings.email.default_digest,
            )
        })
    }

    /// Sets the member's digest frequency; choosing one also takes back an
    /// earlier "unsubscribe from everything".
    pub fn set_email_preferences(
        &self,
        actor: &Actor,
        community: CommunityId,
        digest: DigestFrequency,
        subscribed: bool,
    ) -> Result<EmailPreferences> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let user = viewer.require_poster()?;
            w.tx.prepare_cached(
                "INSERT INTO email_prefs (user_id, community_id, digest, unsubscribed_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, community_id) DO UPDATE SET digest = excluded.digest,
                    unsubscribed_at = excluded.unsubscribed_at",
            )?
            .execute(params![user, community, digest.as_str(), (!subscribed).then(|| w.now_ms())])?;
            preferences_of(w.tx, community, user, viewer.config.settings.email.default_digest)
        })
    }

    /// The one-click unsubscribe link's token for a member (`all`, or
    /// `digest` for digests only).
    pub fn unsubscribe_token(
        &self,
        community: CommunityId,
        user: UserId,
        digest_only: bool,
    ) -> Result<String> {
        self.write(|w| {
            sign(
                &secret(w.tx)?,
                community,
                user,
                if digest_only { "digest" } else { "all" },
            )
        })
    }

    /// Applies a one-click unsubscribe token (no sign-in needed: the
    /// signature is the proof). Returns whom it unsubscribed; a forged or
    /// altered token is `Invalid` and changes nothing.
    pub fn unsubscribe(&self, community: CommunityId, token: &str) -> Result<UserId> {
        self.write(|w| {
            let (user, scope) = verify(&secret(w.tx)?, community, token)?;
            if scope == "digest" {
                w.tx.prepare_cached(
                    "INSERT INTO email_prefs (user_id, community_id, digest) VALUES (?1, ?2, 'never')
                     ON CONFLICT (user_id, community_id) DO UPDATE SET digest = 'never'",
                )?
                .execute(params![user, community])?;
            } else {
                w.tx.prepare_cached(
                    "INSERT INTO email_prefs (user_id, community_id, unsubscribed_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (user_id, community_id) DO UPDATE SET unsubscribed_at = coalesce(email_prefs.unsubscribed_at, ?3)",
                )?
                .execute(params![user, community, w.now_ms()])?;
            }
            Ok(user)
        })
    }

    /// Records that a member's address bounced (from a provider's bounce
    /// webhook); they get no more e-mail until it is cleared.
    pub fn record_bounce(&self, actor: &Actor, community: CommunityId, user: UserId) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            if !viewer.system {
                viewer.require_admin()?;
            }
            mark_bounced(w.tx, community, user, w.now_ms())
        })
    }
}

pub(crate) fn mark_bounced(
    conn: &Conn,
    community: CommunityId,
    user: UserId,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO email_prefs (user_id, community_id, bounced_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, community_id) DO UPDATE SET bounced_at = ?3",
    )?
    .execute(params![user, community, now])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_resist_tampering() {
        let key = [7u8; 32];
        let c = CommunityId(3);
        let t = sign(&key, c, UserId(42), "all").expect("sign");
        assert_eq!(
            verify(&key, c, &t).expect("verify"),
            (UserId(42), "all".into())
        );
        // Another user, scope, community or key: refused.
        let other_user = t.replacen("42.", "43.", 1);
        assert!(verify(&key, c, &other_user).is_err());
        let other_scope = t.replacen(".all.", ".digest.", 1);
        assert!(verify(&key, c, &other_scope).is_err());
        assert!(verify(&key, CommunityId(4), &t).is_err());
        assert!(verify(&[8u8; 32], c, &t).is_err());
        for junk in ["", "42", "42.all", "42.all.zz", "x.all.00"] {
            assert!(verify(&key, c, junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn messages_have_no_header_injection() {
        let e = Email {
            id: 1,
            community: CommunityId(1),
            user: UserId(1),
            to: "a@example.com\r\nBcc: evil@example.com".into(),
            from: "C <c@example.com>".into(),
            kind: EmailKind::Digest,
            subject: "Héllo\nX-Evil: 1".into(),
            text: "hi".into(),
            html: "<p>hi</p>".into(),
            unsubscribe_url: "https://x.example/u?t=1".into(),
        };
        let m = e.to_rfc5322(OffsetDateTime::UNIX_EPOCH);
        assert!(!m.contains("\r\nBcc:"));
        assert!(!m.contains("\nX-Evil"));
        assert!(m.contains("Subject: =?UTF-8?Q?H=C3=A9llo"));
        assert!(m.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    }
}
