//! Enhanced authentication (MQTT 5.0 section 4.12) in the driver: each
//! AUTH challenge of the broker goes to the application's
//! [`Authenticator`](crate::Authenticator), and its answer back to the
//! core. An authenticator that gives up ends the client with
//! `Error::Auth`: retrying would only meet the same challenge.

use super::Driver;
use super::Responder;
use crate::runtime::Runtime;
use crate::Error;
use mqtt_proto::packet::v5::{AuthProperties, ReasonCode};

impl<R: Runtime> Driver<R> {
    /// `Client::reauthenticate`: AUTH with reason Re-authenticate and the
    /// authenticator's first data; `done` is answered when the broker
    /// says Success, or the connection ends.
    pub(super) fn reauthenticate(&mut self, done: Responder<()>) {
        let Some(auth) = self.authenticator.clone() else {
            let _ = done.send(Err(Error::Auth("no authenticator is set".to_owned())));
            return;
        };
        match self.conn.reauthenticate(auth.start()) {
            Ok(()) => {
                if let Some(earlier) = self.reauthenticating.replace(done) {
                    let _ = earlier.send(Err(Error::Auth(
                        "a later re-authentication replaced this one".to_owned(),
                    )));
                }
            }
            Err(e) => {
                let _ = done.send(Err(Error::Auth(e.to_string())));
            }
        }
    }

    /// The connection ended: a re-authentication under way cannot finish.
    pub(super) fn abandon_reauthentication(&mut self) {
        if let Some(done) = self.reauthenticating.take() {
            let _ = done.send(Err(Error::Closed));
        }
    }

    pub(super) fn on_auth(&mut self, reason: ReasonCode, properties: AuthProperties) {
        // The core reports AUTH only to a connection that named a method,
        // which only `Options::authenticator` sets.
        let Some(auth) = self.authenticator.clone() else {
            return;
        };
        let data = properties.authentication_data.as_deref();
        if reason != ReasonCode::ContinueAuthentication {
            auth.success(data);
            if let Some(done) = self.reauthenticating.take() {
                let _ = done.send(Ok(()));
            }
            return;
        }
        match auth.challenge(data) {
            Ok(answer) => {
                if let Err(error) = self.conn.auth(answer) {
                    tracing::warn!(%error, "cannot answer the broker's AUTH");
                }
            }
            Err(why) => {
                tracing::error!(%why, "enhanced authentication abandoned");
                self.stream = None;
                self.out.clear();
                self.dispatch.fail(Error::Auth(why));
            }
        }
    }
}
