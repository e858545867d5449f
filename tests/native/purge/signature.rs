use base64::prelude::{Engine as _, BASE64_STANDARD};
use edgecache::http::headers::Headers;
use edgecache::http::time::UnixSecs;
use edgecache::purge::signature::{
    parse_secrets, sign, verify, Secret, SecretError, VerifyError, WebhookHeaders,
};
use proptest::prelude::*;
use serde_json::Value;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: UnixSecs = UnixSecs(1614265330);
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const TOL: u64 = 300;
/// The largest timestamp the header may carry (19 digits).
const MAX_TS: u64 = 9_999_999_999_999_999_999;

fn secret() -> Secret {
    Secret::parse(SECRET).unwrap()
}

fn headers(sig: &str) -> WebhookHeaders {
    WebhookHeaders {
        id: Some(ID.into()),
        timestamp: Some(TS.to_string()),
        signature: Some(sig.into()),
    }
}

fn good_sig() -> String {
    sign(&secret(), ID, TS, BODY)
}

#[test]
fn matches_published_standard_webhooks_vectors() {
    let raw = std::fs::read_to_string("tests/fixtures/standard_webhooks_vectors.json").unwrap();
    let vectors: Vec<Value> = serde_json::from_str(&raw).unwrap();
    for v in vectors {
        let s = Secret::parse(v["secret"].as_str().unwrap()).unwrap();
        let id = v["msg_id"].as_str().unwrap();
        let ts = UnixSecs(v["timestamp"].as_u64().unwrap());
        let body = v["payload"].as_str().unwrap().as_bytes();
        let expected = v["signature"].as_str().unwrap();
        assert_eq!(sign(&s, id, ts, body), expected);
        let h = WebhookHeaders {
            id: Some(id.into()),
            timestamp: Some(ts.to_string()),
            signature: Some(expected.into()),
        };
        let ok = verify(&[s], &h, body, ts, TOL).unwrap();
        assert_eq!((ok.id.as_str(), ok.timestamp, ok.secret_index), (id, ts, 0));
    }
}

#[test]
fn accepts_secret_without_prefix() {
    let bare = Secret::parse(SECRET.trim_start_matches("whsec_")).unwrap();
    assert_eq!(sign(&bare, ID, TS, BODY), good_sig());
}

#[test]
fn refuses_bad_secrets() {
    assert_eq!(Secret::parse("").unwrap_err(), SecretError::Empty);
    assert_eq!(Secret::parse("whsec_").unwrap_err(), SecretError::Empty);
    assert_eq!(
        Secret::parse("whsec_not base64!").unwrap_err(),
        SecretError::NotBase64
    );
    assert_eq!(
        Secret::parse("whsec_c2hvcnQ=").unwrap_err(),
        SecretError::TooShort { len: 5 }
    );
}

#[test]
fn secret_debug_does_not_reveal_key() {
    assert_eq!(format!("{:?}", secret()), "Secret(<redacted>)");
}

