//! Enhanced authentication (MQTT 5.0 section 4.12) in the driver: each
//! AUTH challenge of the broker goes to the application's
//! [`Authenticator`](crate::Authenticator), and its answer back to the
//! core. An authenticator that gives up ends the client with
//! `Error::Auth`: retrying would only meet the same challenge.

use super::Driver;
use crate::runtime::Runtime;
use crate::Error;
use mqtt_proto::packet::v5::{AuthProperties, ReasonCode};

impl<R: Runtime> Driver<R> {
    pub(super) fn on_auth(&mut self, reason: ReasonCode, properties: AuthProperties) {
        // The core reports AUTH only to a connection that named a method,
        // which only `Options::authenticator` sets.
        let Some(auth) = self.authenticator.clone() else {
            return;
        };
        let data = properties.authentication_data.as_deref();
        if reason != ReasonCode::ContinueAuthentication {
            auth.success(data);
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
