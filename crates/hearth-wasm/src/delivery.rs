//! Event delivery: each plugin reads each community's durable event log
//! from its own cursor, in order, at least once; its key-value writes
//! commit together with the cursor, so what it stores counts each event
//! exactly once. An event a plugin keeps failing on is parked, not retried
//! forever.

use std::sync::Arc;

use hearth::{Actor, Audience, CommunityId, EventId, ExtOp};
use serde::{Deserialize, Serialize};

use crate::bindings;
use crate::call::{Loaded, Writes};
use crate::error::{Error, Result};
use crate::host::{Enabled, PluginHost};
use crate::manifest::{Capability, Hook};
use crate::runtime::NS;
use crate::status::Stats;

/// What a delivery pass did.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Events handed to plugins and handled.
    pub delivered: u64,
    /// Events parked after repeated failures.
    pub parked: u64,
    /// Failures that stopped a stream for now (retried on the next pass).
    pub failures: Vec<Error>,
}

/// An event a plugin failed on too often, set aside so the stream moves on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedEvent {
    /// The event.
    pub event: EventId,
    /// The last failure.
    pub error: String,
    /// Failed attempts.
    pub attempts: u32,
}

fn cursor_key(name: &str) -> String {
    format!("cursor/{name}")
}

fn failures_key(name: &str, event: EventId) -> String {
    format!("failures/{name}/{:020}", event.0)
}

fn parked_key(name: &str, event: EventId) -> String {
    format!("parked/{name}/{:020}", event.0)
}

fn cursor_op(name: &str, upto: EventId) -> ExtOp {
    ExtOp::Put {
        key: cursor_key(name),
        value: upto.0.to_string().into_bytes(),
    }
}

pub(crate) fn to_wit_event(e: &hearth::Event) -> bindings::Event {
    bindings::Event {
        id: e.id.0,
        community: e.community.0,
        kind: e.kind.as_str().to_string(),
        category: e.category.map(|c| c.0),
        topic: e.topic.map(|t| t.0),
        post: e.post.map(|p| p.0),
        actor: e.actor.map(|u| u.0),
        subject: e.subject.map(|u| u.0),
        data: e.data.to_string(),
        created_at: crate::call::millis(e.created_at),
    }
}

enum Step {
    /// Delivered (or skipped) up to here; go on.
    Advanced(u64),
    /// Parked one event; go on.
    Parked,
    /// A failure: stop this stream until the next pass.
    Stopped(Error),
}

