//! The session store: off by default (the session lives in memory and a
//! process that ends loses it); one option keeps it in files.

use super::Options;
use crate::store::Durability;
use crate::Error;
use std::path::{Path, PathBuf};

impl Options {
    /// Keeps the session in a file in `dir`, so that it survives the
    /// process: queued and in-flight QoS 1 and 2 messages, the incoming
    /// QoS 2 ids that keep exactly-once, and the subscriptions. A client
    /// started again with the same client id and directory resends every
    /// unfinished message with its packet id [MQTT-4.4.0-1] and hands no
    /// QoS 2 message it took before to the application again.
    /// [`PendingPublish::stored`](crate::PendingPublish::stored) tells when
    /// a message is on disk. Needs a client id of the caller's.
    ///
    /// The client's task commits once per round, however many messages
    /// the round carried, and the commit is a blocking call on that task:
    /// with [`Durability::Sync`](crate::Durability::Sync) each round waits
    /// for one sync of the disk, which paces the client (and holds the
    /// executor thread it runs on for that long).
    ///
    /// ```
    /// use mqtt_client::{Error, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .client_id("meter-17")
    ///     .clean_session(false)
    ///     .store_dir("/var/lib/meter/mqtt");
    /// assert!(options.check().is_ok());
    ///
    /// // A generated client id could never find its store again.
    /// let anonymous = Options::new("127.0.0.1", 1883).store_dir("/tmp/s");
    /// assert!(matches!(anonymous.check(), Err(Error::InvalidOption { option: "store_dir", .. })));
    /// ```
    pub fn store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store_dir = Some(dir.into());
        self
    }

    /// How hard each commit of the store pushes (default
    /// [`Durability::Sync`]: on disk, surviving a power cut).
    /// [`Durability::Flush`] hands the data to the operating system only:
    /// it survives the process being killed, not the machine stopping.
    ///
    /// ```
    /// use mqtt_client::{Durability, Options};
    ///
    /// let options = Options::new("127.0.0.1", 1883)
    ///     .client_id("meter-17")
    ///     .store_dir("/var/lib/meter/mqtt")
    ///     .store_durability(Durability::Flush);
    /// assert!(options.check().is_ok());
    /// ```
    pub fn store_durability(mut self, durability: Durability) -> Self {
        self.store_durability = durability;
        self
    }

    /// The store's directory, if any, checked against the client id.
    pub(crate) fn checked_store(&self) -> Result<Option<&Path>, Error> {
        match &self.store_dir {
            Some(_) if self.client_id.is_empty() => Err(Error::InvalidOption {
                option: "store_dir",
                reason: "a store needs a client id of the caller's".to_owned(),
            }),
            dir => Ok(dir.as_deref()),
        }
    }
}
