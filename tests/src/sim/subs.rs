//! The subscriptions a client's session must hold, held against the model
//! broker:
//!
//! - once a connection has settled (CONNACK accepted, no subscribe or
//!   unsubscribe awaiting its ack), the broker holds exactly the client's
//!   live filters, `Connection::subscriptions()`, with the QoS asked for
//!   last: after every reconnect, the ones where the broker lost the
//!   session included, since the core then subscribes again by itself;
//! - on one connection, the core's own resubscription asks for a filter at
//!   most once, only after a CONNACK said the session was lost, and never
//!   for a filter that a pending request, sent again on that connection,
//!   carries already. Each SUBSCRIBE is classed as the client hands it
//!   out: the application's (a packet id it was given and still awaits a
//!   SUBACK for), a resend of one of the core's earlier resubscriptions
//!   (pending requests are sent again on every connection), or a new
//!   resubscription; the broker then counts, per connection, the filters
//!   of the new ones that reach it.
//!
//! One case is exempt: the broker forgot the session with a connection
//! whose CONNACK the client never read, and a later CONNACK said present
//! for the empty session made then. Nothing tells the client; until the
//! next CONNACK with session present 0 the broker's loss is its own (the
//! messages it missed meanwhile are counted as lost by the broker).

use super::ConnId;
use mqtt_proto::{Connection, QoS, TopicFilter};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct SubsCheck {
    who: String,
    /// The application's subscribe requests awaiting their SUBACK, by
    /// packet id.
    app: BTreeMap<u16, Vec<TopicFilter>>,
    /// The core's resubscriptions awaiting their SUBACK, by packet id.
    core: BTreeMap<u16, Vec<TopicFilter>>,
    /// The connection the client uses now, and what happened on it.
    link: Option<ConnId>,
    on_link: OnLink,
    /// Connections whose CONNACK the client accepted.
    accepted: BTreeSet<ConnId>,
    /// A CONNACK said the session was lost, on some connection.
    ever_lost: bool,
    /// The broker's session may lack what the client holds (see above).
    desynced: bool,
    /// Something changed since the last comparison.
    dirty: bool,
    /// Comparisons made, reconnects exempt, filters resubscribed.
    pub compared: u64,
    pub desyncs: u64,
    pub resubscribed: u64,
}

/// The subscribing on one connection.
#[derive(Debug, Default)]
struct OnLink {
    /// A CONNACK with session present 0 was accepted on it.
    session_lost: bool,
    /// Filters of pending requests sent again on it.
    pending: BTreeSet<TopicFilter>,
    /// Filters of new resubscriptions sent on it.
    resubscribed: BTreeSet<TopicFilter>,
    /// The packet ids of new resubscriptions sent on it.
    new: BTreeSet<u16>,
    /// Every SUBSCRIBE packet id sent on it.
    sent: BTreeSet<u16>,
    /// Filters of new resubscriptions that reached the broker, counted.
    at_broker: BTreeMap<TopicFilter, u32>,
}

impl SubsCheck {
    pub fn new(who: &str) -> SubsCheck {
        SubsCheck {
            who: who.to_string(),
            ..SubsCheck::default()
        }
    }

    /// The application's `subscribe` returned `pid`.
    pub fn on_subscribe(&mut self, pid: u16, filters: Vec<TopicFilter>) {
        self.app.insert(pid, filters);
        self.dirty = true;
    }

    /// The application's `unsubscribe` was accepted.
    pub fn on_unsubscribe(&mut self) {
        self.dirty = true;
    }

    /// The client acted on a SUBACK (or, with `None`, an UNSUBACK).
    pub fn on_ack(&mut self, suback: Option<u16>) {
        if let Some(pid) = suback {
            self.app.remove(&pid);
            self.core.remove(&pid);
        }
        self.dirty = true;
    }

    /// The client opened connection `id`.
    pub fn on_link(&mut self, id: ConnId) {
        self.link = Some(id);
        self.on_link = OnLink::default();
    }

