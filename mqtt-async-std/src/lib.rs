//! Placeholder for the async-std adapter: it will drive an
//! [`mqtt_proto`] connection over async-std TCP. Nothing here yet; the codec
//! in `mqtt-proto` is the first layer being built.

pub use mqtt_proto;
