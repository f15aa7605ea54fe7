//! An invite-only community switched to hybrid public access, modeled on
//! Sales Hacker's start: founders invite practitioners one by one; once the
//! playbooks are good, the team opens them (and the Q&A) to the public —
//! search engines included — while the founding members' room stays
//! private, and newcomers ask to join instead of needing an invite.
//!
//! [`seed_phase`] stops before or after the switch; [`switch_to_hybrid`] is
//! the switch itself, as an admin would make it.

use std::path::Path;
use std::sync::Arc;

use demo_kit::{Demo, Progress, Rng, Seeder, member_name, start_plugins};
use hearth::{
    Actor, CategoryKind, CommunityId, CommunitySettings, Forum, NewCategory, NewCommunity,
    NewInvite, NewReply, NewTopic, RegistrationMode, UserId, Visibility,
};
use hearth_wasm::PluginHost;
use time::Duration;

/// The community's slug.
pub const SLUG: &str = "revenue-circle";

/// Accounts worth signing in as.
pub const SIGN_INS: &[(&str, &str)] = &[
    ("sam_founder", "owner / founder"),
    ("anna_berg", "founding member (invited)"),
];

/// How far the history goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Invite-only, closed to guests.
    InviteOnly,
    /// After the switch: public playbooks and Q&A, private founders' room,
    /// join requests instead of invites.
    Hybrid,
}

const PLAYBOOKS: &[(&str, &str)] = &[
    (
        "Cold email that gets replies: the 3-line framework",
        "Line one is about them, line two is proof, line three is a question they can answer in five words.",
    ),
    (
        "Discovery calls: 12 questions that qualify fast",
        "Start with the cost of doing nothing; end with who else signs.",
    ),
    (
        "Building an SDR onboarding plan in 30 days",
        "Week one is product and ICP, week two is listening to calls, weeks three and four are shadow-then-lead.",
    ),
    (
        "Pipeline reviews that don't waste an hour",
        "Review deals by stage exit criteria, not by gut; three questions per deal, tops.",
    ),
    (
        "Pricing objections: reframe, don't discount",
        "Ask what they compare you with; re-anchor on the outcome, not the seat price.",
    ),
];
const COMMENTS: &[&str] = &[
    "Ran this with my team last quarter — reply rates went from 4 % to 11 %.",
    "Adding: record the first five and review them together; it calibrates faster than any doc.",
    "We tweaked step two for enterprise deals and it still holds.",
    "Saving this. The last part is what most teams skip.",
];
const QUESTIONS: &[(&str, &str)] = &[
    (
        "How many touches before you stop a sequence?",
        "We stop at 8 over 3 weeks, then nurture quarterly.",
    ),
    (
        "Best way to multithread into enterprise accounts?",
        "Map the buying committee in week one and ask your champion to introduce you to finance early.",
    ),
    (
        "Do you record discovery calls without telling prospects?",
        "Never — ask at the start; almost nobody says no and it builds trust.",
    ),
    (
        "Commission plans for SDRs: meetings held or pipeline created?",
        "Meetings held with a qualification bar; pay on pipeline once the team is mature.",
    ),
];

fn settings(phase: Phase) -> CommunitySettings {
    let mut s = CommunitySettings::for_bulk_writes();
    match phase {
        Phase::InviteOnly => {
            s.registration = RegistrationMode::InviteOnly;
            s.public_access = false;
        }
        Phase::Hybrid => {
            s.registration = RegistrationMode::Approval;
            s.public_access = true;
        }
    }
    s
}

/// The switch: guests may read the public categories, newcomers ask to
/// join; categories marked members-only stay private.
/// What the home page says once the circle opens up.
pub const HYBRID_WELCOME: &str = "**Revenue Circle started invite-only; now it is open to read.** \
The [playbooks](/kb) and **Ask a Practitioner** are public, so anyone can learn from people who \
carry a number. To ask and answer, [request to join](/signup): a founding member reviews each \
request. The *Founding Members* room stays members-only, as it always was.";

