//! The SMTP mailer against a small SMTP server in the test: messages
//! arrive whole with their unsubscribe headers; a rejected recipient is a
//! bounce, a busy server a retry.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use hearth::{CommunityId, Email, EmailKind, MailError, Mailer, UserId};
use hearth_web::SmtpMailer;

/// Speaks just enough SMTP; rejects `nobody@` (550) and `busy@` (451).
fn server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut out = stream.try_clone().expect("clone");
            let mut lines = BufReader::new(stream);
            let _ = out.write_all(b"220 test ESMTP\r\n");
            let mut data = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        seen.lock().expect("lock").push(std::mem::take(&mut data));
                        let _ = out.write_all(b"250 queued\r\n");
                    } else {
                        data.push_str(&line);
                    }
                    continue;
                }
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    b"250-test\r\n250 8BITMIME\r\n"
                } else if upper.starts_with("RCPT TO:<NOBODY@") {
                    b"550 5.1.1 no such user\r\n"
                } else if upper.starts_with("RCPT TO:<BUSY@") {
                    b"451 4.3.0 try again later\r\n"
                } else if upper.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = out.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = out.write_all(reply);
            }
        }
    });
    (port, got)
}

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
    let (port, got) = server();
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
