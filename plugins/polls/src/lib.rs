//! `polls`: polls in posts (plugin API 0.2), as Discourse's poll feature.
//!
//! An author writes a fenced block:
//!
//! ````text
//! ```poll type=multiple max=2 close=2027-01-31 name=lunch
//! Where shall we eat?
//! - Noodles
//! - Tacos
//! - Salad
//! ```
//! ````
//!
//! - `render-markup` turns it into the question and a numbered list of the
//!   options, stored with the post (and its text searchable). A block that
//!   is not a poll (fewer than two options, a bad date, a second poll of
//!   the same name) stays as its source.
//! - `render-items` (slot `post-footer`, one call per page) shows each
//!   poll's results as text bars — a picture, not a table, and no
//!   JavaScript or styles — with a vote button per option for signed-in
//!   members while the poll is open.
//! - `vote` (an action) records, changes or takes back a member's vote: in
//!   a single-choice poll another option replaces the vote, the same one
//!   takes it back; in a multiple-choice poll each option toggles, up to
//!   `max`. The poll's definition is read from the post itself, as the
//!   voter may read it, so an edited poll is the poll voted on.
//! - Posts' JSON carries `polls` in the shape Discourse gives them (from
//!   `api/post/polls/<id>`, written with each vote); `GET
//!   /plugins/polls/post/<id>.json` answers the same with the viewer's own
//!   votes.
//!
//! The store: `votes/<post>` → poll name → member id → chosen options.

use std::collections::BTreeMap;

use hearth_plugin::{
    ActionOutcome, ActionRequest, Host, HostError, HostExt, ItemFragment, ItemSlot, ItemsContext,
    MarkupBlock, MarkupOutput, Plugin, Request, Response, escape, escape_into,
};

/// The plugin.
pub struct Polls;

/// The most options a poll has.
pub const MAX_OPTIONS: usize = 20;
/// The most polls one post holds (more are shown as source).
pub const MAX_POLLS: usize = 5;
/// The longest option, in characters.
pub const MAX_OPTION_CHARS: usize = 200;
/// The longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;

/// Single or multiple choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One option per member.
    Single,
    /// Up to [`Poll::max`] options per member.
    Multiple,
}

/// A poll as written in a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// `name=…`, or `poll`; unique within a post.
    pub name: String,
    /// `type=single` (the default) or `type=multiple`.
    pub kind: Kind,
    /// The lines that are not options.
    pub question: String,
    /// The `- ` (or `* `) lines.
    pub options: Vec<String>,
    /// `close=YYYY-MM-DD[THH:MM]` (UTC), in milliseconds since the epoch.
    pub close: Option<i64>,
    /// The most options a member chooses (1 for single choice).
    pub max: usize,
}

