//! The interoperability matrix: one scenario suite, run against four real
//! brokers (mosquitto, rumqttd, aedes, amqtt; see
//! `mqtt_integration_tests::interop`) on every runtime (tokio, async-std,
//! smol), each test with a private broker started by its harness.
//!
//! Tests are named `<broker>::<runtime>::<scenario>`, so one broker's share
//! runs with `cargo nextest run -p mqtt-integration-tests --test interop
//! -E 'test(/^aedes::/)'`.
//!
//! Where the standard leaves a choice to the broker (a MAY or SHOULD, or
//! something it does not say), the scenario accepts every allowed outcome
//! and records the one the broker chose; where a broker breaks a MUST, the
//! scenario records the broker's bug with the statement's id and checks that
//! our client still behaves. What a run records ([`record`]) becomes the
//! README's table (`scripts/interop-table`).
//!
//! Normative statements of MQTT 3.1.1 (OASIS, 29 October 2014) are cited as
//! [MQTT-x.y.z-n] where a check relies on one.

mod record;
mod scenarios;

use mqtt_integration_tests::steps::within;
use record::Ctx;
use std::future::Future;
use std::time::Duration;

/// No scenario may take longer than this, whatever goes wrong.
const TEST_BOUND: Duration = Duration::from_secs(60);

/// Runs `scenario` under the overall bound; records the pass when it
/// returns (a panic records nothing, and the test fails).
async fn bounded<F: Future<Output = ()>>(ctx: Ctx, scenario: F) {
    let started = std::time::Instant::now();
    within(TEST_BOUND, &ctx.name(), scenario).await;
    eprintln!("{}: {:?}", ctx.name(), started.elapsed());
    ctx.passed();
}

/// Calls `$callback!($($args)*, [every scenario])`: the one list of the
/// scenarios, so that every broker and runtime runs all of them.
macro_rules! with_scenarios {
    ($callback:ident ! ($($args:tt)*)) => {
        $callback!(
            $($args)*,
            [
                qos_both_ways,
                retained,
                dollar_topics,
                overlapping_subscriptions,
                unsubscribe,
                large_payloads,
                will,
                keep_alive,
                clean_session,
                persistent_session,
                network_failure,
                takeover,
                broker_restart,
                mqtt_v31,
            ]
        );
    };
}

/// One `#[test]` per scenario for one broker on one runtime.
macro_rules! runtime_tests {
    ($kind:ident, $flavor:ident, $runtime:ty, $block_on:path, [$($scenario:ident),* $(,)?]) => {
        mod $flavor {
            use crate::record::Ctx;
            use mqtt_integration_tests::interop::Kind;
            $(
                #[test]
                fn $scenario() {
                    let ctx = Ctx::new(Kind::$kind, stringify!($flavor), stringify!($scenario));
                    // Boxed: `block_on` then moves a pointer, not the large
                    // scenario future (async-std's `block_on` copies what it
                    // is given many times over in unoptimised builds).
                    $block_on(Box::pin(crate::bounded(
                        ctx.clone(),
                        crate::scenarios::$scenario::<$runtime>(ctx),
                    )));
                }
            )*
        }
    };
}

/// The whole suite for one broker, on each runtime.
macro_rules! broker_tests {
    ($module:ident, $kind:ident) => {
        mod $module {
            with_scenarios!(runtime_tests!(
                $kind,
                tokio,
                mqtt_tokio::Tokio,
                mqtt_integration_tests::wait::block_on_tokio
            ));
            with_scenarios!(runtime_tests!(
                $kind,
                async_std,
                mqtt_async_std::AsyncStd,
                ::async_std::task::block_on
            ));
            with_scenarios!(runtime_tests!(
                $kind,
                smol,
                mqtt_integration_tests::on_smol::Smol,
                ::smol::block_on
            ));
        }
    };
}

broker_tests!(mosquitto, Mosquitto);
broker_tests!(rumqttd, Rumqttd);
broker_tests!(aedes, Aedes);
broker_tests!(amqtt, Amqtt);
