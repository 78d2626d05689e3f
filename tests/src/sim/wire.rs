//! The wire at either protocol level, as the simulation reads and writes it.
//!
//! The model broker and the world's checks work on 3.1.1-shaped packets
//! (`mqtt_proto::packet::Packet`), whatever the connection speaks, so that
//! one broker and one set of checks serve both levels. At 5.0, a [`Reader`]
//! decodes with `mqtt_proto::packet::v5`, resolves topic aliases (they live
//! for one connection, in one direction) and hands the 3.1.1 shape over in
//! a [`Frame`] with what 5.0 adds beside it: the reason code, the alias,
//! the CONNECT and CONNACK properties, and the packet's size on the wire.
//! [`encode`] goes the other way for the broker, with an [`Extra`] for what
//! only 5.0 can say.

use bytes::BytesMut;
use mqtt_proto::packet::v5::{
    self, AckProperties, ConnAckProperties, ConnectProperties, PubResponse, PublishProperties,
    ReasonCode,
};
use mqtt_proto::packet::{
    self, ConnAck, Connect, ConnectReturnCode, DecodeError, Packet, PubAck, PubComp, PubRec,
    PubRel, Publish, SubAck, Subscribe, SubscribeReturnCode, UnsubAck, Unsubscribe,
};
use mqtt_proto::{QoS, TopicName};
use std::collections::BTreeMap;

/// The protocol level a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    #[default]
    V311,
    V5,
}

impl Level {
    /// The level of the CONNECT at the front of `buf`, once its protocol
    /// level byte has arrived: the broker speaks whatever its client does.
    pub fn of_connect(buf: &[u8]) -> Option<Level> {
        let mut i = 1;
        while *buf.get(i)? & 0x80 != 0 {
            i += 1;
        }
        // After the fixed header: the protocol name (00 04 "MQTT"), then
        // the level.
        let level = *buf.get(i + 7)?;
        Some(if level == 5 { Level::V5 } else { Level::V311 })
    }
}

/// One packet read off the wire.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The packet, in 3.1.1's shape (a 5.0 PUBLISH with its alias
    /// resolved to the topic).
    pub packet: Packet,
    /// Its size on the wire.
    pub len: usize,
    /// 5.0: the reason code of CONNACK, PUBACK to PUBCOMP and DISCONNECT.
    pub reason: Option<ReasonCode>,
    /// 5.0: the Topic Alias a PUBLISH carried.
    pub alias: Option<u16>,
    /// 5.0: the properties of CONNECT and CONNACK.
    pub connect: Option<Box<ConnectProperties>>,
    pub connack: Option<Box<ConnAckProperties>>,
}

impl Frame {
    fn plain(packet: Packet, len: usize) -> Frame {
        Frame {
            packet,
            len,
            reason: None,
            alias: None,
            connect: None,
            connack: None,
        }
    }

    /// Whether this is a 5.0 ack refusing what it answers (code 0x80 or
    /// above).
    pub fn refuses(&self) -> bool {
        self.reason.is_some_and(ReasonCode::is_error)
    }
}

/// Why a [`Reader`] could not read a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    Malformed(DecodeError),
    /// Topic Alias 0.
    AliasZero,
    /// A Topic Alias above the receiver's maximum: (alias, maximum).
    AliasAbove(u16, u16),
    /// A PUBLISH with only an alias that was never set on this connection.
    AliasUnset(u16),
    /// AUTH, which the simulation never uses.
    Auth,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Malformed(e) => write!(f, "a malformed packet: {e}"),
            ReadError::AliasZero => write!(f, "Topic Alias 0"),
            ReadError::AliasAbove(a, max) => {
                write!(f, "Topic Alias {a}, above the receiver's maximum {max}")
            }
            ReadError::AliasUnset(a) => {
                write!(f, "Topic Alias {a} alone, never set on this connection")
            }
            ReadError::Auth => write!(f, "AUTH, which nobody asked for"),
        }
    }
}

/// Reads one direction of one connection.
#[derive(Debug, Default)]
pub struct Reader {
    level: Level,
    /// The topic aliases set so far.
    aliases: BTreeMap<u16, TopicName>,
    /// The largest alias the receiver takes (5.0; 0: none).
    pub alias_max: u16,
}

impl Reader {
    pub fn new(level: Level) -> Reader {
        Reader {
            level,
            ..Reader::default()
        }
    }

