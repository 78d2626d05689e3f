//! Acks the application gives by hand: a QoS 1/2 message that went to a
//! manual-ack subscription is acknowledged to the broker only once every
//! such copy was acked (`Delivery::ack`) and every automatic subscription
//! took its copy. The core sends the acks in arrival order
//! [MQTT-4.6.0-2], [MQTT-4.6.0-3], holding a later one back until the
//! earlier ones are given.

use super::Dispatch;
use crate::delivery::AckHandle;
use futures_core::Stream;
use mqtt_proto::{AckToken, Connection};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Debug, Default)]
pub(super) struct ManualAcks {
    /// Handles send their key here; unbounded, as each key is sent once
    /// and the keys outstanding are bounded by the broker's window. Made
    /// with the first message handed out by hand: most clients never do.
    channel: Option<AckChannel>,
    /// Messages every subscription took, waiting for acks by hand: the
    /// core's token and how many acks are still to come.
    waiting: BTreeMap<u64, (AckToken, usize)>,
    next_key: u64,
}

#[derive(Debug)]
struct AckChannel {
    to_driver: async_channel::Sender<u64>,
    from_handles: Pin<Box<async_channel::Receiver<u64>>>,
}

impl ManualAcks {
    pub(super) fn next_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    pub(super) fn handle(&mut self, key: u64) -> AckHandle {
        let channel = self.channel.get_or_insert_with(|| {
            let (to_driver, from_handles) = async_channel::unbounded();
            AckChannel {
                to_driver,
                from_handles: Box::pin(from_handles),
            }
        });
        AckHandle {
            key,
            to_driver: channel.to_driver.clone(),
        }
    }
}

impl Dispatch {
    /// A held message reached every subscription: acknowledge it now, or
    /// once the copies handed out by hand are acked.
    pub(super) fn settle(
        &mut self,
        conn: &mut Connection,
        ack: AckToken,
        key: u64,
        by_hand: usize,
    ) {
        if by_hand == 0 {
            let _ = conn.ack(ack);
        } else {
            self.manual_acks.waiting.insert(key, (ack, by_hand));
        }
    }

    /// Takes the acks the application gave; returns whether there were any.
    pub(crate) fn poll_manual_acks(&mut self, conn: &mut Connection, cx: &mut Context<'_>) -> bool {
        let mut any = false;
        while let Some(channel) = self.manual_acks.channel.as_mut() {
            let Poll::Ready(Some(key)) = channel.from_handles.as_mut().poll_next(cx) else {
                break;
            };
            any = true;
            self.acked_by_hand(conn, key);
        }
        any
    }

    /// Takes the acks already given, without waiting: before a close, so
    /// that they leave ahead of DISCONNECT.
    pub(super) fn take_manual_acks(&mut self, conn: &mut Connection) {
        while let Some(Ok(key)) = self
            .manual_acks
            .channel
            .as_ref()
            .map(|channel| channel.from_handles.try_recv())
        {
            self.acked_by_hand(conn, key);
        }
    }

    fn acked_by_hand(&mut self, conn: &mut Connection, key: u64) {
        let Some((_, left)) = self.manual_acks.waiting.get_mut(&key) else {
            return;
        };
        *left -= 1;
        if *left == 0 {
            if let Some((token, _)) = self.manual_acks.waiting.remove(&key) {
                // A token of a session the broker no longer holds is
                // refused; the broker sends that message again anyway.
                let _ = conn.ack(token);
            }
        }
    }
}
