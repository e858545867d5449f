//! The Analytics Engine SQL API as a source: the query the CLI sends and the
//! rows it gets back, read as the log lines they stand for (the data point
//! layout is `flow::observe::RequestLine::data_point`).
//!
//! API: `POST {api}/accounts/{account}/analytics_engine/sql`, the query as the
//! body, `Authorization: Bearer <token>`; with `FORMAT JSON` the answer is
//! `{"meta": [...], "data": [{column: value}], "rows": n}`.

use super::read::Lines;
use crate::flow::observe::{Outcome, PurgeLine, RequestLine, Tier, LOG_VERSION};
use serde_json::Value;

/// Rows one sampled row may stand for, at most (`_sample_interval`).
const MAX_WEIGHT: u64 = 10_000;

/// Why a query could not be built or an answer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError(pub String);

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SQL API's URL for `account` under `api` (`https://api.cloudflare.com/client/v4`).
pub fn endpoint(api: &str, account: &str) -> Result<String, SqlError> {
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SqlError(format!(
            "account id {account:?}: letters and digits only"
        )));
    }
    Ok(format!(
        "{}/accounts/{account}/analytics_engine/sql",
        api.trim_end_matches('/')
    ))
}

/// The query for the last `hours` of `dataset` (its name is checked: it goes
/// into the SQL text).
pub fn query(dataset: &str, hours: u64) -> Result<String, SqlError> {
    let ok = !dataset.is_empty()
        && dataset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(SqlError(format!(
            "dataset {dataset:?}: letters, digits and _ only"
        )));
    }
    Ok(format!(
        "SELECT toUnixTimestamp(timestamp) AS t, _sample_interval AS w, \
         blob1 AS route, blob2 AS outcome, blob3 AS tier, blob4 AS method, \
         blob5 AS detail, blob6 AS key, double1 AS status, double2 AS origin_status, \
         double3 AS origin_ms, double4 AS edge_ms, double5 AS bytes \
         FROM {dataset} WHERE timestamp > NOW() - INTERVAL '{hours}' HOUR \
         ORDER BY t FORMAT JSON"
    ))
}

/// A number column (the API sends some as strings).
fn num(row: &Value, col: &str) -> f64 {
    match row.get(col) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn text(row: &Value, col: &str) -> String {
    row.get(col)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn some(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn enum_of<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_string())).ok()
}

/// Reads the SQL API's answer (`FORMAT JSON`) into lines; a row with
/// `_sample_interval` n counts n times.
pub fn read_rows(body: &str) -> Result<Lines, SqlError> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| SqlError(format!("not the SQL API's JSON: {e}")))?;
    let rows = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| SqlError("the answer has no `data` rows".into()))?;
    let mut out = Lines::default();
    for row in rows {
        let weight = (num(row, "w") as u64).clamp(1, MAX_WEIGHT);
        let time = num(row, "t") as u64 * 1000;
        let outcome = text(row, "outcome");
        if outcome == "purge" {
            let line = purge_row(row, time);
            (0..weight).for_each(|_| out.purges.push(line.clone()));
            continue;
        }
        match request_row(row, time, &outcome) {
            Some(line) => (0..weight).for_each(|_| out.requests.push(line.clone())),
            None => out.skipped += 1,
        }
    }
    Ok(out)
}

fn request_row(row: &Value, time: u64, outcome: &str) -> Option<RequestLine> {
    let outcome: Outcome = enum_of(outcome)?;
    let tier: Tier = enum_of(&text(row, "tier"))?;
    let origin_ms = num(row, "origin_ms");
    let origin_status = num(row, "origin_status") as u16;
    let bytes = num(row, "bytes") as u64;
    Some(RequestLine {
        edgecache: "request".into(),
        v: LOG_VERSION,
        time,
        route: some(text(row, "route")),
        method: text(row, "method"),
        status: num(row, "status") as u16,
        outcome,
        tier,
        key: some(text(row, "key")),
        origin_status: (origin_status > 0).then_some(origin_status),
        origin_ms: (origin_ms >= 0.0).then_some(origin_ms as u64),
        edge_ms: num(row, "edge_ms") as u64,
        bytes: (bytes > 0).then_some(bytes),
        detail: some(text(row, "detail")),
    })
}

fn purge_row(row: &Value, time: u64) -> PurgeLine {
    PurgeLine {
        edgecache: "purge".into(),
        v: LOG_VERSION,
        time,
        id: text(row, "key"),
        status: num(row, "status") as u16,
        tags: text(row, "detail")
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        urls: 0,
        prefixes: 0,
        everything: false,
        bumped: num(row, "origin_status") as usize,
        deleted: num(row, "origin_ms") as usize,
        zone: String::new(),
        replayed: false,
    }
}
