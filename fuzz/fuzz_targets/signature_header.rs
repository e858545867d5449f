//! Standard Webhooks verification: arbitrary headers, body and secrets.
//!
//! Input (so the reference vector is a readable seed): five lines, then the body:
//! `secret(s)`, `webhook-id`, `webhook-timestamp`, `webhook-signature`, `now`
//! (decimal; empty = the timestamp), then every remaining byte is the body.
//!
//! Invariants:
//! - `parse_secrets` and `verify` never panic; every error displays;
//! - a signature made by `sign` for (id, ts, body) always verifies, also behind
//!   foreign (`v1a,`) and garbage entries, and names the secret that made it;
//! - any single-byte change of the body (and dropping or adding a byte) makes it fail;
//! - a verified message's timestamp is within `now ± tolerance`.
#![no_main]

use base64::prelude::{Engine as _, BASE64_STANDARD};
use edgecache::http::time::UnixSecs;
use edgecache::purge::signature::{
    parse_secrets, sign, verify, Secret, VerifyError, WebhookHeaders,
};
use libfuzzer_sys::fuzz_target;

const TOLERANCE: u64 = 300;
const FALLBACK_SECRET: &[u8] = b"fuzz-webhook-secret-0123456789";

fn line<'a>(data: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = data.iter().position(|&b| b == b'\n')?;
    let (l, rest) = data.split_at(end);
    *data = &rest[1..];
    Some(l)
}

fn opt(l: &[u8]) -> Option<String> {
    // An empty line is an absent header.
    (!l.is_empty()).then(|| String::from_utf8_lossy(l).into_owned())
}

fn headers(id: &str, ts: UnixSecs, sig: String) -> WebhookHeaders {
    WebhookHeaders {
        id: Some(id.to_string()),
        timestamp: Some(ts.to_string()),
        signature: Some(sig),
    }
}

fn must_fail(secrets: &[Secret], id: &str, ts: UnixSecs, sig: &str, body: &[u8], why: &str) {
    let r = verify(
        secrets,
        &headers(id, ts, sig.to_string()),
        body,
        ts,
        TOLERANCE,
    );
    assert_eq!(r, Err(VerifyError::NoValidSignature), "{why}");
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let (Some(s), Some(id), Some(ts), Some(sig), Some(now)) = (
        line(&mut rest),
        line(&mut rest),
        line(&mut rest),
        line(&mut rest),
        line(&mut rest),
    ) else {
        return;
    };
    let body = rest;
    let secret_text = String::from_utf8_lossy(s);
    let parsed = parse_secrets(&secret_text);
    if let Err(e) = &parsed {
        assert!(!e.to_string().is_empty());
    }
    let ts_num = std::str::from_utf8(ts)
        .ok()
        .and_then(|t| t.parse::<u64>().ok());
    let now_num = std::str::from_utf8(now)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .or(ts_num)
        .map_or(UnixSecs(0), UnixSecs);
    let secrets = match parsed {
        Ok(v) => v,
        Err(_) => match Secret::from_bytes(FALLBACK_SECRET) {
            Ok(s) => vec![s],
            Err(e) => panic!("{e}"),
        },
    };

    // Arbitrary headers: never a panic; a success is within the window.
    let given = WebhookHeaders {
        id: opt(id),
        timestamp: opt(ts),
        signature: opt(sig),
    };
    match verify(&secrets, &given, body, now_num, TOLERANCE) {
        Ok(v) => {
            assert!(v.secret_index < secrets.len());
            assert!(v.timestamp.0.abs_diff(now_num.0) <= TOLERANCE);
            assert_eq!(Some(v.id.as_str()), given.id.as_deref());
        }
        Err(e) => {
            assert!(matches!(e.status(), 401 | 503));
            assert!(!e.to_string().is_empty());
        }
    }
    assert_eq!(
        verify(&[], &given, body, now_num, TOLERANCE),
        Err(VerifyError::NoSecrets)
    );

    // Our own signatures: need a valid id (printable ASCII, 1..=256 bytes).
    let id = String::from_utf8_lossy(id).into_owned();
    if id.is_empty() || id.len() > 256 || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return;
    }
    // `webhook-timestamp` is at most 19 digits (year 316 billion is out of scope).
    let ts = UnixSecs(ts_num.unwrap_or(now_num.0) % 10_000_000_000_000_000_000);
    let last = secrets.len() - 1;
    let good = sign(&secrets[last], &id, ts, body);
    let r = verify(
        &secrets,
        &headers(&id, ts, good.clone()),
        body,
        ts,
        TOLERANCE,
    );
    match r {
        // An earlier secret may be the same key (a list can repeat a secret).
        Ok(v) => assert!(v.secret_index <= last && v.timestamp == ts && v.id == id),
        Err(e) => panic!("own signature refused: {e}"),
    }
    // Behind other entries (foreign versions, garbage, the given header's entries).
    let given_sig = String::from_utf8_lossy(sig);
    let crowded = format!(
        "v1a,{} v2,x {} {good}",
        BASE64_STANDARD.encode(body),
        given_sig.split(' ').take(8).collect::<Vec<_>>().join(" ")
    );
    if crowded.split(' ').filter(|e| !e.is_empty()).count() <= 16 {
        let r = verify(&secrets, &headers(&id, ts, crowded), body, ts, TOLERANCE);
        assert!(r.is_ok(), "signature behind others refused: {r:?}");
    }
    // The same secret parsed from its `whsec_` form signs identically.
    let raw = b"0123456789abcdef-from-input";
    let (Ok(a), Ok(b)) = (
        Secret::from_bytes(raw),
        Secret::parse(&format!("whsec_{}", BASE64_STANDARD.encode(raw))),
    ) else {
        panic!("whsec_ round trip");
    };
    assert_eq!(sign(&a, &id, ts, body), sign(&b, &id, ts, body));

    // Any single-byte change of the body fails (a few positions per input).
    if !body.is_empty() {
        let n = body.len();
        for (pos, flip) in [
            (0, 0x01u8),
            (n - 1, 0x80),
            (n / 2, 0xff),
            (usize::from(body[0]) % n, 0x20),
        ] {
            let mut changed = body.to_vec();
            changed[pos] ^= flip;
            must_fail(&secrets, &id, ts, &good, &changed, "changed byte");
        }
        must_fail(&secrets, &id, ts, &good, &body[..n - 1], "dropped byte");
    }
    let mut longer = body.to_vec();
    longer.push(b' ');
    must_fail(&secrets, &id, ts, &good, &longer, "added byte");
    // And a changed timestamp or id.
    must_fail(
        &secrets,
        &id,
        UnixSecs(ts.0 ^ 1),
        &good,
        body,
        "changed timestamp",
    );
    // Same length, first byte changed (the id is printable ASCII).
    let other_id = match id.strip_prefix('!') {
        Some(rest) => format!("#{rest}"),
        None => format!("!{}", &id[1..]),
    };
    must_fail(&secrets, &other_id, ts, &good, body, "changed id");
});
