//! What the application does with the clients: publish, subscribe,
//! unsubscribe and close gracefully, each answer held to what the core
//! promises (a close under way refuses every command with `Closing`, and
//! nothing else does).

use super::super::wire::Level;
use super::super::{Rng, Sent};
use super::{tracing, World, FILTER, PUBLISHER};
use bytes::{Bytes, BytesMut};
use core::time::Duration;
use mqtt_proto::packet::v5::{self, PublishProperties};
use mqtt_proto::packet::QosPid;
use mqtt_proto::{Message, PacketId, PublishError, QoS, SubscribeError, TopicFilter, TopicName};

/// The payload of message `n`: `m<n>`, and at 5.0 now and then padding, so
/// that some publishes are larger than a broker's Maximum Packet Size, and
/// some just below it.
fn payload(n: u64, level: Level) -> String {
    let mut p = format!("m{n}");
    if level == Level::V5 {
        let mut r = Rng::new(n ^ 0x00DD_BA11_A57B_0A7D);
        if r.chance(0.3) {
            p.push(' ');
            p.extend(std::iter::repeat_n('x', r.below(48) as usize));
        }
    }
    p
}

/// The size of a 5.0 PUBLISH of `payload` to `topic` at `qos`, with no
/// topic alias.
fn v5_size(topic: &str, payload: &str, qos: QoS) -> Result<usize, String> {
    let pid = PacketId::new(1).ok_or("packet id 1")?;
    let publish = v5::Publish {
        dup: false,
        qos_pid: match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(pid),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(pid),
        },
        retain: false,
        topic: Some(TopicName::try_from(topic).map_err(|e| e.to_string())?),
        properties: PublishProperties::default(),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
    };
    let mut b = BytesMut::new();
    v5::Packet::Publish(publish)
        .encode(&mut b)
        .map_err(|e| e.to_string())?;
    Ok(b.len())
}

impl World {
    /// The publisher publishes message `n`: what the schedule knows of
    /// it, `None` if the queue was full or a close is under way, or an
    /// error if `publish` answered otherwise than it should.
    pub fn publish(&mut self, n: u64, qos: QoS) -> Result<Option<Sent>, String> {
        let topic = format!("sim/{}", n % 5);
        let level = self.clients[PUBLISHER].level;
        let payload = payload(n, level);
        let (size, refusal) = match level {
            Level::V311 => (0, None),
            Level::V5 => (
                v5_size(&topic, &payload, qos)?,
                self.broker
                    .refusal(payload.as_bytes())
                    .filter(|_| qos != QoS::AtMostOnce),
            ),
        };
        let message = Message::new(&topic, payload, qos).map_err(|e| e.to_string())?;
        let c = &mut self.clients[PUBLISHER];
        let closing = c.conn.is_closing();
        match c.conn.publish(message) {
            Ok(id) if !closing => {
                c.publishes.on_accepted(id, n, qos);
                self.net.stats.published += 1;
                Ok(Some(Sent {
                    qos,
                    id,
                    size,
                    refusal,
                }))
            }
            Err(PublishError::QueueFull) if !closing => {
                self.net.stats.queue_full += 1;
                Ok(None)
            }
            Err(PublishError::Closing) if closing => {
                self.net.stats.refused_closing += 1;
                Ok(None)
            }
            other => Err(format!(
                "publish while closing={closing} answered {other:?}"
            )),
        }
    }

    /// The publisher subscribes to `filters`, or unsubscribes from them.
    pub fn publisher_request(
        &mut self,
        filters: Vec<(TopicFilter, QoS)>,
        unsubscribe: bool,
    ) -> Result<(), String> {
        let c = &mut self.clients[PUBLISHER];
        let closing = c.conn.is_closing();
        let result = if unsubscribe {
            c.conn
                .unsubscribe(filters.into_iter().map(|(f, _)| f).collect())
                .map(|_| c.subs.on_unsubscribe())
        } else {
            let names = filters.iter().map(|(f, _)| f.clone()).collect();
            c.conn
                .subscribe(filters)
                .map(|pid| c.subs.on_subscribe(pid.get(), names))
        };
        match result {
            Ok(()) if !closing => Ok(()),
            Err(SubscribeError::Closing) if closing => Ok(()),
            Err(SubscribeError::TooManyPending | SubscribeError::NoPacketId) if !closing => Ok(()),
            other => Err(format!(
                "subscribe or unsubscribe while closing={closing} answered {other:?}"
            )),
        }
    }

    /// The application closes client `i` gracefully, waiting up to `drain`
    /// for its messages; it starts the client again a little after.
    pub fn disconnect(&mut self, i: usize, drain: Duration) -> Result<(), String> {
        let now = self.now;
        let c = &mut self.clients[i];
        let drained = c.conn.inflight() == 0 && c.conn.queued() == 0;
        if tracing() {
            eprintln!(
                "{now:?} {} disconnect, drain {drain:?}, in {:?}",
                c.id,
                c.conn.state()
            );
        }
        c.policy
            .on_close(now, drain, c.conn.state(), c.conn.is_closing(), drained)?;
        c.conn.disconnect(now, drain);
        c.closing = true;
        Ok(())
    }

    /// The subscriber subscribes to [`FILTER`].
    pub fn subscribe(&mut self, i: usize) -> Result<(), String> {
        let filter = TopicFilter::try_from(FILTER).map_err(|e| e.to_string())?;
        let c = &mut self.clients[i];
        let pid = c
            .conn
            .subscribe(vec![(filter.clone(), QoS::ExactlyOnce)])
            .map_err(|e| e.to_string())?;
        c.subs.on_subscribe(pid.get(), vec![filter]);
        Ok(())
    }
}
