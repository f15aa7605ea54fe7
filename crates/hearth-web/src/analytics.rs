//! The analytics page (`/admin/analytics`, staff) with SVG charts, and its
//! JSON (`/admin/analytics.json`): the engine's figures for the last 7,
//! 30, 90 or 365 days.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use time::{Duration, Time};

use crate::charts::{Series, bars, lines};
use crate::error::{Error, fail, json_response};
use crate::pages::{Meta, html, render};
use crate::params::Params;
use crate::state::State;
use crate::visitor::{Visitor, WantsJson};

const PERIODS: [i64; 4] = [7, 30, 90, 365];

fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

/// `GET /admin/analytics?days=30` and `/admin/analytics.json?days=30`.
pub(crate) async fn page(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let result = state
        .run(move |s| {
            let days = params.int("days")?.unwrap_or(30);
            if !PERIODS.contains(&days) {
                return Err(Error::BadRequest("days must be 7, 30, 90 or 365".into()));
            }
            // Whole days, up to and including today.
            let today = s.forum.now().date().with_time(Time::MIDNIGHT).assume_utc();
            let until = today + Duration::days(1);
            let since = until - Duration::days(days);
            let a = s
                .forum
                .analytics(&v.actor, s.config.community, since, until)?;
            if json {
                let body = serde_json::to_value(&a).map_err(|e| Error::Internal(e.to_string()))?;
                return Ok(json_response(StatusCode::OK, &body));
            }
            let labels: Vec<String> = a
                .daily
                .iter()
                .map(|d| format!("{:02}-{:02}", u8::from(d.day.month()), d.day.day()))
                .collect();
            let activity = lines(
                "Active members and posts per day",
                &labels,
                &[
                    Series {
                        label: "active members",
                        color: "#0b62d6",
                        values: a.daily.iter().map(|d| d.active as f64).collect(),
                    },
                    Series {
                        label: "posts",
                        color: "#e07b00",
                        values: a.daily.iter().map(|d| d.posts as f64).collect(),
                    },
                ],
            );
            let joins = bars(
                "New members per day",
                &labels,
                &Series {
                    label: "new members",
                    color: "#1e7d3a",
                    values: a.daily.iter().map(|d| d.new_members as f64).collect(),
                },
            );
            let d = &a.deflection;
            let cards = json!([
                {"label": "Members", "value": a.members, "note": format!("{} new", a.new_members)},
                {"label": "Daily active (average)", "value": format!("{:.1}", a.daily_active),
                 "note": format!("{} weekly · {} monthly", a.weekly_active, a.monthly_active)},
                {"label": "Inactive for 90 days", "value": pct(a.inactive_90_days_share), "note": "of members"},
                {"label": "Posts", "value": a.posts, "note": format!("{} topics", a.topics)},
                {"label": "Time to first reply", "value": a.median_first_reply_minutes
                    .map(|m| if m < 90.0 { format!("{m:.0} min") } else { format!("{:.1} h", m / 60.0) })
                    .unwrap_or_else(|| "—".into()),
                 "note": format!("median · {} of topics answered", pct(a.replied_share))},
                {"label": "Questions solved", "value": pct(a.solved_share),
                 "note": format!("{} of {} · median {}", a.solved, a.questions,
                    a.median_solution_hours.map(|h| format!("{h:.1} h")).unwrap_or_else(|| "—".into()))},
                {"label": "Deflected", "value": d.deflected,
                 "note": format!("{} of visits shown suggestions · {} tickets", pct(d.rate()), d.escalated)},
                {"label": "Product clicks", "value": a.product_clicks.iter().map(|p| p.clicks).sum::<i64>(),
                 "note": format!("{} products", a.product_clicks.len())},
            ]);
            let contributors: Vec<Value> = a
                .top_contributors
                .iter()
                .map(|c| json!({"username": c.user.username, "posts": c.posts,
                                "solutions": c.solutions, "likes": c.likes_received}))
                .collect();
            let periods: Vec<Value> = PERIODS
                .iter()
                .map(|p| json!({"days": p, "selected": *p == days}))
                .collect();
            let meta = Meta {
                title: "Analytics".into(),
                noindex: true,
                path: "/admin/analytics".into(),
                ..Default::default()
            };
            let body = render(
                s,
                &v,
                "analytics.html",
                meta,
                json!({
                    "days": days, "periods": periods, "cards": cards,
                    "activity_svg": activity, "joins_svg": joins,
                    "contributors": contributors,
                    "articles": a.helpful_articles, "products": a.product_clicks.iter()
                        .map(|p| json!({"name": p.product.name, "sku": p.product.sku,
                                        "clicks": p.clicks, "members": p.members}))
                        .collect::<Vec<_>>(),
                    "deflection": a.deflection,
                    "since": a.since.date().to_string(), "until": (a.until - Duration::days(1)).date().to_string(),
                }),
            )?;
            Ok(html(body, false))
        })
        .await;
    result.unwrap_or_else(|e| fail(e, json))
}
