//! An MQTT 3.1.1 client for tokio.
//!
//! A thin driver around the sans-IO [`mqtt_proto::Connection`]: the driver
//! task owns the socket and the timers, the core owns every MQTT rule. The
//! [`Client`] handle is cheap to clone and `Send + Sync`; a [`Subscription`]
//! is a `Stream` of the messages matching its filters.
//!
//! ```no_run
//! use mqtt_tokio::{Client, Options, QoS};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), mqtt_tokio::Error> {
//! let client = Client::connect(Options::new("127.0.0.1", 1883).keep_alive(Duration::from_secs(60))).await?;
//! let mut sub = client.subscribe("sensors/#", QoS::AtMostOnce).await?;
//! client.publish("sensors/kitchen", "21.5", QoS::AtLeastOnce).await?; // resolves on PUBACK
//! if let Some(msg) = sub.next().await {
//!     println!("{}: {:?}", msg.topic, msg.payload);
//! }
//! client.disconnect().await?;
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! - **Completion**: `publish` resolves when the message is complete for its
//!   QoS (QoS 0 written, QoS 1 PUBACK, QoS 2 PUBCOMP); `try_publish` hands it
//!   over without waiting.
//! - **Backpressure**: when the core's queue is full the driver stops taking
//!   commands, so `publish` waits and `try_publish` fails with
//!   [`Error::Backpressure`]; memory stays bounded by the queue limits.
//! - **Slow consumers**: a QoS 1/2 message is acknowledged to the broker
//!   only once every matching subscription's channel took it. A full channel
//!   holds delivery (not the socket): the broker's inflight window then stops
//!   it sending, keep-alive keeps working, nothing is lost. QoS 0 messages to
//!   a full channel are dropped for that subscription.
//! - **Reconnect**: on connection loss the driver waits per an exponential
//!   backoff with jitter, reconnects, resumes the session (unacknowledged
//!   messages are resent by the core), and subscribes again when the broker
//!   says the session is gone. A refusal of identity or credentials stops it
//!   with [`Error::Refused`]: no retry storm.
//! - **Shutdown**: [`Client::disconnect`] or dropping every handle waits
//!   (bounded) for messages in flight, sends DISCONNECT and closes.
//!
//! Connect, reconnect and errors are reported through `tracing`.

mod client;
mod driver;
mod error;
mod options;

pub use client::{Client, ConnectionEvent, Subscription};
pub use error::Error;
pub use mqtt_proto;
pub use mqtt_proto::{Message, QoS, SubscribeOutcome};
pub use options::Options;
