//! Reconnection delays with socket.io-client's `Backoff` semantics.

use core::time::Duration;

/// Exponential backoff with jitter, as socket.io-client's `Manager` uses it
/// (`reconnectionDelay`, `reconnectionDelayMax`, `randomizationFactor`,
/// `reconnectionAttempts`).
///
/// For attempt `n` (from 0): `ms = base · 2ⁿ`; with `rand` in `[0, 1)` from the
/// caller, `deviation = ⌊rand · jitter · ms⌋` is subtracted when `⌊rand · 10⌋`
/// is even and added when odd; the result is capped at `max`.
///
/// ```
/// use core::time::Duration;
/// use socketwire::engineio::Backoff;
/// let mut backoff = Backoff::new(Duration::from_millis(1000), Duration::from_millis(5000), 0.5, Some(3));
/// assert_eq!(backoff.next_delay(0.0), Some(Duration::from_millis(1000)));
/// assert_eq!(backoff.next_delay(0.15), Some(Duration::from_millis(2150))); // 2000 + 150
/// assert_eq!(backoff.next_delay(0.0), Some(Duration::from_millis(4000)));
/// assert_eq!(backoff.next_delay(0.0), None); // three attempts used
/// backoff.reset();
/// assert_eq!(backoff.attempts(), 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: f64,
    max_attempts: Option<u32>,
    attempts: u32,
}

impl Backoff {
    /// A backoff with base delay, maximum delay, jitter factor (clamped to
    /// `[0, 1]`) and an optional attempt limit (`None` = unlimited).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::engineio::Backoff;
    /// let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5), 0.5, None);
    /// assert_eq!(b.attempts(), 0);
    /// ```
    pub fn new(base: Duration, max: Duration, jitter: f64, max_attempts: Option<u32>) -> Backoff {
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        Backoff {
            base,
            max,
            jitter,
            max_attempts,
            attempts: 0,
        }
    }

    /// socket.io-client's defaults: 1 s base, 5 s max, jitter 0.5, unlimited attempts.
    ///
    /// ```
    /// use core::time::Duration;
    /// let mut b = socketwire::engineio::Backoff::socket_io_default();
    /// assert_eq!(b.next_delay(0.0), Some(Duration::from_secs(1)));
    /// ```
    pub fn socket_io_default() -> Backoff {
        Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
            None,
        )
    }

    /// The delay before the next attempt, or `None` when the attempts are used
    /// up. `random` is the caller's uniform sample in `[0, 1)` (clamped).
    ///
    /// ```
    /// use core::time::Duration;
    /// let mut b = socketwire::engineio::Backoff::new(Duration::from_millis(100), Duration::from_millis(150), 0.0, None);
    /// b.next_delay(0.5);
    /// assert_eq!(b.next_delay(0.5), Some(Duration::from_millis(150)));
    /// ```
    pub fn next_delay(&mut self, random: f64) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| self.attempts >= max) {
            return None;
        }
        let exponent = self.attempts.min(63);
        self.attempts = self.attempts.saturating_add(1);
        let base_ms = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let ms = base_ms.saturating_mul(1u64 << exponent);
        let random = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 0.999_999_999)
        };
        let ms = if self.jitter > 0.0 {
            // Float to integer casts truncate toward zero: floor for these
            // non-negative values (core has no `f64::floor` without std).
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let (deviation, odd) = (
                (random * self.jitter * ms as f64) as u64,
                ((random * 10.0) as u64) & 1 == 1,
            );
            if odd {
                ms.saturating_add(deviation)
            } else {
                ms.saturating_sub(deviation)
            }
        } else {
            ms
        };
        let max_ms = u64::try_from(self.max.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(ms.min(max_ms)))
    }

    /// Attempts made since the last reset.
    ///
    /// ```
    /// let b = socketwire::engineio::Backoff::socket_io_default();
    /// assert_eq!(b.attempts(), 0);
    /// ```
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Starts over after a successful connection.
    ///
    /// ```
    /// let mut b = socketwire::engineio::Backoff::socket_io_default();
    /// b.next_delay(0.3);
    /// b.reset();
    /// assert_eq!(b.attempts(), 0);
    /// ```
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}
