//! The session a store keeps: which ops a connection records, the rule
//! that they come out before the bytes and events that depend on them, and
//! connections restored from them after the process "crashed" at any point.
//! Every rule checked cites its statement of MQTT 3.1.1.

use bytes::BytesMut;
use mqtt_proto::packet::{
    self, ConnAck, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, PubRel, Publish, QosPid,
    SubAck, SubscribeReturnCode,
};
use mqtt_proto::store::{RecordError, StoreOp, StoredSession};
use mqtt_proto::{
    Connection, Event, Instant, Message, MqttString, Options, PacketId, QoS, SessionLostPolicy,
    TopicFilter, TopicName,
};
use proptest::prelude::*;

fn pid(v: u16) -> PacketId {
    PacketId::new(v).unwrap()
}

fn options() -> Options {
    Options::new(MqttString::try_from("stored-client").unwrap())
        .clean_session(false)
        .store(true)
}

/// A connection whose ops are "committed" into a session as they come out,
/// like a loop that commits before writing.
struct Durable {
    conn: Connection,
    session: StoredSession,
    ops: Vec<StoreOp>,
    events: Vec<Event>,
}

impl Durable {
    fn new(options: Options) -> Self {
        Durable {
            conn: Connection::new(options).unwrap(),
            session: StoredSession::new(),
            ops: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The process died: everything not committed is gone; a new one
    /// restores from the store.
    fn crash(self, options: Options) -> Self {
        let session = self.session;
        Durable {
            conn: Connection::restore(options, &session).unwrap(),
            session,
            ops: Vec::new(),
            events: Vec::new(),
        }
    }

    fn commit(&mut self) {
        while let Some(op) = self.conn.poll_store() {
            // Every op survives its record form.
            let mut record = Vec::new();
            op.encode(&mut record);
            assert_eq!(StoreOp::decode(&record).as_ref(), Ok(&op));
            self.session.apply(op.clone());
            self.ops.push(op);
        }
    }

    /// What the client sends, after committing; events are collected.
    fn sent(&mut self) -> Vec<Packet> {
        let mut wire = BytesMut::new();
        loop {
            self.commit();
            let mut progressed = false;
            while let Some(chunk) = self.conn.poll_transmit(Instant::ZERO) {
                wire.extend_from_slice(&chunk);
                progressed = true;
            }
            while let Some(e) = self.conn.poll_event() {
                self.events.push(e);
                progressed = true;
            }
            if !progressed && self.conn.poll_store().is_none() {
                break;
            }
        }
        let mut out = Vec::new();
        while let Some(p) = packet::decode(&mut wire, usize::MAX).unwrap() {
            out.push(p);
        }
        out
    }

    fn broker(&mut self, p: Packet) {
        let mut b = BytesMut::new();
        p.encode(&mut b).unwrap();
        self.conn.handle_read(Instant::ZERO, &b);
    }

    /// Opens a transport and accepts it; returns what follows CONNECT.
    fn open(&mut self, session_present: bool) -> Vec<Packet> {
        self.conn.connect(Instant::ZERO);
        let sent = self.sent();
        assert!(matches!(sent.as_slice(), [Packet::Connect(_)]), "{sent:?}");
        self.broker(Packet::ConnAck(ConnAck {
            session_present,
            code: ConnectReturnCode::Accepted,
        }));
        self.sent()
    }

    fn publish(&mut self, payload: &'static str, qos: QoS) -> mqtt_proto::PublishId {
        self.conn
            .publish(Message::new("t", payload, qos).unwrap())
            .unwrap()
    }
}

fn publish_packet(p: &Packet) -> (bool, QosPid, &[u8]) {
    match p {
        Packet::Publish(p) => (p.dup, p.qos_pid, &p.payload[..]),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

fn incoming(pid: u16, payload: &'static str, dup: bool) -> Packet {
    Packet::Publish(Publish {
        dup,
        qos_pid: QosPid::ExactlyOnce(self::pid(pid)),
        retain: false,
        topic: TopicName::try_from("in").unwrap(),
        payload: payload.into(),
    })
}

fn messages(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { message, .. } => Some(message.payload.to_vec()),
            _ => None,
        })
        .collect()
}

#[test]
fn without_the_option_nothing_is_recorded() {
    let mut conn = Connection::new(Options::new(MqttString::try_from("c").unwrap())).unwrap();
    conn.publish(Message::new("t", "x", QoS::ExactlyOnce).unwrap())
        .unwrap();
    assert_eq!(conn.poll_store(), None);
}

#[test]
fn a_qos1_publish_is_recorded_accepted_sent_and_done() {
    let mut d = Durable::new(options());
    d.open(false);
    let id = d.publish("a", QoS::AtLeastOnce);
    let sent = d.sent();
    assert_eq!(publish_packet(&sent[0]).1, QosPid::AtLeastOnce(pid(1)));
    d.broker(Packet::PubAck(PubAck::new(pid(1))));
    d.sent();
    assert!(
        matches!(
            d.ops.as_slice(),
            [StoreOp::Publish { id: a, .. }, StoreOp::Sent { id: b, pid: p }, StoreOp::Done { id: c }]
                if *a == id && *b == id && *c == id && *p == pid(1)
        ),
        "{:?}",
        d.ops
    );
    assert!(d.session.is_empty());
}

#[test]
fn qos0_is_never_recorded() {
    let mut d = Durable::new(options());
    d.open(false);
    d.publish("a", QoS::AtMostOnce);
    d.sent();
    assert!(d.ops.is_empty(), "{:?}", d.ops);
}

#[test]
fn bytes_and_events_wait_until_the_ops_before_them_are_taken() {
    let mut conn = Connection::new(options()).unwrap();
    conn.connect(Instant::ZERO);
    while conn.poll_store().is_some() {}
    assert!(conn.poll_transmit(Instant::ZERO).is_some()); // CONNECT
    conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]);
    conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap())
        .unwrap();
    // The PUBLISH is encoded, but its packet id is not durable yet. The
    // event queued before the ops does not depend on them.
    assert_eq!(conn.poll_transmit(Instant::ZERO), None);
    assert!(matches!(conn.poll_event(), Some(Event::Connected { .. })));
    assert!(matches!(conn.poll_store(), Some(StoreOp::Publish { .. })));
    assert!(matches!(conn.poll_store(), Some(StoreOp::Sent { .. })));
    assert!(conn.poll_transmit(Instant::ZERO).is_some());

    // [MQTT-4.3.3-2] an incoming QoS 2 message is handed out only once its
    // id is durable, and a completion once its end is.
    conn.handle_read(Instant::ZERO, &[0x40, 0x02, 0x00, 0x01]); // PUBACK 1
    let publish = [0x34, 0x06, 0x00, 0x01, b'i', 0x00, 0x07, b'x']; // QoS 2, id 7
    conn.handle_read(Instant::ZERO, &publish);
    assert_eq!(conn.poll_event(), None);
    assert!(matches!(conn.poll_store(), Some(StoreOp::Done { .. })));
    assert_eq!(conn.poll_event(), None);
    assert_eq!(conn.poll_store(), Some(StoreOp::Received { pid: pid(7) }));
    assert_eq!(conn.poll_store(), None);
    assert!(matches!(conn.poll_event(), Some(Event::Published { .. })));
    assert!(matches!(conn.poll_event(), Some(Event::Message { .. })));

    // A message queued before an op leaves before the op is taken: in
    // manual-ack mode the application's ack of one message records an op
    // while later messages wait in the queue, and they still come out.
    let options = options().manual_acks(true);
    let mut conn = Connection::new(options).unwrap();
    conn.connect(Instant::ZERO);
    conn.handle_read(Instant::ZERO, &[0x20, 0x02, 0x00, 0x00]);
    while conn.poll_transmit(Instant::ZERO).is_some() {}
    conn.handle_read(
        Instant::ZERO,
        &[0x34, 0x06, 0x00, 0x01, b'i', 0x00, 0x01, b'a'],
    );
    conn.handle_read(
        Instant::ZERO,
        &[0x34, 0x06, 0x00, 0x01, b'i', 0x00, 0x02, b'b'],
    );
    assert!(matches!(conn.poll_event(), Some(Event::Connected { .. })));
    let Some(Event::Message {
        ack: Some(first), ..
    }) = conn.poll_event()
    else {
        panic!("first message");
    };
    conn.ack(first).unwrap();
    assert!(matches!(conn.poll_event(), Some(Event::Message { .. })));
    assert_eq!(
        conn.poll_transmit(Instant::ZERO),
        None,
        "PUBREC waits for its op"
    );
    assert_eq!(conn.poll_store(), Some(StoreOp::Received { pid: pid(1) }));
    assert!(conn.poll_transmit(Instant::ZERO).is_some());
}

