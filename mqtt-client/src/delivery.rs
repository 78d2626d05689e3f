//! What a subscription hands out: a [`Delivery`], the message with, on a
//! manual-ack subscription, the means to acknowledge it. The driver sends
//! the acknowledgement (PUBACK, or PUBREC for QoS 2) only once the
//! application called [`Delivery::ack`] for every manual-ack subscription
//! the message went to; acks leave in the order the messages arrived
//! [MQTT-4.6.0-2], [MQTT-4.6.0-3]. A delivery dropped without `ack` is
//! never acknowledged: the broker sends the message again on the next
//! connection of the session (as it does after a crash). Since acks leave
//! in order, the acks of later messages wait behind it until then.

use mqtt_proto::Message;
use std::ops::Deref;

/// A message from a subscription made with
/// [`Client::subscribe_manual`](crate::Client::subscribe_manual), to be
/// acknowledged with [`ack`](Self::ack) once processed. It dereferences to
/// the [`Message`].
///
/// ```no_run
/// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
/// # use mqtt_client::QoS;
/// # let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
/// while let Some(job) = jobs.next().await {
///     // Deref: `job.topic`, `job.payload` are the message's.
///     println!("running {} ({} bytes)", job.topic, job.payload.len());
///     job.ack(); // processed: the broker may forget it
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Delivery {
    message: Message,
    ack: Option<AckHandle>,
}

/// Tells the driver one manual delivery was processed.
#[derive(Debug)]
pub(crate) struct AckHandle {
    pub(crate) key: u64,
    pub(crate) to_driver: async_channel::Sender<u64>,
}

impl Delivery {
    pub(crate) fn new(message: Message, ack: Option<AckHandle>) -> Delivery {
        Delivery { message, ack }
    }

    /// The message.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// # use mqtt_client::QoS;
    /// # let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
    /// if let Some(job) = jobs.next().await {
    ///     let message: &mqtt_client::Message = job.message();
    ///     println!("{} retained={}", message.topic, message.retain);
    ///     job.ack();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Acknowledges the message: its PUBACK or PUBREC may now go out (after
    /// those of earlier messages). QoS 0 messages need none; for them this
    /// does nothing.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// # use mqtt_client::QoS;
    /// # let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
    /// while let Some(job) = jobs.next().await {
    ///     std::fs::write("job.bin", &job.payload[..]).map_err(mqtt_client::Error::from)?;
    ///     job.ack(); // only once the job is safely stored
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ack(mut self) {
        if let Some(handle) = self.ack.take() {
            // Unbounded: fails only when the client has stopped, and then
            // the broker sends the message again to the next session.
            let _ = handle.to_driver.try_send(handle.key);
        }
    }

    /// Whether the message waits for [`ack`](Self::ack) (QoS 1 or 2).
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// # use mqtt_client::QoS;
    /// # let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
    /// if let Some(job) = jobs.next().await {
    ///     // QoS 0 messages arrive without an acknowledgement to give.
    ///     assert_eq!(job.needs_ack(), job.qos != QoS::AtMostOnce);
    ///     job.ack();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn needs_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// The message, giving up the acknowledgement: the broker sends it
    /// again on the session's next connection.
    ///
    /// ```no_run
    /// # async fn demo<R: mqtt_client::Runtime>(client: mqtt_client::Client<R>) -> Result<(), mqtt_client::Error> {
    /// # use mqtt_client::QoS;
    /// # let mut jobs = client.subscribe_manual(&[("jobs/#", QoS::AtLeastOnce)]).await?;
    /// if let Some(job) = jobs.next().await {
    ///     // Not acknowledged: the broker delivers it again on the next connection.
    ///     let message = job.into_message();
    ///     println!("postponed {}", message.topic);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn into_message(self) -> Message {
        self.message
    }
}

impl Deref for Delivery {
    type Target = Message;

    fn deref(&self) -> &Message {
        &self.message
    }
}
