//! A beauty community, modeled on Sephora's Beauty Talk and Beauty Board:
//! public conversation prospects can read, a photo board where each look
//! links to the product pages it used, and member-only areas.

use std::path::Path;
use std::sync::Arc;

use demo_kit::{Demo, Progress, Rng, Seeder, member_name, start_plugins};
use hearth::{
    Actor, CategoryKind, CommunityId, CommunitySettings, Forum, NewCategory, NewCommunity,
    NewReply, NewTopic, Role, UserId, Visibility,
};
use hearth_wasm::PluginHost;
use time::Duration;

/// The community's slug.
pub const SLUG: &str = "beauty";

/// Where the demo's product pages live.
pub const SHOP: &str = "https://shop.example.com/p";

/// Accounts worth signing in as.
pub const SIGN_INS: &[(&str, &str)] = &[
    ("lumi_team", "owner / community team"),
    ("mara_artist", "expert (makeup artist)"),
    ("anna_berg", "member"),
];

/// The catalogue the board links to: (SKU, name).
pub const PRODUCTS: &[(&str, &str)] = &[
    ("LM-101", "Velvet Matte Lipstick — Rosewood"),
    ("LM-204", "Dewy Skin Tint SPF 30"),
    ("LM-310", "Lash Lift Mascara"),
    ("LM-415", "Glow Drops Highlighter"),
    ("LM-520", "Barrier Repair Cream"),
    ("LM-633", "Brow Sculpt Gel"),
    ("LM-748", "Silk Shine Hair Oil"),
    ("LM-852", "Cloud Setting Powder"),
];

const LOOKS: &[&str] = &[
    "soft glam",
    "no-makeup makeup",
    "bold berry lip",
    "glass skin",
    "sunset eyes",
    "clean girl",
    "90s brown liner",
    "festival shimmer",
];
/// A look's colours: (top, bottom, accent), by `LOOKS` index.
const PALETTES: &[([u8; 3], [u8; 3], [u8; 3])] = &[
    ([244, 214, 204], [196, 132, 126], [160, 62, 80]),
    ([250, 236, 222], [222, 196, 172], [196, 140, 118]),
    ([236, 200, 214], [120, 30, 70], [90, 10, 50]),
    ([236, 244, 250], [196, 214, 232], [250, 250, 255]),
    ([255, 206, 150], [214, 90, 70], [120, 40, 90]),
    ([246, 240, 232], [214, 200, 186], [180, 150, 130]),
    ([222, 190, 160], [120, 80, 56], [70, 40, 30]),
    ([200, 180, 250], [90, 60, 160], [255, 220, 120]),
];

/// Draws a look's photo (a portrait-shaped gradient with a face-like oval
/// and a swatch per product shade, in the look's colours, `variant`
/// moving the highlights), `width` wide, and uploads it as `who`; returns
/// its URL.
fn look_photo(
    forum: &Forum,
    community: CommunityId,
    who: UserId,
    look: &str,
    variant: u32,
    width: u32,
) -> Result<String, hearth_web::Error> {
    let index = LOOKS.iter().position(|l| *l == look).unwrap_or(0);
    let (top, bottom, accent) = PALETTES[index % PALETTES.len()];
    let (w, h) = (width, width * 5 / 4);
    // Drawn in a 360 × 450 design space, scaled to `width`.
    let k = 360.0 / w as f32;
    let (cx, cy) = (180.0 + (variant % 40) as f32 - 20.0, 189.0);
    let mix = |a: u8, b: u8, t: f32| (f32::from(a) + (f32::from(b) - f32::from(a)) * t) as u8;
    let blend = |a: [u8; 3], b: [u8; 3], t: f32| std::array::from_fn(|c| mix(a[c], b[c], t));
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (x, y) = (x as f32 * k, y as f32 * k);
        let mut px = blend(top, bottom, y / 450.0);
        let (dx, dy) = ((x - cx) / 95.0, (y - cy) / 125.0);
        if dx * dx + dy * dy < 1.0 {
            // The oval, lit from the upper left.
            let light = 1.0 - (dx + 0.4).hypot(dy + 0.5) * 0.35;
            px = blend(px, [250; 3], (0.55 * light).clamp(0.0, 0.9));
            // A lip-coloured band two thirds of the way down.
            if (0.45..0.58).contains(&dy) && dx.abs() < 0.35 {
                px = accent;
            }
        }
        if y > 390.0 && x % 90.0 < 70.0 && x > 10.0 {
            // Swatches.
            px = blend(accent, top, (x / 90.0).floor() / 4.0);
        }
        image::Rgb(px)
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| hearth_web::Error::Internal(format!("drawing a look: {e}")))?;
    let upload = forum.create_upload(
        &Actor::User(who),
        community,
        hearth::NewUpload {
            filename: format!("{}.png", look.replace(' ', "-")),
            bytes: png,
        },
    )?;
    Ok(format!("/uploads/{}.png", upload.sha256))
}

