//! The client's session store against a real mosquitto, on every runtime:
//! `PendingPublish::stored`, messages that outlive the client that
//! published them, and typed errors. The SIGKILL loop is `crash.rs`.
//!
//! Each scenario is written once over `Runtime` and instantiated per
//! runtime by `suite!`, as in `client_api.rs`. Every wait is bounded.

use mqtt_integration_tests::wait::block_on_tokio;

mod scenarios {
    use mqtt_client::{Client, Error, Options, QoS, Runtime, Subscription};
    use mqtt_integration_tests::broker::Mosquitto;
    use mqtt_integration_tests::on_smol;
    use mqtt_integration_tests::wait::within;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    const STEP: Duration = Duration::from_secs(5);
    const QUIET: Duration = Duration::from_millis(400);

    /// A fresh store directory; removed by the caller.
    fn store_dir() -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mqtt-it-store-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The options of a client on runtime `R` (see `on_smol::options`).
    fn options<R: Runtime>(port: u16, id: &str) -> Options {
        on_smol::options::<R>(
            Options::new("127.0.0.1", port)
                .client_id(id)
                .clean_session(false)
                .backoff(Duration::from_millis(50), Duration::from_millis(400))
                .connect_timeout(Duration::from_secs(3)),
        )
    }

    async fn subscriber<R: Runtime>(port: u16, topic: &str) -> Subscription<R> {
        let client = within(
            STEP,
            "subscriber connect",
            on_smol::connect::<R>(Options::new("127.0.0.1", port)),
        )
        .await
        .unwrap_or_else(|e| panic!("subscriber connect: {e}"));
        within(STEP, "subscribe", client.subscribe(topic, QoS::ExactlyOnce))
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"))
    }