/// [MQTT-4.4.0-1] after a restart, unacknowledged PUBLISH and PUBREL go out
/// again with their original packet ids, PUBLISH with DUP 1
/// [MQTT-3.3.1-1], in the original order [MQTT-4.6.0-1]; queued messages
/// follow with new ids.
#[test]
fn a_restarted_process_resends_with_the_original_ids_in_order() {
    let mut d = Durable::new(options().max_inflight(3));
    d.open(false);
    for payload in ["q1", "q2-released", "q2", "queued"] {
        let qos = if payload == "q1" {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        d.publish(payload, qos);
    }
    let sent = d.sent();
    assert_eq!(sent.len(), 3);
    d.broker(Packet::PubRec(PubRec::new(pid(2))));
    assert_eq!(d.sent(), [Packet::PubRel(PubRel::new(pid(2)))]);

    let mut d = d.crash(options().max_inflight(3));
    let resent = d.open(true);
    assert_eq!(resent.len(), 3, "{resent:?}");
    assert_eq!(
        publish_packet(&resent[0]),
        (true, QosPid::AtLeastOnce(pid(1)), &b"q1"[..])
    );
    assert_eq!(resent[1], Packet::PubRel(PubRel::new(pid(2))));
    assert_eq!(
        publish_packet(&resent[2]),
        (true, QosPid::ExactlyOnce(pid(3)), &b"q2"[..])
    );
    // The window is full; the queued message waits for room, then goes
    // out as new (DUP 0) with a free id.
    d.broker(Packet::PubAck(PubAck::new(pid(1))));
    d.broker(Packet::PubComp(PubComp::new(pid(2))));
    d.broker(Packet::PubRec(PubRec::new(pid(3))));
    d.broker(Packet::PubComp(PubComp::new(pid(3))));
    let after = d.sent();
    let publish = after
        .iter()
        .find(|p| matches!(p, Packet::Publish(_)))
        .unwrap();
    let (dup, qos_pid, payload) = publish_packet(publish);
    assert_eq!((dup, payload), (false, &b"queued"[..]));
    let id = qos_pid.pid().unwrap();
    d.broker(Packet::PubRec(PubRec::new(id)));
    d.sent();
    d.broker(Packet::PubComp(PubComp::new(id)));
    d.sent();
    assert!(d.session.is_empty(), "{:?}", d.session);
}

/// [MQTT-4.3.3-2] a QoS 2 message the application took is not handed out
/// again when the broker redelivers it after a restart; the PUBREL that
/// follows is answered with PUBCOMP, and the id is new again after it.
#[test]
fn an_incoming_qos2_message_is_not_delivered_twice_across_a_restart() {
    let mut d = Durable::new(options());
    d.open(false);
    d.broker(incoming(5, "once", false));
    let sent = d.sent();
    assert_eq!(sent, [Packet::PubRec(PubRec::new(pid(5)))]);
    assert_eq!(messages(&d.events), [b"once".to_vec()]);
    // The id was durable before the message came out.
    let received = d
        .ops
        .iter()
        .position(|op| *op == StoreOp::Received { pid: pid(5) });
    assert_eq!(received, Some(0), "{:?}", d.ops);

    let mut d = d.crash(options());
    d.open(true);
    d.broker(incoming(5, "once", true));
    assert_eq!(d.sent(), [Packet::PubRec(PubRec::new(pid(5)))]);
    d.broker(Packet::PubRel(PubRel::new(pid(5))));
    assert_eq!(d.sent(), [Packet::PubComp(PubComp::new(pid(5)))]);
    assert!(messages(&d.events).is_empty(), "{:?}", d.events);
    assert!(d.ops.contains(&StoreOp::Forgotten { pid: pid(5) }));
    assert!(d.session.is_empty());
    // A new message with the same id is new [MQTT-4.3.3-2].
    d.broker(incoming(5, "again", false));
    d.sent();
    assert_eq!(messages(&d.events), [b"again".to_vec()]);
}

/// In manual-ack mode a QoS 2 message is taken when the application acks
/// it: one delivered but not acked before the process died is handed out
/// again; one acked is not.
#[test]
fn with_manual_acks_a_message_is_taken_at_its_ack() {
    let opts = || options().manual_acks(true);
    let mut d = Durable::new(opts());
    d.open(false);
    d.broker(incoming(1, "acked", false));
    d.broker(incoming(2, "not acked", false));
    d.sent();
    assert!(
        d.ops.is_empty(),
        "nothing is taken before an ack: {:?}",
        d.ops
    );
    let token = d
        .events
        .iter()
        .find_map(|e| match e {
            Event::Message { ack, message } if &message.payload[..] == b"acked" => *ack,
            _ => None,
        })
        .unwrap();
    d.conn.ack(token).unwrap();
    // [MQTT-4.3.3-2] PUBREC once the application acked it, after the op.
    assert_eq!(d.sent(), [Packet::PubRec(PubRec::new(pid(1)))]);
    assert_eq!(d.ops, [StoreOp::Received { pid: pid(1) }]);

    let mut d = d.crash(opts());
    d.open(true);
    d.broker(incoming(1, "acked", true));
    d.broker(incoming(2, "not acked", true));
    d.sent();
    assert_eq!(messages(&d.events), [b"not acked".to_vec()]);
}

/// [MQTT-3.2.2-2] a broker that lost the session: messages in flight go
/// back to the queue without their ids, and the store says so; incoming
/// ids are forgotten.
#[test]
fn a_lost_session_is_recorded() {
    let opts = || options().session_lost(SessionLostPolicy::Fail);
    let mut d = Durable::new(opts());
    d.open(false);
    let q1 = d.publish("q1", QoS::AtLeastOnce);
    let q2 = d.publish("q2", QoS::ExactlyOnce);
    d.sent();
    d.broker(incoming(9, "in", false));
    d.sent();
    d.conn.handle_closed(Instant::ZERO);
    d.sent();
    d.ops.clear();
    d.open(false);
    assert_eq!(
        d.ops,
        [
            StoreOp::ForgetIncoming,
            StoreOp::Unsent { id: q1 },
            StoreOp::Done { id: q2 },
            StoreOp::Sent {
                id: q1,
                pid: pid(3)
            },
        ]
    );
}

#[test]
fn subscriptions_are_recorded_and_restored() {
    let mut d = Durable::new(options());
    d.open(false);
    let keep = TopicFilter::try_from("keep/#").unwrap();
    let gone = TopicFilter::try_from("gone").unwrap();
    let refused = TopicFilter::try_from("refused").unwrap();
    d.conn
        .subscribe(vec![
            (keep.clone(), QoS::AtLeastOnce),
            (gone.clone(), QoS::AtMostOnce),
            (refused.clone(), QoS::ExactlyOnce),
        ])
        .unwrap();
    d.sent();
    d.broker(Packet::SubAck(SubAck {
        pid: pid(1),
        return_codes: vec![
            SubscribeReturnCode::Success(QoS::AtLeastOnce),
            SubscribeReturnCode::Success(QoS::AtMostOnce),
            SubscribeReturnCode::Failure,
        ],
    }));
    d.conn.unsubscribe(vec![gone]).unwrap();
    d.sent();
    let d = d.crash(options());
    let held: Vec<_> = d
        .conn
        .subscriptions()
        .map(|(f, q)| (f.clone(), q))
        .collect();
    assert_eq!(held, [(keep, QoS::AtLeastOnce)]);
}

#[test]
fn a_refused_publish_leaves_nothing_stored() {
    let mut d = Durable::new(options().max_queued(1));
    d.publish("kept", QoS::AtLeastOnce);
    let refused = d
        .conn
        .publish(Message::new("t", "refused", QoS::AtLeastOnce).unwrap());
    assert!(refused.is_err());
    d.commit();
    let stored: Vec<_> = d
        .session
        .publishes()
        .map(|p| p.message.payload.clone())
        .collect();
    assert_eq!(stored, ["kept"]);
}

#[test]
fn two_messages_stored_with_one_packet_id_are_refused() {
    let mut session = StoredSession::new();
    let conn_ids: Vec<_> = {
        let mut conn = Connection::new(options()).unwrap();
        (0..2)
            .map(|_| {
                conn.publish(Message::new("t", "x", QoS::AtLeastOnce).unwrap())
                    .unwrap()
            })
            .collect()
    };
    for id in conn_ids {
        session.apply(StoreOp::Publish {
            id,
            message: Message::new("t", "x", QoS::AtLeastOnce).unwrap(),
        });
        session.apply(StoreOp::Sent { id, pid: pid(4) });
    }
    assert_eq!(
        Connection::restore(options(), &session).unwrap_err(),
        mqtt_proto::store::RestoreError::DuplicatePacketId(pid(4))
    );
}

#[test]
fn damaged_records_are_errors() {
    assert_eq!(StoreOp::decode(&[]), Err(RecordError::Truncated));
    assert_eq!(StoreOp::decode(&[5, 0, 0, 0]), Err(RecordError::Truncated));
    assert_eq!(StoreOp::decode(&[6, 0, 0]), Err(RecordError::ZeroPacketId));
    assert_eq!(StoreOp::decode(&[8, 1]), Err(RecordError::TrailingBytes));
    // A QoS 0 message is never stored.
    let mut record = vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b't'];
    assert_eq!(StoreOp::decode(&record), Err(RecordError::BadQoS(0)));
    record[9] = 1;
    assert!(StoreOp::decode(&record).is_ok());
    // A wildcard is no topic name.
    record[12] = b'#';
    assert_eq!(StoreOp::decode(&record), Err(RecordError::BadTopic));
}

