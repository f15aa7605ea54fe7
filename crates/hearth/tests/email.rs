//! E-mail jobs under a manual clock: digests and "we miss you" go out
//! once per member per period even when a run is stopped and restarted,
//! unsubscribed and bounced members get nothing, and no e-mail carries
//! content its recipient may not read.
#![allow(clippy::unwrap_used)]

mod common;

use common::account;

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use hearth::{
    Actor, CategoryKind, CommunityId, CommunitySettings, Config, DigestFrequency, Email, EmailKind,
    Error, FileMailer, Forum, GroupId, JobProgress, JobStep, MailError, Mailer, ManualClock,
    NewCategory, NewCommunity, NewReply, NewTopic, NewUser, TopicId, UserId, Visibility,
};
use time::Duration;
use time::macros::datetime;

/// A mailer that keeps what it was given (and bounces one address).
#[derive(Default)]
struct Inbox {
    sent: Mutex<Vec<Email>>,
    bounce: Option<String>,
}

impl Mailer for Inbox {
    fn send(&self, email: &Email) -> Result<(), MailError> {
        if self.bounce.as_deref() == Some(email.to.as_str()) {
            return Err(MailError::Bounced("550 no such user".into()));
        }
        self.sent.lock().unwrap().push(email.clone());
        Ok(())
    }
}

impl Inbox {
    fn to(&self, who: &str) -> Vec<Email> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.to.starts_with(who))
            .cloned()
            .collect()
    }
    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

struct Site {
    _dir: tempfile::TempDir,
    location: String,
    f: Forum,
    clock: Arc<ManualClock>,
    c: CommunityId,
    ann: UserId,
    mia: UserId,
    vic: UserId,
    bob: UserId,
    public: hearth::CategoryId,
    members: hearth::CategoryId,
    vendors: hearth::CategoryId,
    _group: GroupId,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    // Monday 5 January 2026.
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-05 09:00 UTC)));
    let location = common::test_database(dir.path(), "mail");
    let f = Forum::open_with(
        &location,
        Config {
            clock: clock.clone(),
            ..Config::default()
        },
    )
    .unwrap();
    let ann = account(&f, "ann");
    let mut settings = CommunitySettings::for_bulk_writes();
    settings.base_url = Some("https://community.example.com/".into());
    settings.email.from = "Acme <community@acme.example>".into();
    let c = f
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: "acme".into(),
                name: "Acme".into(),
                owner: Some(ann),
                settings,
            },
        )
        .unwrap()
        .id;
    let a = Actor::User(ann);
    let [mia, vic, bob] = ["mia", "vic", "bob"].map(|n| {
        let u = account(&f, n);
        f.join(&Actor::User(u), c).unwrap();
        u
    });
    let group = f.create_group(&a, c, "vendors", "Vendors").unwrap().id;
    f.add_to_group(&a, c, group, vic).unwrap();
    let cat = |slug: &str, v: Visibility, groups: &[GroupId]| {
        let mut new = NewCategory::new(slug, slug, CategoryKind::Discussion).visibility(v);
        if !groups.is_empty() {
            new = new.groups(groups);
        }
        f.create_category(&a, c, new).unwrap().id
    };
    let public = cat("public", Visibility::Public, &[]);
    let members = cat("members", Visibility::Members, &[]);
    let vendors = cat("vendors", Visibility::Groups, &[group]);
    Site {
        _dir: dir,
        location,
        f,
        clock,
        c,
        ann,
        mia,
        vic,
        bob,
        public,
        members,
        vendors,
        _group: group,
    }
}

fn topic(s: &Site, by: UserId, cat: hearth::CategoryId, title: &str) -> TopicId {
    s.f.create_topic(
        &Actor::User(by),
        s.c,
        NewTopic {
            category: cat,
            title: title.into(),
            body: format!("All about {title}."),
            tags: vec![],
        },
    )
    .unwrap()
    .0
    .id
}

fn run(s: &Site, mailer: &dyn Mailer) -> hearth::JobReport {
    s.f.run_email_jobs(s.c, mailer, &mut |_| ControlFlow::Continue(()))
        .unwrap()
}

