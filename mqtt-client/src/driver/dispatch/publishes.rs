//! Publishes: a command is handed to the core, or held (with every command
//! after it) while the core's queue is full; each caller is answered when
//! the core reports the publish complete, or failed because the broker lost
//! the session.

use super::{Dispatch, Responder};
use crate::Error;
use mqtt_proto::{Connection, Message, PublishId};

impl Dispatch {
    pub(super) fn publish(
        &mut self,
        conn: &mut Connection,
        message: Message,
        done: Option<Responder<()>>,
    ) {
        if !conn.can_publish(message.qos) {
            // Hold it and take no further commands until there is room.
            self.stalled = Some(Box::new((message, done)));
            return;
        }
        match conn.publish(message) {
            Ok(id) => {
                if let Some(done) = done {
                    self.publishes.insert(id, done);
                }
            }
            Err(e) => {
                if let Some(done) = done {
                    let _ = done.send(Err(Error::Publish(e)));
                }
            }
        }
    }

    pub(super) fn retry_stalled(&mut self, conn: &mut Connection) {
        if let Some((message, done)) = self.stalled.take().map(|stalled| *stalled) {
            self.publish(conn, message, done);
        }
    }

    pub(super) fn on_published(&mut self, conn: &mut Connection, id: PublishId) {
        if let Some(done) = self.publishes.remove(&id) {
            let _ = done.send(Ok(()));
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