/// Parses a poll block's info string (after `poll`) and text.
pub fn parse(info: &str, source: &str) -> Result<Poll, String> {
    let mut poll = Poll {
        name: "poll".into(),
        kind: Kind::Single,
        question: String::new(),
        options: Vec::new(),
        close: None,
        max: 0,
    };
    for word in info.split_whitespace() {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("{word:?}: write settings as key=value"))?;
        match key {
            "type" => {
                poll.kind = match value {
                    "single" | "regular" => Kind::Single,
                    "multiple" => Kind::Multiple,
                    _ => return Err(format!("type={value}: single or multiple")),
                }
            }
            "name" => {
                let ok = (1..=30).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !ok {
                    return Err(format!(
                        "name={value}: 1 to 30 lowercase letters, digits and dashes"
                    ));
                }
                poll.name = value.into();
            }
            "close" => poll.close = Some(parse_date(value)?),
            "max" => {
                poll.max = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_OPTIONS).contains(n))
                    .ok_or_else(|| format!("max={value}: 1 to {MAX_OPTIONS}"))?
            }
            _ => return Err(format!("{key}: the settings are type, name, close and max")),
        }
    }
    let mut question = Vec::new();
    for line in source.lines() {
        let line = line.trim();
        if let Some(option) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            let option = option.trim();
            if option.is_empty() || option.chars().count() > MAX_OPTION_CHARS {
                return Err(format!("options are 1 to {MAX_OPTION_CHARS} characters"));
            }
            if poll.options.iter().any(|o| o == option) {
                return Err(format!("the option {option:?} is there twice"));
            }
            poll.options.push(option.into());
        } else if !line.is_empty() {
            question.push(line);
        }
    }
    poll.question = question.join(" ");
    if poll.question.chars().count() > MAX_QUESTION_CHARS {
        return Err(format!(
            "the question is at most {MAX_QUESTION_CHARS} characters"
        ));
    }
    if !(2..=MAX_OPTIONS).contains(&poll.options.len()) {
        return Err(format!("a poll has 2 to {MAX_OPTIONS} `- ` options"));
    }
    poll.max = match poll.kind {
        Kind::Single => 1,
        Kind::Multiple if poll.max == 0 => poll.options.len(),
        Kind::Multiple => poll.max.min(poll.options.len()),
    };
    Ok(poll)
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, UTC, in milliseconds.
fn parse_date(s: &str) -> Result<i64, String> {
    let bad = || format!("close={s}: write YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)");
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00"));
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || t.len() != 2 || d[0].len() != 4 || d[1].len() != 2 || d[2].len() != 2 {
        return Err(bad());
    }
    let num = |v: &str| v.parse::<i64>().map_err(|_| bad());
    let (y, m, day, h, min) = (num(d[0])?, num(d[1])?, num(d[2])?, num(t[0])?, num(t[1])?);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1970..=9999).contains(&y) || !(1..=days_in_month).contains(&day) || h > 23 || min > 59 {
        return Err(bad());
    }
    Ok((days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60) * 1000)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `31 Jan 2027, 18:00 UTC` (the time left out at midnight).
fn show_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[(m - 1).clamp(0, 11) as usize];
    if rest == 0 {
        format!("{d} {month} {y}")
    } else {
        format!(
            "{d} {month} {y}, {:02}:{:02} UTC",
            rest / 3600,
            rest % 3600 / 60
        )
    }
}

/// The polls of a post's Markdown, in order: fenced blocks (```` ``` ````
/// or `~~~`, not indented) whose info string starts with `poll`. Blocks
/// that are not polls, a second poll of one name and polls past
/// [`MAX_POLLS`] are `None` — the same blocks `render-markup` shows as
/// source.
pub fn polls_in(markdown: &str) -> Vec<Option<Poll>> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start_matches(' ');
        if line.len() - trimmed.len() > 3 {
            continue;
        }
        let Some(fence_char) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else {
            continue;
        };
        let fence_len = trimmed.chars().take_while(|c| *c == fence_char).count();
        if fence_len < 3 {
            continue;
        }
        let info = trimmed[fence_len..].trim();
        let mut body = String::new();
        for inner in lines.by_ref() {
            let t = inner.trim();
            if t.len() >= fence_len && t.chars().all(|c| c == fence_char) {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        let (word, rest) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
        if word == "poll" {
            blocks.push((rest.trim().to_string(), body));
        }
    }
    let mut names: Vec<String> = Vec::new();
    blocks
        .iter()
        .map(|(info, body)| {
            let poll = parse(info, body).ok()?;
            if names.len() >= MAX_POLLS || names.contains(&poll.name) {
                return None;
            }
            names.push(poll.name.clone());
            Some(poll)
        })
        .collect()
}

/// Who chose what in a post's polls: poll name → member id → options.
pub type PostVotes = BTreeMap<String, BTreeMap<i64, Vec<usize>>>;

fn votes_key(post: i64) -> String {
    let mut k = String::from("votes/");
    k.push_str(itoa::Buffer::new().format(post));
    k
}

/// Where the host reads the post's `polls` API field.
fn api_key(post: i64) -> String {
    format!("api/post/polls/{post}")
}

/// Votes per option (choices out of range — the poll was edited — are not
/// counted) and voters.
fn tally(poll: &Poll, votes: Option<&BTreeMap<i64, Vec<usize>>>) -> (Vec<usize>, usize) {
    let mut counts = vec![0; poll.options.len()];
    let mut voters = 0;
    for choices in votes.into_iter().flat_map(|v| v.values()) {
        let mut counted = false;
        for &c in choices {
            if let Some(n) = counts.get_mut(c) {
                *n += 1;
                counted = true;
            }
        }
        voters += usize::from(counted);
    }
    (counts, voters)
}

