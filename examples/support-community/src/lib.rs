//! A product support community, modeled on SAP's community network:
//! product Q&A with accepted answers, a knowledge base, staff and expert
//! blogs, members who are customers, employees, partners and mentors, and
//! an escape hatch to human support on every page.
//!
//! [`seed`] generates the community (realistic, deterministic, no
//! hand-written SQL) with timestamps spread over the last months; [`app`]
//! builds the router, kept apart from `main` so tests can call it.

use std::path::Path;
use std::sync::Arc;

use demo_kit::{Demo, Rng, Seeder, enable, member_name, plugin_host};
use hearth::{
    Actor, CategoryKind, CommunityId, CommunitySettings, Forum, GroupId, NewBadge, NewCategory,
    NewCommunity, NewReply, NewTopic, PostId, Role, TopicId, UserId, Visibility,
};
use hearth_wasm::PluginHost;
use time::Duration;

/// The community's slug.
pub const SLUG: &str = "support";
pub use demo_kit::{DEMO_PASSWORD, web};

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Customers besides the named staff, experts and partners.
    pub customers: usize,
    /// Questions across the product categories.
    pub questions: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            customers: 40,
            questions: 150,
        }
    }
}

/// Accounts worth signing in as (username, what it is); the password is
/// [`DEMO_PASSWORD`].
pub const SIGN_INS: &[(&str, &str)] = &[
    ("maya", "owner / community manager"),
    ("sam_support", "staff (support)"),
    ("jules_mod", "moderator"),
    ("olga_mentor", "expert / mentor"),
    ("northwind_si", "partner (sees the Partner Lounge)"),
    ("anna_berg", "customer"),
];

/// What [`seed`] made.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The community.
    pub community: CommunityId,
    /// Topics and posts written.
    pub topics: usize,
    /// Posts written (first posts included).
    pub posts: usize,
}

struct Product {
    slug: &'static str,
    name: &'static str,
    blurb: &'static str,
    features: &'static [&'static str],
    errors: &'static [&'static str],
    menus: &'static [&'static str],
}

const PRODUCTS: &[Product] = &[
    Product {
        slug: "ledger-cloud",
        name: "Ledger Cloud",
        blurb: "Accounting, invoicing and period close.",
        features: &[
            "recurring invoices",
            "multi-currency journals",
            "bank reconciliation",
            "the period close checklist",
            "tax codes",
            "credit notes",
            "payment reminders",
        ],
        errors: &[
            "error LC-4012 (posting period locked)",
            "a duplicate document number warning",
            "an exchange-rate mismatch",
            "a timeout while exporting the ledger",
        ],
        menus: &[
            "Settings → Accounting",
            "Finance → Periods",
            "Sales → Invoices",
            "Banking → Rules",
        ],
    },
    Product {
        slug: "analytics-hub",
        name: "Analytics Hub",
        blurb: "Dashboards, reports and data models.",
        features: &[
            "scheduled reports",
            "row-level security",
            "calculated measures",
            "dashboard sharing",
            "the SQL data source",
            "drill-through filters",
        ],
        errors: &[
            "a 'model refresh failed' banner",
            "empty charts after the upgrade",
            "error AH-221 (quota exceeded)",
            "stale numbers in the cached view",
        ],
        menus: &[
            "Data → Models",
            "Admin → Refresh schedules",
            "Share → Permissions",
            "Workspace → Settings",
        ],
    },
    Product {
        slug: "integration-suite",
        name: "Integration Suite",
        blurb: "APIs, webhooks and connectors.",
        features: &[
            "webhook retries",
            "OAuth client credentials",
            "the REST API pagination",
            "API key rotation",
            "the CSV connector",
            "field mappings",
        ],
        errors: &[
            "HTTP 429 from the API",
            "webhooks arriving twice",
            "an invalid_grant error",
            "a mapping validation error on import",
        ],
        menus: &[
            "Developer → API keys",
            "Connections → Webhooks",
            "Admin → OAuth apps",
            "Integrations → Mappings",
        ],
    },
    Product {
        slug: "mobile-app",
        name: "Mobile App",
        blurb: "Approvals and expenses on the go.",
        features: &[
            "offline mode",
            "push notifications",
            "receipt scanning",
            "single sign-on",
            "approval delegation",
        ],
        errors: &[
            "a crash on start after updating",
            "notifications that never arrive",
            "a blank screen after sign-in",
            "receipts that do not upload",
        ],
        menus: &[
            "Profile → Notifications",
            "Settings → Sync",
            "Approvals → Delegates",
            "Settings → Security",
        ],
    },
];

