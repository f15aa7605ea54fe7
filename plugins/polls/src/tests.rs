use super::*;
use hearth_plugin::testing::FakeHost;
use hearth_plugin::{ActionRequest, PostInfo};

const BODY: &str = "Lunch?\n\n```poll name=lunch type=multiple max=2 close=2027-01-31T18:30\nWhere shall we eat?\n- Noodles\n- Tacos\n- Salad\n```\n\n~~~poll\nTea or coffee?\n* Tea\n* Coffee\n~~~\n";

fn post(id: i64, body: &str) -> PostInfo {
    PostInfo {
        id,
        topic: 1,
        author: 2,
        number: 1,
        created_at: 0,
        like_count: 0,
        body: body.into(),
    }
}

fn host() -> FakeHost {
    let mut h = FakeHost::default();
    h.now = parse_date("2026-12-01").unwrap();
    h.posts.insert(12, post(12, BODY));
    h.posts.insert(13, post(13, "No poll, only the word poll."));
    h
}

fn vote(h: &FakeHost, viewer: Option<i64>, value: &str) -> ActionOutcome {
    h.take_action::<Polls>(ActionRequest {
        community: 1,
        name: "vote".into(),
        viewer,
        post: Some(12),
        topic: Some(1),
        fields: vec![("value".into(), value.into())],
    })
    .unwrap()
}

fn json(out: &ActionOutcome) -> serde_json::Value {
    let ActionOutcome::Done { json: Some(j), .. } = out else {
        panic!("{out:?}")
    };
    serde_json::from_str(j).unwrap()
}

