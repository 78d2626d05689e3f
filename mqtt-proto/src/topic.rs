//! Topic names, topic filters, and matching a name against a filter
//! (MQTT 3.1.1 section 4.7).
//!
//! Owns the topic rules only; the string rules underneath belong to
//! [`MqttString`]. Nothing here allocates except the `TryFrom<&str>`
//! constructors, which copy their input once.

use crate::string::{MqttString, StringError};
use alloc::string::String;
use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// Why a string is not a valid topic name or topic filter.
///
/// ```
/// use mqtt_proto::topic::TopicError;
/// use mqtt_proto::{TopicFilter, TopicName};
///
/// assert_eq!(TopicName::try_from("a/+").unwrap_err(), TopicError::WildcardInName);
/// assert_eq!(TopicFilter::try_from("a/#/b").unwrap_err(), TopicError::MisplacedMultiLevelWildcard);
/// assert_eq!(TopicFilter::try_from("a/b+").unwrap_err(), TopicError::MisplacedSingleLevelWildcard);
/// assert_eq!(TopicName::try_from("").unwrap_err(), TopicError::Empty);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TopicError {
    /// The string itself breaks section 1.5.3.
    String(StringError),
    /// Topic names and filters are at least one character long [MQTT-4.7.3-1].
    Empty,
    /// A topic name holds `+` or `#` [MQTT-4.7.1-1], [MQTT-3.3.2-2].
    WildcardInName,
    /// `#` is not alone in the last level of a filter [MQTT-4.7.1-2].
    MisplacedMultiLevelWildcard,
    /// `+` does not fill a whole level of a filter [MQTT-4.7.1-3].
    MisplacedSingleLevelWildcard,
    /// A shared subscription `$share/{name}/{filter}` whose share name is
    /// empty or holds a wildcard, or without a filter [5.0 MQTT-4.8.2-1]
    /// [5.0 MQTT-4.8.2-2].
    InvalidShareName,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::String(e) => fmt::Display::fmt(e, f),
            TopicError::Empty => f.write_str("topic is empty [MQTT-4.7.3-1]"),
            TopicError::WildcardInName => {
                f.write_str("topic name contains a wildcard [MQTT-4.7.1-1]")
            }
            TopicError::MisplacedMultiLevelWildcard => {
                f.write_str("'#' must be alone in the last level [MQTT-4.7.1-2]")
            }
            TopicError::MisplacedSingleLevelWildcard => {
                f.write_str("'+' must fill a whole level [MQTT-4.7.1-3]")
            }
            TopicError::InvalidShareName => f.write_str(
                "a shared subscription needs a share name without wildcards and a filter",
            ),
        }
    }
}

impl core::error::Error for TopicError {}

impl From<StringError> for TopicError {
    fn from(e: StringError) -> Self {
        TopicError::String(e)
    }
}

/// Checks the topic-name rules on an already valid MQTT string.
pub(crate) fn check_name(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// One pass over a received topic name: plain ASCII without U+0000, `+`
/// or `#` is valid as it is, which is nearly every topic on the wire.
/// Eight bytes at a time, then the tail byte by byte.
#[inline]
fn is_plain_ascii_name(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A high bit in each byte of `w` that is zero (exact for "any").
    const fn zero_bytes(w: u64) -> u64 {
        w.wrapping_sub(LOW) & !w & HIGH
    }
    let word_is_bad = |w: u64| {
        (w & HIGH)
            | zero_bytes(w)
            | zero_bytes(w ^ (LOW * b'+' as u64))
            | zero_bytes(w ^ (LOW * b'#' as u64))
            != 0
    };
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if word_is_bad(u64::from_le_bytes(word)) {
            return false;
        }
    }
    let tail_ok = chunks
        .remainder()
        .iter()
        .all(|&b| (b.wrapping_sub(1) < 0x7F) & (b != b'+') & (b != b'#'));
    !bytes.is_empty() && tail_ok
}

/// Checks the topic-filter rules on an already valid MQTT string.
pub(crate) fn check_filter(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    // A shared subscription: a share name without wildcards, then a
    // filter [5.0 MQTT-4.8.2-1] [5.0 MQTT-4.8.2-2].
    if let Some(rest) = s.strip_prefix("$share/") {
        let (group, inner) = rest.split_once('/').unwrap_or((rest, ""));
        if group.is_empty() || group.contains(['+', '#']) {
            return Err(TopicError::InvalidShareName);
        }
        return check_filter(inner);
    }
    let mut levels = s.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        if level.contains('#') && (level != "#" || !last) {
            return Err(TopicError::MisplacedMultiLevelWildcard);
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::MisplacedSingleLevelWildcard);
        }
    }
    Ok(())
}

