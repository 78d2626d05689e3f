//! The MQTT 3.1.1 protocol, sans IO.
//!
//! This crate owns the wire format and the client session state machine. It
//! never opens a socket, reads a clock, spawns a thread or names an async
//! runtime: bytes and timestamps come in as arguments, bytes and events go
//! out as return values. It is `#![no_std]` and needs only `alloc`.
//!
//! - [`Connection`]: the client session (connect, keep-alive, QoS 0/1/2 both
//!   ways, sessions across transports), driven by the caller's loop, with
//!   the session policy every loop needs: reconnect with backoff
//!   ([`ReconnectOptions`]), final refusals ([`is_final_refusal`]),
//!   resubscribing after a lost session, graceful close, and what a lost
//!   session does to messages in flight ([`SessionLostPolicy`]).
//! - [`packet`]: one type per control packet, with an incremental zero-copy
//!   [`decode`](packet::decode) and an [`encode`](packet::Packet::encode).
//! - [`topic`]: validated topic names and filters, and matching;
//!   [`Router`]: a topic-filter trie from names to subscriptions.
//! - [`Backoff`]: reconnect delays with seeded jitter; [`Instant`]: the
//!   caller's clock.
//! - [`MqttString`]: the UTF-8 string type of section 1.5.3.
//!
//! ```
//! use bytes::BytesMut;
//! use mqtt_proto::packet::{self, Packet, Publish, QosPid};
//! use mqtt_proto::{PacketId, TopicName};
//!
//! let publish = Publish {
//!     dup: false,
//!     qos_pid: QosPid::AtLeastOnce(PacketId::new(10).unwrap()),
//!     retain: false,
//!     topic: TopicName::try_from("hello/world").unwrap(),
//!     payload: "hi".into(),
//! };
//! let mut wire = BytesMut::new();
//! Packet::Publish(publish.clone()).encode(&mut wire).unwrap();
//!
//! // Decoding hands out one whole packet, or `None` until enough bytes arrived.
//! let mut rx = BytesMut::from(&wire[..3]);
//! assert_eq!(packet::decode(&mut rx, 1024), Ok(None));
//! rx.extend_from_slice(&wire[3..]);
//! assert_eq!(packet::decode(&mut rx, 1024), Ok(Some(Packet::Publish(publish))));
//! assert!(rx.is_empty());
//! ```
//!
//! # The drive loop
//!
//! A loop drives a [`Connection`] the same way whatever its IO: open the
//! transport the connection asks for, feed it what happened, write what it
//! hands out, and sleep until its next deadline. With a reconnect policy
//! the connection decides when and where to reconnect, resubscribes after a
//! lost session and closes gracefully; the loop only moves bytes. Here the
//! "network" is a stand-in broker that refuses the first transport and
//! then answers like a real one:
//!
//! ```
//! use core::time::Duration;
//! use mqtt_proto::{
//!     Connection, DisconnectReason, Event, Instant, Message, MqttString, Options, QoS,
//!     ReconnectOptions,
//! };
//!
//! let options = Options::new(MqttString::try_from("loop-example").unwrap())
//!     .reconnect(ReconnectOptions::new(1).backoff(
//!         Duration::from_millis(100),
//!         Duration::from_secs(10),
//!     ));
//! let mut conn = Connection::new(options).unwrap();
//! conn.publish(Message::new("hello", "world", QoS::AtLeastOnce).unwrap()).unwrap();
//!
//! let mut now = Instant::ZERO;
//! let mut transport_up = false;
//! let mut refused_once = false;
//! let mut to_broker = Vec::new();
//! let mut events = Vec::new();
//! conn.start(now);
//! for _ in 0..20 {
//!     // 1. Drain until both are empty: bytes out first, then an event
//!     //    (handling one may queue more bytes).
//!     loop {
//!         while let Some(bytes) = conn.poll_transmit(now) {
//!             to_broker.extend_from_slice(&bytes);
//!         }
//!         let Some(event) = conn.poll_event() else { break };
//!         match &event {
//!             Event::OpenTransport { .. } if !refused_once => {
//!                 refused_once = true;
//!                 conn.handle_closed(now); // could not open it
//!             }
//!             Event::OpenTransport { .. } => {
//!                 transport_up = true;
//!                 conn.connect(now);
//!             }
//!             Event::Published { .. } => conn.disconnect(now, Duration::from_secs(1)),
//!             Event::Disconnected { .. } => transport_up = false,
//!             _ => {}
//!         }
//!         events.push(event);
//!     }
//!     if matches!(events.last(), Some(Event::Disconnected { reason: DisconnectReason::Requested })) {
//!         break;
//!     }
//!     // 2. Wait for the transport or the deadline; the stand-in broker
//!     //    answers CONNECT with CONNACK and a QoS 1 PUBLISH with PUBACK.
//!     if transport_up && !to_broker.is_empty() {
//!         let reply: &[u8] = match to_broker[0] >> 4 {
//!             1 => &[0x20, 0x02, 0x00, 0x00],
//!             3 => &[0x40, 0x02, 0x00, 0x01],
//!             _ => &[],
//!         };
//!         to_broker.clear();
//!         conn.handle_read(now, reply);
//!     } else if let Some(deadline) = conn.poll_timeout() {
//!         now = deadline; // a real loop sleeps until then
//!         conn.handle_timeout(now);
//!     }
//! }
//! assert!(matches!(events[1], Event::Disconnected { reason: DisconnectReason::TransportClosed }));
//! assert!(matches!(events[2], Event::ReconnectScheduled { server: 0, .. }));
//! assert!(events.contains(&Event::Connected { session_present: false }));
//! assert_eq!(
//!     events.last(),
//!     Some(&Event::Disconnected { reason: DisconnectReason::Requested })
//! );
//! ```
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

mod backoff;
pub mod connection;
pub mod packet;
pub mod router;
pub mod store;
mod string;
mod time;
pub mod topic;

pub use backoff::Backoff;
pub use connection::{
    is_final_reason, is_final_refusal, AckError, AckToken, AuthError, Connection, DisconnectReason,
    Event, Message, Options, OptionsError, ProtocolViolation, PublishError, PublishId,
    ReconnectOptions, ServerReason, SessionLostPolicy, State, SubscribeError, SubscribeOutcome,
    V5Options,
};
pub use packet::{PacketId, QoS};
pub use router::Router;
pub use string::{MqttString, StringError};
pub use time::Instant;
pub use topic::{TopicFilter, TopicName};

// The README's Rust examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
