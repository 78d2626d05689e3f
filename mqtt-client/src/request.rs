//! Request and response over MQTT 5.0 (section 4.10): a request carries a
//! Response Topic and Correlation Data; whoever answers publishes to that
//! topic with the same Correlation Data. [`Client::request`] does the
//! asking side in one call, [`Client::respond`] the answering side.

use crate::{Client, Error, Message, QoS, Runtime};
use bytes::Bytes;
use mqtt_proto::packet::v5::PublishProperties;
use mqtt_proto::TopicName;
use std::sync::atomic::{AtomicU64, Ordering};

/// Numbers the requests of this process: each gets a response topic and
/// correlation data of its own.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(0);

impl<R: Runtime> Client<R> {
    /// Publishes a request to `topic` and waits for its response: the
    /// request carries a Response Topic of this client's own
    /// (`{client id}/responses/{n}`, subscribed to for this request) and
    /// Correlation Data, and the first message on that topic with the
    /// same Correlation Data is the answer. Needs MQTT 5.0 at both ends
    /// (a 3.1.1 connection sends no properties). Wrap it in the runtime's
    /// timeout to bound the wait.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let answer = client.request("services/time", "now?", QoS::AtLeastOnce).await?;
    /// println!("the time service says {:?}", answer.payload);
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<Message, Error> {
        let n = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        let response_topic = format!("{}/responses/{n}", self.client_id());
        let correlation = Bytes::from(n.to_be_bytes().to_vec());
        let mut responses = self.subscribe(&response_topic, qos).await?;
        let properties = PublishProperties {
            response_topic: Some(TopicName::try_from(response_topic.as_str())?.into_mqtt_string()),
            correlation_data: Some(correlation.clone()),
            ..PublishProperties::default()
        };
        let request = Message::new(topic, payload, qos)?.with_properties(properties);
        self.publish_message(request).await?;
        while let Some(message) = responses.next().await {
            if message.properties().correlation_data.as_ref() == Some(&correlation) {
                // The topic was this request's alone.
                let _ = responses.unsubscribe().await;
                return Ok(message);
            }
        }
        Err(Error::Closed)
    }

    /// Answers `request` with `payload`: publishes to its Response Topic
    /// with its Correlation Data. Fails with `Error::NoResponseTopic` when
    /// the request asked for no response.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// use mqtt_client::QoS;
    ///
    /// let mut requests = client.subscribe("services/time", QoS::AtLeastOnce).await?;
    /// while let Some(request) = requests.next().await {
    ///     client.respond(&request, "12:00", QoS::AtLeastOnce).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn respond(
        &self,
        request: &Message,
        payload: impl Into<Bytes>,
        qos: QoS,
    ) -> Result<(), Error> {
        let asked = request.properties();
        let topic = asked
            .response_topic
            .as_ref()
            .ok_or(Error::NoResponseTopic)?;
        let properties = PublishProperties {
            correlation_data: asked.correlation_data.clone(),
            ..PublishProperties::default()
        };
        let response = Message::new(topic, payload, qos)?.with_properties(properties);
        self.publish_message(response).await
    }
}