/// The filter a shared subscription `$share/{group}/{filter}` stands for
/// (MQTT 5.0 section 4.8.2, also understood by many 3.1.1 brokers), or
/// `filter` itself.
///
/// ```
/// use mqtt_proto::topic::unshared;
/// assert_eq!(unshared("$share/workers/jobs/+"), "jobs/+");
/// assert_eq!(unshared("jobs/+"), "jobs/+");
/// ```
pub fn unshared(filter: &str) -> &str {
    filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/'))
        .map_or(filter, |(_, inner)| inner)
}

/// Whether topic `name` matches topic `filter` (section 4.7); a shared
/// subscription matches what its inner filter matches.
///
/// `+` matches exactly one level (an empty one too), `#` matches the parent
/// level and any number of levels below it. A name starting with `$` is not
/// matched by a filter starting with a wildcard [MQTT-4.7.2-1]. Both
/// arguments are taken as they are; validate them with [`TopicName`] and
/// [`TopicFilter`] first if they come from outside.
///
/// ```
/// use mqtt_proto::topic::matches;
/// assert!(matches("sport/tennis/+", "sport/tennis/player1"));
/// assert!(matches("sport/#", "sport"));
/// assert!(!matches("#", "$SYS/broker/uptime"));
/// assert!(matches("$share/g/sport/#", "sport/tennis"));
/// ```
pub fn matches(filter: &str, name: &str) -> bool {
    let filter = unshared(filter);
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    let mut name_levels = name.split('/');
    loop {
        match (filter_levels.next(), name_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(n)) if f == n => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

macro_rules! topic_type {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(MqttString);

        impl $name {
            /// Validates an MQTT string as this kind of topic.
            ///
            /// ```
            /// use mqtt_proto::MqttString;
            #[doc = concat!(" use mqtt_proto::", stringify!($name), ";")]
            ///
            #[doc = concat!(" let topic = ", stringify!($name), "::from_mqtt_string(MqttString::try_from(\"a/b\").unwrap()).unwrap();")]
            /// assert_eq!(topic, "a/b");
            #[doc = concat!(" assert!(", stringify!($name), "::from_mqtt_string(MqttString::new()).is_err()); // empty")]
            /// ```
            pub fn from_mqtt_string(s: MqttString) -> Result<Self, TopicError> {
                $check(&s)?;
                Ok($name(s))
            }

            /// Validates bytes as this kind of topic, without copying them.
            ///
            /// ```
            /// use bytes::Bytes;
            #[doc = concat!(" use mqtt_proto::", stringify!($name), ";")]
            ///
            #[doc = concat!(" let topic = ", stringify!($name), "::from_bytes(Bytes::from_static(b\"a/b\")).unwrap();")]
            /// assert_eq!(topic.as_str(), "a/b");
            #[doc = concat!(" assert!(", stringify!($name), "::from_bytes(Bytes::from_static(b\"\\xFF\")).is_err()); // not UTF-8")]
            /// ```
            pub fn from_bytes(bytes: Bytes) -> Result<Self, TopicError> {
                Self::from_mqtt_string(MqttString::from_bytes(bytes)?)
            }

            /// Validates a `'static` str, without copying it.
            ///
            /// ```
            #[doc = concat!(" use mqtt_proto::", stringify!($name), ";")]
            ///
            #[doc = concat!(" let topic = ", stringify!($name), "::from_static(\"a/b\").unwrap();")]
            /// assert_eq!(topic, "a/b");
            /// ```
            pub fn from_static(s: &'static str) -> Result<Self, TopicError> {
                Self::from_bytes(Bytes::from_static(s.as_bytes()))
            }

            /// The topic as `&str`.
            ///
            /// ```
            #[doc = concat!(" use mqtt_proto::", stringify!($name), ";")]
            ///
            #[doc = concat!(" let topic = ", stringify!($name), "::try_from(\"a/b\").unwrap();")]
            /// assert_eq!(topic.as_str().split('/').count(), 2);
            /// ```
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The topic as an MQTT string.
            ///
            /// ```
            #[doc = concat!(" use mqtt_proto::", stringify!($name), ";")]
            ///
            #[doc = concat!(" let topic = ", stringify!($name), "::try_from(\"a/b\").unwrap();")]
            /// assert_eq!(topic.as_mqtt_string().len(), 3);
            /// ```
            pub fn as_mqtt_string(&self) -> &MqttString {
                &self.0
            }

            /// Gives back the underlying MQTT string.
            ///
            /// ```
            /// use mqtt_proto::MqttString;
            #[doc = concat!(" use mqtt_proto::", stringify!($name), ";")]
            ///
            #[doc = concat!(" let topic = ", stringify!($name), "::try_from(\"a/b\").unwrap();")]
            /// let string: MqttString = topic.into_mqtt_string();
            /// assert_eq!(string, "a/b");
            /// ```
            pub fn into_mqtt_string(self) -> MqttString {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.0.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0.as_str() == *other
            }
        }

        impl TryFrom<&str> for $name {
            type Error = TopicError;
            fn try_from(s: &str) -> Result<Self, TopicError> {
                Self::from_mqtt_string(MqttString::try_from(s)?)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TopicError;
            fn try_from(s: String) -> Result<Self, TopicError> {
                Self::from_mqtt_string(MqttString::try_from(s)?)
            }
        }

        impl TryFrom<MqttString> for $name {
            type Error = TopicError;
            fn try_from(s: MqttString) -> Result<Self, TopicError> {
                Self::from_mqtt_string(s)
            }
        }
    };
}

topic_type!(
    /// A topic name: what a PUBLISH is sent to. Non-empty, no wildcards.
    ///
    /// ```
    /// use mqtt_proto::TopicName;
    /// assert!(TopicName::try_from("sensors/kitchen/temp").is_ok());
    /// assert!(TopicName::try_from("sensors/+/temp").is_err());
    /// ```
    TopicName,
    check_name
);

topic_type!(
    /// A topic filter: what a SUBSCRIBE asks for. Non-empty; `+` and `#`
    /// only as whole levels, `#` only last.
    ///
    /// ```
    /// use mqtt_proto::{TopicFilter, TopicName};
    /// let filter = TopicFilter::try_from("sensors/+/temp").unwrap();
    /// assert!(filter.matches(&TopicName::try_from("sensors/kitchen/temp").unwrap()));
    /// assert!(TopicFilter::try_from("sensors/#/temp").is_err());
    /// ```
    TopicFilter,
    check_filter
);

impl TopicName {
    /// Validates a topic name received on the wire: a one-pass fast path for
    /// plain ASCII, the full rules otherwise.
    #[inline]
    pub(crate) fn from_wire(bytes: Bytes) -> Result<Self, TopicError> {
        if is_plain_ascii_name(&bytes) {
            return Ok(TopicName(MqttString::from_checked(bytes)));
        }
        Self::from_bytes(bytes)
    }
}

impl TopicFilter {
    /// Whether `name` matches this filter; see [`matches`](fn@matches).
    ///
    /// ```
    /// use mqtt_proto::{TopicFilter, TopicName};
    ///
    /// let filter = TopicFilter::try_from("home/+/temp").unwrap();
    /// assert!(filter.matches(&TopicName::try_from("home/kitchen/temp").unwrap()));
    /// assert!(!filter.matches(&TopicName::try_from("home/kitchen/humidity").unwrap()));
    /// ```
    pub fn matches(&self, name: &TopicName) -> bool {
        matches(self.as_str(), name.as_str())
    }

    /// Whether the filter holds a wildcard.
    ///
    /// ```
    /// use mqtt_proto::TopicFilter;
    ///
    /// assert!(TopicFilter::try_from("home/#").unwrap().has_wildcards());
    /// assert!(!TopicFilter::try_from("home/kitchen").unwrap().has_wildcards());
    /// ```
    pub fn has_wildcards(&self) -> bool {
        self.as_str().bytes().any(|b| b == b'+' || b == b'#')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(s: &str) -> Result<TopicFilter, TopicError> {
        TopicFilter::try_from(s)
    }

    #[test]
    fn names_reject_wildcards() {
        // [MQTT-4.7.1-1] [MQTT-3.3.2-2]
        for bad in ["a/+", "#", "a/b#", "+"] {
            assert_eq!(
                TopicName::try_from(bad),
                Err(TopicError::WildcardInName),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_topics_are_rejected() {
        // [MQTT-4.7.3-1]
        assert_eq!(TopicName::try_from(""), Err(TopicError::Empty));
        assert_eq!(filter(""), Err(TopicError::Empty));
    }

    #[test]
    fn null_in_topics_is_rejected() {
        // [MQTT-4.7.3-2]
        assert_eq!(
            TopicName::try_from("a\0"),
            Err(TopicError::String(StringError::NullCharacter))
        );
        assert_eq!(
            filter("a/\0"),
            Err(TopicError::String(StringError::NullCharacter))
        );
    }

    #[test]
    fn topic_length_limit() {
        // [MQTT-4.7.3-3]
        let max = "a".repeat(65_535);
        assert!(TopicName::try_from(max.as_str()).is_ok());
        let over = "a".repeat(65_536);
        assert_eq!(
            TopicName::try_from(over.as_str()),
            Err(TopicError::String(StringError::TooLong { len: 65_536 }))
        );
    }

    #[test]
    fn multi_level_wildcard_placement() {
        // [MQTT-4.7.1-2]
        for ok in ["#", "a/#", "/#", "+/#", "a/b/c/#"] {
            assert!(filter(ok).is_ok(), "{ok}");
        }
        for bad in ["a#", "a/#/b", "#/", "a/b#", "##", "a/#/"] {
            assert_eq!(
                filter(bad),
                Err(TopicError::MisplacedMultiLevelWildcard),
                "{bad}"
            );
        }
    }

    #[test]
    fn single_level_wildcard_placement() {
        // [MQTT-4.7.1-3]
        for ok in ["+", "+/+", "/+", "+/", "a/+/b", "+/tennis/#"] {
            assert!(filter(ok).is_ok(), "{ok}");
        }
        for bad in ["a+", "a/b+/c", "++", "+a"] {
            assert_eq!(
                filter(bad),
                Err(TopicError::MisplacedSingleLevelWildcard),
                "{bad}"
            );
        }
    }

    #[test]
    fn matching_examples_from_section_4_7() {
        // Non-normative examples of 4.7.1.2 and 4.7.1.3.
        let yes = [
            ("sport/tennis/player1/#", "sport/tennis/player1"),
            ("sport/tennis/player1/#", "sport/tennis/player1/ranking"),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
            ),
            ("sport/#", "sport"),
            ("sport/tennis/+", "sport/tennis/player1"),
            ("sport/+", "sport/"),
            ("+/+", "/finance"),
            ("/+", "/finance"),
            ("+/+", "/"),
            ("#", "a/b/c"),
            ("a/b", "a/b"),
            ("+", "a"),
            ("a//b", "a//b"),
        ];
        for (f, n) in yes {
            assert!(matches(f, n), "{f} should match {n}");
        }
        let no = [
            ("sport/tennis/+", "sport/tennis/player1/ranking"),
            ("sport/+", "sport"),
            ("+", "/finance"),
            ("a/b", "a/b/c"),
            ("a/b/c", "a/b"),
            ("A", "a"),
            ("a/b", "a//b"),
        ];
        for (f, n) in no {
            assert!(!matches(f, n), "{f} should not match {n}");
        }
    }

    #[test]
    fn fast_path_agrees_with_the_full_rules() {
        // Every single byte, and each in a few positions of longer names:
        // the word-at-a-time check must accept exactly what the rules accept.
        for b in 0..=255u8 {
            for len in [1usize, 7, 8, 9, 16, 17] {
                for at in [0, len / 2, len - 1] {
                    let mut v = alloc::vec![b'x'; len];
                    v[at] = b;
                    let fast = is_plain_ascii_name(&v);
                    let full = core::str::from_utf8(&v)
                        .ok()
                        .is_some_and(|s| !s.contains('\0') && check_name(s).is_ok());
                    assert!(!fast || full, "fast path accepted {v:?}");
                    if b.is_ascii() {
                        assert_eq!(fast, full, "{v:?}");
                    }
                }
            }
        }
        assert!(!is_plain_ascii_name(b""));
    }

    #[test]
    fn dollar_topics_and_leading_wildcards() {
        // [MQTT-4.7.2-1]
        assert!(!matches("#", "$SYS/broker"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    }
}
