//! First light for the tokio client against a real mosquitto.

use mqtt_integration_tests::broker::Mosquitto;
use mqtt_tokio::{Client, Options, QoS};
use std::time::Duration;

#[tokio::test]
async fn publish_subscribe_round_trip_at_every_qos() {
    let broker = Mosquitto::start("");
    let client = Client::connect(Options::new("127.0.0.1", broker.port()))
        .await
        .unwrap();
    let mut sub = client.subscribe("smoke/#", QoS::ExactlyOnce).await.unwrap();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        client
            .publish("smoke/t", format!("{qos:?}"), qos)
            .await
            .unwrap();
        let msg = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(msg.payload, format!("{qos:?}"));
        assert_eq!(msg.qos, qos);
    }
    client.disconnect().await.unwrap();
}