    /// Everything that arrives until nothing has for `QUIET`.
    async fn drain<R>(sub: &mut Subscription<R>, at_least: usize) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        let deadline = Instant::now() + STEP;
        loop {
            let limit = if got.len() < at_least { STEP } else { QUIET };
            match mqtt_integration_tests::wait::timeout(limit, sub.next()).await {
                Ok(Some(m)) => got.push(m.payload.to_vec()),
                Ok(None) => panic!("the subscription ended"),
                Err(()) if got.len() < at_least && Instant::now() < deadline => {}
                Err(()) => return got,
            }
        }
    }

    /// Starts a client on `dir`, retrying while the previous client of the
    /// same store is still letting it go.
    async fn start_on_store<R: Runtime>(options: Options) -> Client<R> {
        let deadline = Instant::now() + STEP;
        loop {
            match Client::<R>::start(options.clone()) {
                Ok(client) => return client,
                Err(Error::Store(_)) if Instant::now() < deadline => {
                    async_io::Timer::after(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("start: {e}"),
            }
        }
    }

    /// Messages published while no broker is reachable are reported stored,
    /// outlive the client that took them, and are delivered once by the
    /// next client of the same store: QoS 2 exactly once
    /// [MQTT-4.3.3-1], in publish order [MQTT-4.6.0-1].
    pub async fn stored_messages_outlive_the_client<R: Runtime>() {
        let port = Mosquitto::reserve_port();
        let dir = store_dir();
        let opts = || options::<R>(port, "store-outlives").store_dir(&dir);
        {
            let client = Client::<R>::start(opts()).unwrap_or_else(|e| panic!("start: {e}"));
            for (n, qos) in [
                (1, QoS::AtLeastOnce),
                (2, QoS::ExactlyOnce),
                (3, QoS::ExactlyOnce),
            ] {
                let mut pending = within(
                    STEP,
                    "publish",
                    client.publish_pipelined("store/outlives", format!("m{n}"), qos),
                )
                .await
                .unwrap_or_else(|e| panic!("publish: {e}"));
                within(STEP, "stored", pending.stored())
                    .await
                    .unwrap_or_else(|e| panic!("stored: {e}"));
            }
            // The client goes away with nothing sent: no broker yet.
        }
        let broker = Mosquitto::start_on(port, "");
        let mut sub = subscriber::<R>(port, "store/outlives").await;
        let client = start_on_store::<R>(opts()).await;
        let got = drain(&mut sub, 3).await;
        assert_eq!(got, [b"m1".to_vec(), b"m2".to_vec(), b"m3".to_vec()]);
        within(STEP, "disconnect", client.disconnect())
            .await
            .unwrap_or_else(|e| panic!("disconnect: {e}"));
        drop(client);
        // Finished messages are gone from the store: it holds nothing to
        // send, and a third client of it sends nothing.
        let deadline = Instant::now() + STEP;
        let session = loop {
            match mqtt_client::stored_session(&dir, "store-outlives") {
                Err(mqtt_client::StoreError::InUse { .. }) if Instant::now() < deadline => {
                    async_io::Timer::after(Duration::from_millis(20)).await;
                }
                other => break other.unwrap_or_else(|e| panic!("stored_session: {e}")),
            }
        };
        assert_eq!(session.publishes().count(), 0, "{session:?}");
        assert_eq!(
            session.subscriptions().count(),
            0,
            "the publisher subscribed to nothing"
        );
        let client = start_on_store::<R>(opts()).await;
        assert!(drain(&mut sub, 0).await.is_empty(), "sent again");
        let _ = within(STEP, "disconnect", client.disconnect()).await;
        drop(broker);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `stored` resolves before the broker's acknowledgement does, and
    /// fails, typed, for what no store keeps.
    pub async fn stored_is_answered_and_typed<R: Runtime>(broker: &Mosquitto) {
        let dir = store_dir();
        let client = within(
            STEP,
            "connect",
            Client::<R>::connect(options::<R>(broker.port(), "store-typed").store_dir(&dir)),
        )
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
        let mut qos1 = within(
            STEP,
            "publish",
            client.publish_pipelined("store/typed", "1", QoS::AtLeastOnce),
        )
        .await
        .unwrap_or_else(|e| panic!("publish: {e}"));
        within(STEP, "stored", qos1.stored())
            .await
            .unwrap_or_else(|e| panic!("stored: {e}"));
        within(STEP, "puback", qos1)
            .await
            .unwrap_or_else(|e| panic!("puback: {e}"));

        let mut qos0 = within(
            STEP,
            "publish",
            client.publish_pipelined("store/typed", "0", QoS::AtMostOnce),
        )
        .await
        .unwrap_or_else(|e| panic!("publish: {e}"));
        assert!(matches!(qos0.stored().await, Err(Error::NotStored)));
        let _ = within(STEP, "disconnect", client.disconnect()).await;

        let plain = within(
            STEP,
            "connect",
            on_smol::connect::<R>(Options::new("127.0.0.1", broker.port())),
        )
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
        let mut unstored = within(
            STEP,
            "publish",
            plain.publish_pipelined("store/typed", "2", QoS::ExactlyOnce),
        )
        .await
        .unwrap_or_else(|e| panic!("publish: {e}"));
        assert!(matches!(unstored.stored().await, Err(Error::NotStored)));
        let _ = within(STEP, "disconnect", plain.disconnect()).await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store that cannot be opened stops the client before it connects,
    /// with a typed error.
    pub async fn an_unusable_store_is_a_typed_error<R: Runtime>() {
        let dir = store_dir();
        std::fs::write(&dir, b"a file, not a directory").expect("write");
        let port = Mosquitto::reserve_port();
        let result = Client::<R>::start(options::<R>(port, "store-unusable").store_dir(&dir));
        assert!(
            matches!(result, Err(Error::Store(_))),
            "{:?}",
            result.map(|_| ())
        );
        let _ = std::fs::remove_file(&dir);
    }
}

/// `suite!(module, Runtime type, block_on)`.
macro_rules! suite {
    ($flavor:ident, $runtime:ty, $block_on:path) => {
        mod $flavor {
            use super::scenarios;
            use mqtt_integration_tests::broker::Mosquitto;

            type R = $runtime;

            fn run<F: std::future::Future>(scenario: F) -> F::Output {
                $block_on(Box::pin(scenario))
            }

            #[test]
            fn stored_messages_outlive_the_client() {
                run(scenarios::stored_messages_outlive_the_client::<R>());
            }

            #[test]
            fn stored_is_answered_and_typed() {
                let broker = Mosquitto::start("");
                run(scenarios::stored_is_answered_and_typed::<R>(&broker));
            }

            #[test]
            fn an_unusable_store_is_a_typed_error() {
                run(scenarios::an_unusable_store_is_a_typed_error::<R>());
            }
        }
    };
}

suite!(tokio, mqtt_tokio::Tokio, super::block_on_tokio);
suite!(
    async_std,
    mqtt_async_std::AsyncStd,
    ::async_std::task::block_on
);
// Every driver here runs on smol's executor through the spawner option.
suite!(
    smol,
    mqtt_integration_tests::on_smol::Smol,
    ::smol::block_on
);