const TALK: &[(&str, &str, &str)] = &[
    (
        "skincare-talk",
        "Best moisturizer for combination skin in winter?",
        "My T-zone is oily but my cheeks flake by noon. What works for you?",
    ),
    (
        "skincare-talk",
        "Retinol beginners: how often did you start?",
        "Two nights a week felt safe, but I still got a bit of purging.",
    ),
    (
        "makeup-talk",
        "Long-wear foundation that survives a 12-hour shift",
        "Nurse here; masks rub everything off. Recommendations?",
    ),
    (
        "makeup-talk",
        "Mascara that doesn't smudge under the eyes",
        "Tubing mascaras? Or is it my eye cream?",
    ),
    (
        "hair-talk",
        "Heat protectant that doesn't leave hair greasy",
        "Fine hair, air-dry most days, flat iron on weekends.",
    ),
    (
        "hair-talk",
        "Growing out a bob gracefully",
        "Six months in and it's at the awkward stage. Tips?",
    ),
];

/// Seeds the community; `scale` multiplies the default content.
pub fn seed(
    path: &Path,
    scale: usize,
    progress: Progress<'_>,
) -> Result<(usize, usize), hearth_web::Error> {
    let seeder = Seeder::open(path, 90)?;
    let forum = &seeder.forum;
    let mut rng = Rng::new(0x00be_a07b_0a4d);
    let owner = seeder.account("lumi_team", "Lumi (Community Team)")?;
    let community = forum
        .create_community(
            &Actor::System,
            NewCommunity {
                slug: SLUG.into(),
                name: "Lumi Beauty Community".into(),
                owner: Some(owner),
                settings: CommunitySettings::for_bulk_writes(),
            },
        )?
        .id;
    let admin = Actor::User(owner);
    let artist = seeder.account("mara_artist", "Mara (Makeup Artist)")?;
    forum.add_member(&admin, community, artist, Role::Expert)?;
    let total = 36;
    let mut members: Vec<UserId> = Vec::new();
    for i in 0..total {
        let (name, display) = member_name(i);
        let id = seeder.account(&name, &display)?;
        forum.join(&Actor::User(id), community)?;
        members.push(id);
        progress("members", i + 1, total);
    }
    let public = |slug: &str, name: &str, desc: &str| {
        forum.create_category(
            &admin,
            community,
            NewCategory::new(slug, name, CategoryKind::Discussion).description(desc),
        )
    };
    let skincare = public(
        "skincare-talk",
        "Skincare Talk",
        "Routines, ingredients and what works for your skin.",
    )?;
    let makeup = public(
        "makeup-talk",
        "Makeup Talk",
        "Looks, techniques and product questions.",
    )?;
    let hair = public("hair-talk", "Hair Talk", "Cuts, color and care.")?;
    let board = public(
        "beauty-board",
        "Beauty Board",
        "Share a photo of your look and tag the products you used.",
    )?;
    let lounge = forum.create_category(
        &admin,
        community,
        NewCategory::new("insider-lounge", "Insider Lounge", CategoryKind::Discussion)
            .visibility(Visibility::Members)
            .description("Members only: early launches, swaps and events."),
    )?;
    let (mut topics, mut posts) = (0, 0);
    let rounds = 10 * scale.max(1);
    let mut last_look = None;
    // Rounds spread over the months, the last one running up to now; a
    // reply and likes a minute ago close it, so this week's board is never
    // empty.
    let view = |topic, n| seeder.views(community, topic, n);
    for round in 0..rounds {
        seeder.pace(round + 1, rounds, Duration::hours(20));
        for (slug, title, body) in TALK {
            seeder.advance(Duration::hours(1));
            let category = match *slug {
                "skincare-talk" => skincare.id,
                "makeup-talk" => makeup.id,
                _ => hair.id,
            };
            let asker = *rng.pick(&members);
            let title = if round == 0 {
                (*title).to_string()
            } else {
                format!("{title} (round {})", round + 1)
            };
            let (topic, _) = forum.create_topic(
                &Actor::User(asker),
                community,
                NewTopic {
                    category,
                    title,
                    body: (*body).into(),
                    tags: vec![],
                },
            )?;
            topics += 1;
            posts += 1;
            view(topic.id, 10 + rng.below(90))?;
            let mut said = std::collections::HashSet::new();
            for _ in 0..1 + rng.below(4) {
                seeder.advance(Duration::minutes(25));
                let (sku, name) = *rng.pick(PRODUCTS);
                let who = if rng.chance(25) {
                    artist
                } else {
                    *rng.pick(&members)
                };
                let reply = match rng.below(4) {
                    0 => format!(
                        "I swear by the [{name}]({SHOP}/{sku}) — give it two weeks before you judge."
                    ),
                    1 => format!(
                        "The [{name}]({SHOP}/{sku}) changed my routine. A little goes a long way."
                    ),
                    2 => format!(
                        "Try the [{name}]({SHOP}/{sku}) on a patch of skin first; it suited me, but not my sister."
                    ),
                    _ => format!(
                        "Holy grail for me: the [{name}]({SHOP}/{sku}). I'm on my third one."
                    ),
                };
                // No thread repeats a reply word for word.
                if who == asker || !said.insert(reply.clone()) {
                    continue;
                }
                let post = forum.reply(
                    &Actor::User(who),
                    community,
                    topic.id,
                    NewReply {
                        body: reply,
                        reply_to: None,
                    },
                )?;
                posts += 1;
                for _ in 0..rng.below(4) {
                    let _ = forum.like(&Actor::User(*rng.pick(&members)), community, post.id);
                }
            }
        }
        // The photo board: each look shows its photo and links its products.
        for _ in 0..4 {
            seeder.advance(Duration::hours(2));
            let look = *rng.pick(LOOKS);
            let who = *rng.pick(&members);
            let used: Vec<String> = (0..2 + rng.below(2))
                .map(|_| {
                    let (sku, name) = *rng.pick(PRODUCTS);
                    format!("- [{name}]({SHOP}/{sku})")
                })
                .collect();
            let variant = rng.below(1000) as u32;
            let photo = look_photo(forum, community, who, look, variant, 360)?;
            let (topic, first) = forum.create_topic(
                &Actor::User(who),
                community,
                NewTopic {
                    category: board.id,
                    title: format!("My {look} look"),
                    body: format!(
                        "![{look}]({photo})\n\nProducts I used:\n\n{}\n",
                        used.join("\n")
                    ),
                    tags: vec!["look".into()],
                },
            )?;
            topics += 1;
            posts += 1;
            for _ in 0..rng.below(8) {
                let _ = forum.like(&Actor::User(*rng.pick(&members)), community, first.id);
            }
            view(topic.id, 20 + rng.below(150))?;
            last_look = Some((topic.id, first.id, who, look, variant, used));
        }
        seeder.advance(Duration::hours(1));
        let (swap, _) = forum.create_topic(
            &Actor::User(*rng.pick(&members)),
            community,
            NewTopic {
                category: lounge.id,
                title: format!("Swap thread #{}", round + 1),
                body: "Unopened minis up for swap — reply with what you have.".into(),
                tags: vec![],
            },
        )?;
        view(swap.id, 5 + rng.below(30))?;
        topics += 1;
        posts += 1;
        progress("conversations", round + 1, rounds);
    }
    let mut featured = String::new();
    if let Some((topic, first, author, look, variant, used)) = last_look {
        // The home page features it: a smaller copy of its photo, linked to
        // the look, and the products it used.
        let small = look_photo(forum, community, author, look, variant, 180)?;
        featured = format!(
            "\n\n[![The newest look: {look}]({small})](/t/{})\n\n**The newest look, {look}**, used:\n\n{}",
            topic.0,
            used.join("\n")
        );
        // The clock stops a minute before the real time.
        seeder.advance(Duration::days(1));
        let (sku, name) = PRODUCTS[0];
        forum.reply(
            &Actor::User(artist),
            community,
            topic,
            NewReply {
                body: format!(
                    "Gorgeous! For a longer wear, set it with the [{name}]({SHOP}/{sku})."
                ),
                reply_to: None,
            },
        )?;
        posts += 1;
        for m in members.iter().filter(|m| **m != author).take(3) {
            let _ = forum.like(&Actor::User(*m), community, first);
        }
    }
    forum.update_community(
        &admin,
        community,
        "Lumi Beauty Community",
        CommunitySettings {
            welcome: Some(format!(
                "**Show us your look.** Post a photo on the [Beauty Board](/c/beauty-board/{}) and \
                 link the products you used: every link opens the product in the Lumi shop. Ask \
                 about skincare, makeup and hair in the talk categories; the Insider Lounge is for \
                 members.{featured}",
                board.id.0
            )),
            ..CommunitySettings::default()
        },
    )?;
    Ok((topics, posts))
}

/// The leaderboard, if built.
pub fn plugins(
    forum: &Arc<Forum>,
    community: CommunityId,
    _origin: &str,
) -> Result<Option<PluginHost>, hearth_web::Error> {
    start_plugins(forum, community, &["leaderboard"])
}

/// The demo as [`demo_kit::run`] serves it.
pub const DEMO: Demo = Demo {
    name: "beauty-board",
    slug: SLUG,
    title: "Lumi Beauty Community",
    sign_ins: SIGN_INS,
    seed,
    plugins,
    notes: |_, _| {
        vec![
            "Guests read Beauty Talk and the Beauty Board; the Insider Lounge is for members."
                .into(),
        ]
    },
};