    /// The client acted on a CONNACK accepting the connection.
    pub fn on_connack(&mut self, session_present: bool) {
        self.on_link.session_lost = !session_present;
        self.ever_lost |= !session_present;
    }

    /// The `Connected` event; `created_on` is the connection that made the
    /// broker's session.
    pub fn on_connected(&mut self, session_present: bool, created_on: Option<ConnId>) {
        let Some(link) = self.link else { return };
        self.accepted.insert(link);
        self.dirty = true;
        if !session_present {
            self.desynced = false;
        } else if created_on.is_none_or(|c| !self.accepted.contains(&c)) {
            if !self.desynced {
                self.desyncs += 1;
            }
            self.desynced = true;
        }
    }

    /// The client handed out SUBSCRIBE `pid` for `filters`.
    pub fn on_sent(&mut self, pid: u16, filters: &[TopicFilter]) -> Result<(), String> {
        let link = &mut self.on_link;
        if !link.sent.insert(pid) {
            return Err(format!(
                "{}: SUBSCRIBE {pid} sent twice on connection {:?}",
                self.who, self.link
            ));
        }
        let pending = [&self.app, &self.core]
            .iter()
            .any(|m| m.get(&pid).is_some_and(|f| f == filters));
        if pending {
            link.pending.extend(filters.iter().cloned());
            return Ok(());
        }
        if !link.session_lost && self.ever_lost {
            // A resubscription made after an earlier lost session, whose
            // bytes never left before that connection ended: pending since,
            // and sent again like any pending request.
            link.pending.extend(filters.iter().cloned());
            self.core.insert(pid, filters.to_vec());
            return Ok(());
        }
        // A new resubscription by the core.
        if !link.session_lost {
            return Err(format!(
                "{}: SUBSCRIBE {pid} for {filters:?}, neither asked for by the application nor \
                 after a lost session",
                self.who
            ));
        }
        for f in filters {
            if link.pending.contains(f) {
                return Err(format!(
                    "{}: resubscribed to {f} on connection {:?}, which a pending request \
                     carried already",
                    self.who, self.link
                ));
            }
            if !link.resubscribed.insert(f.clone()) {
                return Err(format!(
                    "{}: resubscribed to {f} twice on connection {:?}",
                    self.who, self.link
                ));
            }
            self.resubscribed += 1;
        }
        link.new.insert(pid);
        self.core.insert(pid, filters.to_vec());
        Ok(())
    }

    /// The broker received SUBSCRIBE `pid` for `filters` on `id`.
    pub fn on_broker_subscribe(
        &mut self,
        id: ConnId,
        pid: u16,
        filters: &[TopicFilter],
    ) -> Result<(), String> {
        let link = &mut self.on_link;
        if self.link != Some(id) || !link.sent.contains(&pid) {
            return Err(format!(
                "{}: the broker got SUBSCRIBE {pid} on connection {id}, which the client did not \
                 send there",
                self.who
            ));
        }
        if link.new.contains(&pid) {
            for f in filters {
                let n = link.at_broker.entry(f.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    return Err(format!(
                        "{}: the broker got {n} resubscriptions to {f} on connection {id}",
                        self.who
                    ));
                }
            }
        }
        Ok(())
    }
    /// Compares the client's live filters with the broker's, if the
    /// connection has settled and something changed.
    pub fn check_held(
        &mut self,
        conn: &Connection,
        broker: impl FnOnce() -> BTreeMap<String, QoS>,
    ) -> Result<(), String> {
        if !self.dirty || !conn.is_connected() || conn.pending_requests() > 0 {
            return Ok(());
        }
        self.dirty = false;
        if self.desynced {
            return Ok(());
        }
        self.compared += 1;
        let live: BTreeMap<String, QoS> = conn
            .subscriptions()
            .map(|(f, q)| (f.to_string(), q))
            .collect();
        let held = broker();
        if live != held {
            return Err(format!(
                "{}: the session holds {live:?}, the broker {held:?}",
                self.who
            ));
        }
        Ok(())
    }
}