#[test]
fn weekly_digests_once_per_member_and_only_what_they_may_read() {
    let s = site();
    topic(&s, s.ann, s.public, "Public launch notes");
    topic(&s, s.ann, s.members, "Members roadmap preview");
    topic(&s, s.vic, s.vendors, "Vendor pricing sheet");
    // The week ends; Monday morning the runner runs.
    s.clock.set(datetime!(2026-01-12 07:00 UTC));
    let inbox = Inbox::default();
    let report = run(&s, &inbox);
    assert!(report.finished);
    assert_eq!(report.digests, 4, "{report:?}");
    assert_eq!(report.delivered, 4);
    for who in ["mia", "bob"] {
        let mail = inbox.to(who);
        assert_eq!(mail.len(), 1);
        let m = &mail[0];
        assert_eq!(m.kind, EmailKind::Digest);
        assert!(
            m.text.contains("Public launch notes") && m.text.contains("Members roadmap preview")
        );
        assert!(
            !m.text.contains("Vendor pricing") && !m.html.contains("Vendor pricing"),
            "{who} may not read the vendors' category"
        );
        assert!(
            m.unsubscribe_url
                .starts_with("https://community.example.com/email/unsubscribe?token=")
        );
        assert!(
            m.text
                .contains("https://community.example.com/t/public-launch-notes/")
        );
    }
    assert!(inbox.to("vic")[0].text.contains("Vendor pricing sheet"));
    // Running again in the same week sends nothing.
    let again = run(&s, &inbox);
    assert_eq!((again.digests, again.delivered), (0, 0));
    assert_eq!(inbox.count(), 4);
    // A quiet week: nothing to say, nothing sent, and it is remembered.
    s.clock.set(datetime!(2026-01-19 07:00 UTC));
    let quiet = run(&s, &inbox);
    assert_eq!((quiet.digests, quiet.skipped, quiet.delivered), (0, 4, 0));
    assert_eq!(run(&s, &inbox).skipped, 0);
}

#[test]
fn digests_add_what_followed_members_started_and_the_reader_may_read() {
    let s = site();
    let max =
        s.f.community(&Actor::System, s.c)
            .unwrap()
            .settings
            .email
            .max_topics as usize;
    // mia follows bob; bob's topics are the oldest of the week, so the
    // best-of list (newest first among equals) leaves them out.
    s.f.follow(&Actor::User(s.mia), s.bob, false).unwrap();
    topic(&s, s.bob, s.public, "Bob's quiet public idea");
    s.f.add_to_group(&Actor::User(s.ann), s.c, s._group, s.bob)
        .unwrap();
    topic(&s, s.bob, s.vendors, "Bob's vendor-only plan");
    for i in 0..max {
        topic(&s, s.ann, s.public, &format!("Announcement number {i}"));
    }
    s.clock.set(datetime!(2026-01-12 07:00 UTC));
    let inbox = Inbox::default();
    run(&s, &inbox);
    let mia = &inbox.to("mia")[0];
    assert!(mia.text.contains("Bob's quiet public idea"), "{}", mia.text);
    assert!(
        !mia.text.contains("Bob's vendor-only plan"),
        "mia may not read it"
    );
    let vic = &inbox.to("vic")[0];
    assert!(
        !vic.text.contains("Bob's quiet public idea"),
        "vic follows nobody"
    );
}

