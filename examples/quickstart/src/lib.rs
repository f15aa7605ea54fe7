//! The quickstart demo community: seeding and printing, kept apart from
//! `main` so tests can call them.

use std::io::Write;

use hearth::{
    Actor, CategoryKind, Community, Forum, NewCategory, NewCommunity, NewReply, NewTopic, NewUser,
    PageRequest, Role, TopicFilter, Visibility,
};

/// Creates the community and fills it, printing progress.
pub fn seed(forum: &Forum) -> Result<Community, hearth::Error> {
    println!("Seeding a new community…");
    let owner = forum.create_user(NewUser {
        username: "maria".into(),
        display_name: "Maria (Support lead)".into(),
    })?;
    let community = forum.create_community(
        &Actor::System,
        NewCommunity {
            slug: "quickstart".into(),
            name: "Acme Customer Community".into(),
            owner: Some(owner.id),
            ..Default::default()
        },
    )?;
    let admin = Actor::User(owner.id);
    let questions = forum.create_category(
        &admin,
        community.id,
        NewCategory::new(
            "questions",
            "Questions & Answers",
            CategoryKind::QuestionAndAnswer,
        )
        .description("Ask the community; accept the answer that helped."),
    )?;
    let kb = forum.create_category(
        &admin,
        community.id,
        NewCategory::new("guides", "Guides", CategoryKind::KnowledgeBase),
    )?;
    let lounge = forum.create_category(
        &admin,
        community.id,
        NewCategory::new("lounge", "Members' Lounge", CategoryKind::Discussion)
            .visibility(Visibility::Members),
    )?;

    let names = ["dev_dan", "priya", "kenji", "lotte", "samir", "ana.b"];
    let mut members = Vec::new();
    for name in names {
        let u = forum.create_user(NewUser::new(name))?;
        forum.join(&Actor::User(u.id), community.id)?;
        members.push(Actor::User(u.id));
    }
    let expert = forum.create_user(NewUser {
        username: "olga".into(),
        display_name: "Olga (Acme expert)".into(),
    })?;
    forum.add_member(&admin, community.id, expert.id, Role::Expert)?;
    let expert = Actor::User(expert.id);

    let threads: &[(&str, &str, &str)] = &[
        (
            "How do I rotate my API key without downtime?",
            "I created a new key but the **old** one keeps working. Is that expected?",
            "Yes: both keys work until you revoke the old one under *Settings → API keys*. \
             Deploy the new key first, then revoke.",
        ),
        (
            "Webhook deliveries fail with 401",
            "Our endpoint returns `401 Unauthorized` for every delivery since Monday.",
            "Check the signing secret: it was rotated when you re-created the webhook. \
             See the [webhook guide](https://docs.example.com/webhooks).",
        ),
        (
            "Export invoices as CSV?",
            "Finance wants all invoices of 2025 in one CSV file. Possible?",
            "Billing → Invoices → *Export*. Pick the date range; the CSV arrives by email.",
        ),
    ];
    let total = threads.len();
    for (i, (title, question, answer)) in threads.iter().enumerate() {
        let asker = &members[i % members.len()];
        let (topic, _) = forum.create_topic(
            asker,
            community.id,
            NewTopic {
                category: questions.id,
                title: title.to_string(),
                body: question.to_string(),
                tags: vec!["api".into()],
            },
        )?;
        let reply = forum.reply(
            &expert,
            community.id,
            topic.id,
            NewReply {
                body: answer.to_string(),
                reply_to: None,
            },
        )?;
        forum.reply(
            &members[(i + 1) % members.len()],
            community.id,
            topic.id,
            NewReply {
                body: "Same question here, thanks @olga!".into(),
                reply_to: Some(reply.id),
            },
        )?;
        forum.accept_answer(asker, community.id, reply.id)?;
        forum.like(&members[(i + 2) % members.len()], community.id, reply.id)?;
        print!("\r  topics: {}/{total}", i + 1);
        let _ = std::io::stdout().flush();
    }
    println!();
    forum.create_topic(
        &expert,
        community.id,
        NewTopic {
            category: kb.id,
            title: "Getting started with the Acme API".into(),
            body: "1. Create a key\n2. Call `GET /v1/ping`\n3. Read the [reference](https://docs.example.com)".into(),
            tags: vec![],
        },
    )?;
    forum.create_topic(
        &members[0],
        community.id,
        NewTopic {
            category: lounge.id,
            title: "Introduce yourself!".into(),
            body: "Members only: say hi and tell us what you build.".into(),
            tags: vec![],
        },
    )?;
    println!("Seeded: {} members, {} categories.", names.len() + 2, 3);
    Ok(community)
}

/// Prints what a member sees: the latest topics and one rendered topic.
pub fn show(forum: &Forum, community: &Community) -> Result<(), hearth::Error> {
    let member = Actor::User(forum.user_by_username("dev_dan")?.id);
    let guest_sees = forum
        .latest(
            &Actor::Guest,
            community.id,
            &TopicFilter::default(),
            &PageRequest::first(30),
        )?
        .items
        .len();
    let page = forum.latest(
        &member,
        community.id,
        &TopicFilter::default(),
        &PageRequest::first(30),
    )?;
    println!(
        "\n== {} — latest topics, as member @dev_dan ({} visible; a guest sees {guest_sees}) ==",
        community.name,
        page.items.len()
    );
    for t in &page.items {
        let solved = if t.accepted_answer.is_some() {
            " ✔ solved"
        } else {
            ""
        };
        println!(
            "  #{:<4} {:<50} {} replies, {} likes{solved}",
            t.id.0, t.title, t.reply_count, t.like_count
        );
    }
    let Some(first) = page.items.iter().find(|t| t.accepted_answer.is_some()) else {
        return Ok(());
    };
    let view = forum.topic(&member, community.id, first.id, &PageRequest::first(20))?;
    println!("\n== /t/{}/{} ==", view.topic.slug, view.topic.id);
    println!("{}", view.topic.title);
    for p in &view.posts.items {
        let badge = if p.official { " [official]" } else { "" };
        let accepted = if p.accepted { " [accepted answer]" } else { "" };
        println!(
            "\n--- #{} @{}{badge}{accepted}\n{}",
            p.post_number,
            p.author.username,
            p.html.trim()
        );
    }
    Ok(())
}
