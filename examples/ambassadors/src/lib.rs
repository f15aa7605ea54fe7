//! A player-helps-player program, modeled on the Xbox Ambassadors
//! program: players ask, ambassadors answer; quality contributions earn
//! points (an answer accepted, likes received, help articles), the
//! leaderboard plugin shows who helped most this week, and ranks —
//! Rookie, Pro, Legend — are badges granted by all-time points.

use std::path::Path;
use std::sync::Arc;

use demo_kit::{Demo, Progress, Rng, Seeder, member_name, start_plugins};
use hearth::{
    Actor, BadgeTier, CategoryKind, CommunityId, CommunitySettings, Forum, NewBadge, NewCategory,
    NewCommunity, NewReply, NewTopic, Period, RewardRules, Role, UserId, Visibility,
};
use hearth_wasm::PluginHost;
use time::Duration;

/// The community's slug.
pub const SLUG: &str = "ambassadors";

/// Accounts worth signing in as.
pub const SIGN_INS: &[(&str, &str)] = &[
    ("nova_staff", "owner / program manager"),
    ("spark_mentor", "expert mentor (Legend)"),
    ("anna_berg", "ambassador"),
    ("player_one", "player (not an ambassador)"),
];

/// Ranks by all-time points: (slug, name, points needed, tier).
pub const RANKS: &[(&str, &str, i64, BadgeTier)] = &[
    ("rank-rookie", "Rookie", 10, BadgeTier::Bronze),
    ("rank-pro", "Pro", 40, BadgeTier::Silver),
    ("rank-legend", "Legend", 100, BadgeTier::Gold),
];

const GAMES: &[&str] = &[
    "Forza Horizon",
    "Halo Infinite",
    "Starfield",
    "Minecraft",
    "Sea of Thieves",
    "Flight Simulator",
];
const ISSUES: &[(&str, &str)] = &[
    (
        "my party chat keeps dropping",
        "Set your NAT type to Open: Settings → General → Network settings → Test NAT type, then enable UPnP on the router.",
    ),
    (
        "the game won't start after the update",
        "Clear the reserved space: Manage game → Saved data → Clear reserved space, then restart the console (hold the power button 10 s).",
    ),
    (
        "my saves are not syncing",
        "Check the cloud sync indicator on the game tile; if it says 'out of sync', sign out and in on both devices before launching.",
    ),
    (
        "the controller disconnects",
        "Update the controller firmware from the Accessories app and re-pair it; replace AA batteries under 20 %.",
    ),
    (
        "I can't join friends' sessions",
        "Both of you need the same game version and crossplay enabled under Privacy & online safety → Xbox privacy.",
    ),
    (
        "achievements are not unlocking",
        "Achievements unlock only while online; stay signed in and wait up to an hour for the service to catch up.",
    ),
];

fn settings() -> CommunitySettings {
    let mut s = CommunitySettings::for_bulk_writes();
    s.rewards = RewardRules {
        qa_post: 1,
        answer_accepted: 15,
        like_received: 2,
        knowledge_base_article: 20,
        ..RewardRules::default()
    };
    s
}

/// The home page's welcome: how points are earned and the ranks they make.
fn welcome() -> String {
    let r = settings().rewards;
    let ranks: Vec<String> = RANKS
        .iter()
        .map(|(_, name, points, _)| format!("**{name}** at {points} points"))
        .collect();
    format!(
        "**Ambassadors answer players' questions in the Help Desk.** An accepted answer earns \
         {} points, every like {}, a guide {}. Points make ranks — {} — shown as badges on each \
         ambassador's profile. Who helps most this week is on the [leaderboard](/plugins/leaderboard).",
        r.answer_accepted,
        r.like_received,
        r.knowledge_base_article,
        ranks.join(", ")
    )
}

