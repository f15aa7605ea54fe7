//! A plugin's own bot member (API 0.2, capability `reply`): the account
//! its replies are posted as, made on first use, and the replies a call
//! queued, posted after it succeeds.

use hearth::{
    Actor, CommunityId, ExtOp, NewReply, NewUser, PostId, Role, TopicId, TrustLevel, UserId,
};

use crate::error::Result;
use crate::host::PluginHost;
use crate::runtime::NS;

/// The most replies one call queues.
pub const MAX_REPLIES_PER_CALL: usize = 10;

/// A reply a call queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BotReply {
    pub topic: TopicId,
    pub body: String,
    pub reply_to: Option<PostId>,
}

fn bot_key(plugin: &str) -> String {
    format!("bot/{plugin}")
}

impl PluginHost {
    /// The plugin's bot member, if it has posted yet.
    pub fn bot_of(&self, plugin: &str) -> Result<Option<UserId>> {
        Ok(self
            .forum()
            .ext_get(NS, None, &bot_key(plugin))?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok())
            .map(UserId))
    }

    /// The plugin's bot member in `community`: the account
    /// `<plugin>-bot` (or `<plugin>-bot-2`… when a person has that
    /// name), display name `<plugin> (bot)`, made on first use, a member
    /// of the community at trust level 2 (locked), so the rules for
    /// newcomers do not hold its replies.
    pub fn bot_member(&self, plugin: &str, community: CommunityId) -> Result<UserId> {
        let forum = self.forum();
        let bot = match self.bot_of(plugin)? {
            Some(id) => id,
            None => {
                let mut made = None;
                for n in 1..=9 {
                    let username = if n == 1 {
                        format!("{plugin}-bot")
                    } else {
                        format!("{plugin}-bot-{n}")
                    };
                    let display: String = format!("{plugin} (bot)").chars().take(60).collect();
                    match forum.create_user(NewUser {
                        username,
                        display_name: display,
                    }) {
                        Ok(u) => {
                            made = Some(u.id);
                            break;
                        }
                        Err(hearth::Error::Conflict { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                let Some(id) = made else {
                    return Err(crate::Error::Runtime(format!(
                        "could not name a bot member for {plugin}: {plugin}-bot to {plugin}-bot-9 are taken"
                    )));
                };
                forum.ext_apply(
                    NS,
                    None,
                    &[ExtOp::Put {
                        key: bot_key(plugin),
                        value: id.0.to_string().into_bytes(),
                    }],
                )?;
                id
            }
        };
        if forum.member(&Actor::System, community, bot).is_err() {
            forum.add_member(&Actor::System, community, bot, Role::Member)?;
            forum.set_trust_level(
                &Actor::System,
                community,
                bot,
                Some(TrustLevel::Member),
                Some("a plugin's bot member"),
            )?;
        }
        Ok(bot)
    }

    /// Posts the replies a successful call queued, as the plugin's bot
    /// member, through the forum's rules (filters, limits, permissions: a
    /// topic the bot may not reply in refuses it). A refused reply is
    /// logged and counted against the plugin; the others are still posted.
    pub(crate) fn post_replies(
        &self,
        plugin: &str,
        community: CommunityId,
        replies: &[BotReply],
    ) -> Vec<Result<PostId>> {
        if replies.is_empty() {
            return Vec::new();
        }
        let bot = match self.bot_member(plugin, community) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(plugin, error = %e, "the plugin's bot member is not there; its replies were not posted");
                return replies
                    .iter()
                    .map(|_| Err(crate::Error::Runtime(e.to_string())))
                    .collect();
            }
        };
        replies
            .iter()
            .map(|r| {
                let posted = self.forum().reply(
                    &Actor::User(bot),
                    community,
                    r.topic,
                    NewReply {
                        body: r.body.clone(),
                        reply_to: r.reply_to,
                    },
                );
                match posted {
                    Ok(p) => Ok(p.id),
                    Err(e) => {
                        tracing::warn!(plugin, topic = r.topic.0, error = %e, "a bot reply was refused");
                        Err(e.into())
                    }
                }
            })
            .collect()
    }
}
