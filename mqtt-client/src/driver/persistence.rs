//! The session store in the driver. When the driver starts, the store is
//! opened and the core restored from the session it holds. Each round the
//! core's store ops are taken and committed in one go (group commit)
//! before any byte or event that came after them leaves: the core holds
//! those back until its ops are taken, and the driver writes nothing
//! before the commit returns. Publishes waiting for `stored` are answered
//! after the commit. A commit that fails stops the client with the store's
//! error: nothing that depended on it is written, and what was stored
//! before stays for the next start.

use crate::store::{Durability, FileStore};
use crate::Error;
use mqtt_proto::store::{StoreOp, StoredSession};
use mqtt_proto::{Connection, PublishId};

pub(super) struct Persistence {
    store: FileStore,
    /// Messages whose `Publish` op is in the batch being committed.
    batch: Vec<PublishId>,
}

impl std::fmt::Debug for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persistence").finish_non_exhaustive()
    }
}

impl Persistence {
    /// Opens the store of the session's client id in `dir` and builds the core from what it
    /// holds.
    pub(super) fn open(
        dir: &std::path::Path,
        durability: Durability,
        session: mqtt_proto::Options,
    ) -> Result<(Persistence, Connection), Error> {
        let client_id = session.client_id.to_string();
        let (store, stored) = FileStore::open(dir, &client_id, durability)?;
        log_restored(&stored);
        let conn = Connection::restore(session, &stored).map_err(|e| match e {
            mqtt_proto::store::RestoreError::Options(e) => Error::Options(e),
            other => Error::Restore(other),
        })?;
        Ok((
            Persistence {
                store,
                batch: Vec::new(),
            },
            conn,
        ))
    }

    /// Takes the core's ops and commits them; `stored` hears of each
    /// message now durable. Returns whether there were any.
    pub(super) fn commit(
        &mut self,
        conn: &mut Connection,
        mut stored: impl FnMut(PublishId),
    ) -> Result<bool, Error> {
        while let Some(op) = conn.poll_store() {
            if let StoreOp::Publish { id, .. } = &op {
                self.batch.push(*id);
            }
            self.store.append(&op);
        }
        if !self.store.has_pending() {
            return Ok(false);
        }
        self.store.commit().map_err(Error::from)?;
        for id in self.batch.drain(..) {
            stored(id);
        }
        Ok(true)
    }
}

fn log_restored(stored: &StoredSession) {
    let messages = stored.publishes().count();
    let received = stored.received().count();
    if messages + received > 0 {
        tracing::info!(messages, received, "restored the stored session");
    }
}
