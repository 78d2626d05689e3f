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
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

mod backoff;
pub mod connection;
pub mod packet;
pub mod router;
mod string;
mod time;
pub mod topic;

pub use backoff::Backoff;
pub use connection::{
    is_final_refusal, AckError, AckToken, Connection, DisconnectReason, Event, Message, Options,
    OptionsError, ProtocolViolation, PublishError, PublishId, ReconnectOptions, SessionLostPolicy,
    State, SubscribeError, SubscribeOutcome,
};
pub use packet::{PacketId, QoS};
pub use router::Router;
pub use string::{MqttString, StringError};
pub use time::Instant;
pub use topic::{TopicFilter, TopicName};
