use edgecache::http::date;
use edgecache::http::time::UnixSecs;
use proptest::prelude::*;

#[test]
fn parses_fixture_table() {
    let table = include_str!("../../fixtures/httpdate.txt");
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (input, expect) = line.rsplit_once("=>").expect("fixture line has =>");
        let expect: Option<UnixSecs> = match expect.trim() {
            "none" => None,
            n => Some(UnixSecs(n.parse().unwrap())),
        };
        assert_eq!(date::parse(input.trim()), expect, "input {input:?}");
    }
}

#[test]
fn formats_imf_fixdate() {
    assert_eq!(
        date::format(UnixSecs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
}

#[test]
fn formats_epoch() {
    assert_eq!(date::format(UnixSecs(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
}

#[test]
fn rejects_non_ascii_without_panicking() {
    assert_eq!(date::parse("Sün, 06 Nov 1994 08:49:37 GMT"), None);
}

#[test]
fn formats_huge_values_without_panicking() {
    let _ = date::format(UnixSecs(u64::MAX));
}

proptest! {
    #[test]
    fn format_then_parse_round_trips(secs in 0u64..253_402_300_800) {
        prop_assert_eq!(date::parse(&date::format(UnixSecs(secs))), Some(UnixSecs(secs)));
    }

    #[test]
    fn never_panics_on_garbage(s in "\\PC*") {
        let _ = date::parse(&s);
    }
}

/// Fuzzing finding (`http_parsers`): a leap second on 9999-12-31 parsed to a
/// time in year 10000, whose `format` (five-digit year) no longer parsed.
#[test]
fn leap_second_past_year_9999_is_refused() {
    assert_eq!(date::parse("Fri, 31 Dec 9999 23:59:60 GMT"), None);
    assert_eq!(
        date::parse("Fri, 31 Dec 9999 23:59:59 GMT"),
        Some(UnixSecs(253_402_300_799))
    );
    assert_eq!(
        date::parse(&date::format(UnixSecs(253_402_300_799))),
        Some(UnixSecs(253_402_300_799))
    );
    // Other leap seconds still read as the next second.
    assert_eq!(
        date::parse("Sun, 31 Dec 2028 23:59:60 GMT"),
        date::parse("Mon, 01 Jan 2029 00:00:00 GMT")
    );
}