    /// Takes one whole packet off the front of `buf`, if there is one.
    pub fn read(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ReadError> {
        let before = buf.len();
        match self.level {
            Level::V311 => {
                let p = packet::decode(buf, usize::MAX).map_err(ReadError::Malformed)?;
                Ok(p.map(|p| Frame::plain(p, before - buf.len())))
            }
            Level::V5 => {
                let Some(p) = v5::decode(buf, usize::MAX).map_err(ReadError::Malformed)? else {
                    return Ok(None);
                };
                self.shape(p, before - buf.len()).map(Some)
            }
        }
    }

    /// The 3.1.1 shape of a 5.0 packet, its alias resolved.
    fn shape(&mut self, p: v5::Packet, len: usize) -> Result<Frame, ReadError> {
        let mut f = Frame::plain(Packet::PingReq, len);
        f.packet = match p {
            v5::Packet::Connect(c) => {
                let c = *c;
                f.connect = Some(Box::new(c.properties));
                Packet::Connect(Box::new(Connect {
                    protocol: packet::Protocol::V5,
                    clean_session: c.clean_start,
                    keep_alive: c.keep_alive,
                    client_id: c.client_id,
                    last_will: None,
                    login: None,
                }))
            }
            v5::Packet::ConnAck(a) => {
                let a = *a;
                f.reason = Some(a.reason_code);
                f.connack = Some(Box::new(a.properties));
                Packet::ConnAck(ConnAck {
                    session_present: a.session_present,
                    code: return_code(a.reason_code),
                })
            }
            v5::Packet::Publish(p) => {
                let alias = p.properties.topic_alias;
                f.alias = alias;
                let topic = match (p.topic, alias) {
                    (Some(topic), None) => topic,
                    (_, Some(0)) => return Err(ReadError::AliasZero),
                    (_, Some(a)) if a > self.alias_max => {
                        return Err(ReadError::AliasAbove(a, self.alias_max))
                    }
                    (Some(topic), Some(a)) => {
                        self.aliases.insert(a, topic.clone());
                        topic
                    }
                    (None, Some(a)) => self
                        .aliases
                        .get(&a)
                        .cloned()
                        .ok_or(ReadError::AliasUnset(a))?,
                    (None, None) => return Err(ReadError::AliasUnset(0)),
                };
                Packet::Publish(Publish {
                    dup: p.dup,
                    qos_pid: p.qos_pid,
                    retain: p.retain,
                    topic,
                    payload: p.payload,
                })
            }
            v5::Packet::PubAck(a) => {
                f.reason = Some(a.reason_code);
                Packet::PubAck(PubAck::new(a.pid))
            }
            v5::Packet::PubRec(a) => {
                f.reason = Some(a.reason_code);
                Packet::PubRec(PubRec::new(a.pid))
            }
            v5::Packet::PubRel(a) => {
                f.reason = Some(a.reason_code);
                Packet::PubRel(PubRel::new(a.pid))
            }
            v5::Packet::PubComp(a) => {
                f.reason = Some(a.reason_code);
                Packet::PubComp(PubComp::new(a.pid))
            }
            v5::Packet::Subscribe(s) => Packet::Subscribe(Subscribe {
                pid: s.pid,
                filters: s.filters.into_iter().map(|(f, o)| (f, o.qos)).collect(),
            }),
            v5::Packet::SubAck(s) => Packet::SubAck(SubAck {
                pid: s.pid,
                return_codes: s
                    .reason_codes
                    .iter()
                    .map(|code| match code {
                        ReasonCode::Success => SubscribeReturnCode::Success(QoS::AtMostOnce),
                        ReasonCode::GrantedQoS1 => SubscribeReturnCode::Success(QoS::AtLeastOnce),
                        ReasonCode::GrantedQoS2 => SubscribeReturnCode::Success(QoS::ExactlyOnce),
                        _ => SubscribeReturnCode::Failure,
                    })
                    .collect(),
            }),
            v5::Packet::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
                pid: u.pid,
                filters: u.filters,
            }),
            v5::Packet::UnsubAck(u) => Packet::UnsubAck(UnsubAck::new(u.pid)),
            v5::Packet::PingReq => Packet::PingReq,
            v5::Packet::PingResp => Packet::PingResp,
            v5::Packet::Disconnect(d) => {
                f.reason = Some(d.reason_code);
                Packet::Disconnect
            }
            v5::Packet::Auth(_) => return Err(ReadError::Auth),
        };
        Ok(f)
    }
}

/// The 3.1.1 CONNACK code nearest a 5.0 reason code.
fn return_code(reason: ReasonCode) -> ConnectReturnCode {
    match reason {
        ReasonCode::Success => ConnectReturnCode::Accepted,
        ReasonCode::UnsupportedProtocolVersion => ConnectReturnCode::UnacceptableProtocolVersion,
        ReasonCode::ClientIdentifierNotValid => ConnectReturnCode::IdentifierRejected,
        ReasonCode::BadUserNameOrPassword => ConnectReturnCode::BadUsernameOrPassword,
        ReasonCode::ServerUnavailable | ReasonCode::ServerBusy => {
            ConnectReturnCode::ServerUnavailable
        }
        _ => ConnectReturnCode::NotAuthorized,
    }
}

