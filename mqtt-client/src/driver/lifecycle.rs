//! The connection's lifecycle as the driver sees it: the core asks for a
//! transport (`Event::OpenTransport`), the driver opens it and tells the
//! core how it went; the core reports the connection up, lost, backing off
//! or given up, and the driver turns that into `ConnectionEvent`s and,
//! when the core gives up, into the error `Client::connect` returns. The
//! decisions (next server, backoff, final refusals) are the core's.

use super::Driver;
use crate::events::ConnectionEvent;
use crate::runtime::Runtime;
use crate::transport::BoxedStream;
use crate::{DisconnectReason, Error};
use mqtt_proto::{DisconnectReason as CoreReason, Event};
use std::io;

impl<R: Runtime> Driver<R> {
    /// Handles the lifecycle events; hands every other event back.
    pub(super) fn on_lifecycle(&mut self, event: Event) -> Option<Event> {
        match event {
            Event::OpenTransport { server } => self.open(server),
            Event::Disconnected { reason } => self.on_disconnected(reason),
            Event::ReconnectScheduled { delay, .. } => {
                tracing::info!(?delay, "reconnecting");
                self.dispatch.emit(ConnectionEvent::Reconnecting { delay });
            }
            Event::GaveUp => {
                let error = self.last_error.take().map_or(Error::Closed, |e| *e);
                self.dispatch.fail(error);
            }
            Event::Auth { reason, properties } => self.on_auth(reason, *properties),
            Event::Connected { .. } => {
                self.last_error = None;
                // An exchange begun in CONNECT ends with CONNACK, which
                // carries the broker's final data (section 4.12).
                if let Some(auth) = &self.authenticator {
                    let props = self.conn.connack_properties();
                    auth.success(props.and_then(|p| p.authentication_data.as_deref()));
                }
                return Some(event);
            }
            other => return Some(other),
        }
        None
    }

    fn open(&mut self, index: usize) {
        let Some(server) = self.servers.get(index).cloned() else {
            // The core only names servers it was told of.
            return;
        };
        tracing::debug!(%server, "connecting");
        self.dispatch.server = server.clone();
        self.stream = None;
        self.out.clear();
        self.connecting = Some(self.transport.open::<R>(server));
    }

    pub(super) fn on_opened(&mut self, result: Result<BoxedStream, Error>) {
        match result {
            Ok(stream) => {
                tracing::debug!(server = %self.dispatch.server, "transport open; sending CONNECT");
                self.stream = Some(stream);
                self.out.clear();
                self.transport_error = None;
                self.check_first_bytes = !self.dispatch.server.scheme().is_tls();
                self.conn.connect(self.now());
            }
            Err(e) => {
                self.transport_error = Some(Box::new(e));
                self.conn.handle_closed(self.now());
            }
        }
    }

    fn on_disconnected(&mut self, reason: CoreReason) {
        self.abandon_reauthentication();
        let cause = self.transport_error.take().map(|e| *e);
        // Whatever was being opened or used is abandoned.
        self.connecting = None;
        let server = self.dispatch.server.clone();
        let told = if self.dispatch.is_up() {
            lost_reason(&reason, cause)
        } else {
            match attempt_error(&reason, cause) {
                Error::Refused(code) => DisconnectReason::Refused(code),
                Error::Rejected(why) => DisconnectReason::Rejected(why),
                error => DisconnectReason::ConnectFailed { server, error },
            }
        };
        if self.dispatch.on_disconnected(told.clone(), self.clock) {
            // The end of a close: the DISCONNECT (if any) is still to be
            // written, so the stream stays until then.
            if reason != CoreReason::Requested {
                self.stream = None;
                self.out.clear();
            }
            return;
        }
        self.stream = None;
        self.out.clear();
        tracing::warn!(server = %self.dispatch.server, reason = %told, "disconnected");
        self.last_error = Some(Box::new(match &told {
            DisconnectReason::ConnectFailed { error, .. } => error.clone(),
            DisconnectReason::Refused(code) => Error::Refused(*code),
            DisconnectReason::Rejected(why) => Error::Rejected(why.clone()),
            DisconnectReason::ProtocolViolation(v) => Error::Protocol(*v),
            DisconnectReason::Transport(e) => e.clone(),
            _ => Error::Closed,
        }));
        self.dispatch
            .emit(ConnectionEvent::Disconnected { reason: told });
    }
}

/// What a connection CONNACK had accepted ended with, told to the user.
fn lost_reason(reason: &CoreReason, cause: Option<Error>) -> DisconnectReason {
    match (reason, cause) {
        (CoreReason::Requested, _) => DisconnectReason::Requested,
        (CoreReason::KeepAliveTimeout, _) => DisconnectReason::KeepAliveTimeout,
        (CoreReason::ProtocolViolation(v), _) => DisconnectReason::ProtocolViolation(*v),
        (CoreReason::Refused(code), _) => DisconnectReason::Refused(*code),
        (CoreReason::Rejected(why), _) => DisconnectReason::Rejected(why.clone()),
        (CoreReason::ServerDisconnect(why), _) => DisconnectReason::ServerDisconnect(why.clone()),
        (_, Some(Error::Io(e))) if hung_up(&e) => DisconnectReason::ClosedByBroker,
        (_, Some(cause)) => DisconnectReason::Transport(cause),
        (_, None) => DisconnectReason::ClosedByBroker,
    }
}

/// What an attempt that ended before CONNACK accepted it is reported as.
fn attempt_error(reason: &CoreReason, cause: Option<Error>) -> Error {
    match (reason, cause) {
        (CoreReason::Refused(code), _) => Error::Refused(*code),
        (CoreReason::Rejected(why), _) => Error::Rejected(why.clone()),
        (CoreReason::ServerDisconnect(why), _) => Error::Rejected(why.clone()),
        (CoreReason::ConnAckTimeout, _) => Error::Timeout,
        // A reset or an end of stream before CONNACK: the broker would not
        // talk to us (a TLS port reached in plaintext resets; an unwelcome
        // client is dropped).
        (_, Some(Error::Io(e))) if hung_up(&e) => Error::ClosedBeforeConnAck,
        (_, Some(cause)) => cause,
        (CoreReason::ProtocolViolation(v), None) => Error::Protocol(*v),
        (_, None) => Error::ClosedBeforeConnAck,
    }
}

/// Whether the peer ended the stream: an end of stream or a reset.
fn hung_up(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}