#[test]
fn parses_secret_lists_separated_by_spaces_or_commas() {
    assert_eq!(
        parse_secrets(&format!("{SECRET} {OTHER}")).unwrap().len(),
        2
    );
    assert_eq!(
        parse_secrets(&format!(" {SECRET},{OTHER} ,"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(parse_secrets(" , ").unwrap_err(), SecretError::Empty);
    let err = parse_secrets(&format!("{SECRET} whsec_c2hvcnQ=")).unwrap_err();
    assert!(matches!(err, SecretError::InList { index: 1, .. }));
    assert!(err.to_string().starts_with("secret [1]:"));
}

#[test]
fn rotation_accepts_either_secret_and_reports_which() {
    let secrets = parse_secrets(&format!("{OTHER} {SECRET}")).unwrap();
    let ok = verify(&secrets, &headers(&good_sig()), BODY, TS, TOL).unwrap();
    assert_eq!(ok.secret_index, 1);
}

#[test]
fn rotation_accepts_two_signatures_when_one_matches() {
    let other = Secret::parse(OTHER).unwrap();
    let two = format!("{} {}", sign(&other, ID, TS, BODY), good_sig());
    assert!(verify(&[secret()], &headers(&two), BODY, TS, TOL).is_ok());
    let two_rev = format!("{} {}", good_sig(), sign(&other, ID, TS, BODY));
    assert!(verify(&[secret()], &headers(&two_rev), BODY, TS, TOL).is_ok());
}

#[test]
fn rejects_tampered_body() {
    let err = verify(
        &[secret()],
        &headers(&good_sig()),
        br#"{"test": 2432232315}"#,
        TS,
        TOL,
    );
    assert_eq!(err.unwrap_err(), VerifyError::NoValidSignature);
}

#[test]
fn rejects_reserialized_json() {
    let v: Value = serde_json::from_slice(BODY).unwrap();
    let reserialized = serde_json::to_vec(&v).unwrap();
    assert_ne!(reserialized, BODY);
    let err = verify(&[secret()], &headers(&good_sig()), &reserialized, TS, TOL);
    assert_eq!(err.unwrap_err(), VerifyError::NoValidSignature);
}

#[test]
fn rejects_tampered_id_or_timestamp() {
    let mut h = headers(&good_sig());
    h.id = Some("msg_other".into());
    assert_eq!(
        verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
        VerifyError::NoValidSignature
    );
    let mut h = headers(&good_sig());
    h.timestamp = Some(TS.saturating_add(1).to_string());
    assert_eq!(
        verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
        VerifyError::NoValidSignature
    );
}

#[test]
fn accepts_timestamps_at_the_tolerance_edges() {
    let h = headers(&good_sig());
    assert!(verify(&[secret()], &h, BODY, TS.saturating_add(TOL), TOL).is_ok());
    assert!(verify(&[secret()], &h, BODY, UnixSecs(TS.0 - TOL), TOL).is_ok());
}

#[test]
fn rejects_stale_timestamp() {
    let h = headers(&good_sig());
    assert_eq!(
        verify(&[secret()], &h, BODY, TS.saturating_add(TOL + 1), TOL).unwrap_err(),
        VerifyError::TimestampTooOld {
            timestamp: TS,
            now: TS.saturating_add(TOL + 1)
        }
    );
}

#[test]
fn rejects_future_timestamp() {
    let h = headers(&good_sig());
    assert_eq!(
        verify(&[secret()], &h, BODY, UnixSecs(TS.0 - TOL - 1), TOL).unwrap_err(),
        VerifyError::TimestampTooNew {
            timestamp: TS,
            now: UnixSecs(TS.0 - TOL - 1)
        }
    );
}

#[test]
fn rejects_malformed_timestamps() {
    for bad in [
        "",
        "abc",
        "+1614265330",
        "1614265330.0",
        " 1614265330",
        "99999999999999999999",
        "-1",
    ] {
        let mut h = headers(&good_sig());
        h.timestamp = Some(bad.into());
        assert_eq!(
            verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
            VerifyError::BadTimestamp(bad.into()),
            "{bad:?}"
        );
    }
}

#[test]
fn rejects_missing_headers_each_by_name() {
    let full = headers(&good_sig());
    let mut h = full.clone();
    h.id = None;
    assert_eq!(
        verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
        VerifyError::MissingId
    );
    let mut h = full.clone();
    h.timestamp = None;
    assert_eq!(
        verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
        VerifyError::MissingTimestamp
    );
    let mut h = full;
    h.signature = None;
    assert_eq!(
        verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
        VerifyError::MissingSignature
    );
}

#[test]
fn rejects_bad_ids() {
    for bad in ["".to_string(), "has space".into(), "x".repeat(257)] {
        let mut h = headers(&good_sig());
        h.id = Some(bad);
        assert_eq!(
            verify(&[secret()], &h, BODY, TS, TOL).unwrap_err(),
            VerifyError::BadId
        );
    }
}

#[test]
fn rejects_without_configured_secrets() {
    let err = verify(&[], &headers(&good_sig()), BODY, TS, TOL).unwrap_err();
    assert_eq!(err, VerifyError::NoSecrets);
    assert_eq!(err.status(), 503);
}

#[test]
fn signature_entries_that_cannot_match_are_no_match() {
    let good = good_sig();
    let b64 = good.trim_start_matches("v1,");
    let raw = BASE64_STANDARD.decode(b64).unwrap();
    let cases = [
        "v1,".to_string(),
        "v1".to_string(),
        format!("v1a,{b64}"),
        format!("v2,{b64}"),
        format!("V1,{b64}"),
        b64.to_string(),
        format!("v1,{}", &b64[..20]),
        format!("v1,{}", BASE64_STANDARD.encode(&raw[..31])),
        format!(
            "v1,{}",
            BASE64_STANDARD.encode([raw.as_slice(), &[0]].concat())
        ),
        "v1,!!!not-base64!!!".to_string(),
        format!("v1,{}", b64.trim_end_matches('=')),
        ",".to_string(),
        "   ".to_string(),
    ];
    for sig in cases {
        assert_eq!(
            verify(&[secret()], &headers(&sig), BODY, TS, TOL).unwrap_err(),
            VerifyError::NoValidSignature,
            "{sig:?}"
        );
    }
}

#[test]
fn ignores_other_versions_next_to_a_valid_one() {
    let sig = format!("v1a,AAAA v2,BBBB {}", good_sig());
    assert!(verify(&[secret()], &headers(&sig), BODY, TS, TOL).is_ok());
}

#[test]
fn reads_headers_case_insensitively_and_joins_repeated_signatures() {
    let other = Secret::parse(OTHER).unwrap();
    let h: Headers = [
        ("Webhook-Id", ID.to_string()),
        ("WEBHOOK-TIMESTAMP", TS.to_string()),
        ("webhook-signature", sign(&other, ID, TS, BODY)),
        ("Webhook-Signature", good_sig()),
    ]
    .into_iter()
    .collect();
    let wh = WebhookHeaders::from_headers(&h);
    assert!(verify(&[secret()], &wh, BODY, TS, TOL).is_ok());
    assert_eq!(
        WebhookHeaders::from_headers(&Headers::new()),
        WebhookHeaders::default()
    );
}

#[test]
fn every_verify_error_maps_to_a_status_and_a_message_without_secrets() {
    let errs = [
        VerifyError::MissingId,
        VerifyError::MissingTimestamp,
        VerifyError::MissingSignature,
        VerifyError::BadId,
        VerifyError::BadTimestamp("x".into()),
        VerifyError::TimestampTooOld {
            timestamp: UnixSecs(1),
            now: UnixSecs(2),
        },
        VerifyError::TimestampTooNew {
            timestamp: UnixSecs(2),
            now: UnixSecs(1),
        },
        VerifyError::NoValidSignature,
    ];
    for e in errs {
        assert_eq!(e.status(), 401);
        let msg = e.client_message();
        assert!(!msg.is_empty() && !msg.contains("whsec") && !msg.contains("secret"));
    }
}

proptest! {
    #[test]
    fn sign_then_verify_round_trips(
        id in "[!-~]{1,64}",
        ts in 0u64..4_000_000_000,
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let ts = UnixSecs(ts);
        let s = secret();
        let h = WebhookHeaders { id: Some(id.clone()), timestamp: Some(ts.to_string()), signature: Some(sign(&s, &id, ts, &body)) };
        prop_assert!(verify(&[s], &h, &body, ts, 0).is_ok());
    }

    /// The window is `now - tolerance ..= now + tolerance`, both ends saturating
    /// (checked against that formula, the one the verifier used to spell out).
    #[test]
    fn accepts_exactly_the_timestamps_within_tolerance(
        // At most 19 digits: longer ones are refused as malformed.
        ts in prop_oneof![0u64..1_000, MAX_TS - 1_000..=MAX_TS, 0..=MAX_TS],
        now in prop_oneof![0u64..1_000, u64::MAX - 1_000..=u64::MAX, any::<u64>()],
        tol in prop_oneof![0u64..600, any::<u64>()],
    ) {
        let s = secret();
        let h = WebhookHeaders {
            id: Some(ID.into()),
            timestamp: Some(ts.to_string()),
            signature: Some(sign(&s, ID, UnixSecs(ts), BODY)),
        };
        let within = ts >= now.saturating_sub(tol) && ts <= now.saturating_add(tol);
        match verify(&[s], &h, BODY, UnixSecs(now), tol) {
            Ok(_) => prop_assert!(within),
            Err(VerifyError::TimestampTooOld { .. }) => prop_assert!(ts < now.saturating_sub(tol)),
            Err(VerifyError::TimestampTooNew { .. }) => prop_assert!(ts > now.saturating_add(tol)),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn never_panics_on_arbitrary_headers(
        id in ".{0,80}",
        ts in ".{0,24}",
        sig in ".{0,300}",
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let h = WebhookHeaders { id: Some(id), timestamp: Some(ts), signature: Some(sig) };
        let _ = verify(&[secret()], &h, &body, TS, TOL);
        let _ = Secret::parse(&h.signature.unwrap_or_default());
    }
}
