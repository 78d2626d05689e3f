//! The UTF-8 encoded string of MQTT section 1.5.3, held as [`Bytes`].
//!
//! Owns the three rules every MQTT string obeys: well-formed UTF-8 (Rust's own
//! definition already excludes the surrogates U+D800..U+DFFF) [MQTT-1.5.3-1],
//! no U+0000 [MQTT-1.5.3-2], and at most 65,535 bytes so the length fits the
//! two-byte prefix. The byte sequence EF BB BF (U+FEFF) is kept as it is
//! [MQTT-1.5.3-3]. Knows nothing of topics or packets.

use alloc::string::String;
use bytes::Bytes;
use core::fmt;
use core::ops::Deref;

/// Why some bytes are not an MQTT UTF-8 string.
///
/// ```
/// use mqtt_proto::{MqttString, StringError};
///
/// assert_eq!(MqttString::try_from("a\0b").unwrap_err(), StringError::NullCharacter);
/// let long = "x".repeat(70_000);
/// assert_eq!(MqttString::try_from(long.as_str()).unwrap_err(), StringError::TooLong { len: 70_000 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StringError {
    /// Not well-formed UTF-8, surrogates included [MQTT-1.5.3-1].
    InvalidUtf8,
    /// Contains U+0000 [MQTT-1.5.3-2].
    NullCharacter,
    /// Longer than the 65,535 bytes a two-byte length prefix can describe.
    TooLong {
        /// The length in bytes.
        len: usize,
    },
}

impl fmt::Display for StringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StringError::InvalidUtf8 => {
                f.write_str("string is not well-formed UTF-8 [MQTT-1.5.3-1]")
            }
            StringError::NullCharacter => f.write_str("string contains U+0000 [MQTT-1.5.3-2]"),
            StringError::TooLong { len } => {
                write!(
                    f,
                    "string of {len} bytes is longer than 65535 bytes (section 1.5.3)"
                )
            }
        }
    }
}

impl core::error::Error for StringError {}

/// Checks the rules of section 1.5.3 on raw bytes.
///
/// A zero byte can only appear in UTF-8 as the encoding of U+0000, so the
/// byte scan and the code point rule are the same check.
pub(crate) fn validate(bytes: &[u8]) -> Result<&str, StringError> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(StringError::TooLong { len: bytes.len() });
    }
    let s = core::str::from_utf8(bytes).map_err(|_| StringError::InvalidUtf8)?;
    if bytes.contains(&0) {
        return Err(StringError::NullCharacter);
    }
    Ok(s)
}

/// An MQTT UTF-8 string: valid UTF-8, no U+0000, at most 65,535 bytes.
///
/// It is a view over [`Bytes`], so a decoded string shares the receive
/// buffer instead of copying it. Dereferences to `str`.
///
/// ```
/// use mqtt_proto::MqttString;
/// let id = MqttString::try_from("client-1").unwrap();
/// assert_eq!(&*id, "client-1");
/// assert!(MqttString::try_from("nul\0inside").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MqttString(Bytes);

impl MqttString {
    /// Validates `bytes` as an MQTT string without copying them.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mqtt_proto::{MqttString, StringError};
    ///
    /// let s = MqttString::from_bytes(Bytes::from_static("grüße".as_bytes())).unwrap();
    /// assert_eq!(s, "grüße");
    /// assert_eq!(MqttString::from_bytes(Bytes::from_static(b"\xC3")), Err(StringError::InvalidUtf8));
    /// ```
    pub fn from_bytes(bytes: Bytes) -> Result<Self, StringError> {
        validate(&bytes)?;
        Ok(MqttString(bytes))
    }

    /// A string from a `'static` str, validated, without copying.
    ///
    /// ```
    /// use mqtt_proto::MqttString;
    ///
    /// let id = MqttString::from_static("sensor-7").unwrap();
    /// assert_eq!(id.as_str(), "sensor-7");
    /// ```
    pub fn from_static(s: &'static str) -> Result<Self, StringError> {
        Self::from_bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes the caller has already checked against every rule of
    /// `validate` (the topic decoder's one-pass ASCII check does).
    pub(crate) fn from_checked(bytes: Bytes) -> Self {
        debug_assert!(validate(&bytes).is_ok());
        MqttString(bytes)
    }

    /// The empty string.
    ///
    /// ```
    /// use mqtt_proto::MqttString;
    ///
    /// let empty = MqttString::new();
    /// assert!(empty.is_empty());
    /// assert_eq!(empty, MqttString::default());
    /// ```
    pub const fn new() -> Self {
        MqttString(Bytes::new())
    }

    /// The string as `&str`.
    ///
    /// ```
    /// use mqtt_proto::MqttString;
    ///
    /// let s = MqttString::try_from("hello").unwrap();
    /// assert_eq!(s.as_str().to_uppercase(), "HELLO");
    /// ```
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor ran `validate`, which checked that these
        // exact bytes are UTF-8, and `Bytes` is immutable.
        unsafe { core::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes (shared, not copied).
    ///
    /// ```
    /// use mqtt_proto::MqttString;
    ///
    /// let s = MqttString::try_from("hi").unwrap();
    /// assert_eq!(&s.as_bytes()[..], b"hi");
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mqtt_proto::MqttString;
    ///
    /// let bytes: Bytes = MqttString::try_from("hi").unwrap().into_bytes();
    /// assert_eq!(bytes, "hi");
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for MqttString {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for MqttString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for MqttString {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for MqttString {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl TryFrom<&str> for MqttString {
    type Error = StringError;
    fn try_from(s: &str) -> Result<Self, StringError> {
        validate(s.as_bytes())?;
        Ok(MqttString(Bytes::copy_from_slice(s.as_bytes())))
    }
}

impl TryFrom<String> for MqttString {
    type Error = StringError;
    fn try_from(s: String) -> Result<Self, StringError> {
        validate(s.as_bytes())?;
        Ok(MqttString(Bytes::from(s)))
    }
}

impl TryFrom<Bytes> for MqttString {
    type Error = StringError;
    fn try_from(b: Bytes) -> Result<Self, StringError> {
        Self::from_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_are_rejected() {
        // [MQTT-1.5.3-1] U+D800 encoded as if it were a scalar value.
        assert_eq!(
            MqttString::from_bytes(Bytes::from_static(b"\xED\xA0\x80")),
            Err(StringError::InvalidUtf8)
        );
    }

    #[test]
    fn null_is_rejected() {
        // [MQTT-1.5.3-2]
        assert_eq!(
            MqttString::try_from("a\0b"),
            Err(StringError::NullCharacter)
        );
    }

    #[test]
    fn bom_is_kept() {
        // [MQTT-1.5.3-3] EF BB BF is U+FEFF and stays in the string.
        let s = MqttString::from_bytes(Bytes::from_static(b"\xEF\xBB\xBFa")).unwrap();
        assert_eq!(s.as_str(), "\u{FEFF}a");
        assert_eq!(s.as_bytes().len(), 4);
    }

    #[test]
    fn length_limit() {
        let long = alloc::vec![b'a'; 65_536];
        assert_eq!(
            MqttString::from_bytes(Bytes::from(long)),
            Err(StringError::TooLong { len: 65_536 })
        );
        let max = alloc::vec![b'a'; 65_535];
        assert!(MqttString::from_bytes(Bytes::from(max)).is_ok());
    }
}
