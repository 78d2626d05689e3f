//! Graceful close: [`Connection::disconnect`] stops taking publishes and
//! requests, waits up to a drain deadline for the messages in flight and
//! queued to complete, then sends DISCONNECT [MQTT-3.14.4-1]. The close is
//! over at the next `Event::Disconnected`, whatever its reason (a
//! connection that dies while draining ends the close too); no reconnect
//! follows it. The session stays for a later `connect` or `start`.

use super::timer::Timer;
use super::{Connection, DisconnectReason, State};
use crate::packet::Packet;
use crate::time::Instant;
use core::time::Duration;

impl Connection {
    /// Ends the connection cleanly. Connected, it first waits up to `drain`
    /// for every publish in flight or queued to complete (a timer at the
    /// deadline, in `poll_timeout`), then queues DISCONNECT; once
    /// `poll_transmit` hands it out, [`Event::Disconnected`](super::Event::Disconnected)
    /// with [`DisconnectReason::Requested`] follows: close the transport.
    /// Nothing is sent after DISCONNECT [MQTT-3.14.4-2]. With `drain` zero,
    /// DISCONNECT is queued at once.
    ///
    /// Not connected (a transport being opened, CONNACK awaited, a
    /// reconnect waiting for its delay, or idle), the close is immediate:
    /// `Event::Disconnected` with `Requested` comes out at once and any
    /// scheduled reconnect is cancelled. While closing, `publish`,
    /// `subscribe` and `unsubscribe` fail with their `Closing` error.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::{Connection, DisconnectReason, Event, Instant, Message, MqttString, Options, QoS};
    ///
    /// let mut conn = Connection::new(Options::new(MqttString::try_from("closer").unwrap())).unwrap();
    /// let t0 = Instant::ZERO;
    /// conn.connect(t0);
    /// conn.handle_read(t0, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap();
    /// while conn.poll_transmit(t0).is_some() {}
    ///
    /// conn.disconnect(t0, Duration::from_secs(5)); // waits for the PUBACK
    /// assert!(conn.poll_transmit(t0).is_none());
    /// conn.handle_read(t0, &[0x40, 0x02, 0x00, 0x01]); // PUBACK 1
    /// assert_eq!(&conn.poll_transmit(t0).unwrap()[..], &[0xE0, 0x00]); // DISCONNECT
    /// let last = std::iter::from_fn(|| conn.poll_event()).last();
    /// assert_eq!(last, Some(Event::Disconnected { reason: DisconnectReason::Requested }));
    /// ```
    pub fn disconnect(&mut self, now: Instant, drain: Duration) {
        self.now = self.now.max(now);
        self.cancel_reconnect();
        // A request for a transport not yet taken is withdrawn: a loop that
        // handles events in order must not open one after the close.
        self.events
            .retain(|e| !matches!(e, super::Event::OpenTransport { .. }));
        match self.state {
            State::Connected if !self.closing => {
                self.closing = true;
                if drain.is_zero() || self.drained() {
                    self.send_disconnect();
                } else {
                    self.timers.set(Timer::Close, now + drain);
                }
            }
            State::Connected if drain.is_zero() => self.send_disconnect(),
            State::Connected | State::Disconnecting => {}
            State::Opening | State::Connecting => {
                self.closing = true;
                self.lose(DisconnectReason::Requested);
            }
            State::Disconnected => {
                self.events.push_back(super::Event::Disconnected {
                    reason: DisconnectReason::Requested,
                });
            }
        }
    }

    /// Whether a close is under way: `disconnect` was called and its
    /// `Event::Disconnected` has not come out yet.
    ///
    /// ```
    /// # use mqtt_proto::{Connection, Instant, MqttString, Options};
    /// # let mut conn = Connection::new(Options::new(MqttString::try_from("doc").unwrap())).unwrap();
    /// # let now = Instant::ZERO;
    /// # conn.connect(now);
    /// # conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]); // CONNACK
    /// # while conn.poll_transmit(now).is_some() {}
    /// # while conn.poll_event().is_some() {}
    /// use core::time::Duration;
    /// use mqtt_proto::{Message, PublishError, QoS};
    ///
    /// conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap()).unwrap();
    /// conn.disconnect(now, Duration::from_secs(5)); // drains the PUBACK first
    /// assert!(conn.is_closing());
    /// let late = Message::new("t", "late", QoS::AtMostOnce).unwrap();
    /// assert_eq!(conn.publish(late), Err(PublishError::Closing));
    /// ```
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    fn drained(&self) -> bool {
        // QoS 0 messages already encoded are not waited for: DISCONNECT
        // goes out behind them, and they complete when handed out with it.
        self.outgoing.inflight.is_empty() && self.outgoing.queue.is_empty()
    }

    /// While draining: DISCONNECT goes out once nothing is left in flight.
    pub(super) fn check_drained(&mut self) {
        if self.closing && self.state == State::Connected && self.drained() {
            self.send_disconnect();
        }
    }

    /// The drain deadline passed: DISCONNECT now, whatever is in flight
    /// (it stays in the session for a later connection).
    pub(super) fn on_close_deadline(&mut self, now: Instant) {
        if self.closing && self.state == State::Connected && self.timers.is_due(Timer::Close, now) {
            self.send_disconnect();
        }
    }

    fn send_disconnect(&mut self) {
        self.encode(&Packet::Disconnect);
        self.disconnect_in_tx = true;
        self.state = State::Disconnecting;
        self.timers.clear();
    }
}
