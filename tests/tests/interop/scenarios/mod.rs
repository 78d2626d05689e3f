//! The scenarios of the matrix, each an `async fn name<R: Runtime>(ctx)`
//! that starts the broker it needs (`ctx.kind()`), by theme:
//!
//! - [`delivery`]: QoS both ways, overlapping subscriptions, unsubscribe,
//!   large payloads;
//! - [`retained`]: retained messages and `$` topics;
//! - [`connection`]: wills, keep-alive, MQTT 3.1;
//! - [`sessions`]: clean and persistent sessions, takeover, broker restart.

mod connection;
mod delivery;
mod retained;
mod sessions;

pub use connection::{keep_alive, mqtt_v31, will};
pub use delivery::{large_payloads, overlapping_subscriptions, qos_both_ways, unsubscribe};
pub use retained::{dollar_topics, retained};
pub use sessions::{broker_restart, clean_session, network_failure, persistent_session, takeover};

use mqtt_client::{Message, Options, QoS, Subscription};
use mqtt_integration_tests::interop::Broker;
use mqtt_integration_tests::steps::{self, timeout, QUIET, STEP};
use std::time::{Duration, Instant};

/// The three levels, lowest first.
const LEVELS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

/// Options for a client of `broker` called `id`, with the suites' fast
/// reconnect.
fn options(broker: &Broker, id: &str) -> Options {
    steps::options(broker.port()).client_id(id)
}

/// Messages arriving on `sub`: at least `n` within [`STEP`], then whatever
/// else comes until [`QUIET`] passes without one.
async fn collect<R>(sub: &mut Subscription<R>, n: usize, what: &str) -> Vec<Message> {
    let give_up = Instant::now() + STEP;
    let mut got = Vec::new();
    loop {
        let wait = if got.len() < n {
            give_up.saturating_duration_since(Instant::now())
        } else {
            QUIET
        };
        match timeout(wait, sub.next()).await {
            Ok(Some(m)) => got.push(m),
            Ok(None) => panic!("{what}: the subscription ended after {got:?}"),
            Err(()) if got.len() < n => {
                panic!(
                    "{what}: {} of {n} messages within {STEP:?}: {got:?}",
                    got.len()
                )
            }
            Err(()) => return got,
        }
    }
}

/// `what` arrives on `sub` within `limit`, or `None`.
async fn maybe_next<R>(sub: &mut Subscription<R>, limit: Duration) -> Option<Message> {
    timeout(limit, sub.next()).await.ok().flatten()
}

fn text(m: &Message) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}
