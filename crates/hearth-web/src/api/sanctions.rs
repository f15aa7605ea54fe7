//! Discourse's moderation of a user through the API:
//! `PUT /admin/users/{id}/silence.json` and `…/suspend.json`, typed after
//! its document. The engine decides who may (moderators, never against
//! staff) and keeps the reason and the audit entry.

use axum::http::StatusCode;
use axum::response::Response;
use hearth::{Actor, UserId};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};

use super::shape::{Ctx, avatar_template, ts};
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// Who acted, as Discourse names them (`-1`, `system`, for the system).
#[derive(Debug, Serialize)]
struct By {
    id: i64,
    username: String,
    name: String,
    avatar_template: String,
}

#[derive(Debug, Serialize)]
struct Silence {
    silenced: bool,
    silence_reason: String,
    full_silence_reason: String,
    silenced_till: String,
    silenced_at: String,
    silenced_by: By,
}

#[derive(Debug, Serialize)]
struct SilenceAnswer {
    silence: Silence,
}

#[derive(Debug, Serialize)]
struct Suspension {
    suspend_reason: String,
    full_suspend_reason: String,
    suspended_till: String,
    suspended_at: String,
    suspended_by: By,
}

#[derive(Debug, Serialize)]
struct SuspensionAnswer {
    suspension: Suspension,
}

/// Which sanction a request applies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sanction {
    /// May read, may not post.
    Silence,
    /// Treated as signed out.
    Suspend,
}

/// An end time as Discourse's clients send it: RFC 3339
/// (`2022-06-01T08:00:00.000Z`) or a date (`2121-02-22`, its start in UTC).
pub(crate) fn until(text: &str) -> Result<OffsetDateTime, Error> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format)
        .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
        .map_err(|_| {
            Error::BadRequest(format!(
                "{text:?} is not a time: send 2030-06-01T08:00:00Z or 2030-06-01"
            ))
        })
}

fn by(s: &AppState, ctx: &Ctx, actor: &Actor) -> Result<By, Error> {
    Ok(match actor {
        Actor::User(u) => {
            let user = s.forum.user(*u)?;
            By {
                id: u.0,
                avatar_template: avatar_template(ctx, &user.username, user.avatar_url.as_deref()),
                username: user.username,
                name: user.display_name,
            }
        }
        _ => By {
            id: -1,
            username: "system".into(),
            name: "system".into(),
            avatar_template: avatar_template(ctx, "system", None),
        },
    })
}

/// `PUT /admin/users/{id}/silence.json` (`silenceUser`: `silenced_till`,
/// `reason`) and `…/suspend.json` (`suspendUser`: `suspend_until`,
/// `reason`).
pub(crate) async fn apply(
    state: State,
    v: Visitor,
    user: UserId,
    sanction: Sanction,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let key = match sanction {
        Sanction::Silence => "silenced_till",
        Sanction::Suspend => "suspend_until",
    };
    let till = until(&params.need(key)?)?;
    let reason = params.need("reason")?;
    let response = state
        .run(move |s| {
            let c = s.config.community;
            let member = match sanction {
                Sanction::Silence => {
                    s.forum
                        .silence_member(&actor, c, user, Some(till), &reason)?
                }
                Sanction::Suspend => {
                    s.forum
                        .suspend_member(&actor, c, user, Some(till), &reason)?
                }
            };
            let ctx = super::ctx(s, &actor)?;
            let at = ts(s.forum.now());
            let by = by(s, &ctx, &actor)?;
            Ok(match sanction {
                Sanction::Silence => json_response(
                    StatusCode::OK,
                    &SilenceAnswer {
                        silence: Silence {
                            silenced: member.silenced_until.is_some(),
                            silence_reason: reason.clone(),
                            full_silence_reason: member.silence_reason.unwrap_or(reason),
                            silenced_till: member.silenced_until.map(ts).unwrap_or_default(),
                            silenced_at: at,
                            silenced_by: by,
                        },
                    },
                ),
                Sanction::Suspend => json_response(
                    StatusCode::OK,
                    &SuspensionAnswer {
                        suspension: Suspension {
                            suspend_reason: reason.clone(),
                            full_suspend_reason: member.suspend_reason.unwrap_or(reason),
                            suspended_till: member.suspended_until.map(ts).unwrap_or_default(),
                            suspended_at: at,
                            suspended_by: by,
                        },
                    },
                ),
            })
        })
        .await?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_times_are_rfc3339_or_a_date() {
        assert_eq!(
            until("2030-06-01T08:00:00.000Z").map(ts).ok().as_deref(),
            Some("2030-06-01T08:00:00Z")
        );
        assert_eq!(
            until("2121-02-22").map(ts).ok().as_deref(),
            Some("2121-02-22T00:00:00Z")
        );
        for bad in ["", "tomorrow", "2030-13-01", "2030-06-01T25:00:00Z"] {
            assert!(until(bad).is_err(), "{bad:?}");
        }
    }
}