/// One step of a random session.
#[derive(Debug, Clone)]
enum Step {
    Publish(QoS),
    Ack,
    PubRec,
    Incoming(u16),
    PubRel(u16),
    Reconnect { session_present: bool },
    Crash,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop_oneof![Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)].prop_map(Step::Publish),
        2 => Just(Step::Ack),
        2 => Just(Step::PubRec),
        1 => (1u16..6).prop_map(Step::Incoming),
        1 => (1u16..6).prop_map(Step::PubRel),
        1 => any::<bool>().prop_map(|session_present| Step::Reconnect { session_present }),
        1 => Just(Step::Crash),
    ]
}

proptest! {
    /// Whatever the session went through, a crash at any point loses no
    /// message that was recorded and not finished, and the compacted ops
    /// rebuild the same session.
    #[test]
    fn any_crash_keeps_every_unfinished_message(steps in proptest::collection::vec(step(), 1..60)) {
        let opts = || options().max_inflight(4);
        let mut d = Durable::new(opts());
        d.open(false);
        let mut outstanding: Vec<Packet> = Vec::new();
        let mut delivered = Vec::new();
        for s in steps {
            match s {
                Step::Publish(qos) => {
                    d.publish("m", qos);
                }
                Step::Ack | Step::PubRec => {
                    let wanted_rec = matches!(s, Step::PubRec);
                    let found = outstanding.iter().position(|p| match p {
                        Packet::Publish(p) => matches!(p.qos_pid, QosPid::ExactlyOnce(_)) == wanted_rec,
                        Packet::PubRel(_) => !wanted_rec,
                        _ => false,
                    });
                    if let Some(i) = found {
                        let ack = match outstanding.remove(i) {
                            Packet::Publish(p) => match p.qos_pid {
                                QosPid::AtLeastOnce(id) => Packet::PubAck(PubAck::new(id)),
                                QosPid::ExactlyOnce(id) => Packet::PubRec(PubRec::new(id)),
                                QosPid::AtMostOnce => continue,
                            },
                            Packet::PubRel(r) => Packet::PubComp(PubComp::new(r.pid)),
                            _ => continue,
                        };
                        d.broker(ack);
                    }
                }
                Step::Incoming(id) => d.broker(incoming(id, "in", true)),
                Step::PubRel(id) => d.broker(Packet::PubRel(PubRel::new(pid(id)))),
                Step::Reconnect { session_present } => {
                    d.conn.handle_closed(Instant::ZERO);
                    d.sent();
                    outstanding = d.open(session_present);
                }
                Step::Crash => {
                    d = d.crash(opts());
                    outstanding = d.open(true);
                }
            }
            outstanding.extend(d.sent().into_iter().filter(|p| matches!(p, Packet::Publish(_) | Packet::PubRel(_))));
            delivered.extend(messages(&core::mem::take(&mut d.events)));
            // The connection holds exactly what the store says is unfinished.
            let unfinished = d.session.publishes().count();
            prop_assert_eq!(unfinished, d.conn.inflight() + d.conn.queued());
            // Compaction rebuilds the same session.
            let mut compacted = StoredSession::new();
            for op in d.session.ops() {
                compacted.apply(op);
            }
            prop_assert_eq!(&compacted, &d.session);
        }
    }
}

