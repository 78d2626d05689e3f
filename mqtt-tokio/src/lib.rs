//! Placeholder for the tokio adapter: it will drive an
//! [`mqtt_proto`] connection over tokio TCP. Nothing here yet; the codec
//! in `mqtt-proto` is the first layer being built.

pub use mqtt_proto;