fn counts(j: &serde_json::Value) -> Vec<i64> {
    j["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["votes"].as_i64().unwrap())
        .collect()
}

#[test]
fn blocks_parse_with_their_settings() {
    let polls = polls_in(BODY);
    assert_eq!(polls.len(), 2);
    let lunch = polls[0].as_ref().unwrap();
    assert_eq!(lunch.name, "lunch");
    assert_eq!(lunch.kind, Kind::Multiple);
    assert_eq!(lunch.max, 2);
    assert_eq!(lunch.question, "Where shall we eat?");
    assert_eq!(lunch.options, ["Noodles", "Tacos", "Salad"]);
    assert_eq!(lunch.close, Some(1_801_420_200_000));
    assert_eq!(show_date(lunch.close.unwrap()), "31 Jan 2027, 18:30 UTC");
    let tea = polls[1].as_ref().unwrap();
    assert_eq!(
        (tea.name.as_str(), tea.kind, tea.max),
        ("poll", Kind::Single, 1)
    );
    assert_eq!(show_date(parse_date("2028-02-29").unwrap()), "29 Feb 2028");
}

#[test]
fn what_is_not_a_poll_is_refused_with_a_reason() {
    for (info, source, why) in [
        ("", "- only one", "2 to"),
        ("", "Question only", "2 to"),
        ("type=ranked", "- a\n- b", "single or multiple"),
        ("close=2027-02-30", "- a\n- b", "YYYY-MM-DD"),
        ("close=tomorrow", "- a\n- b", "YYYY-MM-DD"),
        ("name=Big", "- a\n- b", "lowercase"),
        ("max=0", "- a\n- b", "max=0"),
        ("colour=red", "- a\n- b", "settings are"),
        ("", "- a\n- a", "twice"),
    ] {
        let e = parse(info, source).unwrap_err();
        assert!(e.contains(why), "{info} {source:?}: {e}");
    }
    let many: String = (0..=MAX_OPTIONS).map(|i| format!("- o{i}\n")).collect();
    assert!(parse("", &many).is_err());
    let most: String = (0..MAX_OPTIONS).map(|i| format!("- o{i}\n")).collect();
    assert!(parse("", &most).is_ok());
    let long = format!("- {}\n- b", "x".repeat(MAX_OPTION_CHARS + 1));
    assert!(parse("", &long).is_err());
}

#[test]
fn render_markup_makes_static_html_and_text_and_leaves_the_rest_as_source() {
    let h = FakeHost::default().read_only();
    let block = |info: &str, source: &str| MarkupBlock {
        community: 1,
        fence: "poll".into(),
        info: info.into(),
        source: source.into(),
    };
    let out = Polls::render_markup(
        &h,
        vec![
            block(
                "close=2027-01-31",
                "Best <b>tool</b>?\n- Hammer & tongs\n- Saw",
            ),
            block("", "- only one"),
            // A second poll named `poll`.
            block("", "- a\n- b"),
        ],
    )
    .unwrap();
    assert_eq!(out.len(), 3);
    let first = out[0].as_ref().unwrap();
    assert!(
        first.html.contains(
            "<p class=\"polls-question\"><strong>Best &lt;b&gt;tool&lt;/b&gt;?</strong></p>"
        ),
        "{}",
        first.html
    );
    assert!(
        first
            .html
            .contains("<li>Hammer &amp; tongs</li><li>Saw</li>"),
        "{}",
        first.html
    );
    assert!(first.html.contains("closes 31 Jan 2027"), "{}", first.html);
    assert!(!first.html.contains("hearth-action"));
    assert_eq!(first.text, "Poll: Best <b>tool</b>? Hammer & tongs, Saw");
    assert!(out[1].is_none());
    assert!(out[2].is_none());
    // Nothing read or written: the same blocks give the same HTML.
    assert!(h.kv.borrow().is_empty());
}

#[test]
fn a_single_choice_vote_is_cast_changed_and_taken_back() {
    let h = host();
    let j = json(&vote(&h, Some(7), "poll:0"));
    assert_eq!(counts(&j), [1, 0]);
    assert_eq!(j["my_votes"], serde_json::json!(["0"]));
    json(&vote(&h, Some(8), "poll:0"));
    // Another option replaces the vote.
    let j = json(&vote(&h, Some(7), "poll:1"));
    assert_eq!(counts(&j), [1, 1]);
    assert_eq!(j["voters"], 2);
    // The same option takes it back.
    let j = json(&vote(&h, Some(7), "poll:1"));
    assert_eq!(counts(&j), [1, 0]);
    assert_eq!(j["my_votes"], serde_json::json!([]));
    // The post's API field: both polls, nobody's own votes.
    let field: serde_json::Value =
        serde_json::from_slice(&h.kv.borrow()["api/post/polls/12"]).unwrap();
    assert_eq!(field.as_array().unwrap().len(), 2);
    assert_eq!(field[1]["name"], "poll");
    assert_eq!(counts(&field[1]), [1, 0]);
    assert!(field[1].get("my_votes").is_none());
    assert_eq!(field[0]["status"], "open");
}

#[test]
fn a_multiple_choice_vote_toggles_up_to_its_maximum() {
    let h = host();
    json(&vote(&h, Some(7), "lunch:0"));
    let j = json(&vote(&h, Some(7), "lunch:2"));
    assert_eq!(counts(&j), [1, 0, 1]);
    assert_eq!(j["voters"], 1);
    let refused = vote(&h, Some(7), "lunch:1");
    assert!(
        matches!(&refused, ActionOutcome::Refused(m) if m.contains("at most 2")),
        "{refused:?}"
    );
    let j = json(&vote(&h, Some(7), "lunch:0"));
    assert_eq!(counts(&j), [0, 0, 1]);
}

#[test]
fn bad_votes_are_refused_and_save_nothing() {
    let h = host();
    for (viewer, value, why) in [
        (None, "poll:0", "sign in"),
        (Some(7), "poll", "value="),
        (Some(7), "poll:x", "value="),
        (Some(7), "dinner:0", "no poll named"),
        (Some(7), "poll:2", "options 0 to 1"),
    ] {
        let out = vote(&h, viewer, value);
        assert!(
            matches!(&out, ActionOutcome::Refused(m) if m.contains(why)),
            "{value}: {out:?}"
        );
    }
    // A post the voter may not read (the fake host has no post 99).
    let out = h
        .take_action::<Polls>(ActionRequest {
            community: 1,
            name: "vote".into(),
            viewer: Some(7),
            post: Some(99),
            topic: None,
            fields: vec![("value".into(), "poll:0".into())],
        })
        .unwrap();
    assert!(matches!(out, ActionOutcome::Refused(_)), "{out:?}");
    assert!(h.kv.borrow().is_empty());
}

#[test]
fn a_closed_poll_takes_no_votes_and_shows_no_buttons() {
    let mut h = host();
    h.now = parse_date("2027-02-01").unwrap();
    let out = vote(&h, Some(7), "lunch:0");
    assert!(
        matches!(&out, ActionOutcome::Refused(m) if m.contains("closed")),
        "{out:?}"
    );
    let frags = Polls::render_items(&h, items(Some(7))).unwrap();
    let html = &frags[0].html;
    assert!(html.contains("closed 31 Jan 2027, 18:30 UTC"), "{html}");
    // The lunch poll has no buttons; the open one has.
    assert_eq!(html.matches("name=\"vote\"").count(), 2, "{html}");
}

fn items(viewer: Option<i64>) -> ItemsContext {
    ItemsContext {
        community: 1,
        slot: ItemSlot::PostFooter,
        path: "/t/lunch/1".into(),
        viewer,
        topic: Some(1),
        items: vec![13, 12, 99],
    }
}

#[test]
fn one_batched_render_shows_results_as_bars_with_buttons_for_members() {
    let h = host();
    json(&vote(&h, Some(7), "poll:0"));
    json(&vote(&h, Some(8), "poll:0"));
    json(&vote(&h, Some(9), "poll:1"));
    let h = {
        let mut r = h;
        r.read_only = true;
        r
    };
    let frags = Polls::render_items(&h, items(Some(7))).unwrap();
    // Only the post with polls.
    assert_eq!(frags.len(), 1);
    assert_eq!(frags[0].item, 12);
    let html = &frags[0].html;
    assert!(html.contains("3 voters"), "{html}");
    assert!(
        html.contains("<span class=\"polls-option\">Tea</span> <span class=\"polls-bar\">███████░░░</span> <span class=\"polls-count\">2 (67%)</span> <strong class=\"polls-mine\">✓ your vote</strong> <hearth-action name=\"vote\" post=\"12\" value=\"poll:0\" class=\"polls-vote\">Take back my vote for Tea</hearth-action>"),
        "{html}"
    );
    assert!(html.contains("Vote for Coffee"), "{html}");
    // Guests see the results and a hint, no buttons.
    let guest = Polls::render_items(&h, items(None)).unwrap();
    assert!(!guest[0].html.contains("hearth-action"));
    assert!(guest[0].html.contains("Sign in to vote."));
}

#[test]
fn the_route_answers_results_with_the_viewers_votes() {
    let h = host();
    json(&vote(&h, Some(7), "lunch:1"));
    let r = Polls::route(
        &h,
        Request {
            community: 1,
            path: "/post/12.json".into(),
            query: vec![],
            viewer: Some(7),
        },
    )
    .unwrap()
    .unwrap();
    let j: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(j["polls"][0]["my_votes"], serde_json::json!(["1"]));
    assert_eq!(counts(&j["polls"][0]), [0, 1, 0]);
    let missing = Polls::route(
        &h,
        Request {
            community: 1,
            path: "/post/99.json".into(),
            query: vec![],
            viewer: None,
        },
    )
    .unwrap();
    assert!(missing.is_none());
}