#[test]
fn a_messages_mqtt5_properties_survive_the_store() {
    use mqtt_proto::packet::v5::{PublishProperties, UserProperty};
    use mqtt_proto::{Connection, Message, MqttString};
    let id = Connection::new(options())
        .unwrap()
        .publish(Message::new("t", "", QoS::AtMostOnce).unwrap())
        .unwrap();
    let s = |v: &str| MqttString::try_from(v).unwrap();
    let props = PublishProperties {
        response_topic: Some(s("replies/1")),
        correlation_data: Some("c-1".into()),
        user_properties: vec![
            UserProperty {
                name: s("b"),
                value: s("2"),
            },
            UserProperty {
                name: s("a"),
                value: s("1"),
            },
        ],
        message_expiry_interval: Some(60),
        content_type: Some(s("text/plain")),
        ..Default::default()
    };
    let message = Message::new("t", "payload", QoS::ExactlyOnce)
        .unwrap()
        .with_properties(props);
    let op = StoreOp::Publish { id, message };
    let mut record = Vec::new();
    op.encode(&mut record);
    assert_eq!(StoreOp::decode(&record), Ok(op.clone()));

    // A damaged property block is a typed error, never a panic: the
    // property length claims more than the record holds.
    let plain = StoreOp::Publish {
        id,
        message: Message::new("t", "", QoS::AtLeastOnce).unwrap(),
    };
    let mut damaged = Vec::new();
    plain.encode(&mut damaged);
    damaged[9] |= 0b1000; // says properties follow
    damaged.push(0x05);
    assert_eq!(StoreOp::decode(&damaged), Err(RecordError::BadProperties));
}

