//! Inputs found by fuzzing (the `decode`, `roundtrip` and `connection`
//! targets in `fuzz/`), minimised with `cargo fuzz tmin`. Each test feeds the
//! exact bytes (for `connection`, the minimised script's steps as direct
//! calls) and checks the behaviour MQTT 3.1.1 asks for.

use bytes::BytesMut;
use mqtt_proto::packet::{decode, Connect, Packet, Protocol};
use mqtt_proto::{
    Connection, DisconnectReason, Event, Instant, MqttString, Options, ProtocolViolation, QoS,
    TopicFilter,
};

const MAX: usize = 64 * 1024;

/// `roundtrip`, crash-e40546ca: CONNECT "MQTT" level 4, flags 0x00 (clean
/// session 0), keep-alive 0, zero-byte client id.
///
/// The packet is well-formed: a server must answer it with CONNACK 0x02
/// (identifier rejected) [MQTT-3.1.3-8], not drop it as malformed, so it
/// decodes. The encoder used to refuse it (a client must not send it,
/// [MQTT-3.1.3-7]), which broke the round trip; that rule now lives in the
/// Connection's options, and the codec encodes what it decodes.
#[test]
fn connect_empty_client_id_without_clean_session() {
    let input = [
        0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let mut buf = BytesMut::from(&input[..]);
    let expected = Connect {
        protocol: Protocol::V311,
        clean_session: false,
        keep_alive: 0,
        client_id: MqttString::new(),
        last_will: None,
        login: None,
    };
    let packet = Packet::Connect(Box::new(expected.clone()));
    assert_eq!(decode(&mut buf, MAX), Ok(Some(packet.clone())));
    assert!(buf.is_empty());

    let mut out = BytesMut::new();
    packet.encode(&mut out).unwrap();
    assert_eq!(&out[..], &input[..]);

    // With clean session set (flags 0x02) the same packet round-trips.
    let mut clean = input;
    clean[9] = 0x02;
    let packet = Packet::Connect(Box::new(Connect {
        clean_session: true,
        ..expected
    }));
    let mut out = BytesMut::new();
    packet.encode(&mut out).unwrap();
    assert_eq!(&out[..], &clean[..]);
    assert_eq!(decode(&mut out, MAX), Ok(Some(packet)));
}

/// Everything `conn` wants to send, in one buffer.
fn transmit(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut wire = Vec::new();
    while let Some(chunk) = conn.poll_transmit(now) {
        wire.extend_from_slice(&chunk);
    }
    wire
}

fn events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// `connection`, crash-b4235d17: SUBSCRIBE to one filter, then a SUBACK for
/// its id with two return codes.
///
/// A SUBACK carries one code per filter (section 3.9.3), so this one answers
/// nothing and the connection is closed for it. It used to remove the
/// request without freeing its packet id: the id leaked for the life of the
/// session, and the request was neither sent again nor ever reported. The
/// request now stays pending like any request whose ack never came: it keeps
/// its id and goes out again on the next connection.
#[test]
fn suback_with_wrong_code_count_keeps_the_request() {
    let options = Options::new(MqttString::try_from("fuzz").unwrap());
    let mut conn = Connection::new(options).unwrap();
    let now = Instant::ZERO;
    let filter = TopicFilter::try_from("a/b").unwrap();
    let id = conn.subscribe(vec![(filter, QoS::AtMostOnce)]).unwrap();
    assert_eq!(id.get(), 1);

    conn.connect(now);
    let connect = transmit(&mut conn, now);
    assert_eq!(connect[0], 0x10);
    // CONNACK accepted; SUBACK id 1 with two failure codes for one filter.
    conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]);
    let subscribe = transmit(&mut conn, now);
    assert_eq!(
        subscribe,
        [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'b', 0x00]
    );
    conn.handle_read(now, &[0x90, 0x04, 0x00, 0x01, 0x80, 0x80]);
    assert_eq!(
        events(&mut conn),
        [
            Event::Connected {
                session_present: false
            },
            Event::Disconnected {
                reason: DisconnectReason::ProtocolViolation(ProtocolViolation::SubAckCountMismatch)
            },
        ]
    );
    assert_eq!(conn.pending_requests(), 1);
    assert_eq!(conn.packet_ids_in_use(), 1, "the id belongs to the request");

    // The next connection sends the same SUBSCRIBE, and a proper SUBACK
    // completes it and frees the id.
    conn.connect(now);
    let _ = transmit(&mut conn, now);
    conn.handle_read(now, &[0x20, 0x02, 0x00, 0x00]);
    assert_eq!(transmit(&mut conn, now), subscribe);
    conn.handle_read(now, &[0x90, 0x03, 0x00, 0x01, 0x80]);
    assert!(matches!(
        events(&mut conn).as_slice(),
        [Event::Connected { .. }, Event::Subscribed { id: got, .. }] if *got == id
    ));
    assert_eq!(conn.pending_requests(), 0);
    assert_eq!(conn.packet_ids_in_use(), 0);
}

