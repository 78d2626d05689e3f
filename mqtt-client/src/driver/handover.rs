//! The hand-over of commands from the handles to the driver: a channel
//! that allocates as commands arrive (an idle client holds no slots) and
//! is bounded by a count of the commands the driver has not taken yet.
//!
//! A bounded channel that reserves its slots up front would cost every
//! client its whole capacity in memory (about 100 bytes a command, a
//! thousand commands) before it sends anything. Here the queue is an
//! unbounded linked queue, a node per command; the bound is an atomic count
//! checked before each send, and senders that find it full wait on an
//! event the driver signals once it has taken commands down to half the
//! bound: waiting senders then wake once for a batch of room rather than
//! once per command.

use super::Command;
use event_listener::Event;
use futures_channel::mpsc;
use futures_core::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// The count shared by both ends.
#[derive(Debug)]
struct Room {
    limit: usize,
    /// Commands sent and not yet taken by the driver.
    held: AtomicUsize,
    /// Signalled when the driver took the hand-over down to half the
    /// bound, or stopped.
    freed: Event,
}

impl Room {
    /// Counts one command in, unless the hand-over is full.
    fn reserve(&self) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// Counts one command out, without waking anyone.
    fn take(&self) {
        self.held.fetch_sub(1, Ordering::AcqRel);
    }

    fn release(&self) {
        self.take();
        self.freed.notify(usize::MAX);
    }
}

/// A hand-over holding at most `limit` commands at a time.
pub(crate) fn handover(limit: usize) -> (CommandSender, CommandReceiver) {
    let (tx, rx) = mpsc::unbounded();
    let room = Arc::new(Room {
        limit: limit.max(1),
        held: AtomicUsize::new(0),
        freed: Event::new(),
    });
    (
        CommandSender {
            tx,
            room: room.clone(),
        },
        CommandReceiver { rx, room },
    )
}

/// Why a command was not handed over.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The hand-over holds `limit` commands already.
    Full(Command),
    /// The driver stopped.
    Closed(Command),
}

/// The handles' end.
#[derive(Debug, Clone)]
pub(crate) struct CommandSender {
    tx: mpsc::UnboundedSender<Command>,
    room: Arc<Room>,
}

impl CommandSender {
    /// Hands `cmd` over if there is room now.
    pub(crate) fn try_send(&self, cmd: Command) -> Result<(), SendError> {
        if self.tx.is_closed() {
            return Err(SendError::Closed(cmd));
        }
        if !self.room.reserve() {
            return Err(SendError::Full(cmd));
        }
        self.push(cmd)
    }

    /// Hands `cmd` over, waiting for room; fails only once the driver
    /// stopped (the command is given back).
    pub(crate) async fn send(&self, mut cmd: Command) -> Result<(), Command> {
        loop {
            match self.try_send(cmd) {
                Ok(()) => return Ok(()),
                Err(SendError::Closed(back)) => return Err(back),
                Err(SendError::Full(back)) => cmd = back,
            }
            // Listen first, then look again: a command taken in between
            // is either seen by the second look or signals the listener.
            let listener = self.room.freed.listen();
            if !self.tx.is_closed() && self.room.held.load(Ordering::Acquire) >= self.room.limit {
                listener.await;
            }
        }
    }

    fn push(&self, cmd: Command) -> Result<(), SendError> {
        match self.tx.unbounded_send(cmd) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.room.release();
                Err(SendError::Closed(e.into_inner()))
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The driver's end.
#[derive(Debug)]
pub(crate) struct CommandReceiver {
    rx: mpsc::UnboundedReceiver<Command>,
    room: Arc<Room>,
}

impl CommandReceiver {
    /// The next command; `None` once every handle is gone. Senders
    /// waiting for room are woken by `wake_senders`, once per batch.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Command>> {
        let next = Pin::new(&mut self.rx).poll_next(cx);
        if let Poll::Ready(Some(_)) = &next {
            self.room.take();
        }
        next
    }

    /// Called after taking a batch of commands: wakes the senders waiting
    /// for room once the hand-over is down to half its bound.
    pub(crate) fn wake_senders(&self) {
        if self.room.held.load(Ordering::Acquire) <= self.room.limit / 2 {
            self.room.freed.notify(usize::MAX);
        }
    }

    /// Refuses new commands and wakes every sender waiting for room.
    pub(crate) fn close(&mut self) {
        self.rx.close();
        self.room.freed.notify(usize::MAX);
    }

    /// A command sent before `close`, still to be answered.
    pub(crate) fn try_recv(&mut self) -> Option<Command> {
        let cmd = self.rx.try_recv().ok()?;
        self.room.release();
        Some(cmd)
    }
}

impl Drop for CommandReceiver {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_channel::oneshot;
    use std::future::Future;

    fn disconnect() -> Command {
        let (done, _) = oneshot::channel();
        Command::Disconnect { done }
    }

    fn ctx() -> Context<'static> {
        Context::from_waker(std::task::Waker::noop())
    }

    #[test]
    fn full_at_the_limit_and_room_again_once_taken() {
        let (tx, mut rx) = handover(2);
        assert!(tx.try_send(disconnect()).is_ok());
        assert!(tx.try_send(disconnect()).is_ok());
        assert!(matches!(tx.try_send(disconnect()), Err(SendError::Full(_))));
        assert!(matches!(rx.poll_next(&mut ctx()), Poll::Ready(Some(_))));
        assert!(tx.try_send(disconnect()).is_ok());
    }

    type Send = Pin<Box<dyn Future<Output = Result<(), Command>>>>;

    /// A hand-over of `limit` filled up, and a send waiting for room.
    fn full(limit: usize) -> (CommandSender, CommandReceiver, Send) {
        let (tx, rx) = handover(limit);
        for _ in 0..limit {
            assert!(tx.try_send(disconnect()).is_ok());
        }
        let waiting = tx.clone();
        let mut send: Send = Box::pin(async move { waiting.send(disconnect()).await });
        assert!(send.as_mut().poll(&mut ctx()).is_pending());
        (tx, rx, send)
    }

    #[test]
    fn a_waiting_sender_goes_on_when_the_driver_takes_one() {
        let (_tx, mut rx, mut send) = full(1);
        assert!(matches!(rx.poll_next(&mut ctx()), Poll::Ready(Some(_))));
        rx.wake_senders();
        assert!(matches!(
            send.as_mut().poll(&mut ctx()),
            Poll::Ready(Ok(()))
        ));
    }

    #[test]
    fn waiting_senders_wake_once_half_the_room_is_free() {
        let (_tx, mut rx, mut send) = full(4);
        assert!(matches!(rx.poll_next(&mut ctx()), Poll::Ready(Some(_))));
        rx.wake_senders();
        // Three of four still held: the sender sleeps on.
        assert!(send.as_mut().poll(&mut ctx()).is_pending());
        assert!(matches!(rx.poll_next(&mut ctx()), Poll::Ready(Some(_))));
        rx.wake_senders();
        assert!(matches!(
            send.as_mut().poll(&mut ctx()),
            Poll::Ready(Ok(()))
        ));
    }

    #[test]
    fn closing_fails_waiting_and_new_senders() {
        let (tx, mut rx, mut send) = full(1);
        rx.close();
        assert!(matches!(
            send.as_mut().poll(&mut ctx()),
            Poll::Ready(Err(_))
        ));
        assert!(matches!(
            tx.try_send(disconnect()),
            Err(SendError::Closed(_))
        ));
        // The command sent before the close is still there to answer.
        assert!(rx.try_recv().is_some());
        assert!(rx.try_recv().is_none());
    }
}
