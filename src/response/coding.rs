//! Content coding on the way out (RFC 9110 §8.4, §12.5.3): a stored body is
//! kept as the origin coded it (gzip bytes for a gzip answer, see
//! `flow::entry::CODING_HEADER`), and sent as it is to a client whose
//! preferred coding it is; any other client gets it decoded, when the worker
//! can decode it (gzip). The preference is read the way Cloudflare's edge
//! reads it (and Miniflare, which copies the edge): the codings in
//! `Accept-Encoding` by weight, the first `gzip`, `br` or `identity` with a
//! weight above zero wins, and no field at all means identity. The edge then
//! codes the answer for the client itself (`br`, say), from the bytes given.
//!
//! HAZARD: a coded body must never leave under fields that describe another
//! coding: decoding drops `Content-Encoding` and `Content-Length` (the coded
//! length) and weakens a strong `ETag` (it named the coded bytes, RFC 9110
//! §8.8.3).

use crate::http::headers::Headers;

/// How the body of an answer leaves the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCoding {
    /// The bytes as stored (coded or not).
    AsStored,
    /// Gzip bytes, decoded on the way out (the fields already say identity).
    DecodeGzip,
}

/// A coding a client may prefer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preferred {
    Gzip,
    Br,
    Identity,
}

/// The client's preferred coding from its `Accept-Encoding` (`None`: it sent
/// none): see the module doc.
pub fn preferred(accept_encoding: Option<&str>) -> Preferred {
    let Some(value) = accept_encoding else {
        return Preferred::Identity;
    };
    let mut codings: Vec<(String, f32)> = value
        .split(',')
        .filter_map(|element| {
            let mut parts = element.split(';');
            let coding = parts.next()?.trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!coding.is_empty()).then_some((coding, weight))
        })
        .collect();
    // Stable: equal weights keep the client's order.
    codings.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (coding, weight) in codings {
        if weight <= 0.0 {
            continue;
        }
        match coding.as_str() {
            "gzip" | "x-gzip" => return Preferred::Gzip,
            "br" => return Preferred::Br,
            "identity" => return Preferred::Identity,
            _ => {}
        }
    }
    Preferred::Identity
}

/// The codings a body's `Content-Encoding` names, lower-case, `identity`
/// (and empty items) left out.
fn codings(headers: &Headers) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all("content-encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
}

/// The one coding of a body, lower-case (`None`: identity, or several).
fn single_coding(headers: &Headers) -> Option<String> {
    let mut codings = codings(headers);
    let first = codings.next()?;
    codings.next().is_none().then_some(first)
}

/// Whether a body with `headers` can reach every client from one stored copy:
/// no coding (or `identity`), or gzip alone, which [`negotiate`] decodes for a
/// client that prefers another coding.
pub fn decodable(headers: &Headers) -> bool {
    let mut codings = codings(headers);
    match (codings.next(), codings.next()) {
        (None, _) => true,
        (Some(c), None) => c == "gzip" || c == "x-gzip",
        (Some(_), Some(_)) => false,
    }
}

/// Decides how a body with `headers` leaves for a request with `request`'s
/// `Accept-Encoding`, and makes `headers` say so: a coded body carries
/// `Vary: Accept-Encoding` (the answer depends on it); a gzip body for a
/// client that prefers another coding is decoded (see the module's HAZARD).
/// A coding the worker cannot decode (br, deflate, several) leaves as it is.
pub fn negotiate(request: &Headers, headers: &mut Headers) -> BodyCoding {
    let Some(coding) = single_coding(headers) else {
        return BodyCoding::AsStored;
    };
    vary_on_accept_encoding(headers);
    let wanted = preferred(request.get_joined("accept-encoding").as_deref());
    let gzip = coding == "gzip" || coding == "x-gzip";
    if !gzip || wanted == Preferred::Gzip {
        return BodyCoding::AsStored;
    }
    headers.remove("content-encoding");
    headers.remove("content-length");
    if let Some(etag) = headers.get("etag").map(str::to_string) {
        if !etag.starts_with("W/") {
            headers.remove("etag");
            headers.append("etag", &format!("W/{etag}"));
        }
    }
    BodyCoding::DecodeGzip
}

/// Adds `Vary: Accept-Encoding` unless the answer already varies on it (or
/// on everything).
fn vary_on_accept_encoding(headers: &mut Headers) {
    let named = headers
        .get_all("vary")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|n| n == "*" || n.eq_ignore_ascii_case("accept-encoding"));
    if !named {
        headers.append("vary", "Accept-Encoding");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_follows_weight_then_order() {
        assert_eq!(preferred(None), Preferred::Identity);
        assert_eq!(preferred(Some("")), Preferred::Identity);
        assert_eq!(preferred(Some("gzip, deflate, br, zstd")), Preferred::Gzip);
        assert_eq!(preferred(Some("deflate, gzip, br, zstd")), Preferred::Gzip);
        assert_eq!(preferred(Some("br, gzip")), Preferred::Br);
        assert_eq!(preferred(Some("gzip;q=0.5, br")), Preferred::Br);
        assert_eq!(preferred(Some("gzip;q=0, identity")), Preferred::Identity);
        assert_eq!(preferred(Some("deflate")), Preferred::Identity);
        assert_eq!(preferred(Some("*")), Preferred::Identity);
    }
}
