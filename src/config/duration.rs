//! Config durations: `"90s"`, `"15m"`, `"2h"`, `"30d"` → seconds.
//!
//! Strings only. A bare number (`"15"`, `15`) is rejected on purpose: a TTL
//! written without a unit is ambiguous (seconds? minutes?) and the wrong guess
//! caches private data for 60 times longer than intended.

use std::fmt;

/// Seconds. Durations in config are written "90s", "15m", "2h", "30d".
pub type Secs = u64;

/// A duration string that does not parse. Carries the bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not `<digits><unit>` with unit one of `s m h d`.
    Malformed(String),
    /// The number of seconds does not fit in a `u64`.
    Overflow(String),
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Malformed(v) => {
                write!(f, "bad duration {v:?} (use 90s, 15m, 2h, 30d)")
            }
            DurationError::Overflow(v) => write!(f, "duration {v:?} is too large"),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses `<digits><unit>`, unit `s` (seconds), `m` (minutes), `h` (hours) or
/// `d` (days, 86 400 s). No sign, no fraction, no whitespace, no unit-less
/// numbers. `"0s"` is valid (it turns a feature such as stale-while-revalidate off).
pub fn parse_duration(s: &str) -> Result<Secs, DurationError> {
    let malformed = || DurationError::Malformed(s.to_string());
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => return Err(malformed()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let multiplier: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(malformed()),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| DurationError::Overflow(s.to_string()))?;
    n.checked_mul(multiplier)
        .ok_or_else(|| DurationError::Overflow(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2h"), Ok(7_200));
        assert_eq!(parse_duration("30d"), Ok(2_592_000));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "", "15", "1.5m", "-1s", "+1s", " 1s", "1s ", "1w", "m", "1S", "1é",
        ] {
            assert_eq!(
                parse_duration(bad),
                Err(DurationError::Malformed(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_overflow() {
        assert!(matches!(
            parse_duration("99999999999999999999s"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            parse_duration("18446744073709551615d"),
            Err(DurationError::Overflow(_))
        ));
    }
}
