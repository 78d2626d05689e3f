//! The property sets of CONNECT (5.0 section 3.1.2.11), of the will
//! (3.1.3.2), of CONNACK (3.2.2.3), of DISCONNECT (3.14.2.2) and of AUTH
//! (3.15.2.2).
//!
//! Each set is written in identifier order; a reader takes any order, as
//! section 2.2.2.2 allows, and keeps the order of the User Properties
//! [5.0 MQTT-3.1.3-10]. An identifier the packet does not define is
//! `UnknownProperty`, one given twice is `DuplicateProperty` (only User
//! Property repeats), and a value out of its range is
//! `InvalidPropertyValue`.

use super::properties::{
    AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties, UserProperty,
    WillProperties,
};
use super::property::{
    size, PropertySet, Reader, Writer, ASSIGNED_CLIENT_IDENTIFIER, AUTHENTICATION_DATA,
    AUTHENTICATION_METHOD, CONTENT_TYPE, CORRELATION_DATA, MAXIMUM_PACKET_SIZE, MAXIMUM_QOS,
    MESSAGE_EXPIRY_INTERVAL, PAYLOAD_FORMAT_INDICATOR, REASON_STRING, RECEIVE_MAXIMUM,
    REQUEST_PROBLEM_INFORMATION, REQUEST_RESPONSE_INFORMATION, RESPONSE_INFORMATION,
    RESPONSE_TOPIC, RETAIN_AVAILABLE, SERVER_KEEP_ALIVE, SERVER_REFERENCE, SESSION_EXPIRY_INTERVAL,
    SHARED_SUBSCRIPTION_AVAILABLE, SUBSCRIPTION_IDENTIFIER_AVAILABLE, TOPIC_ALIAS_MAXIMUM,
    USER_PROPERTY, WILDCARD_SUBSCRIPTION_AVAILABLE, WILL_DELAY_INTERVAL,
};
use crate::packet::wire::check_binary_len;
use crate::packet::{DecodeError, EncodeError, QoS};
use crate::string::MqttString;
use crate::topic::check_name;
use bytes::Bytes;

/// Bytes of the User Properties.
fn user_properties_len(list: &[UserProperty]) -> usize {
    list.iter().map(size::user_property).sum()
}

/// Bytes of an optional string or binary property of `len` bytes.
fn bytes_len(len: Option<usize>) -> usize {
    len.map_or(0, size::bytes)
}

/// Bytes of an optional fixed-size property of `size` bytes.
fn fixed_len<T>(v: &Option<T>, size: usize) -> usize {
    if v.is_some() {
        size
    } else {
        0
    }
}

/// Fails on binary data longer than its two-byte length prefix allows.
fn check_binary(v: &Option<Bytes>) -> Result<(), EncodeError> {
    v.as_ref().map_or(Ok(()), |v| check_binary_len(v))
}

/// Fails on Authentication Data without an Authentication Method (5.0
/// section 3.1.2.11.10).
fn check_auth(method: &Option<MqttString>, data: &Option<Bytes>) -> Result<(), EncodeError> {
    if data.is_some() && method.is_none() {
        return Err(EncodeError::InvalidValue);
    }
    check_binary(data)
}

/// A Two Byte Integer that may not be 0 (Receive Maximum).
fn nonzero_u16(r: &mut Reader, id: u8) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(r.invalid(id)),
        v => Ok(v),
    }
}

/// A Four Byte Integer that may not be 0 (Maximum Packet Size).
fn nonzero_u32(r: &mut Reader, id: u8) -> Result<u32, DecodeError> {
    match r.u32()? {
        0 => Err(r.invalid(id)),
        v => Ok(v),
    }
}

impl ConnectProperties {
    /// Fails on what the standard forbids or the wire cannot carry: a
    /// Receive Maximum or Maximum Packet Size of 0 (5.0 sections
    /// 3.1.2.11.3, 3.1.2.11.4), Authentication Data without a method or
    /// over 65,535 bytes.
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        if self.receive_maximum == Some(0) || self.maximum_packet_size == Some(0) {
            return Err(EncodeError::InvalidValue);
        }
        check_auth(&self.authentication_method, &self.authentication_data)
    }
}

