//! The SMTP mailer against a small SMTP server in the test: messages
//! arrive whole with their unsubscribe headers; a rejected recipient is a
//! bounce, a busy server a retry.

mod process;

use hearth::{CommunityId, Email, EmailKind, MailError, Mailer, UserId};
use hearth_web::SmtpMailer;
use process::smtp_sink;

fn email(to: &str) -> Email {
    Email {
        id: 7,
        community: CommunityId(1),
        user: UserId(2),
        to: to.into(),
        from: "Acme Community <community@acme.example>".into(),
        kind: EmailKind::Digest,
        subject: "The best of last week".into(),
        text: "* Rotating keys\n  https://community.example.com/t/rotating-keys/1\n".into(),
        html: "<ul><li><a href=\"https://community.example.com/t/rotating-keys/1\">Rotating keys</a></li></ul>".into(),
        unsubscribe_url: "https://community.example.com/email/unsubscribe?token=2.digest.ab".into(),
    }
}

#[test]
fn delivers_bounces_and_retries() {
    let (port, got) = smtp_sink();
    let mailer = SmtpMailer::unencrypted("127.0.0.1", port);
    mailer.send(&email("ada@example.com")).expect("delivered");
    let messages = got.lock().expect("lock").clone();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(m.contains("Subject: The best of last week"), "{m}");
    assert!(
        m.contains(
            "List-Unsubscribe: <https://community.example.com/email/unsubscribe?token=2.digest.ab>"
        ),
        "{m}"
    );
    assert!(m.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(m.contains("multipart/alternative"));
    // The outbox entry's id, the same on every attempt.
    assert!(m.contains("Message-ID: <outbox-7-1@hearth>"), "{m}");
    assert!(matches!(
        mailer.send(&email("nobody@example.com")),
        Err(MailError::Bounced(_))
    ));
    assert!(matches!(
        mailer.send(&email("busy@example.com")),
        Err(MailError::Transient(_))
    ));
    assert!(matches!(
        mailer.send(&email("not an address")),
        Err(MailError::Bounced(_))
    ));
    // Nobody listening: retried later, not a bounce.
    let closed = SmtpMailer::unencrypted("127.0.0.1", 9);
    assert!(matches!(
        closed.send(&email("ada@example.com")),
        Err(MailError::Transient(_))
    ));
}
