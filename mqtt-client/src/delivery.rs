//! What a subscription hands out: a [`Delivery`], the message with, on a
//! manual-ack subscription, the means to acknowledge it. The driver sends
//! the acknowledgement (PUBACK, or PUBREC for QoS 2) only once the
//! application called [`Delivery::ack`] for every manual-ack subscription
//! the message went to; acks leave in the order the messages arrived
//! [MQTT-4.6.0-2], [MQTT-4.6.0-3]. A delivery dropped without `ack` is
//! never acknowledged: the broker sends the message again on the next
//! connection of the session (as it does after a crash). Since acks leave
//! in order, the acks of later messages wait behind it until then.

use mqtt_proto::Message;
use std::ops::Deref;

/// A message from a subscription made with
/// [`Client::subscribe_manual`](crate::Client::subscribe_manual), to be
/// acknowledged with [`ack`](Self::ack) once processed. It dereferences to
/// the [`Message`].
#[derive(Debug)]
pub struct Delivery {
    message: Message,
    ack: Option<AckHandle>,
}

/// Tells the driver one manual delivery was processed.
#[derive(Debug)]
pub(crate) struct AckHandle {
    pub(crate) key: u64,
    pub(crate) to_driver: async_channel::Sender<u64>,
}

impl Delivery {
    pub(crate) fn new(message: Message, ack: Option<AckHandle>) -> Delivery {
        Delivery { message, ack }
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Acknowledges the message: its PUBACK or PUBREC may now go out (after
    /// those of earlier messages). QoS 0 messages need none; for them this
    /// does nothing.
    pub fn ack(mut self) {
        if let Some(handle) = self.ack.take() {
            // Unbounded: fails only when the client has stopped, and then
            // the broker sends the message again to the next session.
            let _ = handle.to_driver.try_send(handle.key);
        }
    }

    /// Whether the message waits for [`ack`](Self::ack) (QoS 1 or 2).
    pub fn needs_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// The message, giving up the acknowledgement: the broker sends it
    /// again on the session's next connection.
    pub fn into_message(self) -> Message {
        self.message
    }
}

impl Deref for Delivery {
    type Target = Message;

    fn deref(&self) -> &Message {
        &self.message
    }
}
