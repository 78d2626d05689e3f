//! Shutting down: `disconnect` (or the last handle dropped) waits, up to
//! `disconnect_timeout`, for messages in flight, then sends DISCONNECT and
//! gives it a second to leave; the task then ends and every pending call is
//! answered.

use super::{reply_err, Closing, Command, Dispatch, Responder};
use crate::{Error, Options};
use mqtt_proto::Connection;
use std::time::{Duration, Instant};

impl Dispatch {
    pub(crate) fn begin_close(
        &mut self,
        done: Option<Responder<()>>,
        now: Instant,
        options: &Options,
    ) {
        if let Some(closing) = &mut self.closing {
            // A second disconnect call is answered with the first.
            if let Some(previous) = done.and_then(|d| closing.done.replace(d)) {
                let _ = previous.send(Ok(()));
            }
            return;
        }
        tracing::info!("disconnecting");
        self.closing = Some(Closing {
            done,
            deadline: now + options.disconnect_timeout,
            sent_disconnect: false,
            over: false,
        });
    }

    pub(crate) fn closing_deadline(&self) -> Option<Instant> {
        self.closing.as_ref().map(|c| c.deadline)
    }

    /// While closing: once nothing is in flight, send DISCONNECT. Returns
    /// whether it was just queued.
    pub(crate) fn check_closing(
        &mut self,
        conn: &mut Connection,
        now: Instant,
        core_now: mqtt_proto::Instant,
    ) -> bool {
        let Some(closing) = &mut self.closing else {
            return false;
        };
        if closing.sent_disconnect || closing.over {
            return false;
        }
        if !conn.is_connected() {
            // Offline: nothing to say goodbye to.
            closing.over = true;
            return false;
        }
        if conn.inflight() == 0 && conn.queued() == 0 {
            closing.sent_disconnect = true;
            closing.deadline = now + Duration::from_secs(1);
            conn.disconnect(core_now, Duration::ZERO);
            return true;
        }
        false
    }

    /// The closing deadline passed: stop waiting for inflight messages, or
    /// for the DISCONNECT to drain.
    pub(crate) fn on_closing_deadline(
        &mut self,
        conn: &mut Connection,
        now: Instant,
        core_now: mqtt_proto::Instant,
    ) {
        let Some(closing) = &mut self.closing else {
            return;
        };
        if closing.deadline > now {
            return;
        }
        if !closing.sent_disconnect && conn.is_connected() {
            closing.sent_disconnect = true;
            closing.deadline = now + Duration::from_secs(1);
            conn.disconnect(core_now, Duration::ZERO);
        } else {
            closing.over = true;
        }
    }

    /// Whether the task is done: closed (and DISCONNECT written) or failed.
    pub(crate) fn closing_done(&self, written: bool) -> bool {
        self.terminal.is_some()
            || self
                .closing
                .as_ref()
                .is_some_and(|c| c.over || (c.sent_disconnect && written))
    }

    pub(crate) fn shut_down(&mut self, commands: &async_channel::Receiver<Command>) {
        let error = self.terminal.clone().unwrap_or(Error::Closed);
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error.clone()));
        }
        for (_, done) in self.publishes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        if let Some((_, Some(done))) = self.stalled.take() {
            let _ = done.send(Err(error.clone()));
        }
        for (_, pending) in self.subscribes.drain() {
            if let Some((done, _, _)) = pending.reply {
                let _ = done.send(Err(error.clone()));
            }
        }
        for (_, (done, _)) in self.unsubscribes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        // Ending the channels ends every Subscription stream.
        self.subs.clear();
        self.room = None;
        commands.close();
        while let Ok(cmd) = commands.try_recv() {
            reply_err(cmd, error.clone());
        }
        self.listeners.close();
        if let Some(closing) = self.closing.take() {
            if let Some(done) = closing.done {
                let _ = done.send(Ok(()));
            }
        }
        tracing::info!("client stopped");
    }
}