pub fn switch_to_hybrid(
    forum: &Forum,
    admin: &Actor,
    community: CommunityId,
) -> hearth::Result<()> {
    let c = forum.community(admin, community)?;
    let mut s = c.settings;
    s.registration = RegistrationMode::Approval;
    s.public_access = true;
    s.welcome = Some(HYBRID_WELCOME.into());
    forum.update_community(admin, community, &c.name, s)?;
    Ok(())
}

/// Seeds the history up to `phase`; `scale` multiplies the content.
pub fn seed_phase(
    path: &Path,
    scale: usize,
    phase: Phase,
    progress: Progress<'_>,
) -> Result<(usize, usize), hearth_web::Error> {
    let seeder = Seeder::open(path, 120)?;
    let forum = &seeder.forum;
    let mut rng = Rng::new(0x005a_1e5a_c4e7);
    let founder = seeder.account("sam_founder", "Sam (Founder)")?;
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: SLUG.into(),
                name: "Revenue Circle".into(),
                owner: Some(founder),
                settings: settings(Phase::InviteOnly),
            },
        )?
        .id;
    let admin = Actor::User(founder);
    let cat = |slug: &str, name: &str, kind: CategoryKind, vis: Visibility, desc: &str| {
        forum.create_category(
            &admin,
            community,
            NewCategory::new(slug, name, kind)
                .visibility(vis)
                .description(desc),
        )
    };
    let playbooks = cat(
        "playbooks",
        "Playbooks",
        CategoryKind::KnowledgeBase,
        Visibility::Public,
        "Field-tested sales playbooks.",
    )?;
    let qa = cat(
        "ask-a-practitioner",
        "Ask a Practitioner",
        CategoryKind::QuestionAndAnswer,
        Visibility::Public,
        "Questions answered by people who carry a number.",
    )?;
    let founders = cat(
        "founding-members",
        "Founding Members",
        CategoryKind::Discussion,
        Visibility::Members,
        "Where it started. Members only, always.",
    )?;
    // Invites, one by one, during the private phase.
    let total = 40 * scale.max(1);
    let mut members: Vec<UserId> = Vec::new();
    for i in 0..total {
        seeder.advance(Duration::hours(20));
        let invite = forum.create_invite(
            &admin,
            community,
            NewInvite {
                max_uses: Some(1),
                expires_in: Some(Duration::days(14)),
                ..Default::default()
            },
        )?;
        let (name, display) = member_name(i);
        let id = seeder.account(&name, &display)?;
        forum.accept_invite(&Actor::User(id), &invite.code)?;
        members.push(id);
        progress("invited members", i + 1, total);
    }
    let (mut topics, mut posts) = (0, 0);
    // Readers: members (guests cannot read a closed community), each once.
    let view = |topic, n: usize| {
        let readers: Vec<(Actor, hearth::TopicId)> = members
            .iter()
            .take(n)
            .map(|m| (Actor::User(*m), topic))
            .collect();
        forum.record_views(community, &readers)
    };
    for (title, body) in PLAYBOOKS {
        seeder.advance(Duration::hours(30));
        let (topic, _) = forum.create_topic(
            &admin,
            community,
            NewTopic {
                category: playbooks.id,
                title: (*title).into(),
                body: format!("{body}\n\nAdd what worked for you below."),
                tags: vec!["playbook".into()],
            },
        )?;
        topics += 1;
        posts += 1;
        view(topic.id, 20 + rng.below(20))?;
        // No thread repeats a reply word for word.
        let mut said = std::collections::HashSet::new();
        for _ in 0..3 + rng.below(5) {
            seeder.advance(Duration::hours(2));
            let body = (*rng.pick(COMMENTS)).to_string();
            if !said.insert(body.clone()) {
                continue;
            }
            let member = Actor::User(*rng.pick(&members));
            forum.reply(
                &member,
                community,
                topic.id,
                NewReply {
                    body,
                    reply_to: None,
                },
            )?;
            posts += 1;
        }
    }
    // Rounds of questions up to now; the last answer is accepted a minute
    // ago, so this week's board is never empty.
    let rounds = 12 * scale.max(1);
    for round in 0..rounds {
        seeder.pace(round + 1, rounds, Duration::hours(14));
        for (q, (title, answer)) in QUESTIONS.iter().enumerate() {
            seeder.advance(Duration::hours(1));
            let asker = *rng.pick(&members);
            let title = if round == 0 {
                (*title).to_string()
            } else {
                format!("{title} (follow-up {round})")
            };
            let (topic, _) = forum.create_topic(
                &Actor::User(asker),
                community,
                NewTopic {
                    category: qa.id,
                    title,
                    body: "Curious how others run this.".into(),
                    tags: vec![],
                },
            )?;
            topics += 1;
            posts += 1;
            view(topic.id, 3 + rng.below(30))?;
            let mut first_answer = None;
            let mut said = std::collections::HashSet::new();
            for _ in 0..1 + rng.below(3) {
                let who = *rng.pick(&members);
                seeder.advance(Duration::minutes(45));
                let body = match first_answer {
                    None => (*answer).to_string(),
                    Some(_) => (*rng.pick(COMMENTS)).to_string(),
                };
                if who == asker || !said.insert(body.clone()) {
                    continue;
                }
                let reply = NewReply {
                    body,
                    reply_to: None,
                };
                let post = forum.reply(&Actor::User(who), community, topic.id, reply)?;
                posts += 1;
                first_answer.get_or_insert(post.id);
            }
            let last = round + 1 == rounds && q + 1 == QUESTIONS.len();
            if last {
                // The clock stops a minute before the real time.
                seeder.advance(Duration::days(1));
            }
            if let Some(post) = first_answer
                && (last || rng.chance(60))
            {
                forum.accept_answer(&Actor::User(asker), community, post)?;
            }
        }
        seeder.advance(Duration::hours(1));
        let (ama, _) = forum.create_topic(
            &Actor::User(*rng.pick(&members)),
            community,
            NewTopic {
                category: founders.id,
                title: format!("Founders' AMA #{}", round + 1),
                body: "Ask us anything about how the circle is run.".into(),
                tags: vec![],
            },
        )?;
        view(ama.id, 10 + rng.below(25))?;
        topics += 1;
        posts += 1;
    }
    forum.update_community(
        &admin,
        community,
        "Revenue Circle",
        CommunitySettings {
            ..settings(Phase::InviteOnly)
        },
    )?;
    if phase == Phase::Hybrid {
        switch_to_hybrid(forum, &admin, community)?;
    }
    // Real limits from now on (keeping the access the phase reached).
    let c = forum.community(&admin, community)?;
    let real = CommunitySettings {
        registration: c.settings.registration,
        public_access: c.settings.public_access,
        welcome: c.settings.welcome.clone(),
        ..CommunitySettings::default()
    };
    forum.update_community(&admin, community, "Revenue Circle", real)?;
    Ok((topics, posts))
}

/// Seeds through the switch to hybrid access.
pub fn seed(
    path: &Path,
    scale: usize,
    progress: Progress<'_>,
) -> Result<(usize, usize), hearth_web::Error> {
    seed_phase(path, scale, Phase::Hybrid, progress)
}

/// The escape hatch is not used here; the leaderboard is, if built.
pub fn plugins(
    forum: &Arc<Forum>,
    community: CommunityId,
    _origin: &str,
) -> Result<Option<PluginHost>, hearth_web::Error> {
    start_plugins(forum, community, &["leaderboard"])
}

/// The demo as [`demo_kit::run`] serves it.
pub const DEMO: Demo = Demo {
    name: "private-beta",
    slug: SLUG,
    title: "Revenue Circle",
    sign_ins: SIGN_INS,
    seed,
    plugins,
    notes: |forum, community| match forum.create_invite(
        &Actor::System,
        community,
        NewInvite {
            max_uses: Some(5),
            expires_in: Some(Duration::days(7)),
            ..Default::default()
        },
    ) {
        Ok(invite) => vec![format!(
            "An invite link (5 uses, 7 days): /invites/{}",
            invite.code
        )],
        Err(e) => vec![format!("(could not make an invite link: {e})")],
    },
};
