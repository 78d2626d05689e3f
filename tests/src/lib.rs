//! Integration tests that cross crate boundaries live in this crate's
//! `tests/` folder: the real-broker harness, the simulation and interop runs.
//! The library part is for helpers those tests share.
pub mod aedes;
pub mod amqtt;
pub mod broker;
pub mod broker_tls;
pub mod crash;
pub mod crash_check;
mod harness;
pub mod interop;
pub mod on_smol;
pub mod pki;
pub mod proxy;
pub mod rumqttd;
pub mod scripted;
pub mod sim;
pub mod steps;
pub mod wait;

// The workspace README's Rust examples are compiled and run as doc tests
// here, where every crate they use is in reach.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