#[test]
fn a_run_stopped_halfway_then_restarted_sends_nothing_twice() {
    let s = site();
    // More members than one batch (200), with a daily digest.
    let mut extra = Vec::new();
    for i in 0..260 {
        let u = account(&s.f, &format!("member{i:03}"));
        s.f.join(&Actor::User(u), s.c).unwrap();
        s.f.set_email_preferences(&Actor::User(u), s.c, DigestFrequency::Daily, true)
            .unwrap();
        extra.push(u);
    }
    topic(&s, s.ann, s.public, "Daily news for everyone");
    s.clock.set(datetime!(2026-01-06 06:00 UTC));
    let inbox = Inbox::default();
    // Stop after the first batch of digests.
    let first =
        s.f.run_email_jobs(s.c, &inbox, &mut |p: &JobProgress| {
            if p.step == JobStep::Digests {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert!(!first.finished);
    // The first batch holds the four original members too, whose weekly
    // digest has nothing to say yet.
    assert_eq!((first.digests, first.skipped), (196, 4));
    assert_eq!(inbox.count(), 0, "stopped before delivery");
    // Restarted: the rest are written, and everyone is sent exactly one.
    let second = run(&s, &inbox);
    assert!(second.finished);
    assert_eq!(second.digests, 64);
    // Stop delivery halfway too, then finish.
    assert_eq!(second.delivered, 260);
    for u in &extra {
        let name = s.f.user(*u).unwrap().username;
        assert_eq!(inbox.to(&format!("{name}@")).len(), 1, "{name}");
    }
    let third = run(&s, &inbox);
    assert_eq!((third.digests, third.delivered), (0, 0));
    // The next day, a new period: one more each (there is news).
    topic(&s, s.ann, s.public, "More daily news for everyone");
    s.clock.set(datetime!(2026-01-07 06:00 UTC));
    let mut stopped_at = 0;
    let r =
        s.f.run_email_jobs(s.c, &inbox, &mut |p: &JobProgress| {
            if p.step == JobStep::Delivery && p.done == 100 {
                stopped_at = p.done;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!((stopped_at, r.delivered), (100, 100));
    let r = run(&s, &inbox);
    assert_eq!(r.delivered, 160);
    assert_eq!(inbox.count(), 520);
}

#[test]
fn unsubscribed_and_bounced_members_get_nothing() {
    let s = site();
    topic(&s, s.ann, s.public, "Something worth reading");
    s.clock.set(datetime!(2026-01-12 07:00 UTC));
    let inbox = Inbox {
        bounce: Some("vic@example.com".into()),
        ..Inbox::default()
    };
    let r = run(&s, &inbox);
    assert_eq!((r.delivered, r.bounced), (3, 1));
    // bob unsubscribes from everything (the link notification e-mails carry).
    let token = &s.f.unsubscribe_token(s.c, s.bob, false).unwrap();
    // A tampered token is refused and changes nothing.
    let forged = token.replacen(&format!("{}.", s.bob.0), &format!("{}.", s.mia.0), 1);
    assert!(matches!(
        s.f.unsubscribe(s.c, &forged),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(s.f.unsubscribe(s.c, token).unwrap(), s.bob);
    // The digest link stops digests only; mia keeps notifications.
    let mia_url = inbox.to("mia")[0].unsubscribe_url.clone();
    s.f.unsubscribe(s.c, mia_url.split("token=").nth(1).unwrap())
        .unwrap();
    let prefs = s.f.email_preferences(&Actor::User(s.mia), s.c).unwrap();
    assert_eq!(
        (prefs.digest, prefs.unsubscribed),
        (DigestFrequency::Never, false)
    );
    // Next week, and a mention of everyone.
    let t = topic(&s, s.ann, s.public, "Next week's news");
    s.f.reply(
        &Actor::User(s.ann),
        s.c,
        t,
        NewReply {
            body: "Thoughts, @mia @bob @vic?".into(),
            reply_to: None,
        },
    )
    .unwrap();
    s.clock.set(datetime!(2026-01-19 07:00 UTC));
    let before = inbox.count();
    run(&s, &inbox);
    let new: Vec<Email> = inbox.sent.lock().unwrap()[before..].to_vec();
    assert!(
        new.iter().all(|e| e.to != "bob@example.com"),
        "unsubscribed"
    );
    assert!(new.iter().all(|e| e.to != "vic@example.com"), "bounced");
    // mia: the mention, no digest.
    let kinds: Vec<EmailKind> = new
        .iter()
        .filter(|e| e.to == "mia@example.com")
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, vec![EmailKind::Notifications]);
    let mention = new.iter().find(|e| e.to == "mia@example.com").unwrap();
    assert!(
        mention
            .text
            .contains("ann mentioned you in “Next week's news”"),
        "{}",
        mention.text
    );
    // Choosing a digest again re-subscribes.
    let p =
        s.f.set_email_preferences(&Actor::User(s.bob), s.c, DigestFrequency::Weekly, true)
            .unwrap();
    assert!(!p.unsubscribed);
}

#[test]
fn notification_emails_are_batched_and_filtered() {
    let s = site();
    let t = topic(&s, s.ann, s.public, "A public question");
    let secret = topic(&s, s.ann, s.vendors, "A vendors-only question");
    for body in ["First ping @vic", "Second ping @vic"] {
        s.f.reply(
            &Actor::User(s.ann),
            s.c,
            t,
            NewReply {
                body: body.into(),
                reply_to: None,
            },
        )
        .unwrap();
    }
    s.f.reply(
        &Actor::User(s.ann),
        s.c,
        secret,
        NewReply {
            body: "Vendors only, @vic".into(),
            reply_to: None,
        },
    )
    .unwrap();
    // vic leaves the vendors group before the e-mail goes out.
    s.f.remove_from_group(&Actor::User(s.ann), s.c, s._group, s.vic)
        .unwrap();
    let inbox = Inbox::default();
    let r = run(&s, &inbox);
    assert_eq!(r.notification_emails, 1);
    let m = &inbox.to("vic")[0];
    assert_eq!(m.subject, "[Acme] 2 new notifications");
    assert!(!m.text.contains("vendors-only"), "{}", m.text);
    assert_eq!(run(&s, &inbox).notification_emails, 0);
    // A notification read in the app before the run is not e-mailed.
    s.f.reply(
        &Actor::User(s.ann),
        s.c,
        t,
        NewReply {
            body: "Third ping @vic".into(),
            reply_to: None,
        },
    )
    .unwrap();
    s.f.mark_notifications_read(&Actor::User(s.vic), s.c, None)
        .unwrap();
    assert_eq!(run(&s, &inbox).notification_emails, 0);
}

#[test]
fn we_miss_you_once_per_absence() {
    let s = site();
    let mia = Actor::User(s.mia);
    s.f.record_visit(&mia, s.c).unwrap();
    // Everyone else keeps visiting.
    let keep_visiting = |s: &Site| {
        s.f.record_visits(s.c, &[s.ann, s.bob, s.vic]).unwrap();
    };
    let inbox = Inbox::default();
    s.clock.advance(Duration::days(60));
    keep_visiting(&s);
    topic(&s, s.ann, s.public, "What happened while you were away");
    topic(&s, s.vic, s.vendors, "Vendor news mia cannot read");
    run(&s, &inbox);
    assert!(
        inbox
            .to("mia")
            .iter()
            .all(|e| e.kind != EmailKind::WeMissYou),
        "only 60 days"
    );
    s.clock.advance(Duration::days(31));
    keep_visiting(&s);
    run(&s, &inbox);
    let miss: Vec<Email> = inbox
        .to("mia")
        .into_iter()
        .filter(|e| e.kind == EmailKind::WeMissYou)
        .collect();
    assert_eq!(miss.len(), 1);
    assert!(miss[0].text.contains("What happened while you were away"));
    assert!(!miss[0].text.contains("Vendor news"));
    assert!(
        inbox
            .to("bob")
            .iter()
            .all(|e| e.kind != EmailKind::WeMissYou)
    );
    // Not again for the same absence.
    s.clock.advance(Duration::days(10));
    keep_visiting(&s);
    run(&s, &inbox);
    assert_eq!(
        inbox
            .to("mia")
            .iter()
            .filter(|e| e.kind == EmailKind::WeMissYou)
            .count(),
        1
    );
    // She comes back, then stays away again: a new absence, a new e-mail.
    s.f.record_visit(&mia, s.c).unwrap();
    s.clock.advance(Duration::days(95));
    keep_visiting(&s);
    topic(&s, s.ann, s.public, "The news of the second absence");
    run(&s, &inbox);
    let miss: Vec<Email> = inbox
        .to("mia")
        .into_iter()
        .filter(|e| e.kind == EmailKind::WeMissYou)
        .collect();
    assert_eq!(miss.len(), 2);
    assert!(miss[1].text.contains("The news of the second absence"));
    assert!(
        !miss[1].text.contains("What happened while you were away"),
        "only what is new since"
    );
}

#[test]
fn the_file_mailer_writes_messages() {
    let s = site();
    topic(&s, s.ann, s.public, "Something for the files");
    s.clock.set(datetime!(2026-01-12 07:00 UTC));
    let dir = tempfile::tempdir().unwrap();
    let mailer = FileMailer::new(dir.path().join("outbox")).unwrap();
    let r = run(&s, &mailer);
    assert_eq!(r.delivered, 4);
    let files: Vec<_> = std::fs::read_dir(mailer.dir()).unwrap().collect();
    assert_eq!(files.len(), 4);
    let one = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(one.contains("From: Acme <community@acme.example>\r\n"));
    assert!(
        one.contains("List-Unsubscribe: <https://community.example.com/email/unsubscribe?token=")
    );
    assert!(one.contains("Content-Type: text/html; charset=utf-8"));
    let log = s.f.outbox(&Actor::User(s.ann), s.c, Some(s.mia)).unwrap();
    assert_eq!(log[0].status, "sent");
    assert!(matches!(
        s.f.outbox(&Actor::User(s.mia), s.c, None),
        Err(Error::Forbidden { .. })
    ));
}

/// Several processes on one database run the jobs one at a time (a
/// lease): the second is turned away while the first runs, and takes over
/// once the lease of one that died has lapsed.
#[test]
fn one_process_at_a_time_runs_the_jobs() {
    let s = site();
    topic(&s, s.ann, s.public, "Public launch notes");
    topic(&s, s.ann, s.members, "Members roadmap preview");
    s.clock.set(datetime!(2026-01-12 07:00 UTC));
    let other = Forum::open_with(
        &s.location,
        Config {
            clock: s.clock.clone(),
            ..Config::default()
        },
    )
    .unwrap();
    let inbox = Inbox::default();
    let mut turned_away = None;
    let report =
        s.f.run_email_jobs(s.c, &inbox, &mut |_| {
            if turned_away.is_none() {
                turned_away = Some(
                    other
                        .run_email_jobs(s.c, &inbox, &mut |_| ControlFlow::Continue(()))
                        .unwrap(),
                );
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(report.finished && !report.held_elsewhere, "{report:?}");
    let turned_away = turned_away.expect("progress was reported");
    assert!(
        turned_away.held_elsewhere && !turned_away.finished && turned_away.delivered == 0,
        "{turned_away:?}"
    );
    let sent = inbox.count();
    assert_eq!(sent as u64, report.delivered);
    // Released at the end: the other runs next (nothing left to send).
    let next = run_on(&other, &s, &inbox);
    assert!(next.finished && !next.held_elsewhere && next.delivered == 0);

    // A process that dies in the middle keeps the lease until it lapses.
    topic(&s, s.ann, s.public, "A second launch");
    s.clock.set(datetime!(2026-01-19 07:00 UTC));
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.f.run_email_jobs(s.c, &inbox, &mut |_| panic!("the process dies"))
    }));
    assert!(died.is_err());
    assert!(run_on(&other, &s, &inbox).held_elsewhere);
    s.clock
        .advance(Duration::try_from(hearth::EMAIL_JOB_LEASE).unwrap() + Duration::seconds(1));
    let takeover = run_on(&other, &s, &inbox);
    assert!(
        takeover.finished && !takeover.held_elsewhere,
        "{takeover:?}"
    );
    assert!(
        takeover.delivered > 0,
        "the digests of the second week go out"
    );
    // Nothing went out twice.
    let mut ids: Vec<i64> = inbox.sent.lock().unwrap().iter().map(|e| e.id).collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all);
}

fn run_on(f: &Forum, s: &Site, mailer: &dyn Mailer) -> hearth::JobReport {
    f.run_email_jobs(s.c, mailer, &mut |_| ControlFlow::Continue(()))
        .unwrap()
}

#[test]
fn account_mail_goes_out_even_to_the_unsubscribed_and_bounced() {
    let s = site();
    let inbox = Inbox {
        bounce: Some("vic@example.com".into()),
        ..Inbox::default()
    };
    run(&s, &inbox);
    // bob unsubscribed; vic bounced once.
    let token = s.f.unsubscribe_token(s.c, s.bob, false).unwrap();
    s.f.unsubscribe(s.c, &token).unwrap();
    let mail = |to: Option<&str>| hearth::AccountEmail {
        to: to.map(str::to_owned),
        subject: "Set a new password for Acme".into(),
        text: "Follow the link.".into(),
        html: "<p>Follow the link.</p>".into(),
    };
    let inbox = Inbox::default();
    for who in [s.bob, s.vic] {
        s.f.queue_account_email(s.c, who, mail(None)).unwrap();
    }
    // To an address of the caller's choosing (a new one to confirm).
    s.f.queue_account_email(s.c, s.mia, mail(Some("mia.new@example.org")))
        .unwrap();
    run(&s, &inbox);
    for to in ["bob@", "vic@", "mia.new@"] {
        let got = inbox.to(to);
        assert_eq!(got.len(), 1, "{to}");
        assert_eq!(got[0].kind, EmailKind::Account);
        assert_eq!(got[0].unsubscribe_url, "", "nothing to unsubscribe from");
    }
    // Bad input: a header in the subject, a bad address, no address.
    let mut bad = mail(None);
    bad.subject = "Hi\r\nBcc: everyone@example.com".into();
    assert!(matches!(
        s.f.queue_account_email(s.c, s.bob, bad),
        Err(Error::Invalid {
            field: "subject",
            ..
        })
    ));
    assert!(matches!(
        s.f.queue_account_email(s.c, s.bob, mail(Some("not an address"))),
        Err(Error::Invalid { field: "email", .. })
    ));
    let no_login = s.f.create_user(NewUser::new("nolog")).unwrap().id;
    assert!(matches!(
        s.f.queue_account_email(s.c, no_login, mail(None)),
        Err(Error::Invalid { field: "to", .. })
    ));
    // E-mail off: refused, not queued for ever.
    let mut settings = s.f.community(&Actor::System, s.c).unwrap().settings;
    settings.email.enabled = false;
    s.f.update_community(&Actor::User(s.ann), s.c, "Acme", settings)
        .unwrap();
    assert!(matches!(
        s.f.queue_account_email(s.c, s.bob, mail(None)),
        Err(Error::Conflict { .. })
    ));
}

#[test]
fn extension_notices_are_mailed_as_members_chose_and_only_if_readable() {
    let s = site();
    let open = topic(&s, s.ann, s.public, "A public question");
    let secret = topic(&s, s.ann, s.vendors, "A vendors-only question");
    let notice = |to: UserId, topic: TopicId, key: &str, text: &str| hearth::ExtNotice {
        source: "help-desk".into(),
        kind: "ticket-answered".into(),
        default_delivery: hearth::Delivery::Email,
        recipient: to,
        actor: None,
        topic: Some(topic),
        post: None,
        text: text.into(),
        dedupe_key: key.into(),
    };
    let sent =
        s.f.ext_apply_with_notices(
            s.c,
            &[],
            &[
                notice(s.vic, open, "1", "Support answered <your> ticket #1"),
                notice(
                    s.vic,
                    secret,
                    "2",
                    "Support answered the vendors' ticket #2",
                ),
                notice(s.mia, open, "3", "Support answered ticket #3"),
            ],
            1000,
        )
        .unwrap();
    assert_eq!(sent.sent, 3);
    // mia chose the app only; vic leaves the vendors before the run.
    s.f.set_ext_notice_preference(
        &Actor::User(s.mia),
        s.c,
        "help-desk",
        "ticket-answered",
        hearth::Delivery::InApp,
    )
    .unwrap();
    // Only notices sent after the choice follow it: mia's was already
    // pending, so the next is sent to the app only.
    s.f.ext_apply_with_notices(
        s.c,
        &[],
        &[notice(s.mia, open, "4", "Support answered ticket #4")],
        1000,
    )
    .unwrap();
    s.f.remove_from_group(&Actor::User(s.ann), s.c, s._group, s.vic)
        .unwrap();
    let inbox = Inbox::default();
    run(&s, &inbox);
    let vic = inbox.to("vic");
    assert_eq!(vic.len(), 1);
    assert!(
        vic[0].text.contains("Support answered <your> ticket #1"),
        "{}",
        vic[0].text
    );
    assert!(
        vic[0]
            .html
            .contains("Support answered &lt;your&gt; ticket #1"),
        "{}",
        vic[0].html
    );
    assert!(!vic[0].text.contains("#2"), "{}", vic[0].text);
    let mia = inbox.to("mia");
    assert_eq!(mia.len(), 1);
    assert!(
        mia[0].text.contains("#3") && !mia[0].text.contains("#4"),
        "{}",
        mia[0].text
    );
}
