//! Shutting down: `disconnect` (or the last handle dropped) asks the core
//! for a graceful close: it waits, up to `disconnect_timeout`, for messages
//! in flight, then sends DISCONNECT. Once the core reports the close
//! complete, the DISCONNECT gets up to `disconnect_timeout` more to be
//! written; the task then ends and every pending call is answered.

use super::{reply_err, Closing, Dispatch, Responder};
use crate::driver::CommandReceiver;
use crate::Error;
use mqtt_proto::Connection;
use std::time::Instant;

impl Dispatch {
    pub(crate) fn begin_close(
        &mut self,
        conn: &mut Connection,
        done: Option<Responder<()>>,
        core_now: mqtt_proto::Instant,
    ) {
        if let Some(closing) = &mut self.closing {
            // A second disconnect call is answered with the first.
            if let Some(previous) = done.and_then(|d| closing.done.replace(d)) {
                let _ = previous.send(Ok(()));
            }
            return;
        }
        tracing::info!("disconnecting");
        self.take_manual_acks(conn);
        self.closing = Some(Closing {
            done,
            ended: false,
            flush_by: None,
            linger: self.disconnect_timeout,
        });
        conn.disconnect(core_now, self.disconnect_timeout);
    }

    /// Until when the DISCONNECT may take to be written.
    pub(crate) fn flush_deadline(&self) -> Option<Instant> {
        self.closing.as_ref().and_then(|c| c.flush_by)
    }

    /// Whether the task is done: closed (and DISCONNECT written, or its
    /// time to be written over) or failed.
    pub(crate) fn closing_done(&self, written: bool, now: Instant) -> bool {
        self.terminal.is_some()
            || self
                .closing
                .as_ref()
                .is_some_and(|c| c.ended && (written || c.flush_by.is_some_and(|at| at <= now)))
    }

    pub(crate) fn shut_down(&mut self, commands: &mut CommandReceiver) {
        let error = self.terminal.as_deref().cloned().unwrap_or(Error::Closed);
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(error.clone()));
        }
        for (_, done) in self.publishes.drain() {
            let _ = done.send(Err(error.clone()));
        }
        for (_, stored) in std::mem::take(&mut self.stored) {
            let _ = stored.send(Err(error.clone()));
        }
        if let Some((_, done, stored)) = self.stalled.take().map(|stalled| *stalled) {
            for reply in [done, stored].into_iter().flatten() {
                let _ = reply.send(Err(error.clone()));
            }
        }
        for (_, pending) in std::mem::take(&mut self.subscribes) {
            if let Some((done, _, _)) = pending.reply {
                let _ = done.send(Err(error.clone()));
            }
        }
        for (_, (done, _)) in std::mem::take(&mut self.unsubscribes) {
            let _ = done.send(Err(error.clone()));
        }
        // Ending the channels ends every Subscription stream.
        self.subs.clear();
        self.room = None;
        commands.close();
        while let Some(cmd) = commands.try_recv() {
            reply_err(cmd, error.clone());
        }
        self.listeners.close(self.terminal.as_deref().cloned());
        if let Some(closing) = self.closing.take() {
            if let Some(done) = closing.done {
                let _ = done.send(Ok(()));
            }
        }
        tracing::info!("client stopped");
    }
}
