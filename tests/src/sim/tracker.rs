//! What a client has open, as seen from the wire: packet ids, and
//! publishes awaiting an acknowledgement. At 5.0 a PUBACK or PUBREC with an
//! error code ends its exchange too, and the message is never sent again.

use mqtt_proto::packet::{ConnectReturnCode, Packet};
use mqtt_proto::{Event, PublishId, QoS};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Packet ids the client has open: opened by a PUBLISH (QoS > 0), SUBSCRIBE
/// or UNSUBSCRIBE it sent, closed by the ack it received. [MQTT-2.3.1-2]: a
/// new exchange never takes an open id.
///
/// At 5.0, the publishes open are also held to the broker's Receive
/// Maximum: at most that many QoS 1 and 2 PUBLISH without PUBACK, PUBCOMP,
/// or PUBREC with an error code [5.0 MQTT-3.3.4-7] [5.0 MQTT-4.9.0-2].
#[derive(Debug, Default)]
pub struct PidTracker {
    open: HashMap<u16, Packet>,
    /// The broker's Receive Maximum, from the CONNACK the client read.
    pub receive_maximum: Option<u16>,
    /// PUBLISH packets sent that filled the Receive Maximum.
    pub quota_full: u64,
}

impl PidTracker {
    pub fn on_sent(&mut self, p: &Packet) -> Result<(), String> {
        match p {
            Packet::Publish(publish) => {
                let Some(pid) = publish.pid() else {
                    return Ok(());
                };
                match (self.open.get(&pid.get()), publish.dup) {
                    (Some(_), false) => Err(format!(
                        "[MQTT-2.3.1-2] new PUBLISH reuses open packet id {pid}"
                    )),
                    (None, true) => Err(format!(
                        "[MQTT-2.3.1-3] DUP resend of packet id {pid}, which was already acknowledged"
                    )),
                    (open, _) => {
                        let new = open.is_none();
                        self.open.insert(pid.get(), p.clone());
                        match self.receive_maximum {
                            Some(max) if new => self.check_quota(max),
                            _ => Ok(()),
                        }
                    }
                }
            }
            Packet::Subscribe(s) => self.request(s.pid.get(), p),
            Packet::Unsubscribe(u) => self.request(u.pid.get(), p),
            _ => Ok(()),
        }
    }

    fn check_quota(&mut self, max: u16) -> Result<(), String> {
        let open = self
            .open
            .values()
            .filter(|p| matches!(p, Packet::Publish(_)))
            .count();
        if open > usize::from(max) {
            return Err(format!(
                "[5.0 MQTT-3.3.4-7] [5.0 MQTT-4.9.0-2] {open} QoS 1 and 2 publishes \
                 unacknowledged, above the broker's Receive Maximum {max}"
            ));
        }
        if open == usize::from(max) {
            self.quota_full += 1;
        }
        Ok(())
    }

    fn request(&mut self, pid: u16, p: &Packet) -> Result<(), String> {
        match self.open.get(&pid) {
            Some(prev) if prev != p => Err(format!(
                "[MQTT-2.3.1-2] request reuses open packet id {pid}"
            )),
            _ => {
                self.open.insert(pid, p.clone());
                Ok(())
            }
        }
    }

    /// A packet the client received (and acted on: nothing after a
    /// violation is fed here); `refuses`: a 5.0 ack with an error code.
    pub fn on_received(&mut self, p: &Packet, refuses: bool) {
        match p {
            Packet::PubRec(r) if refuses => {
                self.open.remove(&r.pid.get());
            }
            Packet::PubAck(a) => {
                self.open.remove(&a.pid.get());
            }
            Packet::PubComp(c) => {
                self.open.remove(&c.pid.get());
            }
            Packet::SubAck(s) => {
                self.open.remove(&s.pid.get());
            }
            Packet::UnsubAck(u) => {
                self.open.remove(&u.pid.get());
            }
            Packet::ConnAck(c) if c.code == ConnectReturnCode::Accepted && !c.session_present => {
                // The session is gone: unacknowledged messages are new ones.
                // (A refusal says nothing of the session [MQTT-3.2.2-4].)
                self.open.retain(|_, o| !matches!(o, Packet::Publish(_)));
            }
            _ => {}
        }
    }
}