impl PropertySet for ConnectProperties {
    fn len(&self) -> usize {
        fixed_len(&self.session_expiry_interval, size::U32)
            + bytes_len(self.authentication_method.as_ref().map(|v| v.len()))
            + bytes_len(self.authentication_data.as_ref().map(|v| v.len()))
            + fixed_len(&self.request_problem_information, size::U8)
            + fixed_len(&self.request_response_information, size::U8)
            + fixed_len(&self.receive_maximum, size::U16)
            + fixed_len(&self.topic_alias_maximum, size::U16)
            + user_properties_len(&self.user_properties)
            + fixed_len(&self.maximum_packet_size, size::U32)
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = self.session_expiry_interval {
            w.u32(SESSION_EXPIRY_INTERVAL, v);
        }
        if let Some(v) = &self.authentication_method {
            w.bytes(AUTHENTICATION_METHOD, v.as_bytes());
        }
        if let Some(v) = &self.authentication_data {
            w.bytes(AUTHENTICATION_DATA, v);
        }
        if let Some(v) = self.request_problem_information {
            w.u8(REQUEST_PROBLEM_INFORMATION, u8::from(v));
        }
        if let Some(v) = self.request_response_information {
            w.u8(REQUEST_RESPONSE_INFORMATION, u8::from(v));
        }
        if let Some(v) = self.receive_maximum {
            w.u16(RECEIVE_MAXIMUM, v);
        }
        if let Some(v) = self.topic_alias_maximum {
            w.u16(TOPIC_ALIAS_MAXIMUM, v);
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
        if let Some(v) = self.maximum_packet_size {
            w.u32(MAXIMUM_PACKET_SIZE, v);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = ConnectProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = Some(r.u32()?),
                AUTHENTICATION_METHOD => p.authentication_method = Some(r.string()?),
                AUTHENTICATION_DATA => p.authentication_data = Some(r.binary()?),
                REQUEST_PROBLEM_INFORMATION => {
                    p.request_problem_information = Some(r.bool(id)?);
                }
                REQUEST_RESPONSE_INFORMATION => {
                    p.request_response_information = Some(r.bool(id)?);
                }
                RECEIVE_MAXIMUM => p.receive_maximum = Some(nonzero_u16(r, id)?),
                TOPIC_ALIAS_MAXIMUM => p.topic_alias_maximum = Some(r.u16()?),
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                MAXIMUM_PACKET_SIZE => p.maximum_packet_size = Some(nonzero_u32(r, id)?),
                _ => return Err(r.unknown(id)),
            }
        }
        if p.authentication_data.is_some() && p.authentication_method.is_none() {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(p)
    }
}

impl WillProperties {
    /// Fails on a Response Topic that is not a topic name (5.0 section
    /// 3.1.3.2.5), or Correlation Data over 65,535 bytes.
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        if let Some(topic) = &self.response_topic {
            check_name(topic.as_str()).map_err(|_| EncodeError::InvalidValue)?;
        }
        check_binary(&self.correlation_data)
    }
}

impl PropertySet for WillProperties {
    fn len(&self) -> usize {
        fixed_len(&self.payload_format_indicator, size::U8)
            + fixed_len(&self.message_expiry_interval, size::U32)
            + bytes_len(self.content_type.as_ref().map(|v| v.len()))
            + bytes_len(self.response_topic.as_ref().map(|v| v.len()))
            + bytes_len(self.correlation_data.as_ref().map(|v| v.len()))
            + fixed_len(&self.will_delay_interval, size::U32)
            + user_properties_len(&self.user_properties)
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = self.payload_format_indicator {
            w.u8(PAYLOAD_FORMAT_INDICATOR, v as u8);
        }
        if let Some(v) = self.message_expiry_interval {
            w.u32(MESSAGE_EXPIRY_INTERVAL, v);
        }
        if let Some(v) = &self.content_type {
            w.bytes(CONTENT_TYPE, v.as_bytes());
        }
        if let Some(v) = &self.response_topic {
            w.bytes(RESPONSE_TOPIC, v.as_bytes());
        }
        if let Some(v) = &self.correlation_data {
            w.bytes(CORRELATION_DATA, v);
        }
        if let Some(v) = self.will_delay_interval {
            w.u32(WILL_DELAY_INTERVAL, v);
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = WillProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                PAYLOAD_FORMAT_INDICATOR => {
                    p.payload_format_indicator = Some(r.payload_format(id)?)
                }
                MESSAGE_EXPIRY_INTERVAL => p.message_expiry_interval = Some(r.u32()?),
                CONTENT_TYPE => p.content_type = Some(r.string()?),
                RESPONSE_TOPIC => p.response_topic = Some(r.topic_name(id)?),
                CORRELATION_DATA => p.correlation_data = Some(r.binary()?),
                WILL_DELAY_INTERVAL => p.will_delay_interval = Some(r.u32()?),
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        Ok(p)
    }
}

impl ConnAckProperties {
    /// Fails on what the standard forbids or the wire cannot carry: a
    /// Receive Maximum or Maximum Packet Size of 0 (5.0 sections
    /// 3.2.2.3.3, 3.2.2.3.6), a Maximum QoS of 2 (3.2.2.3.4: only 0 or 1 is
    /// sent), Authentication Data without a method or over 65,535 bytes.
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        if self.receive_maximum == Some(0)
            || self.maximum_packet_size == Some(0)
            || self.maximum_qos == Some(QoS::ExactlyOnce)
        {
            return Err(EncodeError::InvalidValue);
        }
        check_auth(&self.authentication_method, &self.authentication_data)
    }
}