/// `connection`, crash-445ad044: a QoS 2 PUBLISH queued while connecting is
/// encoded at CONNACK, and a PUBREC for its id arrives in the same read,
/// before its bytes were handed out; then a malformed CONNACK ends the
/// transport, and a new one resumes the session.
///
/// The connection cannot tell a PUBREC for bytes still in its buffer from
/// one for bytes sent, so it releases the message. On the resumed session
/// it sends PUBREL and never the PUBLISH again [MQTT-4.3.3-1]
/// [MQTT-4.4.0-1], and PUBCOMP completes it. (The target's model expected a
/// PUBREL only for a PUBLISH it had seen leave; the model was wrong.)
#[test]
fn pubrec_before_the_publish_left_resumes_with_pubrel() {
    let options = Options::new(MqttString::try_from("fuzz").unwrap())
        .clean_session(false)
        .keep_alive(core::time::Duration::ZERO);
    let mut conn = Connection::new(options).unwrap();
    let now = Instant::ZERO;

    conn.connect(now);
    assert_eq!(transmit(&mut conn, now)[0], 0x10);
    let message = mqtt_proto::Message::new("$SYS/x", "m", QoS::ExactlyOnce).unwrap();
    let id = conn.publish(message).unwrap();
    // CONNACK accepted; PUBREC 1; CONNACK with session present on a refusal
    // (malformed [MQTT-3.2.2-4]).
    conn.handle_read(
        now,
        &[
            0x20, 0x02, 0x00, 0x00, 0x50, 0x02, 0x00, 0x01, 0x20, 0x02, 0x01, 0x04,
        ],
    );
    let got = events(&mut conn);
    assert_eq!(
        got[0],
        Event::Connected {
            session_present: false
        }
    );
    assert!(
        matches!(
            &got[1..],
            [Event::Disconnected {
                reason: DisconnectReason::ProtocolViolation(ProtocolViolation::Malformed(_))
            }]
        ),
        "{got:?}"
    );
    assert!(
        conn.poll_transmit(now).is_none(),
        "nothing left the dead transport"
    );

    conn.connect(now);
    let _ = transmit(&mut conn, now);
    conn.handle_read(now, &[0x20, 0x02, 0x01, 0x00]);
    assert_eq!(
        transmit(&mut conn, now),
        [0x62, 0x02, 0x00, 0x01],
        "PUBREL only"
    );
    conn.handle_read(now, &[0x70, 0x02, 0x00, 0x01]);
    assert_eq!(
        events(&mut conn),
        [
            Event::Connected {
                session_present: true
            },
            Event::Published { id }
        ]
    );
    assert_eq!(conn.inflight(), 0);
    assert_eq!(conn.packet_ids_in_use(), 0);
}

/// `connection`, crash-c82b44cc: in manual-ack mode, QoS 2 id 1 is delivered,
/// acked and answered with PUBREC; QoS 2 id 65374 is delivered and held by
/// the application; then the broker repeats id 1 twice.
///
/// Every copy is owed its own PUBREC [MQTT-4.3.3-2], in arrival order
/// behind the held message's [MQTT-4.6.0-3], and none is delivered again.
/// The target's model bounded the owed acks by one per distinct id; the
/// bound is one per PUBLISH read, and the model was wrong.
#[test]
fn repeated_qos2_publish_gets_a_pubrec_per_copy() {
    let options = Options::new(MqttString::try_from("fuzz").unwrap())
        .clean_session(false)
        .manual_acks(true);
    let mut conn = Connection::new(options).unwrap();
    let now = Instant::ZERO;
    conn.connect(now);
    let _ = transmit(&mut conn, now);
    conn.handle_read(now, &[0x20, 0x02, 0x01, 0x00]);
    let _ = events(&mut conn);

    // QoS 2 id 1 on "a/b", acked by the application: PUBREC 1.
    conn.handle_read(now, &[0x34, 0x07, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x01]);
    let Some(Event::Message {
        ack: Some(first), ..
    }) = conn.poll_event()
    else {
        panic!("id 1 is delivered");
    };
    conn.ack(first).unwrap();
    assert_eq!(transmit(&mut conn, now), [0x50, 0x02, 0x00, 0x01]);

    // QoS 2 id 65374, held; then id 1 twice more (DUP).
    conn.handle_read(
        now,
        &[
            0x35, 0x06, 0x00, 0x01, b'a', 0xFF, 0x5E, 0xFF, // id 65374, retained
            0x3D, 0x05, 0x00, 0x01, b'a', 0x00, 0x01, // id 1, DUP, retained
            0x3C, 0x05, 0x00, 0x01, b'a', 0x00, 0x01, // id 1, DUP
        ],
    );
    let got = events(&mut conn);
    let [Event::Message {
        ack: Some(held), ..
    }] = got.as_slice()
    else {
        panic!("only id 65374 is delivered: {got:?}");
    };
    assert!(
        transmit(&mut conn, now).is_empty(),
        "the PUBRECs for id 1 wait behind 65374"
    );
    assert_eq!(conn.incoming_state().1, 3, "one owed ack per PUBLISH read");

    // Acking the held message releases its PUBREC, then one per copy of 1.
    conn.ack(*held).unwrap();
    assert_eq!(
        transmit(&mut conn, now),
        [0x50, 0x02, 0xFF, 0x5E, 0x50, 0x02, 0x00, 0x01, 0x50, 0x02, 0x00, 0x01]
    );
    assert_eq!(conn.incoming_state().1, 0);
}