const COMPANIES: &[&str] = &[
    "a mid-size retailer",
    "a logistics company",
    "a university",
    "a manufacturing plant",
    "a hospital group",
    "a SaaS startup",
    "a city council",
    "a law firm",
];

fn question(rng: &mut Rng, p: &Product) -> (String, String) {
    let feature = *rng.pick(p.features);
    let error = *rng.pick(p.errors);
    let company = *rng.pick(COMPANIES);
    let n = rng.below(4);
    let title = match n {
        0 => format!("How do I set up {feature} in {}?", p.name),
        1 => format!("{}: {error} when using {feature}", p.name),
        2 => format!("Is {feature} supported for more than one entity?"),
        _ => format!("Best practice for {feature} at scale"),
    };
    let body = format!(
        "We run {} at {company} and I'm stuck with {feature}.\n\n\
         {}\n\nWhat I tried so far:\n\n\
         1. Checked the settings under **{}**\n\
         2. Searched the knowledge base\n\
         3. Asked our admin, who suggested asking here\n\n\
         Any pointers appreciated!",
        p.name,
        match n {
            1 => format!("Since yesterday we get {error}. Nothing changed on our side as far as I know."),
            2 => "The documentation only shows a single entity and we have four.".to_string(),
            3 => "We are about to roll this out to 2,000 users and want to get it right the first time.".to_string(),
            _ => "The setup guide stops halfway and I am not sure which option to pick.".to_string(),
        },
        rng.pick(p.menus)
    );
    (title, body)
}

fn answer(rng: &mut Rng, p: &Product) -> String {
    let menu = *rng.pick(p.menus);
    let feature = *rng.pick(p.features);
    match rng.below(4) {
        0 => format!(
            "Go to **{menu}** and enable *{feature}* for each entity. It only takes effect after the next sync \
             (or sign out and in again). We do this for our three subsidiaries and it works well."
        ),
        1 => format!(
            "This is usually a permissions issue. Check that your role has the *{feature}* right under **{menu}**; \
             the error message is misleading. If it still fails, open a ticket with the request ID from the browser console."
        ),
        2 => "We hit the same thing. The fix for us was to clear the cached configuration:\n\n\
              ```\nSettings → Advanced → Reset cache\n```\n\nthen re-run the job. Support confirmed it's fixed in the next release."
            .to_string(),
        _ => format!(
            "There's a step-by-step article in the knowledge base about {feature}. In short: **{menu}**, \
             create a new profile, and assign it to the users before switching it on."
        ),
    }
}

fn chatter(rng: &mut Rng) -> String {
    (*rng.pick(&[
        "Thanks, that worked for us as well!",
        "Same problem here — following this thread.",
        "Did you try it with a test company first? That saved us a lot of trouble.",
        "Great question, I was wondering the same.",
        "Confirmed on our side after the latest update.",
        "This should really be in the docs. +1",
    ]))
    .to_string()
}

/// The home page's welcome: where to start, and the way to a person.
const WELCOME: &str = "**Customers, partners and the people who build Acme help each other here.** \
[Search](/search) first: most questions have an answer, and the [knowledge base](/kb) keeps the \
best ones. Still stuck? [Ask](/new-topic) in your product's Q&A — an answer marked *Solved* worked \
for the person who asked. Need a person? Every page links to a support ticket.";

/// Opens the demo database with the system clock.
pub fn open(path: &Path) -> hearth::Result<Forum> {
    Forum::open(path)
}

