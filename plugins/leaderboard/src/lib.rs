//! `leaderboard`: points per member this week, this month and all time.
//!
//! It keeps its own totals from `reward.earned` and `reward.reversed`
//! events, so the board costs a few key reads to show however large the
//! community is:
//!
//! * `t/<board>/<member>` — a member's total on a board (`all`, `w<day>`
//!   for the week starting on that day, `m<yyyy-mm>`);
//! * `r/<board>/<rank key>/<member>` — an index in board order: the rank
//!   key sorts higher totals first, so listing the prefix reads the top;
//! * `seen` — the last event handled. Events up to it are skipped, so a
//!   replay of the log from the start counts nothing twice.

use std::collections::BTreeMap;

use hearth_plugin::{
    Event, Host, HostError, HostExt, Plugin, RenderContext, Request, Response, Slot, escape,
};

/// The plugin.
pub struct Leaderboard;

const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 to (year, month), proleptic Gregorian (Howard
/// Hinnant's algorithm).
pub fn year_month(days: i64) -> (i64, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m)
}

/// The boards an event at `ms` counts on: all time, its week (Monday
/// 00:00 UTC) and its month.
pub fn boards_at(ms: i64) -> [String; 3] {
    let day = ms.div_euclid(DAY_MS);
    let monday = day - (day + 3).rem_euclid(7);
    let (y, m) = year_month(day);
    [
        "all".into(),
        format!("w{monday}"),
        format!("m{y:04}-{m:02}"),
    ]
}

fn board_name(period: &str, now: i64) -> Option<String> {
    let [all, week, month] = boards_at(now);
    match period {
        "week" => Some(week),
        "month" => Some(month),
        "all-time" => Some(all),
        _ => None,
    }
}

fn total_key(board: &str, member: i64) -> String {
    format!("t/{board}/{member:020}")
}

fn rank_key(board: &str, points: i64, member: i64) -> String {
    // Higher totals sort first.
    format!("r/{board}/{:020}/{member:020}", i64::MAX - points)
}

fn err(e: HostError) -> String {
    e.to_string()
}

