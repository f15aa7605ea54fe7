//! How numbers, counts and times read on pages: "1.2k", "1 topic" /
//! "3 topics", "3 h ago" with the exact time beside it. Used by the page
//! code and registered as template filters (`compact`, `count`, `exact`),
//! so an embedder's own templates read the same way.

use time::format_description::well_known::Rfc3339;
use time::{Month, OffsetDateTime};

/// A count as people read it at a glance: `999`, `1.2k`, `12k`, `3.4M`.
pub(crate) fn compact(n: i64) -> String {
    let a = n.unsigned_abs();
    let sign = if n < 0 { "-" } else { "" };
    let scaled = |div: u64, unit: &str| {
        // One decimal below ten units, none above; never rounds up into
        // the next unit's "1000k".
        let tenths = a / (div / 10);
        if tenths < 100 && !tenths.is_multiple_of(10) {
            format!("{sign}{}.{}{unit}", tenths / 10, tenths % 10)
        } else {
            format!("{sign}{}{unit}", tenths / 10)
        }
    };
    match a {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => scaled(1_000, "k"),
        1_000_000..1_000_000_000 => scaled(1_000_000, "M"),
        _ => scaled(1_000_000_000, "B"),
    }
}

/// `n` and the noun in the right number: "1 topic", "0 topics",
/// "1.2k replies" (`many` defaults to `one` + "s").
pub(crate) fn count(n: i64, one: &str, many: Option<&str>) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        match many {
            Some(many) => format!("{} {many}", compact(n)),
            None => format!("{} {one}s", compact(n)),
        }
    }
}

fn month_abbr(m: Month) -> &'static str {
    match m {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    }
}

/// How long ago `t` was: "just now", "5 min ago", "3 h ago", "2 d ago";
/// a month or more back, the day ("14 Oct", or "14 Oct 2025" in another
/// year). The exact time goes beside it with [`exact`].
pub(crate) fn ago(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds().max(0);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        86_400..2_592_000 => format!("{} d ago", secs / 86_400),
        _ if t.year() == now.year() => format!("{} {}", t.day(), month_abbr(t.month())),
        _ => format!("{} {} {}", t.day(), month_abbr(t.month()), t.year()),
    }
}

/// The exact time for a title: "14 Oct 2026, 09:05 UTC".
pub(crate) fn exact(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        t.day(),
        month_abbr(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// Registers `compact`, `count` and `exact` as template filters:
/// `{{ n|compact }}`, `{{ n|count("reply", "replies") }}`,
/// `{{ t.created_at|exact }}` (an RFC 3339 text; anything else is shown
/// as it is).
pub(crate) fn register(env: &mut minijinja::Environment<'static>) {
    env.add_filter("compact", |n: i64| compact(n));
    env.add_filter("count", |n: i64, one: String, many: Option<String>| {
        count(n, &one, many.as_deref())
    });
    env.add_filter("exact", |s: String| {
        match OffsetDateTime::parse(&s, &Rfc3339) {
            Ok(t) => exact(t),
            Err(_) => s,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn compact_counts_at_each_unit_boundary() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1k"),
            (1_049, "1k"),
            (1_250, "1.2k"),
            (9_999, "9.9k"),
            (10_000, "10k"),
            (999_999, "999k"),
            (1_000_000, "1M"),
            (3_400_000, "3.4M"),
            (2_000_000_000, "2B"),
            (-1_500, "-1.5k"),
            (i64::MIN, "-9223372036B"),
        ] {
            assert_eq!(compact(n), text, "{n}");
        }
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(0, "topic", None), "0 topics");
        assert_eq!(count(1, "topic", None), "1 topic");
        assert_eq!(count(2, "reply", Some("replies")), "2 replies");
        assert_eq!(count(1, "reply", Some("replies")), "1 reply");
        assert_eq!(count(12_345, "view", None), "12k views");
    }

    #[test]
    fn times_read_relative_then_as_a_day() {
        let now = datetime!(2026-12-02 15:00 UTC);
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now + time::Duration::hours(1), now), "just now");
        assert_eq!(ago(datetime!(2026-12-02 14:59 UTC), now), "1 min ago");
        assert_eq!(ago(datetime!(2026-12-02 12:00 UTC), now), "3 h ago");
        assert_eq!(ago(datetime!(2026-11-30 15:00 UTC), now), "2 d ago");
        assert_eq!(ago(datetime!(2026-10-14 09:00 UTC), now), "14 Oct");
        assert_eq!(ago(datetime!(2025-10-14 09:00 UTC), now), "14 Oct 2025");
        assert_eq!(
            exact(datetime!(2026-10-14 09:05 +02:00)),
            "14 Oct 2026, 07:05 UTC"
        );
    }

    #[test]
    fn filters_work_in_templates() {
        let mut env = minijinja::Environment::new();
        register(&mut env);
        let out = env
            .render_str(
                "{{ a|count('topic') }} · {{ b|count('reply', 'replies') }} · {{ c|compact }} · {{ t|exact }} · {{ 'x'|exact }}",
                minijinja::context! { a => 1, b => 1500, c => 1234, t => "2026-10-14T09:05:00Z" },
            )
            .expect("render");
        assert_eq!(
            out,
            "1 topic · 1.5k replies · 1.2k · 14 Oct 2026, 09:05 UTC · x"
        );
    }
}
