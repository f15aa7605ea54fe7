//! [`SmtpMailer`]: delivers the engine's e-mail through an SMTP server
//! (lettre), with STARTTLS or TLS for real relays, and maps the server's
//! answers to [`MailError`]: a permanent rejection of the recipient is a
//! bounce, anything else is retried by the job runner.

use std::time::Duration;

use hearth::{Email, MailError, Mailer};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::error::{Error, Result};

/// Delivers e-mail over SMTP. One connection per message (the job runner
/// sends from its own thread; a relay or provider does the fan-out).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: SmtpTransport,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A relay reached with STARTTLS on port 587 (what providers offer),
    /// signing in with `user` and `password`.
    ///
    /// ```no_run
    /// let mailer = hearth_web::SmtpMailer::starttls("smtp.example.com", "community", "secret")?;
    /// # Ok::<(), hearth_web::Error>(())
    /// ```
    pub fn starttls(host: &str, user: &str, password: &str) -> Result<SmtpMailer> {
        let transport = SmtpTransport::starttls_relay(host)
            .map_err(|e| Error::Internal(format!("SMTP relay {host}: {e}")))?
            .credentials(Credentials::new(user.into(), password.into()))
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(SmtpMailer { transport })
    }

    /// A server without TLS, e.g. a local relay on `127.0.0.1:25` that
    /// forwards securely itself. Never use it across a network.
    pub fn unencrypted(host: &str, port: u16) -> SmtpMailer {
        let transport = SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)))
            .build();
        SmtpMailer { transport }
    }

    fn message(email: &Email) -> std::result::Result<Message, MailError> {
        let bad = |what: &str, e: String| MailError::Bounced(format!("{what}: {e}"));
        let from: Mailbox = email
            .from
            .parse()
            .map_err(|e| bad("sender", format!("{e}")))?;
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| bad("address", format!("{e}")))?;
        // The outbox entry's own id: a message sent again after a crash is
        // the same message to mail servers and clients.
        let mut message = Message::builder()
            .message_id(Some(email.message_id()))
            .from(from)
            .to(to)
            .subject(email.subject.clone())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(email.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(email.html.clone()),
                    ),
            )
            .map_err(|e| MailError::Transient(format!("building the message: {e}")))?;
        if !email.unsubscribe_url.is_empty() {
            let headers = message.headers_mut();
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", email.unsubscribe_url),
            ));
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        Ok(message)
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &Email) -> std::result::Result<(), MailError> {
        let message = Self::message(email)?;
        match self.transport.send(&message) {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Bounced(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}
