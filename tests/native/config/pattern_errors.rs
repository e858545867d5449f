//! Why a route path pattern is refused (`config::parse_pattern` →
//! `PatternError`), one case per rule, and the message each reason gives
//! after `bad path pattern "...":` in a config error.
use edgecache::config::{load_wrangler_toml, parse_pattern, ConfigError, PatternError};

#[test]
fn each_bad_pattern_names_the_rule_it_breaks() {
    use PatternError::*;
    for (pattern, why) in [
        ("", NoLeadingSlash),
        ("api/", NoLeadingSlash),
        ("/a//b", EmptySegment),
        ("/api//", EmptySegment),
        ("/a/./b", DotSegment),
        ("/a/../b/", DotSegment),
        ("/a/*/b", MisplacedWildcard),
        ("/a*", MisplacedWildcard),
        ("/media/x*/", MisplacedWildcard),
        ("/:pk(float)/", UnknownConverter),
        ("/:/", EmptyParamName),
        ("/:(int)/", EmptyParamName),
        ("/:1x/", BadParamName),
        ("/:a-b/", BadParamName),
        ("/:x/:x/", DuplicateParam),
        ("/:x(int)/:x(slug)/", DuplicateParam),
        ("/a%20b", BadLiteral),
        ("/a;b", BadLiteral),
        ("/a b/", BadLiteral),
    ] {
        assert_eq!(parse_pattern(pattern), Err(why), "{pattern:?}");
    }
}

#[test]
fn good_patterns_parse() {
    for pattern in [
        "/",
        "/*",
        "/media/*",
        "/api/courses/",
        "/api/courses/:pk/",
        "/api/:pk(int)/:slug(slug)/:id(uuid)",
        "/a-b_c.d~e!$&'()+,=@:f/",
    ] {
        assert!(parse_pattern(pattern).is_ok(), "{pattern:?}");
    }
}

#[test]
fn the_config_error_carries_the_reason_and_its_message() {
    let toml = "[vars.EDGECACHE]\norigin = \"https://api.example.com\"\n\
                [[vars.EDGECACHE.routes]]\nname = \"a\"\npath = \"/api/:x/:x/\"\nttl = \"1m\"\n";
    let err = match load_wrangler_toml(toml, None) {
        Ok(_) => panic!("a pattern naming `x` twice loaded"),
        Err(e) => e,
    };
    assert!(
        matches!(
            &err,
            ConfigError::BadPath { route, reason: PatternError::DuplicateParam, .. } if route == "a"
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(
            "route `a`: field `path`: bad path pattern \"/api/:x/:x/\": parameter name used twice"
        ),
        "{text}"
    );
}

#[test]
fn every_reason_has_its_own_message() {
    use PatternError::*;
    let all = [
        NoLeadingSlash,
        EmptySegment,
        DotSegment,
        MisplacedWildcard,
        UnknownConverter,
        EmptyParamName,
        BadParamName,
        DuplicateParam,
        BadLiteral,
    ];
    let messages: std::collections::BTreeSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), all.len());
}
