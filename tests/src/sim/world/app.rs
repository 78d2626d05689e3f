//! What the application does with the clients: publish, subscribe,
//! unsubscribe and close gracefully, each answer held to what the core
//! promises (a close under way refuses every command with `Closing`, and
//! nothing else does).

use super::{tracing, World, FILTER, PUBLISHER};
use core::time::Duration;
use mqtt_proto::{Message, PublishError, PublishId, QoS, SubscribeError, TopicFilter};

impl World {
    /// The publisher publishes message `n`: its id, `None` if the queue
    /// was full or a close is under way, or an error if `publish` answered
    /// otherwise than it should.
    pub fn publish(&mut self, n: u64, qos: QoS) -> Result<Option<PublishId>, String> {
        let topic = format!("sim/{}", n % 5);
        let message = Message::new(&topic, format!("m{n}"), qos).map_err(|e| e.to_string())?;
        let c = &mut self.clients[PUBLISHER];
        let closing = c.conn.is_closing();
        match c.conn.publish(message) {
            Ok(id) if !closing => {
                c.publishes.on_accepted(id, n, qos);
                self.net.stats.published += 1;
                Ok(Some(id))
            }
            Err(PublishError::QueueFull) if !closing => {
                self.net.stats.queue_full += 1;
                Ok(None)
            }
            Err(PublishError::Closing) if closing => {
                self.net.stats.refused_closing += 1;
                Ok(None)
            }
            other => Err(format!(
                "publish while closing={closing} answered {other:?}"
            )),
        }
    }

    /// The publisher subscribes to `filters`, or unsubscribes from them.
    pub fn publisher_request(
        &mut self,
        filters: Vec<(TopicFilter, QoS)>,
        unsubscribe: bool,
    ) -> Result<(), String> {
        let c = &mut self.clients[PUBLISHER];
        let closing = c.conn.is_closing();
        let result = if unsubscribe {
            c.conn
                .unsubscribe(filters.into_iter().map(|(f, _)| f).collect())
                .map(|_| c.subs.on_unsubscribe())
        } else {
            let names = filters.iter().map(|(f, _)| f.clone()).collect();
            c.conn
                .subscribe(filters)
                .map(|pid| c.subs.on_subscribe(pid.get(), names))
        };
        match result {
            Ok(()) if !closing => Ok(()),
            Err(SubscribeError::Closing) if closing => Ok(()),
            Err(SubscribeError::TooManyPending | SubscribeError::NoPacketId) if !closing => Ok(()),
            other => Err(format!(
                "subscribe or unsubscribe while closing={closing} answered {other:?}"
            )),
        }
    }

    /// The application closes client `i` gracefully, waiting up to `drain`
    /// for its messages; it starts the client again a little after.
    pub fn disconnect(&mut self, i: usize, drain: Duration) -> Result<(), String> {
        let now = self.now;
        let c = &mut self.clients[i];
        let drained = c.conn.inflight() == 0 && c.conn.queued() == 0;
        if tracing() {
            eprintln!(
                "{now:?} {} disconnect, drain {drain:?}, in {:?}",
                c.id,
                c.conn.state()
            );
        }
        c.policy
            .on_close(now, drain, c.conn.state(), c.conn.is_closing(), drained)?;
        c.conn.disconnect(now, drain);
        c.closing = true;
        Ok(())
    }

    /// The subscriber subscribes to [`FILTER`].
    pub fn subscribe(&mut self, i: usize) -> Result<(), String> {
        let filter = TopicFilter::try_from(FILTER).map_err(|e| e.to_string())?;
        let c = &mut self.clients[i];
        let pid = c
            .conn
            .subscribe(vec![(filter.clone(), QoS::ExactlyOnce)])
            .map_err(|e| e.to_string())?;
        c.subs.on_subscribe(pid.get(), vec![filter]);
        Ok(())
    }
}