impl PropertySet for ConnAckProperties {
    fn len(&self) -> usize {
        fixed_len(&self.session_expiry_interval, size::U32)
            + bytes_len(self.assigned_client_identifier.as_ref().map(|v| v.len()))
            + fixed_len(&self.server_keep_alive, size::U16)
            + bytes_len(self.authentication_method.as_ref().map(|v| v.len()))
            + bytes_len(self.authentication_data.as_ref().map(|v| v.len()))
            + bytes_len(self.response_information.as_ref().map(|v| v.len()))
            + bytes_len(self.server_reference.as_ref().map(|v| v.len()))
            + bytes_len(self.reason_string.as_ref().map(|v| v.len()))
            + fixed_len(&self.receive_maximum, size::U16)
            + fixed_len(&self.topic_alias_maximum, size::U16)
            + fixed_len(&self.maximum_qos, size::U8)
            + fixed_len(&self.retain_available, size::U8)
            + user_properties_len(&self.user_properties)
            + fixed_len(&self.maximum_packet_size, size::U32)
            + fixed_len(&self.wildcard_subscription_available, size::U8)
            + fixed_len(&self.subscription_identifiers_available, size::U8)
            + fixed_len(&self.shared_subscription_available, size::U8)
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = self.session_expiry_interval {
            w.u32(SESSION_EXPIRY_INTERVAL, v);
        }
        if let Some(v) = &self.assigned_client_identifier {
            w.bytes(ASSIGNED_CLIENT_IDENTIFIER, v.as_bytes());
        }
        if let Some(v) = self.server_keep_alive {
            w.u16(SERVER_KEEP_ALIVE, v);
        }
        if let Some(v) = &self.authentication_method {
            w.bytes(AUTHENTICATION_METHOD, v.as_bytes());
        }
        if let Some(v) = &self.authentication_data {
            w.bytes(AUTHENTICATION_DATA, v);
        }
        if let Some(v) = &self.response_information {
            w.bytes(RESPONSE_INFORMATION, v.as_bytes());
        }
        if let Some(v) = &self.server_reference {
            w.bytes(SERVER_REFERENCE, v.as_bytes());
        }
        if let Some(v) = &self.reason_string {
            w.bytes(REASON_STRING, v.as_bytes());
        }
        if let Some(v) = self.receive_maximum {
            w.u16(RECEIVE_MAXIMUM, v);
        }
        if let Some(v) = self.topic_alias_maximum {
            w.u16(TOPIC_ALIAS_MAXIMUM, v);
        }
        if let Some(v) = self.maximum_qos {
            w.u8(MAXIMUM_QOS, v as u8);
        }
        if let Some(v) = self.retain_available {
            w.u8(RETAIN_AVAILABLE, u8::from(v));
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
        if let Some(v) = self.maximum_packet_size {
            w.u32(MAXIMUM_PACKET_SIZE, v);
        }
        if let Some(v) = self.wildcard_subscription_available {
            w.u8(WILDCARD_SUBSCRIPTION_AVAILABLE, u8::from(v));
        }
        if let Some(v) = self.subscription_identifiers_available {
            w.u8(SUBSCRIPTION_IDENTIFIER_AVAILABLE, u8::from(v));
        }
        if let Some(v) = self.shared_subscription_available {
            w.u8(SHARED_SUBSCRIPTION_AVAILABLE, u8::from(v));
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = ConnAckProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = Some(r.u32()?),
                ASSIGNED_CLIENT_IDENTIFIER => p.assigned_client_identifier = Some(r.string()?),
                SERVER_KEEP_ALIVE => p.server_keep_alive = Some(r.u16()?),
                AUTHENTICATION_METHOD => p.authentication_method = Some(r.string()?),
                AUTHENTICATION_DATA => p.authentication_data = Some(r.binary()?),
                RESPONSE_INFORMATION => p.response_information = Some(r.string()?),
                SERVER_REFERENCE => p.server_reference = Some(r.string()?),
                REASON_STRING => p.reason_string = Some(r.string()?),
                RECEIVE_MAXIMUM => p.receive_maximum = Some(nonzero_u16(r, id)?),
                TOPIC_ALIAS_MAXIMUM => p.topic_alias_maximum = Some(r.u16()?),
                MAXIMUM_QOS => {
                    // 0 or 1; a server supporting QoS 2 omits the property.
                    p.maximum_qos = Some(match r.u8()? {
                        0 => QoS::AtMostOnce,
                        1 => QoS::AtLeastOnce,
                        _ => return Err(r.invalid(id)),
                    });
                }
                RETAIN_AVAILABLE => p.retain_available = Some(r.bool(id)?),
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                MAXIMUM_PACKET_SIZE => p.maximum_packet_size = Some(nonzero_u32(r, id)?),
                WILDCARD_SUBSCRIPTION_AVAILABLE => {
                    p.wildcard_subscription_available = Some(r.bool(id)?);
                }
                SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                    p.subscription_identifiers_available = Some(r.bool(id)?);
                }
                SHARED_SUBSCRIPTION_AVAILABLE => {
                    p.shared_subscription_available = Some(r.bool(id)?);
                }
                _ => return Err(r.unknown(id)),
            }
        }
        if p.authentication_data.is_some() && p.authentication_method.is_none() {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(p)
    }
}

