//! The packet ids a client has open, as seen from the wire.

use mqtt_proto::packet::Packet;
use std::collections::HashMap;

/// Packet ids the client has open: opened by a PUBLISH (QoS > 0), SUBSCRIBE
/// or UNSUBSCRIBE it sent, closed by the ack it received. [MQTT-2.3.1-2]: a
/// new exchange never takes an open id.
#[derive(Debug, Default)]
pub struct PidTracker {
    open: HashMap<u16, Packet>,
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
                    _ => {
                        self.open.insert(pid.get(), p.clone());
                        Ok(())
                    }
                }
            }
            Packet::Subscribe(s) => self.request(s.pid.get(), p),
            Packet::Unsubscribe(u) => self.request(u.pid.get(), p),
            _ => Ok(()),
        }
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
    /// violation is fed here).
    pub fn on_received(&mut self, p: &Packet) {
        match p {
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
            Packet::ConnAck(c) if !c.session_present => {
                // The session is gone: unacknowledged messages are new ones.
                self.open.retain(|_, o| !matches!(o, Packet::Publish(_)));
            }
            _ => {}
        }
    }
}
