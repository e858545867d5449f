//! `EDGECACHE` config: arbitrary bytes as JSON text.
//!
//! Invariants:
//! - `Config::from_json_str` never panics, and every error displays;
//! - validation is deterministic: the same text gives the same result twice;
//! - when it succeeds, the JSON re-serialized (other spacing, key order) gives the
//!   identical `Config`, and so does `from_json` of the parsed value.
#![no_main]

use edgecache::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = Config::from_json_str(text);
    let second = Config::from_json_str(text);
    assert_eq!(first, second, "validation is not deterministic");
    match first {
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
        Ok(config) => {
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => panic!("accepted text is not JSON: {e}"),
            };
            assert_eq!(Config::from_json(&value).as_ref(), Ok(&config));
            let compact = value.to_string();
            assert_eq!(Config::from_json_str(&compact).as_ref(), Ok(&config));
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            assert_eq!(Config::from_json_str(&pretty).as_ref(), Ok(&config));
            // Validated invariants every other module relies on.
            for (i, r) in config.routes.iter().enumerate() {
                assert!(!r.name.is_empty());
                assert!(r.path.source.starts_with('/'));
                assert!(!config.routes[..i].iter().any(|e| e.name == r.name));
                assert!(!config.routes[..i]
                    .iter()
                    .any(|e| r.path.is_covered_by(&e.path)));
                assert!(!r.per_user || !r.credentials.is_empty());
            }
        }
    }
});