fn read_i64(host: &dyn Host, key: &str) -> Result<i64, String> {
    Ok(host
        .kv_get(key)
        .map_err(err)?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Applies reward events to the boards.
pub fn apply(host: &dyn Host, events: &[Event]) -> Result<usize, String> {
    let seen = read_i64(host, "seen")?;
    let mut deltas: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut last = seen;
    let mut counted = 0;
    for e in events {
        if e.id <= seen {
            continue;
        }
        last = last.max(e.id);
        if e.kind != "reward.earned" && e.kind != "reward.reversed" {
            continue;
        }
        let (Some(member), Some(points)) = (e.subject, e.data()["points"].as_i64()) else {
            continue;
        };
        for board in boards_at(e.created_at) {
            *deltas.entry((board, member)).or_default() += points;
        }
        counted += 1;
    }
    for ((board, member), delta) in deltas {
        if delta == 0 {
            continue;
        }
        let key = total_key(&board, member);
        let old = read_i64(host, &key)?;
        let new = old + delta;
        if old > 0 {
            host.kv_delete(&rank_key(&board, old, member))
                .map_err(err)?;
        }
        if new == 0 {
            host.kv_delete(&key).map_err(err)?;
        } else {
            host.kv_set(&key, new.to_string().as_bytes()).map_err(err)?;
        }
        if new > 0 {
            host.kv_set(&rank_key(&board, new, member), b"")
                .map_err(err)?;
        }
    }
    if last > seen {
        host.kv_set("seen", last.to_string().as_bytes())
            .map_err(err)?;
    }
    Ok(counted)
}

/// One line of a board.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standing {
    /// 1-based; members with equal points share a rank (1, 2, 2, 4).
    pub rank: u32,
    /// User id.
    pub member: i64,
    /// Display name (or username) when the viewer may see the member.
    pub name: Option<String>,
    /// Username (for the profile link) when the viewer may see the member.
    pub username: Option<String>,
    /// Points on this board.
    pub points: i64,
}

/// The top `n` of a board (and everyone tied with the last of them),
/// leaving staff out when asked.
pub fn top(
    host: &dyn Host,
    board: &str,
    n: usize,
    exclude_staff: bool,
) -> Result<Vec<Standing>, String> {
    let prefix = format!("r/{board}/");
    let mut out: Vec<Standing> = Vec::new();
    let mut after = String::new();
    // Scan in pages; staff exclusion and ties may need more than `n`. The
    // first page is small: the sidebar's read then changes (and its
    // remembered render must run again) only when the top of the board
    // does, not when the member in 150th place earns a point.
    let mut size = (n as u32).saturating_add(6).clamp(16, 200);
    'scan: for _ in 0..20 {
        let page = host.kv_list(&prefix, &after, size).map_err(err)?;
        let Some((last_key, _)) = page.last() else {
            break;
        };
        after = last_key.clone();
        let mut entries: Vec<(i64, i64)> = page
            .iter()
            .filter_map(|(key, _)| {
                let mut parts = key[prefix.len()..].split('/');
                let inv = parts.next()?.parse::<i64>().ok()?;
                let member = parts.next()?.parse::<i64>().ok()?;
                Some((i64::MAX - inv, member))
            })
            .collect();
        // Without staff to leave out, the page's members past the last one
        // shown (the n-th and those tied with it) are not needed, nor is
        // the next page.
        let mut done = false;
        if !exclude_staff {
            let room = n.saturating_sub(out.len());
            let last = out.last().map(|l: &Standing| l.points);
            let keep = entries
                .iter()
                .enumerate()
                .position(|(i, (points, _))| {
                    let before = if i == 0 { last } else { Some(entries[i - 1].0) };
                    i >= room && before != Some(*points)
                })
                .unwrap_or(entries.len());
            done = keep < entries.len();
            entries.truncate(keep);
        }
        // Their names in one read (a member the host cannot find is shown
        // by number).
        let ids: Vec<i64> = entries.iter().map(|(_, m)| *m).collect();
        let mut infos = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            infos.extend(
                host.members_by_ids(chunk)
                    .unwrap_or_else(|_| vec![None; chunk.len()]),
            );
        }
        for ((points, member), info) in entries.into_iter().zip(infos) {
            if out.len() >= n && out.last().is_some_and(|l| l.points != points) {
                break 'scan;
            }
            if exclude_staff && info.as_ref().is_some_and(|m| m.is_staff()) {
                continue;
            }
            let rank = match out.last() {
                Some(prev) if prev.points == points => prev.rank,
                _ => out.len() as u32 + 1,
            };
            out.push(Standing {
                rank,
                member,
                username: info.as_ref().map(|m| m.username.clone()),
                name: info.map(|m| {
                    if m.display_name.is_empty() {
                        m.username
                    } else {
                        m.display_name
                    }
                }),
                points,
            });
        }
        if done || page.len() < size as usize {
            break;
        }
        size = 200;
    }
    Ok(out)
}

/// A board as a table under a heading of `level` (2: the sidebar's
/// section, or a period under the full page's `h1`); names link to
/// profiles, with the member's letter avatar.
fn table(title: &str, rows: &[Standing], level: u8) -> String {
    let mut html = format!("<h{level}>{}</h{level}>", escape(title));
    if rows.is_empty() {
        html.push_str(
            "<p>No points yet: answer a question or share a tip to be the first here.</p>",
        );
        return html;
    }
    html.push_str(
        "<table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Member</th><th scope=\"col\">Points</th></tr></thead><tbody>",
    );
    for s in rows {
        let name = s
            .name
            .clone()
            .unwrap_or_else(|| format!("member {}", s.member));
        let who = match &s.username {
            Some(u) => {
                let u = escape(u);
                format!(
                    r#"<a href="/u/{u}"><img class="avatar" src="/letter_avatar/{u}/24.svg" width="24" height="24" alt="">{}</a>"#,
                    escape(&name)
                )
            }
            None => escape(&name),
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{who}</td><td>{}</td></tr>",
            s.rank, s.points
        ));
    }
    html.push_str("</tbody></table>");
    html
}