fn is_closed(poll: &Poll, now: i64) -> bool {
    poll.close.is_some_and(|c| now >= c)
}

/// A poll in the shape Discourse gives posts' `polls`, with the viewer's
/// own choices when there is one.
fn poll_json(
    poll: &Poll,
    votes: Option<&BTreeMap<i64, Vec<usize>>>,
    now: i64,
    viewer: Option<i64>,
) -> serde_json::Value {
    let (counts, voters) = tally(poll, votes);
    let mut v = serde_json::json!({
        "name": poll.name,
        "type": match poll.kind { Kind::Single => "regular", Kind::Multiple => "multiple" },
        "status": if is_closed(poll, now) { "closed" } else { "open" },
        "results": "always",
        "public": false,
        "max": poll.max,
        "close": poll.close,
        "title": poll.question,
        "options": poll.options.iter().zip(&counts).enumerate().map(|(i, (o, n))| {
            serde_json::json!({"id": i.to_string(), "html": escape(o), "votes": n})
        }).collect::<Vec<_>>(),
        "voters": voters,
    });
    if let Some(viewer) = viewer {
        let mine: Vec<String> = votes
            .and_then(|v| v.get(&viewer))
            .map(|c| c.iter().map(|i| i.to_string()).collect())
            .unwrap_or_default();
        v["my_votes"] = serde_json::json!(mine);
    }
    v
}

/// `██████░░░░`: ten cells, filled in proportion.
fn push_bar(html: &mut String, n: usize, of: usize) {
    let filled = (n * 10 + of / 2).checked_div(of).unwrap_or(0).min(10);
    for _ in 0..filled {
        html.push('█');
    }
    for _ in filled..10 {
        html.push('░');
    }
}