/// Generates the community into a new database at `path`, with a manual
/// clock that walks from about 120 days ago to now, so topics have a
/// history. `progress(step, done, total)` is called as it goes.
pub fn seed(
    path: &Path,
    opts: Options,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Seeded, hearth_web::Error> {
    let seeder = Seeder::open(path, 120)?;
    let forum = &seeder.forum;
    let mut rng = Rng::new(0x5eed_c0ff_ee15_600d);
    let account = |name: &str, display: &str| seeder.account(name, display);

    let owner = account("maya", "Maya Lindqvist (Community Manager)")?;
    let mut settings = CommunitySettings::for_bulk_writes();
    settings.base_url = Some("http://127.0.0.1:3000/".into());
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: SLUG.into(),
                name: "Acme Support Community".into(),
                owner: Some(owner),
                settings,
            },
        )?
        .id;
    let admin = Actor::User(owner);
    let staff_group = forum.create_group(&admin, community, "employees", "Acme employees")?;
    let partner_group = forum.create_group(
        &admin,
        community,
        "partners",
        "Implementation partners and vendors",
    )?;
    let add =
        |name: &str, display: &str, role: Role, groups: &[GroupId]| -> hearth::Result<UserId> {
            let id = account(name, display)?;
            forum.add_member(&admin, community, id, role)?;
            for g in groups {
                forum.add_to_group(&admin, community, *g, id)?;
            }
            Ok(id)
        };
    forum.add_to_group(&admin, community, staff_group.id, owner)?;
    let staff = [
        add(
            "sam_support",
            "Sam Okafor (Support)",
            Role::Staff,
            &[staff_group.id],
        )?,
        add(
            "priya_pm",
            "Priya Raman (Product)",
            Role::Staff,
            &[staff_group.id],
        )?,
        add(
            "lee_eng",
            "Lee Chen (Engineering)",
            Role::Staff,
            &[staff_group.id],
        )?,
    ];
    let moderator = add("jules_mod", "Jules Martin", Role::Moderator, &[])?;
    let experts = vec![
        add("olga_mentor", "Olga Petrova (Mentor)", Role::Expert, &[])?,
        add("raj_expert", "Raj Patel (Champion)", Role::Expert, &[])?,
        add("ken_mvp", "Ken Ito (MVP)", Role::Expert, &[])?,
    ];
    let partners = vec![
        add(
            "northwind_si",
            "Northwind Consulting",
            Role::Member,
            &[partner_group.id],
        )?,
        add(
            "contoso_partner",
            "Contoso Integrations",
            Role::Member,
            &[partner_group.id],
        )?,
    ];
    let mut customers = Vec::new();
    for i in 0..opts.customers {
        let (name, display) = member_name(i);
        let id = account(&name, &display)?;
        forum.join(&Actor::User(id), community)?;
        customers.push(id);
        progress("members", i + 1, opts.customers);
    }

    let cat = |slug: &str, name: &str, kind: CategoryKind, desc: &str| {
        forum.create_category(
            &admin,
            community,
            NewCategory::new(slug, name, kind).description(desc),
        )
    };
    let mut product_cats = Vec::new();
    for p in PRODUCTS {
        product_cats.push(cat(
            p.slug,
            &format!("{} Q&A", p.name),
            CategoryKind::QuestionAndAnswer,
            p.blurb,
        )?);
    }
    let kb = cat(
        "knowledge-base",
        "Knowledge Base",
        CategoryKind::KnowledgeBase,
        "Curated how-tos, written by our team and experts from the best answers.",
    )?;
    let staff_blog = cat(
        "from-the-team",
        "From the Team",
        CategoryKind::Blog,
        "Release notes and stories from the people who build Acme.",
    )?;
    let expert_blog = cat(
        "expert-voices",
        "Expert Voices",
        CategoryKind::Blog,
        "Mentors and champions share what works.",
    )?;
    let announcements = cat(
        "announcements",
        "Announcements",
        CategoryKind::Announcements,
        "Maintenance windows, releases and events.",
    )?;
    let ideas = cat(
        "ideas",
        "Ideas",
        CategoryKind::Ideas,
        "Suggest and vote on improvements.",
    )?;
    let partners_cat = forum.create_category(
        &admin,
        community,
        NewCategory::new("partner-lounge", "Partner Lounge", CategoryKind::Discussion)
            .visibility(Visibility::Groups)
            .groups(&[partner_group.id, staff_group.id])
            .description("For implementation partners and Acme staff."),
    )?;
    let employees_cat = forum.create_category(
        &admin,
        community,
        NewCategory::new("employees", "Employees Only", CategoryKind::Discussion)
            .visibility(Visibility::Groups)
            .groups(&[staff_group.id])
            .description("Internal: escalations and community planning."),
    )?;
    for (slug, name, desc) in [
        ("first-answer", "First Answer", "Had an answer accepted"),
        ("problem-solver", "Problem Solver", "Ten accepted answers"),
        ("well-liked", "Well Liked", "A post with ten likes"),
    ] {
        forum.create_badge(
            &admin,
            community,
            NewBadge {
                slug: slug.into(),
                name: name.into(),
                description: desc.into(),
                icon: "award".into(),
                tier: hearth::BadgeTier::Bronze,
                multiple: false,
            },
        )?;
    }

    let helpers: Vec<UserId> = staff
        .iter()
        .chain(&experts)
        .chain(&partners)
        .copied()
        .collect();
    let everyone: Vec<UserId> = customers.iter().chain(&helpers).copied().collect();
    let step = Duration::days(118) / ((opts.questions * 4 + 60) as i32).max(1);
    let mut topics = 0usize;
    let mut posts = 0usize;
    let mut solved_by: Vec<(TopicId, PostId)> = Vec::new();

    // Knowledge base, blogs and announcements from staff and experts.
    let mut written = Vec::new();
    let view = |topic: TopicId, n: usize| seeder.views(community, topic, n);
    let kb_titles = PRODUCTS
        .iter()
        .flat_map(|p| p.features.iter().take(3).map(move |f| (p, *f)))
        .collect::<Vec<_>>();
    for (i, (p, feature)) in kb_titles.iter().enumerate() {
        seeder.advance(step);
        let author = if i % 3 == 0 {
            experts[i % experts.len()]
        } else {
            staff[i % staff.len()]
        };
        let menu = p.menus[i % p.menus.len()];
        // Articles: written as drafts, then published (every revision kept).
        let title = format!("How to configure {feature} in {}", p.name);
        let body = format!(
            "This article walks through **{feature}** in {}.\n\n## Before you start\n\nYou need the administrator role.\n\n\
                 ## Steps\n\n1. Open **{menu}**.\n2. Choose *New* and give the profile a name.\n3. Assign it to the users or entities it applies to.\n\
                 4. Save, then run the sync once.\n\n## Troubleshooting\n\nIf nothing changes, clear the configuration cache and sign in again. \
                 Still stuck? Ask in the {} Q&A.",
            p.name, p.name
        );
        let article = forum.create_article(
            &Actor::User(author),
            community,
            hearth::NewArticle {
                category: kb.id,
                title: title.clone(),
                body: body.clone(),
            },
        )?;
        let published = forum.publish_article(&Actor::User(author), community, article.id, None)?;
        if let Some(topic) = published.topic {
            view(topic, 40 + 11 * (i % 7))?;
        }
        written.push((article.id, author, title, body));
        // Customers say whether it helped: the library orders itself by it.
        for j in 0..(i % 6).min(customers.len()) {
            let reader = customers[(i * 7 + j) % customers.len()];
            forum.rate_article(&Actor::User(reader), community, article.id, j % 4 != 3)?;
        }
        topics += 1;
        posts += 1;
    }
    for (i, (title, body)) in [
        ("What's new in the November release", "Faster bank reconciliation, scheduled report bursting and a new webhook dashboard. Read on for details."),
        ("How we cut webhook latency by 60%", "A look behind the scenes at the queue redesign in Integration Suite."),
        ("Meet the support team", "Who answers your tickets, and how the community helps us help you."),
    ]
    .iter()
    .enumerate()
    {
        seeder.advance(step);
        let (posted, _) = forum.create_topic(&Actor::User(staff[i % staff.len()]), community, NewTopic {
            category: staff_blog.id,
            title: (*title).into(),
            body: format!("{body}\n\nQuestions? Reply below — the team reads every comment."),
            tags: vec!["release".into()],
        })?;
        view(posted.id, 25 + 13 * posts % 40)?;
        topics += 1;
        posts += 1;
    }
    for (i, title) in [
        "Five habits of a clean period close",
        "Designing dashboards people actually open",
        "Rotating API keys without downtime",
    ]
    .iter()
    .enumerate()
    {
        seeder.advance(step);
        let (posted, _) = forum.create_topic(&Actor::User(experts[i]), community, NewTopic {
            category: expert_blog.id,
            title: (*title).into(),
            body: "After a dozen implementations, here is the checklist I give every customer. It starts with ownership: one person, one calendar.".into(),
            tags: vec!["best-practice".into()],
        })?;
        view(posted.id, 25 + 13 * posts % 40)?;
        topics += 1;
        posts += 1;
    }
    seeder.advance(step);
    let (posted, _) = forum.create_topic(&admin, community, NewTopic {
        category: announcements.id,
        title: "Scheduled maintenance: Sunday 02:00–04:00 UTC".into(),
        body: "Ledger Cloud and Analytics Hub will be read-only during the window. Integration Suite webhooks are queued and delivered afterwards.".into(),
        tags: vec!["maintenance".into()],
    })?;
    view(posted.id, 25 + 13 * posts % 40)?;
    topics += 1;
    posts += 1;
    // A poll (the `polls` plugin renders it once it runs; until then it
    // reads as its source).
    seeder.advance(step);
    let (posted, _) = forum.create_topic(&admin, community, NewTopic {
        category: announcements.id,
        title: "Help us pick the next maintenance window".into(),
        body: format!("We are moving maintenance to a time that disturbs you least. Vote below; the poll closes at the end of the month.\n\n```poll close={}\nWhich window suits your team best?\n- Sunday 02:00–04:00 UTC\n- Saturday 22:00–24:00 UTC\n- Wednesday 03:00–05:00 UTC\n```\n\nReply if none of them works for you.", poll_close(time::OffsetDateTime::now_utc())),
        tags: vec!["maintenance".into()],
    })?;
    view(posted.id, 25 + 13 * posts % 40)?;
    topics += 1;
    posts += 1;

    // Questions and answers, paced to run up to two hours ago; the last
    // few are still waiting for an answer.
    let unanswered = 3.min(opts.questions);
    for i in 0..opts.questions {
        seeder.pace(i + 1, opts.questions, Duration::hours(2));
        let pi = rng.below(PRODUCTS.len());
        let p = &PRODUCTS[pi];
        let asker = *rng.pick(&customers);
        let (title, body) = question(&mut rng, p);
        let created = forum.create_topic(
            &Actor::User(asker),
            community,
            NewTopic {
                category: product_cats[pi].id,
                title,
                body,
                tags: vec![p.slug.into()],
            },
        );
        let (topic, _) = match created {
            Ok(t) => t,
            Err(hearth::Error::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        topics += 1;
        posts += 1;
        let open_question = i + unanswered >= opts.questions;
        let replies = if open_question { 0 } else { 1 + rng.below(5) };
        let mut answer_ids = Vec::new();
        // No thread repeats a reply word for word.
        let mut said = std::collections::HashSet::new();
        for r in 0..replies {
            seeder.advance(Duration::minutes(10 + rng.below(240) as i64));
            let (author, body) = if r == 0 || rng.chance(40) {
                (*rng.pick(&helpers), answer(&mut rng, p))
            } else if rng.chance(50) {
                (*rng.pick(&customers), answer(&mut rng, p))
            } else {
                (*rng.pick(&everyone), chatter(&mut rng))
            };
            if author == asker || !said.insert(body.clone()) {
                continue;
            }
            let post = forum.reply(
                &Actor::User(author),
                community,
                topic.id,
                NewReply {
                    body,
                    reply_to: None,
                },
            )?;
            answer_ids.push((post.id, author));
            posts += 1;
        }
        // Likes from readers.
        for (post, author) in &answer_ids {
            for _ in 0..rng.below(6) {
                let liker = *rng.pick(&everyone);
                if liker != *author {
                    let _ = forum.like(&Actor::User(liker), community, *post);
                }
            }
        }
        if let Some((best, _)) = answer_ids.first()
            && rng.chance(65)
        {
            forum.accept_answer(&Actor::User(asker), community, *best)?;
            solved_by.push((topic.id, *best));
        }
        // Readers who came by: more for busier threads.
        let views = 3 + answer_ids.len() * 9 + rng.below(40);
        view(topic.id, views)?;
        progress("questions", i + 1, opts.questions);
    }

    // Ideas, the partner lounge, internal talk.
    for (i, title) in [
        "Dark mode for the mobile app",
        "Bulk edit for tax codes",
        "Webhook replay from the dashboard",
        "Export dashboards to PowerPoint",
    ]
    .iter()
    .enumerate()
    {
        seeder.advance(Duration::minutes(9));
        let (idea, _) = forum.create_topic(
            &Actor::User(customers[i % customers.len()]),
            community,
            NewTopic {
                category: ideas.id,
                title: (*title).into(),
                body: "It would save our team hours every month. Who else needs this?".into(),
                tags: vec![],
            },
        )?;
        // Votes, and the first idea taken up by product management.
        for voter in customers.iter().skip(i + 1).step_by(3).take(8 - 2 * i) {
            let _ = forum.vote(&Actor::User(*voter), community, idea.id);
        }
        view(idea.id, 12 + 7 * (4 - i))?;
        if i == 0 {
            forum.set_idea_status(
                &admin,
                community,
                idea.id,
                hearth::IdeaStatus::UnderReview,
                "Design is looking at this for the spring release; tell us which screens matter most.",
            )?;
        }
        topics += 1;
        posts += 1;
    }
    seeder.advance(Duration::minutes(9));
    forum.create_topic(
        &Actor::User(partners[0]),
        community,
        NewTopic {
            category: partners_cat.id,
            title: "Partner certification dates for Q1".into(),
            body: "Can the team share the exam dates? Three of our consultants are ready.".into(),
            tags: vec![],
        },
    )?;
    seeder.advance(Duration::minutes(9));
    forum.create_topic(&Actor::User(staff[0]), community, NewTopic {
        category: employees_cat.id,
        title: "Escalation rota for the holidays".into(),
        body: "Please add yourself to the rota; community questions unanswered for 48 h get escalated to support.".into(),
        tags: vec![],
    })?;
    topics += 2;
    posts += 2;

    // A knowledge-base article brought up to date this morning.
    seeder.advance(Duration::minutes(5));
    if let Some((article, author, title, body)) = written.first() {
        let actor = Actor::User(*author);
        forum.revise_article(
            &actor,
            community,
            *article,
            title,
            &format!(
                "{body}\n\n## What changed in the November release\n\nThe sync now runs on its own \
                 after you save; you no longer need to start it by hand."
            ),
            "Updated for the November release",
        )?;
        forum.publish_article(&actor, community, *article, None)?;
    }
    // Minutes ago: a question answered and accepted, so this week's and
    // this month's leaderboards have someone on them whatever the day.
    seeder.advance(Duration::minutes(20));
    let asker = customers[customers.len() / 2];
    let (title, body) = question(&mut rng, &PRODUCTS[0]);
    let (fresh, _) = forum.create_topic(
        &Actor::User(asker),
        community,
        NewTopic {
            category: product_cats[0].id,
            title: format!("{title} (this morning)"),
            body,
            tags: vec![PRODUCTS[0].slug.into()],
        },
    )?;
    seeder.advance(Duration::minutes(12));
    let helper = experts[0];
    let answer_post = forum.reply(
        &Actor::User(helper),
        community,
        fresh.id,
        NewReply {
            body: answer(&mut rng, &PRODUCTS[0]),
            reply_to: None,
        },
    )?;
    // The clock stops a minute before the real time.
    seeder.advance(Duration::days(1));
    for liker in customers.iter().filter(|c| **c != asker).take(3) {
        forum.like(&Actor::User(*liker), community, answer_post.id)?;
    }
    forum.accept_answer(&Actor::User(asker), community, answer_post.id)?;
    view(fresh.id, 6)?;
    topics += 1;
    posts += 2;

    // Real limits from now on.
    let real = CommunitySettings {
        base_url: Some("http://127.0.0.1:3000/".into()),
        welcome: Some(WELCOME.into()),
        ..CommunitySettings::default()
    };
    forum.update_community(&admin, community, "Acme Support Community", real)?;
    let _ = moderator;
    Ok(Seeded {
        community,
        topics,
        posts,
    })
}

/// The first day of the month after `now`'s (`YYYY-MM-DD`): when the
/// demo's poll closes (from the wall clock, not the seeding clock, which
/// runs in the past: the poll is open when the demo starts).
fn poll_close(now: time::OffsetDateTime) -> String {
    let (y, m) = match now.month() {
        time::Month::December => (now.year() + 1, 1),
        m => (now.year(), u8::from(m) + 1),
    };
    format!("{y:04}-{m:02}-01")
}

/// The first-party plugins the demo runs.
const PLUGINS: &[&str] = &[
    "escape-hatch",
    "leaderboard",
    "badges",
    "reactions",
    "assign",
    "polls",
];

/// Starts the plugin host with the escape hatch, the leaderboard, the
/// badges, reactions, assign and polls, if they are built (`cargo xtask
/// plugins`); `Ok(None)` otherwise. Posts written before polls ran are
/// rendered again, so the announcement's poll is a poll.
pub fn plugins(
    forum: &Arc<Forum>,
    community: CommunityId,
    public_url: &str,
) -> Result<Option<PluginHost>, hearth_web::Error> {
    let Some(host) = plugin_host(forum, PLUGINS)? else {
        return Ok(None);
    };
    for name in PLUGINS {
        enable(&host, community, name)?;
    }
    host.refresh_markup()?;
    seed_reactions(forum, &host, community)?;
    seed_assignments(forum, &host, community)?;
    seed_votes(forum, &host, community)?;
    host.configure(
        &Actor::System,
        community,
        "escape-hatch",
        [
            (
                "url",
                serde_json::json!("https://support.example.com/new-ticket"),
            ),
            ("email", serde_json::json!("support@example.com")),
            ("hours", serde_json::json!("Mon–Fri 8:00–18:00 CET")),
            ("site-url", serde_json::json!(public_url)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )?;
    host.deliver_events()?;
    Ok(Some(host))
}

/// Reactions on the newest topics' first posts, from the people who
/// replied, through the plugin's own action (as a member's click would).
/// Posts that already have reactions are left alone (reactions toggle).
fn seed_reactions(
    forum: &Arc<Forum>,
    host: &PluginHost,
    community: CommunityId,
) -> Result<(), hearth_web::Error> {
    const EMOJI: &[&str] = &["👍", "❤️", "🎉", "👍", "😮"];
    let latest = forum.latest(
        &Actor::System,
        community,
        &hearth::TopicFilter::default(),
        &hearth::PageRequest::first(12),
    )?;
    for (i, t) in latest.items.iter().enumerate() {
        let view = forum.topic(
            &Actor::System,
            community,
            t.id,
            &hearth::PageRequest::first(8),
        )?;
        let Some(first) = view.posts.items.first() else {
            continue;
        };
        if forum
            .ext_get(
                "plugin:reactions",
                Some(community),
                &format!("post/{}", first.id.0),
            )?
            .is_some()
        {
            continue;
        }
        let mut reacted = vec![first.author.id];
        for (j, p) in view.posts.items.iter().skip(1).enumerate() {
            if reacted.contains(&p.author.id) {
                continue;
            }
            reacted.push(p.author.id);
            let input = hearth_wasm::ActionInput {
                post: Some(first.id),
                fields: vec![("value".into(), EMOJI[(i + j) % EMOJI.len()].into())],
                ..Default::default()
            };
            host.action(
                &Actor::User(p.author.id),
                community,
                "reactions",
                "react",
                &input,
            )?;
        }
    }
    Ok(())
}

/// The newest open questions assigned to the support staff, as sam
/// would from each topic's page (through the plugin's own action): the
/// queue sam and lee find under `/plugins/assign/mine`. Topics already
/// assigned are left alone.
fn seed_assignments(
    forum: &Arc<Forum>,
    host: &PluginHost,
    community: CommunityId,
) -> Result<(), hearth_web::Error> {
    let sam = forum.user_by_username("sam_support")?.id;
    let lee = forum.user_by_username("lee_eng")?.id;
    let questions: Vec<hearth::CategoryId> = forum
        .categories(&Actor::System, community)?
        .into_iter()
        .filter(|c| c.kind == hearth::CategoryKind::QuestionAndAnswer)
        .map(|c| c.id)
        .collect();
    let latest = forum.latest(
        &Actor::System,
        community,
        &hearth::TopicFilter::default(),
        &hearth::PageRequest::first(30),
    )?;
    let open = latest
        .items
        .iter()
        .filter(|t| questions.contains(&t.category) && t.accepted_answer.is_none() && !t.closed);
    for (i, t) in open.take(4).enumerate() {
        let key = format!("topic/{}", t.id.0);
        if forum
            .ext_get("plugin:assign", Some(community), &key)?
            .is_some()
        {
            continue;
        }
        let to = if i % 2 == 0 { sam } else { lee };
        let input = hearth_wasm::ActionInput {
            topic: Some(t.id),
            fields: vec![("value".into(), to.0.to_string())],
            ..Default::default()
        };
        host.action(&Actor::User(sam), community, "assign", "assign", &input)?;
    }
    Ok(())
}

/// Votes in the announcement's poll from the members who replied most
/// recently, through the plugin's own action. A poll with votes is left
/// alone.
fn seed_votes(
    forum: &Arc<Forum>,
    host: &PluginHost,
    community: CommunityId,
) -> Result<(), hearth_web::Error> {
    let latest = forum.latest(
        &Actor::System,
        community,
        &hearth::TopicFilter::default(),
        &hearth::PageRequest::first(100),
    )?;
    let Some(poll) = latest.items.iter().find(|t| {
        t.title
            .starts_with("Help us pick the next maintenance window")
    }) else {
        return Ok(());
    };
    let view = forum.topic(
        &Actor::System,
        community,
        poll.id,
        &hearth::PageRequest::first(1),
    )?;
    let Some(first) = view.posts.items.first() else {
        return Ok(());
    };
    if forum
        .ext_get(
            "plugin:polls",
            Some(community),
            &format!("votes/{}", first.id.0),
        )?
        .is_some()
    {
        return Ok(());
    }
    let mut voters: Vec<hearth::UserId> = Vec::new();
    for t in &latest.items {
        if !voters.contains(&t.author.id) && t.author.id != first.author.id {
            voters.push(t.author.id);
        }
    }
    for (i, who) in voters.iter().take(9).enumerate() {
        let input = hearth_wasm::ActionInput {
            post: Some(first.id),
            fields: vec![(
                "value".into(),
                format!("poll:{}", [0, 1, 0, 2, 0, 1][i % 6]),
            )],
            ..Default::default()
        };
        host.action(&Actor::User(*who), community, "polls", "vote", &input)?;
    }
    Ok(())
}

/// The router for the community.
pub fn app(
    forum: Arc<Forum>,
    plugins: Option<PluginHost>,
    community: CommunityId,
    public_origin: Option<String>,
) -> Result<axum::Router, hearth_web::Error> {
    Ok(web(forum, plugins, community, public_origin)?.router())
}

/// The demo as [`demo_kit::run`] serves it (`--scale N`: N × 150
/// questions).
pub const DEMO: Demo = Demo {
    name: "support-community",
    slug: SLUG,
    title: "Acme Support Community",
    sign_ins: SIGN_INS,
    seed: |path, scale, progress| {
        let opts = Options {
            questions: Options::default().questions * scale.max(1),
            ..Options::default()
        };
        let s = seed(path, opts, progress)?;
        Ok((s.topics, s.posts))
    },
    plugins,
    notes: |_, _| Vec::new(),
};
