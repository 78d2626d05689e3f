//! Publishes: a command is handed to the core, or held (with every command
//! after it) while the core's queue is full; each caller is answered when
//! the core reports the publish complete, or failed because the broker lost
//! the session, and, with a store, once the message is in it.

use super::{Dispatch, Responder};
use crate::Error;
use mqtt_proto::packet::v5::{AckProperties, ReasonCode};
use mqtt_proto::{Connection, Message, PublishId, QoS, ServerReason};

impl Dispatch {
    pub(super) fn publish(
        &mut self,
        conn: &mut Connection,
        message: Message,
        done: Option<Responder<()>>,
        stored: Option<Responder<()>>,
    ) {
        if !conn.can_publish(message.qos) {
            // Hold it and take no further commands until there is room.
            self.stalled = Some(Box::new((message, done, stored)));
            return;
        }
        let qos = message.qos;
        match conn.publish(message) {
            Ok(id) => {
                if let Some(done) = done {
                    self.publishes.insert(id, done);
                }
                if let Some(stored) = stored {
                    if qos == QoS::AtMostOnce {
                        let _ = stored.send(Err(Error::NotStored));
                    } else {
                        self.stored.insert(id, stored);
                    }
                }
            }
            Err(e) => {
                for reply in [done, stored].into_iter().flatten() {
                    let _ = reply.send(Err(Error::Publish(e)));
                }
            }
        }
    }

    pub(super) fn retry_stalled(&mut self, conn: &mut Connection) {
        if let Some((message, done, stored)) = self.stalled.take().map(|stalled| *stalled) {
            self.publish(conn, message, done, stored);
        }
    }

    /// The store committed the message `id`.
    pub(crate) fn on_stored(&mut self, id: PublishId) {
        if let Some(stored) = self.stored.remove(&id) {
            let _ = stored.send(Ok(()));
        }
    }

    pub(super) fn on_published(&mut self, conn: &mut Connection, id: PublishId) {
        if let Some(done) = self.publishes.remove(&id) {
            let _ = done.send(Ok(()));
        }
        self.retry_stalled(conn);
    }

    /// MQTT 5.0: the ack carried a reason code or properties. An error
    /// code fails the publish; any other completes it.
    pub(super) fn on_publish_acked(
        &mut self,
        conn: &mut Connection,
        id: PublishId,
        reason: ReasonCode,
        properties: AckProperties,
    ) {
        if let Some(done) = self.publishes.remove(&id) {
            let result = if reason.is_error() {
                Err(Error::PublishRejected(ServerReason {
                    reason,
                    reason_string: properties.reason_string,
                    server_reference: None,
                }))
            } else {
                tracing::debug!(%reason, "publish acknowledged with a reason code");
                Ok(())
            };
            let _ = done.send(result);
        }
        self.retry_stalled(conn);
    }

    /// The broker lost the session: messages sent again may reach a
    /// subscriber twice, and those given up fail with `Error::SessionLost`.
    pub(super) fn on_session_lost(&mut self, resent: &[PublishId], failed: &[PublishId]) {
        tracing::warn!(
            resent = resent.len(),
            failed = failed.len(),
            "the broker lost the session"
        );
        for id in failed {
            if let Some(done) = self.publishes.remove(id) {
                let _ = done.send(Err(Error::SessionLost));
            }
        }
    }
}
