//! The property sets of PUBLISH (5.0 section 3.3.2.3), of the
//! acknowledgements PUBACK to PUBCOMP, SUBACK and UNSUBACK (sections
//! 3.4.2.2 to 3.7.2.2, 3.9.2.1, 3.11.2.1), of SUBSCRIBE (3.8.2.1) and of
//! UNSUBSCRIBE (3.10.2.1).
//!
//! Each set is written in identifier order; a reader takes any order, as
//! section 2.2.2.2 allows, and keeps the order of the repeatable User
//! Properties and Subscription Identifiers.

use super::properties::{
    AckProperties, PublishProperties, SubscribeProperties, UnsubscribeProperties,
};
use super::property::{
    size, PropertySet, Reader, Writer, CONTENT_TYPE, CORRELATION_DATA, MESSAGE_EXPIRY_INTERVAL,
    PAYLOAD_FORMAT_INDICATOR, REASON_STRING, RESPONSE_TOPIC, SUBSCRIPTION_IDENTIFIER, TOPIC_ALIAS,
    USER_PROPERTY, VBI_MAX,
};
use crate::packet::wire::check_binary_len;
use crate::packet::{DecodeError, EncodeError};
use crate::topic::check_name;

/// Whether `id` is a Subscription Identifier value: 1 to 268,435,455; 0 is
/// a Protocol Error (5.0 sections 3.3.2.3.8 and 3.8.2.1.2).
const fn subscription_identifier_ok(id: u32) -> bool {
    id != 0 && id <= VBI_MAX
}

impl PublishProperties {
    /// Fails on a value the wire format cannot carry or the standard
    /// forbids: a Topic Alias of 0 [5.0 MQTT-3.3.2-8], a Response Topic
    /// that is not a topic name [5.0 MQTT-3.3.2-14], a Subscription
    /// Identifier outside 1 to 268,435,455 (5.0 section 3.3.2.3.8), and
    /// Correlation Data over 65,535 bytes.
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        if self.topic_alias == Some(0) {
            return Err(EncodeError::InvalidValue);
        }
        if let Some(topic) = &self.response_topic {
            check_name(topic.as_str()).map_err(|_| EncodeError::InvalidValue)?;
        }
        if let Some(data) = &self.correlation_data {
            check_binary_len(data)?;
        }
        if !self
            .subscription_identifiers
            .iter()
            .all(|&id| subscription_identifier_ok(id))
        {
            return Err(EncodeError::InvalidValue);
        }
        Ok(())
    }
}

impl PropertySet for PublishProperties {
    fn len(&self) -> usize {
        let mut len = 0;
        if self.payload_format_indicator.is_some() {
            len += size::U8;
        }
        if self.message_expiry_interval.is_some() {
            len += size::U32;
        }
        if let Some(v) = &self.content_type {
            len += size::bytes(v.len());
        }
        if let Some(v) = &self.response_topic {
            len += size::bytes(v.len());
        }
        if let Some(v) = &self.correlation_data {
            len += size::bytes(v.len());
        }
        len += self
            .subscription_identifiers
            .iter()
            .map(|&id| size::vbi(id))
            .sum::<usize>();
        if self.topic_alias.is_some() {
            len += size::U16;
        }
        len + self
            .user_properties
            .iter()
            .map(size::user_property)
            .sum::<usize>()
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
        for &id in &self.subscription_identifiers {
            w.vbi(SUBSCRIPTION_IDENTIFIER, id);
        }
        if let Some(v) = self.topic_alias {
            w.u16(TOPIC_ALIAS, v);
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PublishProperties::default();
        // In PUBLISH, Subscription Identifier may repeat, one per matching
        // subscription (5.0 section 3.3.2.3.8).
        while let Some(id) = r.next(&[USER_PROPERTY, SUBSCRIPTION_IDENTIFIER])? {
            match id {
                PAYLOAD_FORMAT_INDICATOR => {
                    p.payload_format_indicator = Some(r.payload_format(id)?)
                }
                MESSAGE_EXPIRY_INTERVAL => p.message_expiry_interval = Some(r.u32()?),
                CONTENT_TYPE => p.content_type = Some(r.string()?),
                RESPONSE_TOPIC => p.response_topic = Some(r.topic_name(id)?),
                CORRELATION_DATA => p.correlation_data = Some(r.binary()?),
                SUBSCRIPTION_IDENTIFIER => {
                    let v = r.vbi()?;
                    if !subscription_identifier_ok(v) {
                        return Err(r.invalid(id));
                    }
                    p.subscription_identifiers.push(v);
                }
                TOPIC_ALIAS => {
                    let v = r.u16()?;
                    if v == 0 {
                        return Err(r.invalid(id));
                    }
                    p.topic_alias = Some(v);
                }
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        Ok(p)
    }
}

impl PropertySet for AckProperties {
    fn len(&self) -> usize {
        let reason = self
            .reason_string
            .as_ref()
            .map_or(0, |v| size::bytes(v.len()));
        reason
            + self
                .user_properties
                .iter()
                .map(size::user_property)
                .sum::<usize>()
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = &self.reason_string {
            w.bytes(REASON_STRING, v.as_bytes());
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = AckProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                REASON_STRING => p.reason_string = Some(r.string()?),
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        Ok(p)
    }
}

impl SubscribeProperties {
    /// Fails on a Subscription Identifier outside 1 to 268,435,455 (5.0
    /// section 3.8.2.1.2).
    pub(crate) fn check(&self) -> Result<(), EncodeError> {
        match self.subscription_identifier {
            Some(id) if !subscription_identifier_ok(id) => Err(EncodeError::InvalidValue),
            _ => Ok(()),
        }
    }
}

impl PropertySet for SubscribeProperties {
    fn len(&self) -> usize {
        let id = self.subscription_identifier.map_or(0, size::vbi);
        id + self
            .user_properties
            .iter()
            .map(size::user_property)
            .sum::<usize>()
    }

    fn write(&self, w: &mut Writer<'_>) {
        if let Some(v) = self.subscription_identifier {
            w.vbi(SUBSCRIPTION_IDENTIFIER, v);
        }
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = SubscribeProperties::default();
        // Unlike PUBLISH, a second Subscription Identifier is a Protocol
        // Error here (5.0 section 3.8.2.1.2).
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                SUBSCRIPTION_IDENTIFIER => {
                    let v = r.vbi()?;
                    if !subscription_identifier_ok(v) {
                        return Err(r.invalid(id));
                    }
                    p.subscription_identifier = Some(v);
                }
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        Ok(p)
    }
}

impl PropertySet for UnsubscribeProperties {
    fn len(&self) -> usize {
        self.user_properties
            .iter()
            .map(size::user_property)
            .sum::<usize>()
    }

    fn write(&self, w: &mut Writer<'_>) {
        for p in &self.user_properties {
            w.user_property(p);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = UnsubscribeProperties::default();
        while let Some(id) = r.next(&[USER_PROPERTY])? {
            match id {
                USER_PROPERTY => p.user_properties.push(r.user_property()?),
                _ => return Err(r.unknown(id)),
            }
        }
        Ok(p)
    }
}