impl PropertySet for DisconnectProperties {
    fn len(&self) -> usize {
        fixed_len(&self.session_expiry_interval, size::U32)
            + bytes_len(self.server_reference.as_ref().map(|v| v.len()))
            + bytes_len(self.reason_string.as_ref().map(|v| v.len()))
            + user_properties_len(&self.user_properties)
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = self.session_expiry_interval {
            w.u32(SESSION_EXPIRY_INTERVAL, v);
        }
        if let Some(v) = &self.server_reference {
            w.bytes(SERVER_REFERENCE, v.as_bytes());
        }
        if let Some(v) = &self.reason_string {
            w.bytes(REASON_STRING, v.as_bytes());
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = DisconnectProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                SESSION_EXPIRY_INTERVAL => p.session_expiry_interval = Some(r.u32()?),
                SERVER_REFERENCE => p.server_reference = Some(r.string()?),
                REASON_STRING => p.reason_string = Some(r.string()?),
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        Ok(p)
    }
}

impl AuthProperties {
    /// Fails on Authentication Data without a method or over 65,535 bytes.
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        check_auth(&self.authentication_method, &self.authentication_data)
    }
}

impl PropertySet for AuthProperties {
    fn len(&self) -> usize {
        bytes_len(self.authentication_method.as_ref().map(|v| v.len()))
            + bytes_len(self.authentication_data.as_ref().map(|v| v.len()))
            + bytes_len(self.reason_string.as_ref().map(|v| v.len()))
            + user_properties_len(&self.user_properties)
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = &self.authentication_method {
            w.bytes(AUTHENTICATION_METHOD, v.as_bytes());
        }
        if let Some(v) = &self.authentication_data {
            w.bytes(AUTHENTICATION_DATA, v);
        }
        if let Some(v) = &self.reason_string {
            w.bytes(REASON_STRING, v.as_bytes());
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = AuthProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                AUTHENTICATION_METHOD => p.authentication_method = Some(r.string()?),
                AUTHENTICATION_DATA => p.authentication_data = Some(r.binary()?),
                REASON_STRING => p.reason_string = Some(r.string()?),
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        if p.authentication_data.is_some() && p.authentication_method.is_none() {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(p)
    }
}