/// A client's publishes as the wire and the events show them, to hold
/// `Event::SessionLost` and `SessionLostPolicy::Fail` to their promises:
/// when a CONNACK says the broker lost the session, `resent` names exactly
/// the QoS 1 and 2 messages that were handed out and left unacknowledged
/// (no PUBACK, no PUBREC), and `failed` the QoS 2 ones among them when
/// the policy is `Fail`; failed messages never complete and never go out
/// again.
#[derive(Debug, Default)]
pub struct PublishTracker {
    /// Message number and QoS of each accepted publish, by id and by number.
    ids: BTreeMap<PublishId, (u64, QoS)>,
    numbers: BTreeMap<u64, (PublishId, QoS)>,
    /// Messages whose PUBLISH was handed out at least once.
    handed_out: BTreeSet<u64>,
    /// QoS 1 and 2 messages handed out and not acknowledged as the client
    /// saw it, by number: whether PUBREC came.
    unacked: BTreeMap<u64, bool>,
    /// The message each open packet id carries.
    pids: BTreeMap<u16, u64>,
    completed: BTreeSet<PublishId>,
    /// Messages given up under `SessionLostPolicy::Fail`.
    pub failed: BTreeSet<PublishId>,
    /// Messages the broker refused with an error code (5.0), by number.
    pub refused: BTreeSet<u64>,
    /// Ids reported in `resent`, over the run.
    pub resent: u64,
    /// Every publish a `SessionLost` named as sent again: a copy of it may
    /// arrive, as `SessionLostPolicy::ResendAsNew` says.
    pub resent_ids: BTreeSet<PublishId>,
    fail_policy: bool,
    clean: bool,
    connected_before: bool,
    /// What the SessionLost after the CONNACK just read must say:
    /// (resent, failed) message numbers.
    expected: Option<(BTreeSet<u64>, BTreeSet<u64>)>,
    /// A SessionLost must be the next event.
    awaiting: Option<(BTreeSet<u64>, BTreeSet<u64>)>,
    /// SessionLost events seen.
    pub losses: u64,
}

