//! The reconnect backoff policy: exponential growth between a minimum and a
//! maximum delay, with jitter drawn from a seeded generator so runs replay.
//! Pure arithmetic; both adapters' reconnect loops use it.

use core::time::Duration;

/// Exponential backoff with "equal jitter": the n-th delay is drawn uniformly
/// from `[d/2, d]` where `d = min(max, min * 2^n)`. Half of each delay is
/// guaranteed, so a crowd of clients spreads out without any of them retrying
/// at once.
///
/// ```
/// use core::time::Duration;
/// use mqtt_proto::Backoff;
///
/// let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 42);
/// let first = b.next_delay();
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
/// for _ in 0..20 {
///     assert!(b.next_delay() <= Duration::from_secs(5));
/// }
/// b.reset(); // after a successful connection
/// assert!(b.next_delay() <= Duration::from_millis(100));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// A policy from `min` to `max` (`max` is raised to `min` if lower), with
    /// jitter from `seed`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::Backoff;
    ///
    /// let mut a = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 7);
    /// let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 7);
    /// assert_eq!(a.next_delay(), b.next_delay()); // the same seed replays the same delays
    /// ```
    pub fn new(min: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            attempt: 0,
            rng: SplitMix64(seed),
        }
    }

    /// The delay before the next attempt; each call doubles the ceiling.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::Backoff;
    ///
    /// let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 1);
    /// let ceilings = [1, 2, 4, 8, 16, 32, 60, 60];
    /// for ceiling in ceilings.map(Duration::from_secs) {
    ///     let delay = backoff.next_delay();
    ///     assert!(delay >= ceiling / 2 && delay <= ceiling);
    /// }
    /// ```
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .checked_mul(1u32.checked_shl(self.attempt).unwrap_or(u32::MAX))
            .unwrap_or(self.max)
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            self.rng.next() % (spread + 1)
        };
        half + Duration::from_nanos(jitter)
    }

    /// Starts over from the minimum, after a connection succeeded.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::Backoff;
    ///
    /// let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 1);
    /// for _ in 0..5 {
    ///     backoff.next_delay();
    /// }
    /// backoff.reset();
    /// assert!(backoff.next_delay() <= Duration::from_secs(1));
    /// ```
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// How many delays were handed out since the last reset.
    ///
    /// ```
    /// use core::time::Duration;
    /// use mqtt_proto::Backoff;
    ///
    /// let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(1), 0);
    /// backoff.next_delay();
    /// backoff.next_delay();
    /// assert_eq!(backoff.attempts(), 2);
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// A tiny, good-enough generator for jitter (not for anything secret).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_and_stays_in_range() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(3);
        let mut b = Backoff::new(min, max, 7);
        let mut ceiling = min;
        for _ in 0..40 {
            let d = b.next_delay();
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "{d:?} outside [{:?}, {ceiling:?}]",
                ceiling / 2
            );
            ceiling = (ceiling * 2).min(max);
        }
    }

    #[test]
    fn same_seed_same_delays_other_seed_differs() {
        let mk = |seed| {
            let mut b = Backoff::new(Duration::from_millis(10), Duration::from_secs(10), seed);
            (0..10)
                .map(|_| b.next_delay())
                .collect::<alloc::vec::Vec<_>>()
        };
        assert_eq!(mk(1), mk(1));
        assert_ne!(mk(1), mk(2));
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_secs(10), 3);
        for _ in 0..10 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(10));
        assert_eq!(b.attempts(), 1);
    }

    #[test]
    fn zero_minimum_is_fine() {
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO, 0);
        assert_eq!(b.next_delay(), Duration::ZERO);
    }
}