#[test]
fn a_restored_mqtt5_subscription_keeps_its_options_and_identifier() {
    use mqtt_proto::packet::v5::{self, ConnAck, ReasonCode, SubscriptionOptions};
    use mqtt_proto::packet::Protocol;
    use mqtt_proto::{Connection, Instant, TopicFilter};
    let mut wanted = SubscriptionOptions::new(QoS::AtLeastOnce);
    wanted.no_local = true;
    wanted.retain_as_published = true;
    let filter = TopicFilter::try_from("chat/#").unwrap();
    let mut session = StoredSession::new();
    session.apply(StoreOp::Subscribed {
        filter: filter.clone(),
        options: wanted,
        identifier: Some(42),
    });
    let mut conn = Connection::restore(options().protocol(Protocol::V5), &session).unwrap();
    let now = Instant::ZERO;
    conn.connect(now);
    while conn.poll_store().is_some() {}
    let _connect = conn.poll_transmit(now);
    // The broker lost the session: the core subscribes again, with the
    // options and identifier the filter was subscribed with.
    let connack = ConnAck {
        session_present: false,
        reason_code: ReasonCode::Success,
        properties: Default::default(),
    };
    let mut wire = BytesMut::new();
    v5::Packet::ConnAck(Box::new(connack))
        .encode(&mut wire)
        .unwrap();
    conn.handle_read(now, &wire);
    while conn.poll_store().is_some() {}
    let mut out = BytesMut::from(&conn.poll_transmit(now).unwrap()[..]);
    match v5::decode(&mut out, usize::MAX) {
        Ok(Some(v5::Packet::Subscribe(s))) => {
            assert_eq!(s.filters, [(filter, wanted)]);
            assert_eq!(s.properties.subscription_identifier, Some(42));
        }
        other => panic!("expected SUBSCRIBE, got {other:?}"),
    }
}