/// Seeds the program; `scale` multiplies the 120 default questions.
pub fn seed(
    path: &Path,
    scale: usize,
    progress: Progress<'_>,
) -> Result<(usize, usize), hearth_web::Error> {
    let seeder = Seeder::open(path, 60)?;
    let forum = &seeder.forum;
    let mut rng = Rng::new(0xa3ba_55ad_0125_0001);
    let owner = seeder.account("nova_staff", "Nova (Program Manager)")?;
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: SLUG.into(),
                name: "Ambassadors".into(),
                owner: Some(owner),
                settings: settings(),
            },
        )?
        .id;
    let admin = Actor::User(owner);
    let ambassadors_group =
        forum.create_group(&admin, community, "ambassadors", "Program members")?;
    let add = |name: &str, display: &str, role: Role, ambassador: bool| -> hearth::Result<UserId> {
        let id = seeder.account(name, display)?;
        forum.add_member(&admin, community, id, role)?;
        if ambassador {
            forum.add_to_group(&admin, community, ambassadors_group.id, id)?;
        }
        Ok(id)
    };
    let mentors = [
        add("spark_mentor", "Spark (Mentor)", Role::Expert, true)?,
        add("pixel_mentor", "Pixel (Mentor)", Role::Expert, true)?,
    ];
    let total_ambassadors = 24;
    let mut ambassadors = Vec::new();
    for i in 0..total_ambassadors {
        let (name, display) = member_name(i);
        ambassadors.push(add(&name, &display, Role::Member, true)?);
        progress("ambassadors", i + 1, total_ambassadors);
    }
    let mut players = vec![add("player_one", "Player One", Role::Member, false)?];
    for i in 0..16 {
        let (name, display) = member_name(100 + i);
        players.push(add(&name, &display, Role::Member, false)?);
    }
    let cat = |slug: &str, name: &str, kind: CategoryKind, desc: &str| {
        forum.create_category(
            &admin,
            community,
            NewCategory::new(slug, name, kind).description(desc),
        )
    };
    let help = cat(
        "help-desk",
        "Help Desk",
        CategoryKind::QuestionAndAnswer,
        "Players ask, ambassadors answer.",
    )?;
    let guides = cat(
        "guides",
        "Guides",
        CategoryKind::KnowledgeBase,
        "How-tos written by mentors.",
    )?;
    let missions = cat(
        "missions",
        "Weekly Missions",
        CategoryKind::Announcements,
        "What to help with this week, and the points it earns.",
    )?;
    let hq = forum.create_category(
        &admin,
        community,
        NewCategory::new("ambassador-hq", "Ambassador HQ", CategoryKind::Discussion)
            .visibility(Visibility::Groups)
            .groups(&[ambassadors_group.id])
            .description("For ambassadors and staff: tips, program news, recognition."),
    )?;
    for (slug, name, _, tier) in RANKS {
        forum.create_badge(
            &admin,
            community,
            NewBadge {
                slug: (*slug).into(),
                name: (*name).into(),
                description: format!("{name} rank: all-time points from helping players"),
                icon: "trophy".into(),
                tier: *tier,
                multiple: false,
            },
        )?;
    }
    let (mut topics, mut posts) = (0, 0);
    for (i, (issue, fix)) in ISSUES.iter().enumerate() {
        seeder.advance(Duration::hours(3));
        let (guide, _) = forum.create_topic(&Actor::User(mentors[i % 2]), community, NewTopic {
            category: guides.id,
            title: format!("Guide: when {issue}"),
            body: format!("Seen this a lot in the Help Desk. The fix that works:\n\n{fix}\n\nIf it persists, link this guide and ask the player for their console model."),
            tags: vec!["guide".into()],
        })?;
        seeder.views(community, guide.id, 80 + 17 * i)?;
        topics += 1;
        posts += 1;
    }
    for week in 0..8 {
        seeder.advance(Duration::hours(2));
        let (mission, _) = forum.create_topic(&admin, community, NewTopic {
            category: missions.id,
            title: format!("Mission week {}: help new {} players", week + 1, GAMES[week % GAMES.len()]),
            body: "Answer three Help Desk questions this week; accepted answers earn 15 points, every like 2.".into(),
            tags: vec!["mission".into()],
        })?;
        seeder.views(community, mission.id, 30 + 9 * week)?;
        topics += 1;
        posts += 1;
    }
    let (recognition, _) = forum.create_topic(&Actor::User(mentors[0]), community, NewTopic {
        category: hq.id,
        title: "Recognition: this month's top helpers".into(),
        body: "Shout-out to everyone on the leaderboard — the Legend rank is within reach for three of you!".into(),
        tags: vec![],
    })?;
    seeder.views(community, recognition.id, 21)?;
    topics += 1;
    posts += 1;
    let questions = 120 * scale.max(1);
    let helpers: Vec<UserId> = ambassadors.iter().chain(&mentors).copied().collect();
    // Questions run up to half an hour ago; the last one is answered and
    // accepted a minute ago, so this week's board is never empty.
    for i in 0..questions {
        seeder.pace(i + 1, questions, Duration::minutes(30));
        let (issue, fix) = *rng.pick(ISSUES);
        let game = *rng.pick(GAMES);
        let asker = *rng.pick(&players);
        let (topic, _) = forum.create_topic(
            &Actor::User(asker),
            community,
            NewTopic {
                category: help.id,
                title: format!("{}: {issue}", game),
                body: format!(
                    "Since last night in {game}, {issue}. Console restarted already. Anyone?"
                ),
                tags: vec![],
            },
        )?;
        topics += 1;
        posts += 1;
        // Busy ambassadors answer more often: a skewed pick.
        let helper =
            helpers[(rng.below(helpers.len()) * rng.below(helpers.len())) / helpers.len().max(1)];
        seeder.advance(Duration::minutes(5 + rng.below(90) as i64));
        let answer = forum.reply(
            &Actor::User(helper),
            community,
            topic.id,
            NewReply {
                body: fix.to_string(),
                reply_to: None,
            },
        )?;
        posts += 1;
        if rng.chance(30) {
            let other = *rng.pick(&helpers);
            if other != helper {
                forum.reply(
                    &Actor::User(other),
                    community,
                    topic.id,
                    NewReply {
                        body: "Also worth checking the Xbox status page first.".into(),
                        reply_to: None,
                    },
                )?;
                posts += 1;
            }
        }
        let last = i + 1 == questions;
        if last {
            // The clock stops a minute before the real time.
            seeder.advance(Duration::days(1));
        }
        for _ in 0..rng.below(5) {
            let liker = *rng.pick(&players);
            let _ = forum.like(&Actor::User(liker), community, answer.id);
        }
        if last || rng.chance(70) {
            forum.accept_answer(&Actor::User(asker), community, answer.id)?;
        }
        seeder.views(community, topic.id, 4 + rng.below(60))?;
        progress("questions", i + 1, questions);
    }
    // Ranks from all-time points.
    for member in helpers.iter() {
        let points = forum.points(&admin, community, *member, Period::AllTime)?;
        for (slug, _, needed, _) in RANKS {
            if points >= *needed {
                forum.grant_badge(
                    &admin,
                    community,
                    slug,
                    *member,
                    None,
                    &format!("{points} points"),
                )?;
            }
        }
    }
    forum.update_community(
        &admin,
        community,
        "Ambassadors",
        CommunitySettings {
            rewards: settings().rewards,
            welcome: Some(welcome()),
            ..CommunitySettings::default()
        },
    )?;
    Ok((topics, posts))
}

/// The leaderboard and the badges plugin, if built.
pub fn plugins(
    forum: &Arc<Forum>,
    community: CommunityId,
    _origin: &str,
) -> Result<Option<PluginHost>, hearth_web::Error> {
    start_plugins(forum, community, &["leaderboard", "badges"])
}

/// The demo as [`demo_kit::run`] serves it.
pub const DEMO: Demo = Demo {
    name: "ambassadors",
    slug: SLUG,
    title: "Ambassadors",
    sign_ins: SIGN_INS,
    seed,
    plugins,
    notes: |_, _| {
        vec!["The leaderboard is at /plugins/leaderboard; ranks are badges on each profile.".into()]
    },
};
