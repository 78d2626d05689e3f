//! The runtime-neutral half of the MQTT 3.1.1 client: the handles
//! ([`Client`], [`Subscription`]), [`Options`], [`Error`], and the driver
//! loop, written once over the [`Runtime`] trait (futures-io streams, a
//! timer, a spawner). `mqtt-tokio` and `mqtt-async-std` each implement
//! `Runtime` in a few lines and re-export these types, so both adapters run
//! the same code and behave the same.
//!
//! The MQTT session itself is `mqtt_proto::Connection`; this crate moves
//! bytes and keeps time around it, routes messages to subscriptions and
//! keeps the books of pending requests.
//!
//! # Transports
//!
//! The URL scheme of each server picks the transport: `mqtt://` (TCP),
//! `mqtts://` (TLS, with [`TlsOptions`]), `ws://` and `wss://` (WebSocket,
//! optionally over TLS). A [`Connector`] replaces the runtime's TCP with a
//! stream of the user's own. Several servers are tried in order. TLS and
//! WebSocket are implemented here once, on futures-io streams, for every
//! runtime.
//!
//! ```no_run
//! # async fn demo<R: mqtt_client::Runtime>() -> Result<(), mqtt_client::Error> {
//! use mqtt_client::{Client, Options, TlsOptions};
//!
//! // Mutual TLS with a private CA.
//! let options = Options::from_url("mqtts://broker.example:8883")?.tls(
//!     TlsOptions::new()
//!         .ca_file("ca.pem")
//!         .client_cert_files("device.pem", "device.key"),
//! );
//! let client = Client::<R>::connect(options).await?;
//!
//! // MQTT over secure WebSocket, with a header the upgrade must carry.
//! let options = Options::from_url("wss://broker.example/mqtt")?
//!     .websocket_header("Authorization", "Bearer 3q2+7w==");
//! let client = Client::<R>::connect(options).await?;
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
//! - **Messages before their subscription**: a resumed session may deliver
//!   stored messages right after CONNACK, before the application has called
//!   `subscribe` again. Messages that match no subscription are held (QoS 1
//!   and 2 unacknowledged) for [`Options::unmatched_grace`], and go to the
//!   first subscription made in that time that matches them; after it they
//!   are acknowledged and dropped, with a warning.
//! - **Reconnect**: on connection loss the driver waits per an exponential
//!   backoff with jitter, reconnects, resumes the session (unacknowledged
//!   messages are resent by the core), and subscribes again when the broker
//!   says the session is gone. A refusal of identity or credentials stops it
//!   with [`Error::Refused`]: no retry storm.
//! - **Shutdown**: [`Client::disconnect`] or dropping every handle waits
//!   (bounded) for messages in flight, sends DISCONNECT and closes.
//!
//! Connect, reconnect and errors are reported through `tracing`.

#![deny(missing_docs)]

mod auth;
mod client;
mod delivery;
mod disconnect_reason;
mod driver;
mod error;
mod events;
mod options;
mod pending_publish;
mod request;
mod runtime;
mod store;
mod subscription;
mod transport;

pub use auth::Authenticator;
pub use client::Client;
pub use delivery::Delivery;
pub use disconnect_reason::DisconnectReason;
pub use error::{Error, TlsError, WebSocketError};
pub use events::{ConnectionEvent, Events};
pub use mqtt_proto;
pub use mqtt_proto::{Message, QoS, SubscribeOutcome};
pub use options::Options;
pub use pending_publish::PendingPublish;
pub use runtime::{BoxFuture, Runtime};
/// The rustls version this client is built with, for
/// [`TlsOptions::rustls_config`].
pub use rustls;
pub use store::{stored_session, Damage, Durability, StoreError};
pub use subscription::{ManualSubscription, Subscription};
pub use transport::{BoxedStream, ByteStream, Connector, Scheme, Server, TlsOptions};

// The README's Rust examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
