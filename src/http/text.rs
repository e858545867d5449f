//! Small text primitives every layer shares: tokens, strict decimal numbers,
//! hex. One implementation each, so a format cannot drift between the writer
//! and the reader.

use sha2::{Digest, Sha256};

/// `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.6.2 token: one or more `tchar`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// `1*DIGIT` of at most `max_len` digits, as a number. Leading zeros are
/// accepted (`Retry-After: 030`, webhook timestamps).
pub(crate) fn digits_u64(s: &str, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The strict parser for numbers edgecache wrote itself (stored entries, KV
/// values): canonical decimal only, as `u64::to_string` writes it: digits, no
/// sign, no space, no leading zero, fits `u64`. Anything else is `None`:
/// a value in another shape was not written by us.
pub(crate) fn canonical_u64(s: &str) -> Option<u64> {
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    digits_u64(s, 20)
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
/// Upper-case hex, as percent-encoding writes it (RFC 3986 §2.1).
pub(crate) const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX_LOWER[usize::from(b >> 4)]));
        s.push(char::from(HEX_LOWER[usize::from(b & 0xf)]));
    }
    s
}

/// `%XY` of one byte, upper-case hex (RFC 3986 §2.1).
pub(crate) fn pct_byte(b: u8) -> [u8; 3] {
    [
        b'%',
        HEX_UPPER[usize::from(b >> 4)],
        HEX_UPPER[usize::from(b & 15)],
    ]
}

/// Lower-case hex SHA-256. Stable across machines, which key derivation needs
/// (KV keys, receipt keys).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numbers_only() {
        assert_eq!(canonical_u64("0"), Some(0));
        assert_eq!(canonical_u64("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.0",
            "18446744073709551616",
            "0x1",
        ] {
            assert_eq!(canonical_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digits_accept_leading_zeros_up_to_a_length() {
        assert_eq!(digits_u64("030", 10), Some(30));
        assert_eq!(digits_u64("12345678901", 10), None);
        assert_eq!(digits_u64("", 10), None);
    }

    #[test]
    fn hex_is_lower_and_pct_is_upper() {
        assert_eq!(hex_lower(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(&pct_byte(0xab), b"%AB");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tokens() {
        assert!(is_token("max-age"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
    }
}
