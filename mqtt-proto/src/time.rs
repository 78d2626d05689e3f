//! Time as the core sees it: a monotonic [`Instant`] whose origin the caller
//! picks. The core never reads a clock; every method that needs the time takes
//! it as an argument, so tests can drive a virtual clock.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A point on the caller's monotonic clock, in nanoseconds since an origin
/// of the caller's choosing (an adapter uses the moment it started; a test
/// uses zero). Successive calls into a [`Connection`](crate::Connection) must
/// never pass an earlier `Instant` than before.
///
/// ```
/// use core::time::Duration;
/// use mqtt_proto::Instant;
///
/// let start = Instant::ZERO;
/// let later = start + Duration::from_millis(1500);
/// assert_eq!(later, Instant::from_millis(1500));
/// assert_eq!(later - start, Duration::from_millis(1500));
/// assert_eq!(start - later, Duration::ZERO); // saturates
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    ///
    /// ```
    /// use mqtt_proto::Instant;
    ///
    /// assert_eq!(Instant::ZERO.as_nanos(), 0);
    /// assert_eq!(Instant::ZERO, Instant::default());
    /// ```
    pub const ZERO: Instant = Instant(0);

    /// `nanos` nanoseconds after the origin.
    ///
    /// ```
    /// use mqtt_proto::Instant;
    ///
    /// assert_eq!(Instant::from_nanos(2_000_000), Instant::from_millis(2));
    /// ```
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// `millis` milliseconds after the origin.
    ///
    /// ```
    /// use mqtt_proto::Instant;
    ///
    /// assert_eq!(Instant::from_millis(3).as_nanos(), 3_000_000);
    /// ```
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// The time elapsed since the origin, as a `Duration`.
    ///
    /// ```
    /// use std::time::{Duration, Instant as StdInstant};
    /// use mqtt_proto::Instant;
    ///
    /// // An adapter maps its clock onto the core's: time since it started.
    /// let origin = StdInstant::now();
    /// let now = Instant::from_duration(origin.elapsed());
    /// assert!(now >= Instant::ZERO);
    /// assert_eq!(Instant::from_duration(Duration::from_secs(1)), Instant::from_millis(1000));
    /// ```
    pub fn from_duration(since_origin: Duration) -> Instant {
        Instant(u64::try_from(since_origin.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Nanoseconds since the origin.
    ///
    /// ```
    /// use mqtt_proto::Instant;
    ///
    /// assert_eq!(Instant::from_millis(1).as_nanos(), 1_000_000);
    /// ```
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the origin.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::Instant;
    ///
    /// assert_eq!(Instant::from_millis(250).since_origin(), Duration::from_millis(250));
    /// ```
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::Instant;
    ///
    /// let (a, b) = (Instant::from_millis(100), Instant::from_millis(300));
    /// assert_eq!(b.saturating_duration_since(a), Duration::from_millis(200));
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the end of time instead of overflowing.
    fn add(self, d: Duration) -> Instant {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}
