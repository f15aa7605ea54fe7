//! Mail someone asked for — a password reset link, an address to
//! confirm, a backup to download. It goes through the outbox like every
//! other message (so a crash never loses or doubles it, and
//! [`Forum::outbox`] shows it) and out with the next delivery of
//! [`Forum::run_email_jobs`]; unlike digests and notifications it is not
//! held back because the member unsubscribed or an earlier message
//! bounced: they asked for it now.

use crate::db::{OptionalExtension, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::lease::unique_token;
use crate::mail::EmailKind;
use crate::permissions::Actor;
use crate::text::{Lines, check_chars};

/// The longest subject line, in characters.
const MAX_SUBJECT: usize = 200;
/// The longest body (text or HTML), in bytes.
const MAX_BODY: usize = 64 * 1024;

/// What [`Forum::queue_account_email`] sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountEmail {
    /// Another address than the member's own (e.g. a new address to
    /// confirm); `None` sends to the address they sign in with.
    pub to: Option<String>,
    /// The subject line (one line).
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML (the caller escapes what it puts in).
    pub html: String,
}

impl Forum {
    /// Writes an account e-mail for `user` into the community's outbox;
    /// returns its outbox id. Refused (`Conflict`) while the community's
    /// e-mail is off, and (`Invalid`, field `to`) for a member without an
    /// address. The application decides when a member may receive one
    /// (this call checks no permission: it mails only the member, or the
    /// address given for them).
    pub fn queue_account_email(
        &self,
        community: CommunityId,
        user: UserId,
        mail: AccountEmail,
    ) -> Result<i64> {
        check_chars("subject", &mail.subject, Lines::One)?;
        if mail.subject.trim().is_empty() || mail.subject.chars().count() > MAX_SUBJECT {
            return Err(Error::invalid(
                "subject",
                format!("1 to {MAX_SUBJECT} characters"),
            ));
        }
        if mail.text.len() > MAX_BODY || mail.html.len() > MAX_BODY {
            return Err(Error::invalid("body", format!("at most {MAX_BODY} bytes")));
        }
        if let Some(to) = &mail.to {
            crate::login::check_email(to)?;
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, &Actor::System, community)?;
            if !viewer.config.settings.email.enabled {
                return Err(Error::conflict(
                    "e-mail is off for this community (settings.email.enabled)",
                ));
            }
            let to = match &mail.to {
                Some(to) => to.clone(),
                None => {
                    w.tx.prepare_cached("SELECT email FROM logins WHERE user_id = ?1")?
                        .query_row([user], |r| r.get(0))
                        .optional()?
                        .ok_or_else(|| Error::invalid("to", "the member has no e-mail address"))?
                }
            };
            Ok(w.tx
                .prepare_cached(
                    "INSERT INTO outbox (community_id, user_id, kind, period, status, to_address,
                        subject, text_body, html_body, unsubscribe, created_at)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, '', ?9) RETURNING id",
                )?
                .query_row(
                    params![
                        community,
                        user,
                        EmailKind::Account.as_str(),
                        unique_token(),
                        to,
                        mail.subject.trim(),
                        mail.text,
                        mail.html,
                        w.now_ms()
                    ],
                    |r| r.get(0),
                )?)
        })
    }
}