/// The 5.0 reason code of a 3.1.1 CONNACK code.
fn connack_reason(code: ConnectReturnCode) -> ReasonCode {
    match code {
        ConnectReturnCode::Accepted => ReasonCode::Success,
        ConnectReturnCode::UnacceptableProtocolVersion => ReasonCode::UnsupportedProtocolVersion,
        ConnectReturnCode::IdentifierRejected => ReasonCode::ClientIdentifierNotValid,
        ConnectReturnCode::ServerUnavailable => ReasonCode::ServerUnavailable,
        ConnectReturnCode::BadUsernameOrPassword => ReasonCode::BadUserNameOrPassword,
        ConnectReturnCode::NotAuthorized => ReasonCode::NotAuthorized,
    }
}

/// What a 5.0 packet from the broker says beyond its 3.1.1 shape.
#[derive(Debug, Default)]
pub struct Extra {
    /// The reason code of an ack, CONNACK or DISCONNECT, or of the
    /// refusals in a SUBACK; success (or the CONNACK code's) when `None`.
    pub reason: Option<ReasonCode>,
    /// The CONNACK's properties.
    pub connack: Option<ConnAckProperties>,
    /// A PUBLISH's Topic Alias, and whether the topic is left out.
    pub alias: Option<(u16, bool)>,
    /// An UNSUBACK's reason codes, one per filter.
    pub unsubscribed: Vec<ReasonCode>,
}

/// Appends `p` to `buf` at `level`.
pub fn encode(level: Level, buf: &mut BytesMut, p: Packet, x: Extra) {
    let done = match level {
        Level::V311 => p.encode(buf),
        Level::V5 => to_v5(p, x).encode(buf),
    };
    done.expect("the model broker only builds valid packets");
}

fn response(pid: packet::PacketId, reason: Option<ReasonCode>) -> PubResponse {
    PubResponse {
        pid,
        reason_code: reason.unwrap_or(ReasonCode::Success),
        properties: AckProperties::default(),
    }
}

fn to_v5(p: Packet, x: Extra) -> v5::Packet {
    match p {
        Packet::ConnAck(a) => v5::Packet::ConnAck(Box::new(v5::ConnAck {
            session_present: a.session_present,
            reason_code: x.reason.unwrap_or(connack_reason(a.code)),
            properties: x.connack.unwrap_or_default(),
        })),
        Packet::Publish(p) => {
            let (alias, bare) = x.alias.map_or((None, false), |(a, bare)| (Some(a), bare));
            v5::Packet::Publish(v5::Publish {
                dup: p.dup,
                qos_pid: p.qos_pid,
                retain: p.retain,
                topic: (!bare).then_some(p.topic),
                properties: PublishProperties {
                    topic_alias: alias,
                    ..PublishProperties::default()
                },
                payload: p.payload,
            })
        }
        Packet::PubAck(a) => v5::Packet::PubAck(response(a.pid, x.reason)),
        Packet::PubRec(a) => v5::Packet::PubRec(response(a.pid, x.reason)),
        Packet::PubRel(a) => v5::Packet::PubRel(response(a.pid, None)),
        Packet::PubComp(a) => v5::Packet::PubComp(response(a.pid, None)),
        Packet::SubAck(s) => v5::Packet::SubAck(v5::SubAck {
            pid: s.pid,
            properties: AckProperties::default(),
            reason_codes: s
                .return_codes
                .iter()
                .map(|code| match code {
                    SubscribeReturnCode::Success(QoS::AtMostOnce) => ReasonCode::Success,
                    SubscribeReturnCode::Success(QoS::AtLeastOnce) => ReasonCode::GrantedQoS1,
                    SubscribeReturnCode::Success(QoS::ExactlyOnce) => ReasonCode::GrantedQoS2,
                    SubscribeReturnCode::Failure => {
                        x.reason.unwrap_or(ReasonCode::UnspecifiedError)
                    }
                })
                .collect(),
        }),
        Packet::UnsubAck(u) => v5::Packet::UnsubAck(v5::UnsubAck {
            pid: u.pid,
            properties: AckProperties::default(),
            reason_codes: x.unsubscribed,
        }),
        Packet::PingResp => v5::Packet::PingResp,
        Packet::Disconnect => v5::Packet::Disconnect(v5::Disconnect {
            reason_code: x.reason.unwrap_or(ReasonCode::Success),
            properties: Default::default(),
        }),
        other => unreachable!("the broker never sends {:?}", other.packet_type()),
    }
}
