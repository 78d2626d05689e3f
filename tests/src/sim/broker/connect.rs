//! CONNECT at the model broker: the checks a client's CONNECT must pass,
//! a refusal or an acceptance, and resuming or discarding its session.

use super::*;

impl ModelBroker {
    pub(super) fn on_connect(
        &mut self,
        id: ConnId,
        connect: packet::Connect,
        props: Option<Box<ConnectProperties>>,
    ) {
        let client = connect.client_id.to_string();
        assert!(
            !client.is_empty(),
            "the simulation always names its clients"
        );
        if let Some(code) = self.refusals.as_mut().and_then(Refusals::decide) {
            // Refused: the session is left as it was, and the connection
            // closes after the CONNACK [MQTT-3.2.2-4] [MQTT-3.2.2-5].
            self.send(
                id,
                Packet::ConnAck(ConnAck {
                    session_present: false,
                    code,
                }),
            );
            if let Some(c) = self.conns.get_mut(&id) {
                c.closed = true;
            }
            return;
        }
        // A second connection with the same id takes the session over.
        let old = self.sessions.get(&client).and_then(|s| s.conn);
        if let Some(old) = old {
            if old != id {
                if let Some(c) = self.conns.get_mut(&old) {
                    c.closed = true;
                }
            }
        }
        self.known.insert(client.clone());
        let mut present = !connect.clean_session && self.sessions.contains_key(&client);
        let wrong = self.plan.as_mut().is_some_and(Plan::wrong_connack);
        if wrong && present {
            // Forgetful: as after a restart without persistence, there is
            // no session [MQTT-3.1.2-4].
            present = false;
            self.count(Misbehaviour::LostSession);
        }
        if !present {
            self.discard(&client);
            let fresh = Session {
                created_on: id,
                ..Session::default()
            };
            self.sessions.insert(client.clone(), fresh);
        }
        let s = self.sessions.entry(client.clone()).or_default();
        s.conn = Some(id);
        // At 5.0 the session ends with the connection when its expiry
        // interval is 0 (absent); Clean Start only decides the above.
        s.clean = match &props {
            Some(p) => p.session_expiry_interval.unwrap_or(0) == 0,
            None => connect.clean_session,
        };
        let announced = self.v5.as_ref().map(V5Plan::connack);
        if let Some(c) = self.conns.get_mut(&id) {
            c.client_id = Some(client.clone());
            if let (Some(p), Some(a)) = (&props, &announced) {
                c.client_alias_max = p.topic_alias_maximum.unwrap_or(0);
                c.client_receive_max = p.receive_maximum.map(usize::from);
                c.max_in = a.maximum_packet_size.map(|m| m as usize);
                if let Some(reader) = c.reader.as_mut() {
                    reader.alias_max = a.topic_alias_maximum.unwrap_or(0);
                }
            }
        }
        let extra = || Extra {
            connack: announced.clone(),
            ..Extra::default()
        };
        let connack = Packet::ConnAck(ConnAck {
            session_present: present,
            code: ConnectReturnCode::Accepted,
        });
        if wrong && connect.clean_session {
            let wrong = Packet::ConnAck(ConnAck {
                session_present: true,
                code: ConnectReturnCode::Accepted,
            });
            let b = self.bytes(id, wrong, extra());
            self.violate(id, Misbehaviour::SessionPresentOnClean, b);
        } else {
            self.send_x(id, connack, extra());
        }
        // [MQTT-4.4.0-1] resend what the session left unacknowledged.
        let resend: Vec<(PacketId, Stored, bool)> = self
            .sessions
            .get(&client)
            .map(|s| s.inflight.clone())
            .unwrap_or_default();
        for (pid, m, released) in resend {
            let p = if released {
                Packet::PubRel(PubRel::new(pid))
            } else {
                Packet::Publish(publish(&m, pid, true))
            };
            self.send(id, p);
        }
        self.pump(&client);
    }
}