/// The message number of a payload `m<n>`.
pub fn number(payload: &[u8]) -> Option<u64> {
    std::str::from_utf8(payload)
        .ok()?
        .strip_prefix('m')?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

impl PublishTracker {
    pub fn new(clean: bool, fail_policy: bool) -> PublishTracker {
        PublishTracker {
            clean,
            fail_policy,
            ..PublishTracker::default()
        }
    }

    /// `publish` accepted message `n` as `id`.
    pub fn on_accepted(&mut self, id: PublishId, n: u64, qos: QoS) {
        self.ids.insert(id, (n, qos));
        self.numbers.insert(n, (id, qos));
    }

    /// The number of the message `id` names.
    pub fn number_of(&self, id: PublishId) -> Option<u64> {
        self.ids.get(&id).map(|(n, _)| *n)
    }

    /// A packet the client handed out.
    pub fn on_sent(&mut self, p: &Packet) -> Result<(), String> {
        let Packet::Publish(publish) = p else {
            return Ok(());
        };
        let Some(n) = number(&publish.payload) else {
            return Err(format!("unknown payload {:?}", publish.payload));
        };
        if self.refused.contains(&n) {
            return Err(format!(
                "[5.0 MQTT-4.4.0-2] m{n}, refused by the broker with an error code, was sent again"
            ));
        }
        if let Some((id, _)) = self.numbers.get(&n) {
            if self.failed.contains(id) {
                return Err(format!(
                    "m{n}, given up after a lost session, was sent again"
                ));
            }
        }
        self.handed_out.insert(n);
        if let Some(pid) = publish.pid() {
            self.pids.insert(pid.get(), n);
            self.unacked.entry(n).or_insert(false);
        }
        Ok(())
    }

    /// A packet the client received and acted on; `refuses`: a 5.0 ack
    /// with an error code, final for its message.
    pub fn on_received(&mut self, p: &Packet, refuses: bool) {
        match p {
            Packet::PubAck(a) => {
                if let Some(n) = self.pids.remove(&a.pid.get()) {
                    self.unacked.remove(&n);
                    if refuses {
                        self.refused.insert(n);
                    }
                }
            }
            Packet::PubRec(r) if refuses => {
                if let Some(n) = self.pids.remove(&r.pid.get()) {
                    self.unacked.remove(&n);
                    self.refused.insert(n);
                }
            }
            Packet::PubComp(c) => {
                if let Some(n) = self.pids.remove(&c.pid.get()) {
                    self.unacked.remove(&n);
                }
            }
            Packet::PubRec(r) => {
                if let Some(n) = self.pids.get(&r.pid.get()) {
                    self.unacked.insert(*n, true);
                }
            }
            Packet::ConnAck(c) if c.code == ConnectReturnCode::Accepted && !c.session_present => {
                // The session is gone: what was handed out and not complete
                // (PUBREC'd included: the broker may have lost it with the
                // session) is resent as new, or failed.
                let mut resent = BTreeSet::new();
                let mut failed = BTreeSet::new();
                for &n in self.unacked.keys() {
                    let qos = self.numbers.get(&n).map(|(_, q)| *q);
                    if self.fail_policy && qos == Some(QoS::ExactlyOnce) {
                        failed.insert(n);
                    } else {
                        resent.insert(n);
                    }
                }
                self.unacked.clear();
                self.pids.clear();
                self.expected = Some((resent, failed));
            }
            _ => {}
        }
    }

    /// Checks one event from the client.
    pub fn on_event(&mut self, e: &Event) -> Result<(), String> {
        if let Some((resent, failed)) = self.awaiting.take() {
            let Event::SessionLost {
                resent: got_resent,
                failed: got_failed,
            } = e
            else {
                return Err(format!(
                    "no SessionLost after a lost session (expected resent {resent:?}, failed \
                     {failed:?}), but {e:?}"
                ));
            };
            let names = |ids: &[PublishId]| -> Result<BTreeSet<u64>, String> {
                ids.iter()
                    .map(|id| {
                        self.number_of(*id)
                            .ok_or(format!("{id:?} names no publish"))
                    })
                    .collect()
            };
            let got_r = names(got_resent)?;
            let got_f = names(got_failed)?;
            for n in got_r.iter().chain(&got_f) {
                if !self.handed_out.contains(n) {
                    return Err(format!(
                        "SessionLost names m{n}, which was never handed out"
                    ));
                }
            }
            if got_r != resent || got_f != failed {
                return Err(format!(
                    "SessionLost says resent {got_r:?}, failed {got_f:?}; the wire says resent \
                     {resent:?}, failed {failed:?}"
                ));
            }
            for id in got_resent.iter().chain(got_failed) {
                if self.completed.contains(id) {
                    return Err(format!("SessionLost names {id:?}, which completed already"));
                }
            }
            self.losses += 1;
            self.resent += got_resent.len() as u64;
            self.resent_ids.extend(got_resent.iter().copied());
            self.failed.extend(got_failed.iter().copied());
            return Ok(());
        }
        match e {
            Event::Connected { session_present } => {
                let expected = self.expected.take().unwrap_or_default();
                if !session_present {
                    let owed = !self.clean && self.connected_before;
                    if owed || !expected.0.is_empty() || !expected.1.is_empty() {
                        self.awaiting = Some(expected);
                    }
                }
                self.connected_before = true;
            }
            Event::SessionLost { .. } => {
                return Err(format!("{e:?} with no session lost"));
            }
            Event::Published { id } | Event::PublishAcked { id, .. } => {
                if self.failed.contains(id) {
                    return Err(format!("{id:?}, given up after a lost session, completed"));
                }
                if !self.completed.insert(*id) {
                    return Err(format!("{id:?} completed twice"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