const PERIODS: [(&str, &str); 3] = [
    ("week", "This week"),
    ("month", "This month"),
    ("all-time", "All time"),
];

impl Plugin for Leaderboard {
    fn on_event(host: &dyn Host, events: Vec<Event>) -> Result<(), String> {
        apply(host, &events).map(|_| ())
    }

    fn render(host: &dyn Host, ctx: RenderContext) -> Result<Option<String>, String> {
        if ctx.slot != Slot::Sidebar {
            return Ok(None);
        }
        let period: String = host
            .setting_as("sidebar-period")
            .unwrap_or_else(|| "week".into());
        // Boards change at midnight (UTC): the day is all the sidebar
        // needs, and the host may reuse it while the day and the board's
        // reads stay the same.
        let Some(board) = board_name(&period, host.now_rounded(DAY_MS as u32)) else {
            return Ok(None);
        };
        let n: usize = host.setting_as("top").unwrap_or(10);
        let rows = top(
            host,
            &board,
            n,
            host.setting_as("exclude-staff").unwrap_or(false),
        )?;
        let title = PERIODS
            .iter()
            .find(|(p, _)| *p == period)
            .map_or("Leaderboard", |(_, t)| t);
        Ok(Some(format!(
            r#"<section class="leaderboard">{}<p><a href="/plugins/leaderboard">Full leaderboard</a></p></section>"#,
            table(&format!("Top contributors · {title}"), &rows, 2)
        )))
    }

    fn route(host: &dyn Host, req: Request) -> Result<Option<Response>, String> {
        let json = req.path.trim_end_matches('/') == "/json" || req.param("format") == Some("json");
        if !matches!(req.path.trim_end_matches('/'), "" | "/json") {
            return Ok(None);
        }
        let n: usize = host.setting_as("top").unwrap_or(10);
        let exclude = host.setting_as("exclude-staff").unwrap_or(false);
        let now = host.now();
        let mut boards = Vec::new();
        for (period, title) in PERIODS {
            let board = board_name(period, now).unwrap_or_default();
            boards.push((period, title, top(host, &board, n, exclude)?));
        }
        if json {
            let doc: serde_json::Map<String, serde_json::Value> = boards
                .iter()
                .map(|(p, _, rows)| (p.to_string(), serde_json::json!(rows)))
                .collect();
            return Ok(Some(Response::json(&serde_json::Value::Object(doc))));
        }
        let mut html = String::from("<h1>Leaderboard</h1>");
        for (_, title, rows) in &boards {
            html.push_str(&table(title, rows, 2));
        }
        Ok(Some(Response::html(html)))
    }
}