/// One poll's results (and buttons) under its post. Built with
/// `push_str` rather than `format!`: a page asks for every poll on it,
/// and formatting was the largest part of this render.
fn results_html(
    post: i64,
    poll: &Poll,
    votes: Option<&BTreeMap<i64, Vec<usize>>>,
    now: i64,
    viewer: Option<i64>,
) -> String {
    let (counts, voters) = tally(poll, votes);
    let mine: &[usize] = viewer
        .and_then(|v| votes?.get(&v))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let closed = is_closed(poll, now);
    let mut num = itoa::Buffer::new();
    let mut html = String::with_capacity(256 + poll.options.len() * 320);
    html.push_str(r#"<div class="polls-results"><p class="polls-summary"><strong>"#);
    // The question is in the post just above; name the poll only where a
    // post has several.
    if poll.name == "poll" {
        html.push_str("Results");
    } else {
        html.push_str("Results of ");
        escape_into(&mut html, &poll.name);
    }
    html.push_str("</strong> · ");
    html.push_str(num.format(voters));
    html.push_str(if voters == 1 {
        " voter · "
    } else {
        " voters · "
    });
    match poll.kind {
        Kind::Single => html.push_str("one choice"),
        Kind::Multiple => {
            html.push_str("up to ");
            html.push_str(num.format(poll.max));
            html.push_str(" choices");
        }
    }
    html.push_str(" · ");
    match (closed, poll.close) {
        (true, Some(c)) => {
            html.push_str("closed ");
            html.push_str(&show_date(c));
        }
        (false, Some(c)) => {
            html.push_str("open until ");
            html.push_str(&show_date(c));
        }
        _ => html.push_str("open"),
    }
    html.push_str(r#"</p><ul class="polls-bars">"#);
    let post = num.format(post).to_owned();
    let total: usize = counts.iter().sum();
    for (i, (option, n)) in poll.options.iter().zip(&counts).enumerate() {
        let pct = (n * 100 + total / 2).checked_div(total).unwrap_or(0);
        let chosen = mine.contains(&i);
        html.push_str(r#"<li><span class="polls-option">"#);
        escape_into(&mut html, option);
        html.push_str(r#"</span> <span class="polls-bar">"#);
        push_bar(&mut html, *n, total);
        html.push_str(r#"</span> <span class="polls-count">"#);
        html.push_str(num.format(*n));
        html.push_str(" (");
        html.push_str(num.format(pct));
        html.push_str("%)</span>");
        if chosen {
            html.push_str(r#" <strong class="polls-mine">✓ your vote</strong>"#);
        }
        if viewer.is_some() && !closed {
            html.push_str(r#" <hearth-action name="vote" post=""#);
            html.push_str(&post);
            html.push_str(r#"" value=""#);
            html.push_str(&poll.name);
            html.push(':');
            html.push_str(num.format(i));
            html.push_str(r#"" class="polls-vote">"#);
            html.push_str(if chosen {
                "Take back my vote for "
            } else {
                "Vote for "
            });
            escape_into(&mut html, option);
            html.push_str("</hearth-action>");
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    if viewer.is_none() && !closed {
        html.push_str(r#"<p class="polls-hint">Sign in to vote.</p>"#);
    }
    html.push_str("</div>");
    html
}

fn load_votes(host: &dyn Host, post: i64) -> Result<PostVotes, String> {
    Ok(host
        .kv_get_json::<PostVotes>(&votes_key(post))
        .map_err(|e| e.to_string())?
        .unwrap_or_default())
}

/// The post's polls as its readable source has them (`None` when the
/// viewer may not read it or it is gone).
fn post_polls(host: &dyn Host, post: i64) -> Result<Option<Vec<Option<Poll>>>, String> {
    match host.post(post) {
        Ok(Some(p)) => Ok(Some(polls_in(&p.body))),
        Ok(None) | Err(HostError::Denied(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

impl Plugin for Polls {
    fn render_markup(
        _host: &dyn Host,
        blocks: Vec<MarkupBlock>,
    ) -> Result<Vec<Option<MarkupOutput>>, String> {
        let mut names: Vec<String> = Vec::new();
        Ok(blocks
            .iter()
            .map(|b| {
                let poll = parse(&b.info, &b.source).ok()?;
                if names.len() >= MAX_POLLS || names.contains(&poll.name) {
                    return None;
                }
                names.push(poll.name.clone());
                let mut html = String::from(r#"<div class="polls-poll">"#);
                if !poll.question.is_empty() {
                    html.push_str(&format!(
                        r#"<p class="polls-question"><strong>{}</strong></p>"#,
                        escape(&poll.question)
                    ));
                }
                html.push_str(r#"<ol class="polls-options">"#);
                for o in &poll.options {
                    html.push_str(&format!("<li>{}</li>", escape(o)));
                }
                html.push_str("</ol>");
                let mut meta = match poll.kind {
                    Kind::Single => "Poll: choose one".to_string(),
                    Kind::Multiple => format!("Poll: choose up to {}", poll.max),
                };
                if let Some(c) = poll.close {
                    meta.push_str(&format!(" · closes {}", show_date(c)));
                }
                html.push_str(&format!(r#"<p class="polls-meta">{meta}</p></div>"#));
                let text = format!("Poll: {} {}", poll.question, poll.options.join(", "));
                Some(MarkupOutput {
                    html,
                    text: text.trim().to_string(),
                })
            })
            .collect())
    }

    fn render_items(host: &dyn Host, ctx: ItemsContext) -> Result<Vec<ItemFragment>, String> {
        if ctx.slot != ItemSlot::PostFooter || ctx.items.is_empty() {
            return Ok(Vec::new());
        }
        // One read of the page's posts (as the viewer), then one read of
        // the votes of those with polls.
        let posts = match host.posts_by_ids(&ctx.items) {
            Ok(p) => p,
            Err(HostError::Denied(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.to_string()),
        };
        let with_polls: Vec<(i64, Vec<Poll>)> = posts
            .into_iter()
            .flatten()
            .filter(|p| p.body.contains("poll"))
            .map(|p| (p.id, polls_in(&p.body).into_iter().flatten().collect()))
            .filter(|(_, polls): &(i64, Vec<Poll>)| !polls.is_empty())
            .collect();
        if with_polls.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = with_polls.iter().map(|(id, _)| votes_key(*id)).collect();
        let votes = host
            .kv_get_many_json::<PostVotes>(&keys)
            .map_err(|e| e.to_string())?;
        // The clock only when a poll on the page closes at some time: a
        // render that reads no clock can be reused by the host while the
        // votes stay the same.
        let closes = with_polls
            .iter()
            .any(|(_, polls)| polls.iter().any(|p| p.close.is_some()));
        let now = if closes { host.now() } else { 0 };
        Ok(with_polls
            .iter()
            .zip(votes)
            .map(|((post, polls), votes)| {
                let votes = votes.unwrap_or_default();
                ItemFragment {
                    item: *post,
                    html: polls
                        .iter()
                        .map(|p| results_html(*post, p, votes.get(&p.name), now, ctx.viewer))
                        .collect(),
                }
            })
            .collect())
    }

    fn action(host: &dyn Host, req: ActionRequest) -> Result<ActionOutcome, String> {
        let refuse = |m: &str| Ok(ActionOutcome::Refused(m.to_string()));
        let Some(viewer) = req.viewer else {
            return refuse("sign in to vote");
        };
        let Some(post) = req.post else {
            return refuse("name the post whose poll you vote in");
        };
        let Some((name, option)) = req
            .field("value")
            .and_then(|v| v.split_once(':'))
            .and_then(|(n, o)| Some((n.to_string(), o.parse::<usize>().ok()?)))
        else {
            return refuse("vote with value=<poll name>:<option number>");
        };
        let Some(polls) = post_polls(host, post)? else {
            return refuse("that post is not there");
        };
        let Some(poll) = polls.into_iter().flatten().find(|p| p.name == name) else {
            return refuse(&format!("the post has no poll named {name:?}"));
        };
        if option >= poll.options.len() {
            return refuse(&format!(
                "the poll has options 0 to {}",
                poll.options.len() - 1
            ));
        }
        let now = host.now();
        if is_closed(&poll, now) {
            return refuse("the poll is closed");
        }
        let mut votes = load_votes(host, post)?;
        let poll_votes = votes.entry(name.clone()).or_default();
        let mine = poll_votes.entry(viewer).or_default();
        // Choices an edit took away are dropped with this vote.
        mine.retain(|c| *c < poll.options.len());
        match poll.kind {
            Kind::Single if mine.as_slice() == [option] => mine.clear(),
            Kind::Single => *mine = vec![option],
            Kind::Multiple => {
                if let Some(at) = mine.iter().position(|c| *c == option) {
                    mine.remove(at);
                } else if mine.len() >= poll.max {
                    return refuse(&format!(
                        "choose at most {} options; take one back first",
                        poll.max
                    ));
                } else {
                    mine.push(option);
                    mine.sort_unstable();
                }
            }
        }
        poll_votes.retain(|_, c| !c.is_empty());
        votes.retain(|_, v| !v.is_empty());
        host.kv_set_json(&votes_key(post), &votes)
            .map_err(|e| e.to_string())?;
        // The post's `polls` field: every poll of the post, without
        // anyone's own votes.
        let all: Vec<serde_json::Value> = post_polls(host, post)?
            .unwrap_or_default()
            .iter()
            .flatten()
            .map(|p| poll_json(p, votes.get(&p.name), now, None))
            .collect();
        host.kv_set_json(&api_key(post), &all)
            .map_err(|e| e.to_string())?;
        Ok(ActionOutcome::done_json(&poll_json(
            &poll,
            votes.get(&name),
            now,
            Some(viewer),
        )))
    }

    fn route(host: &dyn Host, req: Request) -> Result<Option<Response>, String> {
        let Some(id) = req
            .path
            .strip_prefix("/post/")
            .and_then(|p| p.strip_suffix(".json"))
            .and_then(|p| p.parse::<i64>().ok())
        else {
            return Ok(None);
        };
        let Some(polls) = post_polls(host, id)? else {
            return Ok(None);
        };
        let votes = load_votes(host, id)?;
        let now = host.now();
        Ok(Some(Response::json(&serde_json::json!({
            "post": id,
            "polls": polls
                .iter()
                .flatten()
                .map(|p| poll_json(p, votes.get(&p.name), now, req.viewer))
                .collect::<Vec<_>>(),
        }))))
    }
}

hearth_plugin::register_plugin!(Polls);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