impl PluginHost {
    /// Delivers pending events to every enabled `on-event` plugin in every
    /// community, until each stream is caught up or stopped by a failure.
    /// The background worker ([`start_worker`](Self::start_worker)) calls
    /// this; call it yourself when you run without one.
    pub fn deliver_events(&self) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        for community in self.communities()? {
            self.deliver_in(community, &mut report)?;
        }
        Ok(report)
    }

    /// Delivers pending events of one community.
    pub fn deliver_community(&self, community: CommunityId) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        self.deliver_in(community, &mut report)?;
        Ok(report)
    }

    fn deliver_in(&self, community: CommunityId, report: &mut DeliveryReport) -> Result<()> {
        for (loaded, stats, enabled) in self.targets(community, Hook::OnEvent)? {
            self.deliver_stream(community, &loaded, &stats, &enabled, report)?;
        }
        Ok(())
    }

    /// The last event a plugin has handled in a community.
    pub fn event_cursor(&self, community: CommunityId, name: &str) -> Result<EventId> {
        Ok(self
            .forum()
            .ext_get(NS, Some(community), &cursor_key(name))?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse().ok())
            .map_or(EventId(0), EventId))
    }

    /// Moves a plugin's cursor back so it sees the log again from after
    /// `to` (`EventId(0)`: from the start). Its data stays: plugins are
    /// written to count each event once however often they see it.
    pub fn rewind(&self, community: CommunityId, name: &str, to: EventId) -> Result<()> {
        self.manifest(name)?;
        self.save_cursor(name, community, to)
    }

    /// Deletes a plugin's key-value data in a community and rewinds it to
    /// the start of the log, so it rebuilds its state from every event.
    pub fn clear_data(&self, community: CommunityId, name: &str) -> Result<()> {
        self.manifest(name)?;
        let ns = crate::call::kv_namespace(name);
        loop {
            let keys = self.forum().ext_list(&ns, Some(community), "", "", 1000)?;
            if keys.is_empty() {
                break;
            }
            let ops: Vec<ExtOp> = keys
                .into_iter()
                .map(|(key, _)| ExtOp::Delete { key })
                .collect();
            self.forum().ext_apply(&ns, Some(community), &ops)?;
        }
        self.save_cursor(name, community, EventId(0))
    }

    /// Records that `name` has handled `community`'s events up to `upto`.
    fn save_cursor(&self, name: &str, community: CommunityId, upto: EventId) -> Result<()> {
        self.commit(
            name,
            community,
            &Writes::default(),
            &[cursor_op(name, upto)],
        )?;
        Ok(())
    }

    /// Events a plugin failed on too often in a community, oldest first.
    pub fn parked_events(&self, community: CommunityId, name: &str) -> Result<Vec<ParkedEvent>> {
        self.forum()
            .ext_list(NS, Some(community), &format!("parked/{name}/"), "", 1000)?
            .into_iter()
            .map(|(_, v)| {
                serde_json::from_slice(&v).map_err(|e| {
                    Error::Forum(hearth::Error::Storage(format!(
                        "parked event unreadable: {e}"
                    )))
                })
            })
            .collect()
    }

    fn deliver_stream(
        &self,
        community: CommunityId,
        loaded: &Arc<Loaded>,
        stats: &Stats,
        enabled: &Enabled,
        report: &mut DeliveryReport,
    ) -> Result<()> {
        let name = loaded.manifest.name.as_str();
        let staff = enabled.grants.contains(&Capability::StaffEvents);
        let conversations = enabled.grants.contains(&Capability::PrivateMessages);
        let batch = self.config().event_batch.clamp(1, 1000);
        let mut cursor = self.event_cursor(community, name)?;
        loop {
            if !self.is_active(name) {
                return Ok(());
            }
            let events = if conversations {
                self.forum().events_after_with_conversations(
                    &Actor::System,
                    community,
                    cursor,
                    batch,
                )?
            } else {
                self.forum()
                    .events_after(&Actor::System, community, cursor, batch)?
            };
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(());
            };
            // A plugin is not handed what its own bot did (a bot answering
            // every new post would otherwise answer itself); looked up per
            // batch, as the bot is made on its first reply.
            let bot = self.bot_of(name)?;
            let visible: Vec<&hearth::Event> = events
                .iter()
                .filter(|e| staff || e.audience != Audience::Staff)
                .filter(|e| bot.is_none() || e.actor != bot)
                .collect();
            let step = if visible.is_empty() {
                self.save_cursor(name, community, last)?;
                Step::Advanced(0)
            } else if visible.len() == 1 || self.has_failed(community, name, visible[0].id)? {
                // One event, or a stream stopped here before: deliver the
                // head alone so a poison event is parked without the rest
                // of the batch failing with it.
                match self.deliver_one(community, loaded, stats, enabled, visible[0])? {
                    stop @ Step::Stopped(_) => stop,
                    step => {
                        let upto = if visible.len() == 1 {
                            last
                        } else {
                            visible[0].id
                        };
                        self.save_cursor(name, community, upto)?;
                        cursor = upto;
                        match step {
                            Step::Advanced(n) => report.delivered += n,
                            _ => report.parked += 1,
                        }
                        continue;
                    }
                }
            } else {
                match self.deliver_batch(community, loaded, stats, enabled, &visible, last)? {
                    Ok(n) => Step::Advanced(n),
                    Err(_) => {
                        // Find the event that fails: one at a time from the
                        // start of the batch.
                        let mut step = Step::Advanced(0);
                        for e in &visible {
                            match self.deliver_one(community, loaded, stats, enabled, e)? {
                                Step::Advanced(n) => report.delivered += n,
                                Step::Parked => report.parked += 1,
                                stop @ Step::Stopped(_) => {
                                    step = stop;
                                    break;
                                }
                            }
                        }
                        if let Step::Stopped(e) = step {
                            report.failures.push(e);
                            return Ok(());
                        }
                        // Everything passed one by one: the batch as a whole
                        // was too big for the plugin's limits. Move past it.
                        self.save_cursor(name, community, last)?;
                        Step::Advanced(0)
                    }
                }
            };
            match step {
                Step::Advanced(n) => report.delivered += n,
                Step::Parked => report.parked += 1,
                Step::Stopped(e) => {
                    report.failures.push(e);
                    return Ok(());
                }
            }
            cursor = last;
        }
    }

    fn has_failed(&self, community: CommunityId, name: &str, event: EventId) -> Result<bool> {
        Ok(self
            .forum()
            .ext_get(NS, Some(community), &failures_key(name, event))?
            .is_some())
    }

    /// One call with a batch; on success the plugin's writes and the cursor
    /// commit together.
    fn deliver_batch(
        &self,
        community: CommunityId,
        loaded: &Arc<Loaded>,
        stats: &Stats,
        enabled: &Enabled,
        events: &[&hearth::Event],
        upto: EventId,
    ) -> Result<std::result::Result<u64, Error>> {
        let wit: Vec<bindings::Event> = events.iter().map(|e| to_wit_event(e)).collect();
        let out = self.call(
            loaded,
            stats,
            enabled,
            community,
            Hook::OnEvent,
            Actor::System,
            |store, p| p.on_event(store, &wit),
        );
        match out.result {
            Ok(()) => {
                let name = &loaded.manifest.name;
                let mut host_ops = vec![cursor_op(name, upto)];
                for e in events {
                    host_ops.push(ExtOp::Delete {
                        key: failures_key(name, e.id),
                    });
                }
                self.commit(name, community, &out.writes, &host_ops)?;
                Ok(Ok(events.len() as u64))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    fn deliver_one(
        &self,
        community: CommunityId,
        loaded: &Arc<Loaded>,
        stats: &Stats,
        enabled: &Enabled,
        event: &hearth::Event,
    ) -> Result<Step> {
        let name = loaded.manifest.name.as_str();
        let error =
            match self.deliver_batch(community, loaded, stats, enabled, &[event], event.id)? {
                Ok(n) => return Ok(Step::Advanced(n)),
                Err(e) => e,
            };
        let key = failures_key(name, event.id);
        let attempts = self
            .forum()
            .ext_get(NS, Some(community), &key)?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
            + 1;
        if attempts >= self.config().park_after {
            let parked = ParkedEvent {
                event: event.id,
                error: error.to_string(),
                attempts,
            };
            tracing::warn!(plugin = name, event = event.id.0, error = %error, "event parked");
            self.commit(
                name,
                community,
                &Writes::default(),
                &[
                    ExtOp::Delete { key },
                    ExtOp::Put {
                        key: parked_key(name, event.id),
                        value: serde_json::to_vec(&parked).unwrap_or_default(),
                    },
                    cursor_op(name, event.id),
                ],
            )?;
            stats.parked();
            return Ok(Step::Parked);
        }
        self.commit(
            name,
            community,
            &Writes::default(),
            &[ExtOp::Put {
                key,
                value: attempts.to_string().into_bytes(),
            }],
        )?;
        Ok(Step::Stopped(error))
    }
}