hearth_plugin::register_plugin!(Leaderboard);

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_plugin::MemberInfo;
    use hearth_plugin::testing::FakeHost;

    fn reward(id: i64, member: i64, points: i64, at: i64) -> Event {
        Event {
            id,
            community: 1,
            kind: if points >= 0 {
                "reward.earned"
            } else {
                "reward.reversed"
            }
            .into(),
            category: None,
            topic: None,
            post: None,
            actor: None,
            subject: Some(member),
            data: format!(r#"{{"points": {points}}}"#),
            created_at: at,
        }
    }

    #[test]
    fn calendar() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(19_782), (2024, 2)); // 2024-02-29
        assert_eq!(year_month(19_783), (2024, 3));
        // 2026-11-23 is a Monday: its week starts that day.
        let monday = 20_780;
        assert_eq!(boards_at(monday * DAY_MS + 5)[1], format!("w{monday}"));
        assert_eq!(boards_at((monday + 6) * DAY_MS)[1], format!("w{monday}"));
        assert_eq!(
            boards_at((monday - 1) * DAY_MS)[1],
            format!("w{}", monday - 7)
        );
        assert_eq!(boards_at(monday * DAY_MS)[2], "m2026-11");
    }

    #[test]
    fn ties_share_a_rank_and_reversals_count() {
        let host = FakeHost::default();
        let t = 20_780 * DAY_MS;
        let events = vec![
            reward(1, 10, 5, t),
            reward(2, 11, 5, t),
            reward(3, 12, 3, t),
            reward(4, 13, 8, t),
            reward(5, 13, -8, t),
            reward(6, 14, 1, t),
        ];
        apply(&host, &events).unwrap();
        let rows = top(&host, "all", 2, false).unwrap();
        let ranks: Vec<(u32, i64)> = rows.iter().map(|r| (r.rank, r.member)).collect();
        assert_eq!(ranks, [(1, 10), (1, 11)]);
        let rows = top(&host, "all", 3, false).unwrap();
        let ranks: Vec<(u32, i64, i64)> =
            rows.iter().map(|r| (r.rank, r.member, r.points)).collect();
        assert_eq!(ranks, [(1, 10, 5), (1, 11, 5), (3, 12, 3)]);
        // Member 13 netted zero and is not on the board.
        assert!(
            !host
                .kv
                .borrow()
                .keys()
                .any(|k| k.ends_with(&format!("{:020}", 13)))
        );
    }

    #[test]
    fn replay_counts_nothing_twice() {
        let host = FakeHost::default();
        let t = 20_780 * DAY_MS;
        let events: Vec<Event> = (1..=50).map(|i| reward(i, i % 7, i, t)).collect();
        apply(&host, &events[..30]).unwrap();
        apply(&host, &events).unwrap(); // from the start again
        let once = FakeHost::default();
        apply(&once, &events).unwrap();
        assert_eq!(*host.kv.borrow(), *once.kv.borrow());
    }

    #[test]
    fn ties_and_left_out_staff_reach_past_the_first_page() {
        // The first read lists 16 keys: 40 members tied at the top, then
        // 30 staff above the first members, must still come out whole.
        let host = FakeHost::default();
        let tied: Vec<Event> = (1..=40).map(|i| reward(i, 100 + i, 7, 0)).collect();
        apply(&host, &tied).unwrap();
        let rows = top(&host, "all", 3, false).unwrap();
        assert_eq!(rows.len(), 40, "everyone tied with the third is shown");
        assert!(rows.iter().all(|r| r.rank == 1));

        let mut host2 = FakeHost::default();
        for id in 1..=30 {
            host2.members.insert(
                id,
                MemberInfo {
                    id,
                    username: format!("staff{id}"),
                    display_name: String::new(),
                    role: "admin".into(),
                    trust_level: 4,
                    joined_at: 0,
                },
            );
        }
        let mut events: Vec<Event> = (1..=30).map(|i| reward(i, i, 100 + i, 0)).collect();
        events.extend((31..=35).map(|i| reward(i, i, 10 + i, 0)));
        apply(&host2, &events).unwrap();
        let rows = top(&host2, "all", 3, true).unwrap();
        let got: Vec<(u32, i64)> = rows.iter().map(|r| (r.rank, r.member)).collect();
        assert_eq!(got, [(1, 35), (2, 34), (3, 33)]);
    }

    #[test]
    fn staff_can_be_left_out() {
        let mut host = FakeHost::default();
        host.members.insert(
            1,
            MemberInfo {
                id: 1,
                username: "mod".into(),
                display_name: String::new(),
                role: "moderator".into(),
                trust_level: 4,
                joined_at: 0,
            },
        );
        apply(&host, &[reward(1, 1, 50, 0), reward(2, 2, 10, 0)]).unwrap();
        let all = top(&host, "all", 5, false).unwrap();
        assert_eq!(all[0].name.as_deref(), Some("mod"));
        let members = top(&host, "all", 5, true).unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!((members[0].rank, members[0].member), (1, 2));
    }
}
