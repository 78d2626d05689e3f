//! A short, readable tour of the codec: the packets of one client session are
//! encoded, the bytes are delivered in awkward pieces (as TCP may), decoded
//! back, and a few malformed inputs are refused with the rule they break.
//!
//! Run: `cargo run -p mqtt-proto --example codec_tour`

use bytes::{Bytes, BytesMut};
use mqtt_proto::packet::{
    decode, ConnAck, Connect, ConnectReturnCode, Login, Packet, Protocol, PubAck, Publish, QosPid,
    SubAck, Subscribe, SubscribeReturnCode,
};
use mqtt_proto::{MqttString, PacketId, QoS, TopicFilter, TopicName};

const MAX_PACKET: usize = 64 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = |v| PacketId::new(v).ok_or("packet id 0");
    let session = [
        Packet::Connect(Box::new(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 30,
            client_id: MqttString::try_from("tour")?,
            last_will: None,
            login: Some(Login {
                username: MqttString::try_from("demo")?,
                password: Some(Bytes::from_static(b"secret")),
            }),
        })),
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        }),
        Packet::Subscribe(Subscribe {
            pid: id(1)?,
            filters: vec![(TopicFilter::try_from("sensors/+/temp")?, QoS::AtLeastOnce)],
        }),
        Packet::SubAck(SubAck {
            pid: id(1)?,
            return_codes: vec![SubscribeReturnCode::Success(QoS::AtLeastOnce)],
        }),
        Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::AtLeastOnce(id(2)?),
            retain: false,
            topic: TopicName::try_from("sensors/kitchen/temp")?,
            payload: Bytes::from_static(b"21.5"),
        }),
        Packet::PubAck(PubAck::new(id(2)?)),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect,
    ];

    println!("encode:");
    let mut wire = BytesMut::new();
    for p in &session {
        let start = wire.len();
        p.encode(&mut wire)?;
        println!(
            "  {:<12} {:>3} bytes  {:02x?}",
            format!("{:?}", p.packet_type()),
            wire.len() - start,
            &wire[start..wire.len().min(start + 12)]
        );
    }

    println!("decode, fed in 7-byte reads:");
    let mut rx = BytesMut::new();
    let mut decoded = Vec::new();
    for chunk in wire.chunks(7) {
        rx.extend_from_slice(chunk);
        while let Some(p) = decode(&mut rx, MAX_PACKET)? {
            println!("  {p:?}");
            decoded.push(p);
        }
    }
    if decoded != session {
        return Err("decoded packets differ from the ones encoded".into());
    }
    println!("all {} packets came back identical", decoded.len());

    println!("refused:");
    let bad: [(&str, &[u8]); 4] = [
        ("PUBLISH with QoS 3", &[0x36, 5, 0, 1, b't', 0, 1]),
        ("wildcard in a topic name", &[0x30, 3, 0, 1, b'#']),
        ("SUBSCRIBE without filters", &[0x82, 2, 0, 1]),
        ("256 MiB announced", &[0x30, 0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for (what, bytes) in bad {
        match decode(&mut BytesMut::from(bytes), MAX_PACKET) {
            Err(e) => println!("  {what:<26} -> {e}"),
            Ok(p) => return Err(format!("{what} was accepted: {p:?}").into()),
        }
    }
    Ok(())
}
