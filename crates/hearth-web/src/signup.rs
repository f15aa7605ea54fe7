//! Signing up, on the page (`POST /signup`) or through Discourse's `POST
//! /users.json`: the account, and what it becomes in the community.
//!
//! When the community asks new members to confirm their address
//! (`EmailSettings::confirm_signups`, on by default) and this server
//! delivers mail, a new account waits: a link is mailed to the address,
//! signing in is refused until it is followed (with a way to have it sent
//! again), and only then does the member join — or ask to, or accept the
//! invite they came with. An address nobody reads never becomes a member.

use std::sync::atomic::Ordering;

use hearth::{Actor, Community, RegistrationMode, Role, UserId};

use crate::error::Result;
use crate::state::AppState;

/// Whether a sign-up in `community` waits for its address to be confirmed
/// (never on a server that sends no mail: nothing could reach the member).
pub(crate) fn must_confirm(s: &AppState, community: &Community) -> bool {
    let email = &community.settings.email;
    email.enabled && email.confirm_signups && s.sends_email.load(Ordering::Relaxed)
}

/// What a new account became in the community.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joined {
    /// A member.
    Member,
    /// Asked to join; a moderator decides.
    Waiting,
}

/// Makes a new account part of the community: an account staff made is a
/// member at once, an invited person accepts the invite; others join, or
/// ask to where membership needs approval.
pub(crate) fn welcome(
    s: &AppState,
    staff: Option<&Actor>,
    user: UserId,
    invite: Option<&str>,
) -> Result<Joined> {
    let c = s.config.community;
    let me = Actor::User(user);
    if let Some(staff) = staff {
        s.forum.add_member(staff, c, user, Role::Member)?;
        return Ok(Joined::Member);
    }
    if let Some(code) = invite {
        s.forum.accept_invite(&me, code)?;
        return Ok(Joined::Member);
    }
    if s.community()?.settings.registration == RegistrationMode::Approval {
        s.forum.request_to_join(&me, c, "")?;
        return Ok(Joined::Waiting);
    }
    s.forum.join(&me, c)?;
    Ok(Joined::Member)
}

/// The member followed a link mailed to their address: it is confirmed,
/// and the account is welcomed as it would have been at sign-up. A
/// refusal in between (an invite used up or withdrawn, a community that
/// became invite-only) does not undo the confirmation: the member signs
/// in and sees what the community offers them.
pub(crate) fn activate(s: &AppState, user: UserId, invite: Option<&str>) -> Result<()> {
    use hearth::Error as E;
    s.forum.confirm_login(user)?;
    let c = s.config.community;
    if s.forum.member(&Actor::User(user), c, user).is_ok() {
        return Ok(());
    }
    match welcome(s, None, user, invite) {
        Ok(_) => Ok(()),
        Err(crate::error::Error::Engine(
            e @ (E::Forbidden { .. } | E::NotFound { .. } | E::Conflict { .. } | E::Invalid { .. }),
        )) => {
            tracing::info!(user = user.0, error = %e, "confirmed, but not welcomed into the community");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
