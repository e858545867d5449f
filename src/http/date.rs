//! HTTP-date (RFC 9110 §5.6.7) to and from Unix seconds.
//!
//! Hand-written on purpose: `std::time::SystemTime` panics on
//! `wasm32-unknown-unknown`, and this module must run there. All arithmetic is
//! on plain integers; no clock is read.
//!
//! Hazard: callers must treat `None` as the fail-safe reading of the field it
//! came from. For `Expires`, an invalid date means "already expired" (RFC 9111
//! §5.3); for `If-Modified-Since`/`Last-Modified`, it means "ignore the field".

use crate::http::time::UnixSecs;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an HTTP-date in any of the three forms a recipient must accept
/// (RFC 9110 §5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the
/// obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`). Returns `None` for anything else, for
/// impossible dates (31 Feb) and for dates before 1970.
///
/// The weekday name must be a valid name but is not checked against the date.
///
/// Hazard: RFC 850 two-digit years. RFC 9110 §5.6.7 resolves them relative
/// to the current year, which this clock-free function does not know; it uses
/// a fixed pivot instead (`00`–`69` → 20xx, `70`–`99` → 19xx). The form has
/// been obsolete since 1996, and the route TTL caps any freshness derived from it.
pub fn parse(s: &str) -> Option<UnixSecs> {
    let s = s.trim_matches([' ', '\t']);
    if !s.is_ascii() {
        return None;
    }
    parse_imf_fixdate(s)
        .or_else(|| parse_rfc850(s))
        .or_else(|| parse_asctime(s))
        .map(UnixSecs)
}

/// Formats Unix seconds as ISO 8601 basic UTC, e.g. `20150830T123600Z`: the
/// `X-Amz-Date` form of AWS Signature Version 4 (its first 8 characters are
/// the credential scope's date).
pub fn format_iso8601_basic(at: UnixSecs) -> String {
    let secs = at.0;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(secs / 86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Formats Unix seconds as IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
/// Past [`MAX_SECS`] the year has more than four digits, which no parser reads.
pub fn format(at: UnixSecs) -> String {
    let secs = at.0;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 in DAY_NAMES).
    let wd = ((days + 3) % 7) as usize;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAY_NAMES[wd],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (exactly 29 bytes).
fn parse_imf_fixdate(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 29 || &s[3..5] != ", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    if &s[25..] != " GMT" {
        return None;
    }
    day_name(&s[..3], &DAY_NAMES)?;
    let day = digits(&s[5..7])?;
    let month = month(&s[8..11])?;
    let year = digits(&s[12..16])?;
    let (h, mi, se) = time_of_day(&s[17..25])?;
    to_unix(year, month, day, h, mi, se)
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`.
fn parse_rfc850(s: &str) -> Option<u64> {
    let (name, rest) = s.split_once(", ")?;
    day_name(name, &LONG_DAY_NAMES)?;
    let b = rest.as_bytes();
    if b.len() != 22 || b[2] != b'-' || b[6] != b'-' || b[9] != b' ' || &rest[18..] != " GMT" {
        return None;
    }
    let day = digits(&rest[0..2])?;
    let month = month(&rest[3..6])?;
    let yy = digits(&rest[7..9])?;
    let year = if yy < 70 { 2000 + yy } else { 1900 + yy };
    let (h, mi, se) = time_of_day(&rest[10..18])?;
    to_unix(year, month, day, h, mi, se)
}

/// `Sun Nov  6 08:49:37 1994` (day is space-padded).
fn parse_asctime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
        return None;
    }
    day_name(&s[..3], &DAY_NAMES)?;
    let month = month(&s[4..7])?;
    let day = match (b[8], b[9]) {
        (b' ', d) if d.is_ascii_digit() => u64::from(d - b'0'),
        _ => digits(&s[8..10])?,
    };
    let (h, mi, se) = time_of_day(&s[11..19])?;
    let year = digits(&s[20..24])?;
    to_unix(year, month, day, h, mi, se)
}

fn day_name(s: &str, names: &[&str]) -> Option<()> {
    names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(s))
        .then_some(())
}

fn month(s: &str) -> Option<u64> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(s))
        .map(|i| i as u64 + 1)
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `08:49:37`. Second 60 is allowed (leap second, RFC 5322 §3.3).
fn time_of_day(s: &str) -> Option<(u64, u64, u64)> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?);
    (h < 24 && m < 60 && sec <= 60).then_some((h, m, sec))
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// 9999-12-31T23:59:59Z: the last instant an IMF-fixdate (four-digit year) can
/// spell, so the latest [`parse`] returns and [`format`] round-trips.
pub const MAX_SECS: u64 = 253_402_300_799;

/// `None` past [`MAX_SECS`]: a leap second (`23:59:60`) on 9999-12-31 lands in
/// year 10000, which [`format`] cannot spell in four digits (found by fuzzing).
pub(crate) fn to_unix(y: u64, m: u64, d: u64, h: u64, mi: u64, s: u64) -> Option<u64> {
    if y < 1970 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    Some(days * 86_400 + h * 3600 + mi * 60 + s).filter(|&t| t <= MAX_SECS)
}

/// Days since 1970-01-01 (H. Hinnant's algorithm), for y >= 1970.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`]; month 1–12, day 1–31.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}
