//! `http::method::Method`: parsed case-sensitively, given back as sent, and
//! safe only for the four methods RFC 9110 §9.2.1 names.

use edgecache::http::method::Method;

const KNOWN: [(&str, Method); 9] = [
    ("GET", Method::Get),
    ("HEAD", Method::Head),
    ("POST", Method::Post),
    ("PUT", Method::Put),
    ("PATCH", Method::Patch),
    ("DELETE", Method::Delete),
    ("OPTIONS", Method::Options),
    ("TRACE", Method::Trace),
    ("CONNECT", Method::Connect),
];

#[test]
fn known_names_parse_to_their_variant_and_back() {
    for (name, method) in KNOWN {
        assert_eq!(Method::parse(name), method, "{name}");
        assert_eq!(method.as_str(), name);
        assert_eq!(method.to_string(), name);
    }
}

#[test]
fn names_are_case_sensitive() {
    for name in ["get", "Get", "gET", "head", "Post", "options"] {
        assert_eq!(
            Method::parse(name),
            Method::Other(name.to_string()),
            "{name}"
        );
    }
}

#[test]
fn unknown_methods_are_kept_exactly_as_sent() {
    for name in ["PROPFIND", "PURGE", "QUERY", "get", "M-SEARCH", ""] {
        let m = Method::parse(name);
        assert_eq!(m, Method::Other(name.to_string()));
        assert_eq!(m.as_str(), name);
        assert_eq!(Method::from(name), m);
    }
}

#[test]
fn only_get_head_options_and_trace_are_safe() {
    for (name, method) in KNOWN {
        let safe = matches!(name, "GET" | "HEAD" | "OPTIONS" | "TRACE");
        assert_eq!(method.is_safe(), safe, "{name}");
    }
}

#[test]
fn unknown_methods_are_unsafe() {
    for name in ["PROPFIND", "PURGE", "QUERY", "get", "head", "options"] {
        assert!(!Method::parse(name).is_safe(), "{name}");
    }
}

#[test]
fn only_exact_get_and_head_are_looked_up() {
    for (name, method) in KNOWN {
        assert_eq!(
            method.is_get_or_head(),
            matches!(name, "GET" | "HEAD"),
            "{name}"
        );
    }
    assert!(!Method::parse("get").is_get_or_head());
    assert!(!Method::parse("head").is_get_or_head());
}
