//! `purge::cache_tag`: the tag a stored entry carries per purge name.

use edgecache::purge::cache_tag::{cache_tag, header, MAX_HEADER_BYTES};
use edgecache::purge::generations::GenName;

#[test]
fn a_route_tag_is_itself_and_derived_names_are_hashed() {
    assert_eq!(
        cache_tag(&GenName::tag("Course-7")).as_deref(),
        Some("course-7")
    );
    let url = cache_tag(&GenName::url("https://api.example/v1/courses/7")).unwrap();
    let prefix = cache_tag(&GenName::prefix("api.example", "/v1/courses")).unwrap();
    assert!(url.starts_with("ec-") && url.len() == 3 + 12, "{url}");
    assert!(prefix.starts_with("ec-") && prefix != url, "{prefix}");
    assert_eq!(cache_tag(&GenName::all()), None);
}

#[test]
fn tags_cloudflare_would_refuse_are_left_out() {
    assert_eq!(cache_tag(&GenName::tag("a,b")), None);
    assert_eq!(cache_tag(&GenName::tag("a b")), None);
    assert_eq!(cache_tag(&GenName::tag(&"x".repeat(1025))), None);
    assert!(cache_tag(&GenName::tag(&"x".repeat(1024))).is_some());
}

#[test]
fn the_header_is_deduplicated_and_bounded() {
    let names = vec![
        GenName::all(),
        GenName::tag("a"),
        GenName::tag("A"),
        GenName::url("https://h/x"),
    ];
    let h = header(&names).unwrap();
    assert_eq!(h.split(',').count(), 2, "{h}");
    assert!(h.starts_with("a,ec-"), "{h}");
    assert_eq!(header(&[GenName::all()]), None);
    let many: Vec<GenName> = (0..40)
        .map(|i| GenName::tag(&format!("{i:0>1000}")))
        .collect();
    let h = header(&many).unwrap();
    assert!(
        h.len() <= MAX_HEADER_BYTES && h.split(',').count() == 16,
        "{}",
        h.len()
    );
}
